"""One config object per stage: every parameter of a stage's notebook with its default (the embedded
demo's settings: Run All in minutes), what it means, and — where the paper fixes it — the paper's value
(``metadata["paper"]``; ``params/paper.yaml`` runs them).

The notebooks' parameter cells stay literal (papermill injects into them); ``tests/test_stages.py`` checks
that they, ``params/paper.yaml`` and the README's parameter tables agree with these classes.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from .errors import ConfigError


@dataclass
class TeacherSamplingConfig:
    """Stage 01: sample (or import) the teacher's rationales and split them by self-consistency.

    The parameters of ``notebooks/01_teacher_sampling.ipynb``."""

    stage = "01_teacher_sampling"
    run_dir: str = field(default="outputs/runs/interactive",
                         metadata={"help": "where this run's artifacts go (relative paths: to the project folder)"})
    task: str = field(
        default="arith",
        metadata={"help": "svamp | cqa | anli1 | esnli | arith | jsonl (your own files: README \"Your own data\")"})
    task_options: dict = field(
        default_factory=lambda: {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 2, "max_operand": 5, "label": "answer", "seed": 0},
        metadata={"help": "arith's knobs (the demo's world; {} for another task);"})
    data_dir: str | None = field(
        default=None,
        metadata={"help": "DSS data folder for svamp/cqa/anli1/esnli (None: HF hub, online only)"})
    splits: list = field(
        default_factory=lambda: ["train"],
        metadata={"help": "which splits to sample the teacher on"})
    limit: int | None = field(default=None, metadata={"help": "at most this many questions per split (None: all)"})
    teacher: str = field(
        default="synthetic",
        metadata={"help": "synthetic | openai | dss_import | jsonl_import", "paper": "openai"})
    base_url: str | None = field(
        default=None,
        metadata={"help": "OpenAI-compatible endpoint for teacher openai (None: the OpenAI API)"})
    model: str = field(
        default="synthetic-arith",
        metadata={"help": "model name sent to the endpoint", "paper": "gpt-3.5-turbo"})
    api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "NAME of the env variable with the key (None: endpoint needs none)"})
    k: int = field(default=5, metadata={"help": "samples per question (paper: 5)", "paper": 5})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature (paper: 0.7)", "paper": 0.7})
    greedy_rationale: bool = field(
        default=True,
        metadata={"help": "also one greedy sample (temperature 0) per question: the one rationale the baselines"})
    max_tokens: int = field(default=256, metadata={"help": "longest completion requested"})
    seed: int = field(default=0, metadata={"help": "seed of sampling, splits and training"})
    concurrency: int = field(default=8, metadata={"help": "requests in flight"})
    timeout: float = field(
        default=60.0,
        metadata={"help": "seconds before a request counts as stalled (then retried)"})
    split_mode: str = field(
        default="majority",
        metadata={"help": "majority (paper §3.2.1) | ground_truth (Table 2)", "paper": "majority"})
    import_path: str | None = field(
        default=None,
        metadata={"help": "JSONL of rationales for teacher jsonl_import (one file may cover all splits)"})
    strict_import: bool = field(
        default=False,
        metadata={"help": "jsonl_import: a line matching none of the task's questions is an error (else counted)"})
    allow_test_overlap: bool = field(
        default=False,
        metadata={"help": "jsonl_import: route dump lines that overlap the test split to test (analysis only)"})
    prompt_template: str | None = field(
        default=None,
        metadata={"help": "your own few-shot template file with {question} (None: built-in)"})
    cache_dir: str = field(
        default="outputs/cache/teacher",
        metadata={"help": "completion cache shared across runs (None: no cache)"})
    replace: bool = field(
        default=False,
        metadata={"help": "a finished artifact made with other settings or inputs: False keeps it and stops, naming the "
                          "differences; True moves it to <run>/replaced/ and computes it again"})
    progress: bool = field(default=True, metadata={"help": "progress bars inside the notebook"})


@dataclass
class DiscriminatorStageConfig:
    """Stage 02: pretrain the quality judge D on the teacher's positives and negatives.

    The parameters of ``notebooks/02_discriminator.ipynb``."""

    stage = "02_discriminator"
    run_dir: str = field(default="outputs/runs/interactive",
                         metadata={"help": "the run of stage 01 (relative paths: to the project folder)"})
    backbone: str = field(
        default="scratch-small",
        metadata={"help": "minilm | t5-tiny | t5-mini | scratch-tiny | scratch-small | a Hugging Face name or path", "paper": "t5-base"})
    tokenizer: str = field(
        default="corpus-numbers",
        metadata={"help": "scratch-* backbones: the run's student tokenizer (corpus | corpus-numbers | byte), shared with stage 03"})
    vocab_size: int = field(default=2000, metadata={"help": "its size (corpus tokenizers)"})
    objective: str = field(default="bce", metadata={"help": "bce (default) | eq2 (the paper eq. 2)"})
    steps: int = field(
        default=400,
        metadata={"help": "pretraining steps (paper: 500; params/paper.yaml)", "paper": 500})
    batch_size: int = field(
        default=8,
        metadata={"help": "questions per step; each brings all of its rationales", "paper": 8})
    lr: float | None = field(
        default=None,
        metadata={"help": "None: 5e-5 for a pretrained backbone, 1e-3 for one built from a config"})
    freeze_layers: int = field(
        default=0,
        metadata={"help": "freeze the embeddings and this many lowest encoder layers (faster on a CPU)"})
    max_length: int | None = field(
        default=None,
        metadata={"help": "tokens read of (question, rationale); None: 256, or 512 for byte-level"})
    augment: bool = field(
        default=True,
        metadata={"help": "add negatives made from positives to balance each question (appendix A.3)"})
    augment_ops: list = field(
        default_factory=lambda: ["mask", "replace", "number", "operator"],
        metadata={"help": "also: repeat, drop, result (number, operator, result: arithmetic only)"})
    augment_rate: float = field(default=0.2, metadata={"help": "fraction of the words masked or replaced"})
    splits: list = field(default_factory=lambda: ["train"], metadata={"help": "stage-01 splits to train on"})
    heldout_fraction: float = field(
        default=0.05,
        metadata={"help": "fraction of those questions held out for the curve and the metrics", "paper": 0.1})
    eval_every: int = field(default=100, metadata={"help": "steps between points of the validation curve"})
    eval_questions: int = field(
        default=32,
        metadata={"help": "held-out questions scored for the curve (all are scored at the end)"})
    test_split: str | None = field(
        default=None,
        metadata={"help": "also score this stage-01 split once at the end, e.g. test"})
    save_every: int = field(default=100, metadata={"help": "steps between resumable checkpoints"})
    seed: int = field(default=0, metadata={"help": "seed of sampling, splits and training"})
    replace: bool = field(
        default=False,
        metadata={"help": "a finished artifact made with other settings or inputs: False keeps it and stops, naming the "
                          "differences; True moves it to <run>/replaced/ and computes it again"})
    progress: bool = field(default=True, metadata={"help": "progress bars inside the notebook"})


@dataclass
class TrainingStageConfig:
    """Stage 03: train the students (one per method and seed).

    The parameters of ``notebooks/03_training.ipynb``."""

    stage = "03_training"
    run_dir: str = field(default="outputs/runs/interactive",
                         metadata={"help": "the run of stages 01-02 (relative paths: to the project folder)"})
    methods: list = field(
        default_factory=lambda: ["dss", "qcrd"],
        metadata={"help": "any of: finetune, single_task, dss, mi, qcrd"})
    student: str = field(
        default="scratch-small",
        metadata={"help": "scratch-tiny | scratch-small | t5-small | t5-base | google/flan-t5-base | a folder", "paper": "t5-base"})
    tokenizer: str = field(
        default="corpus-numbers",
        metadata={"help": "offline presets only, trained on the run's texts: corpus (digits one token each) |"})
    vocab_size: int = field(default=2000, metadata={"help": "corpus tokenizer size"})
    steps: int = field(
        default=600,
        metadata={"help": "optimizer steps per method (paper: 10000; params/paper.yaml)", "paper": 10000})
    batch_size: int = field(default=32, metadata={"help": "questions per step (paper: 8)", "paper": 8})
    lr: float | None = field(
        default=None,
        metadata={"help": "None: 1e-5 for a pretrained student (paper), 1e-3 for a preset built from a config", "paper": 1e-05})
    eval_every: int = field(
        default=150,
        metadata={"help": "steps between valid evaluations (model selection) and checkpoints", "paper": 250})
    seeds: list = field(
        default_factory=lambda: [0],
        metadata={"help": "one student per method and seed (names get -seed<k> for k > 0)"})
    tag: str | None = field(
        default=None,
        metadata={"help": "added to the output names, e.g. \"woNK\" -> students/qcrd-woNK"})
    train_fraction: float = field(
        default=1.0,
        metadata={"help": "share of the training questions used (Fig. 4), the same subset for every method"})
    alpha: float = field(default=0.5, metadata={"help": "DSS: alpha * L_pred + (1 - alpha) * L_expl"})
    mi_weight: float = field(default=0.1, metadata={"help": "MI: weight of the mutual-information term"})
    rationale: str = field(
        default="greedy",
        metadata={"help": "the one teacher rationale: greedy (tau 0 sample, as DSS) | first | first_positive"})
    alpha_pred: float = field(default=0.5, metadata={"help": "alpha1: label task", "paper": 0.5})
    alpha_cl: float = field(default=0.5, metadata={"help": "alpha2: contrastive loss", "paper": 0.5})
    alpha_judge: float = field(
        default=0.5,
        metadata={"help": "alpha3: judge loss, multiplied by alpha_judge_decay per iteration", "paper": 0.5})
    alpha_judge_decay: float = field(
        default=0.9, metadata={"help": "alpha3 is multiplied by this per iteration (paper: 0.9)", "paper": 0.9})
    beta: float = field(default=0.2, metadata={"help": "weight of the negative term", "paper": 0.2})
    delta: float = field(
        default=3.0,
        metadata={"help": "margin: negatives whose CE reaches delta are left alone", "paper": 3.0})
    scheme: str = field(
        default="minmax",
        metadata={"help": "minmax | maxmin | sampling | mean | wmean (section 5.1)", "paper": "minmax"})
    num_positives: int = field(default=5, metadata={"help": "m: teacher positives per question", "paper": 5})
    num_negatives: int = field(default=1, metadata={"help": "k: negatives per question", "paper": 1})
    negative_source: str = field(
        default="self",
        metadata={"help": "self (snapshot j iterations back) | fixed | teacher | none (w/o NK)"})
    iterations_back: int = field(default=3, metadata={"help": "j (paper: 5)", "paper": 5})
    steps_per_iteration: int = field(
        default=50,
        metadata={"help": "S (paper: 100): optimizer steps per iteration (snapshot, alpha3 decay, generator moves on);", "paper": 100})
    negative_temperature: float = field(default=1.5, metadata={"help": "tau_neg (0: greedy)", "paper": 1.5})
    negative_top_k: int = field(
        default=20,
        metadata={"help": "negatives sample from the top k tokens (0: all; not in the paper, see README)", "paper": 0})
    negative_top_p: float = field(
        default=1.0,
        metadata={"help": "negatives sample from the nucleus of mass p (1: all)"})
    fixed_generator: str | None = field(
        default=None,
        metadata={"help": "for negative_source \"fixed\": a trained student folder, e.g. <run>/students/dss"})
    positives: str = field(
        default="sc",
        metadata={"help": "sc (self-consistency positives) | greedy (w/o ED: the baselines' greedy rationale) | first (the first sample)"})
    use_judge: bool = field(default=True, metadata={"help": "False: unit quality weights (w/o QJ)"})
    judge_update_every: int | None = field(
        default=None,
        metadata={"help": "steps between online judge updates (None: each iteration, when the snapshot ring advances; 0: never)"})
    judge_update_steps: int = field(default=10, metadata={"help": "the judge's optimizer steps per update, on a class-balanced replay buffer"})
    judge_lr: float = field(default=0.0001, metadata={"help": "the judge's online learning rate (times 0.9 per iteration: alpha3's decay)"})
    judge_labels: str = field(
        default="outcome",
        metadata={"help": "source (paper: teacher positives 1, self-negatives 0) | outcome (by the answer reached, plus the student's own samples)",
                  "paper": "source"})
    extra: dict = field(
        default_factory=lambda: {},
        metadata={"help": "any other training argument, e.g. {\"warmup_steps\": 0.05, \"gradient_accumulation_steps\": 2}"})
    replace: bool = field(
        default=False,
        metadata={"help": "a finished artifact made with other settings or inputs: False keeps it and stops, naming the "
                          "differences; True moves it to <run>/replaced/ and computes it again"})
    progress: bool = field(default=True, metadata={"help": "progress bars inside the notebook"})


@dataclass
class AnalysisStageConfig:
    """Stage 04: tables, quality scores, the case study, the LLM judge, the explorer.

    The parameters of ``notebooks/04_analysis.ipynb``."""

    stage = "04_analysis"
    run_dir: str | None = field(
        default=None,
        metadata={"help": "the run to analyse; None: $QCRD_RUN_DIR or the newest run with students under outputs/runs"})
    extra_run_dirs: list = field(
        default_factory=lambda: [],
        metadata={"help": "more runs whose students join the tables (other seeds, sweeps)"})
    compare: list = field(
        default_factory=lambda: ["dss", "qcrd"],
        metadata={"help": "students A and B (folders under students/): accuracy difference B - A, LLM judge"})
    student: str = field(
        default="qcrd",
        metadata={"help": "the student of the quality-score plot and the case study"})
    temperatures: list = field(
        default_factory=lambda: [0.7, 1.5, 2.0],
        metadata={"help": "the student's sampling temperatures in the quality-score plot (0: greedy)"})
    kde_questions: int = field(
        default=100,
        metadata={"help": "test questions the student samples for the quality-score plot"})
    samples_per_temperature: int = field(default=3, metadata={"help": "rationales per question and temperature"})
    case_questions: int = field(default=20, metadata={"help": "test questions offered by the case-study widget"})
    case_temperature: float = field(default=1.5, metadata={"help": "where the widget's temperature slider starts"})
    llm_judge: str = field(
        default="synthetic",
        metadata={"help": "LLM judge: synthetic (offline, checks arith arithmetic) | openai | None (skip)", "paper": "openai"})
    llm_judge_model: str = field(
        default="synthetic-arith",
        metadata={"help": "model name sent to the judge endpoint (paper: gpt-3.5-turbo)", "paper": "gpt-3.5-turbo"})
    llm_judge_base_url: str | None = field(
        default=None,
        metadata={"help": "OpenAI-compatible endpoint for judge openai (None: the OpenAI API)"})
    llm_judge_api_key_env: str = field(
        default="OPENAI_API_KEY",
        metadata={"help": "NAME of the environment variable with the key (never the key)"})
    llm_judge_questions: int = field(default=50, metadata={"help": "test questions judged (paper: 50)", "paper": 50})
    llm_judge_temperatures: list = field(
        default_factory=lambda: [0.0, 0.7],
        metadata={"help": "the students' rationale temperatures (paper Table 7: 0 and 0.7)"})
    llm_judge_cache_dir: str = field(
        default="outputs/cache/judge",
        metadata={"help": "judge replies cache (None: no cache); a re-run asks only what is missing"})
    bootstrap_resamples: int = field(
        default=2000,
        metadata={"help": "paired bootstrap resamples of the accuracy difference"})
    seed: int = field(default=0, metadata={"help": "seed of sampling, splits and training"})
    progress: bool = field(default=True, metadata={"help": "progress bars inside the notebook"})


STAGE_CONFIGS = {c.stage: c for c in (TeacherSamplingConfig, DiscriminatorStageConfig, TrainingStageConfig,
                                       AnalysisStageConfig)}


def defaults(stage: str) -> dict:
    """``{parameter: default}`` of one stage: what its notebook runs with when nothing is injected."""
    config = STAGE_CONFIGS[stage]()
    return {f.name: getattr(config, f.name) for f in fields(config)}


def paper_values(stage: str) -> dict:
    """``{parameter: the paper's value}`` of one stage (the fields where the paper fixes one)."""
    return {f.name: f.metadata["paper"] for f in fields(STAGE_CONFIGS[stage]) if "paper" in f.metadata}


def help_text(stage: str) -> dict:
    """``{parameter: what it means}`` of one stage."""
    return {f.name: f.metadata["help"] for f in fields(STAGE_CONFIGS[stage])}


_TYPES = {"int": int, "float": (int, float), "str": str, "bool": bool, "list": list, "dict": dict}


def check_types(stage: str, parameters: dict) -> None:
    """:class:`ConfigError` naming ``stage.parameter`` when a value's type is not the field's
    (``k: five`` for an int): caught before any stage runs, not as a TypeError deep in a notebook.
    ``None`` passes (several parameters take it); a bool is not a number."""
    config = STAGE_CONFIGS.get(stage)
    if config is None:
        return
    for f in fields(config):
        if f.name not in parameters or parameters[f.name] is None:
            continue
        value = parameters[f.name]
        names = [part.strip() for part in str(f.type).split("|") if part.strip() != "None"]
        allowed = [_TYPES[n] for n in names if n in _TYPES]
        if len(allowed) != len(names):
            continue                                  # an annotation this check does not read
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        else:
            ok = any(isinstance(value, t) for t in allowed)
        if not ok:
            raise ConfigError(f"{stage}.{f.name}: expected {' or '.join(names)}, got {value!r} "
                              f"({type(value).__name__}) — {f.metadata.get('help', '')}".rstrip(" —"))


#: parameters that do not decide what a stage's artifact holds (where it goes, how fast, what is shown): a finished
#: artifact is reused whatever they are (:func:`deciding_settings`)
NOT_DECIDING = frozenset({"run_dir", "progress", "replace", "concurrency", "timeout", "cache_dir", "api_key_env",
                          "eval_every", "eval_questions", "test_split", "save_every"})


def deciding_settings(stage: str, namespace: dict) -> dict:
    """The stage's parameters that decide its artifact, read from ``namespace`` (a notebook's globals):
    what its ``provenance.json`` records and a rerun compares (:mod:`qcrdkit.provenance`)."""
    return {f.name: namespace[f.name] for f in fields(STAGE_CONFIGS[stage])
            if f.name not in NOT_DECIDING and f.name in namespace}


def _container_names(stage: str) -> dict[str, type]:
    return {f.name: (list if str(f.type) == "list" else dict) for f in fields(STAGE_CONFIGS[stage])
            if str(f.type) in ("list", "dict")}


def accept_parameters(stage: str, namespace: dict) -> None:
    """Check a notebook's parameters in place (its first code cell calls this on ``globals()``).

    ``papermill -p methods '["qcrd"]'`` injects a string: a list or dict parameter given as a string
    is read as YAML/JSON (``[qcrd]``, ``["qcrd", "dss"]``, ``{n_train: 100}``); one that does not read as
    one is a :class:`ConfigError` that names the parameter and ``papermill -y``. Then every value's type is
    checked (:func:`check_types`)."""
    import yaml

    for name, kind in _container_names(stage).items():
        value = namespace.get(name)
        if not isinstance(value, str):
            continue
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = None
        if not isinstance(parsed, kind):
            raise ConfigError(f"{stage}.{name}: expected a {kind.__name__}, got the string {value!r}; write it as "
                              f"YAML or JSON (-p {name} '{'[a, b]' if kind is list else '{key: value}'}'), or pass "
                              f"parameters as YAML with papermill -y '{name}: ...'")
        namespace[name] = parsed
    check_types(stage, {k: namespace[k] for k in (f.name for f in fields(STAGE_CONFIGS[stage])) if k in namespace})
