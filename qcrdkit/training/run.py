"""Train one method on a run directory: the function notebook 03 (and ``qcrd train``) calls.

``train_student("qcrd", run_dir, seed=0, steps=2000, ...)`` reads the run's task and teacher
samples (stage 01) and, for QCRD, its judge (stage 02); trains with the method's trainer,
resuming from the last checkpoint under the output folder; keeps the checkpoint with the best
valid accuracy; evaluates the test split once; and writes

```
<run>/students/tokenizer/              the run's student tokenizer (offline presets; shared by methods)
<run>/students/<name>/                 the selected model and tokenizer (save_pretrained)
<run>/students/<name>/metrics.json     valid and test accuracy (label and rationale), steps, train seconds, seconds per step, config
<run>/students/<name>/history.json     the Trainer's log history (losses, valid accuracy)
<run>/students/<name>/test_predictions.jsonl   per test question: id, prediction, answer, correct (and for
                                       methods that learn rationales: rationale, rationale_answer, rationale_correct)
<run>/students/<name>/judge/           QCRD with the judge: its online judge at the end of training
<run>/students/summary.json            every trained method of the run (qcrdkit.analysis.student_results.write_summary)
```
``<name>`` is ``<method>[-<tag>][-seed<k>]`` (see :func:`student_folder_name`; no suffix for seed 0). Parameters are
stage 03's, under its names (:class:`qcrdkit.core.stages.TrainingStageConfig`); :func:`method_config` makes the
method's config from them (a field of another method's config is ignored, a name stage 03 does not know is an error).
"""
from __future__ import annotations

import dataclasses
import os
import resource
import re
import time
from pathlib import Path

from transformers import set_seed
from transformers.trainer_utils import get_last_checkpoint

from qcrdkit.core.progress import progress_callbacks
from qcrdkit.tasks.base import pick_questions
from qcrdkit.core.errors import ConfigError
from qcrdkit.core.processes import gather_list
from qcrdkit.core.training_arguments import launched_processes
from qcrdkit.core.guards import remove_inside
from qcrdkit.core.paths import project_path
from qcrdkit.core.stage_parameters import make_stage_config
from qcrdkit.core.stages import TRAINING, TrainingStageConfig
from qcrdkit.core.io import read_json, write_json, write_jsonl
from qcrdkit.core.provenance import checkpoint_differences, claim_checkpoints, decide, file_fingerprint, write_record
from qcrdkit.core.rundir import judge_weights, read_teacher_greedy, read_teacher_samples, staging_dir, swap_in, teacher_greedy_path, teacher_inputs
from qcrdkit.tasks import load_task
from qcrdkit.students.models import STUDENT_PRESETS, build_student, run_student_tokenizer, student_corpus
from qcrdkit.training.baselines import (DSSConfig, DSSTrainer, FinetuneConfig, FinetuneTrainer, MIConfig, MITrainer,
                        SingleTaskConfig, SingleTaskTrainer)
from qcrdkit.training.base import PRETRAINED_LR, SCRATCH_LR, generation_length, rationale_generation_length
from qcrdkit.training.data import StudentCollator, eval_rows, train_rows
from qcrdkit.training.qcrd import QCRDTrainer
from qcrdkit.training.qcrd_config import QCRDConfig

METHODS = {
    "finetune": (FinetuneConfig, FinetuneTrainer),
    "single_task": (SingleTaskConfig, SingleTaskTrainer),
    "dss": (DSSConfig, DSSTrainer),
    "mi": (MIConfig, MITrainer),
    "qcrd": (QCRDConfig, QCRDTrainer),
}
#: stage-03 parameters whose Trainer field has another name (``save_steps`` follows ``eval_every`` too)
TRAINER_NAMES = {"steps": "max_steps", "batch_size": "per_device_train_batch_size", "lr": "learning_rate",
                 "eval_every": "eval_steps", "judge_lr": "judge_learning_rate"}
#: stage-03 parameters that choose which students are trained and where, read by the notebook and
#: :func:`train_student` (not fields of a method's config)
RUN_LEVEL = ("run_dir", "methods", "student", "tokenizer", "vocab_size", "seeds", "tag", "replace", "extra", "processes")


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def training_stage(stage: TrainingStageConfig | None = None, **parameters) -> TrainingStageConfig:
    """Stage 03's parameters as one object: ``stage`` (default: the stage's defaults) with ``parameters``
    (stage-03 names: ``steps``, ``batch_size``, ``negative_top_k`` …; an unknown name, or method, is an error naming it)."""
    stage = make_stage_config(TRAINING, parameters, base=stage)
    unknown = [m for m in stage.methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"{TRAINING}.methods: unknown method(s) {unknown}; methods: {', '.join(METHODS)}")
    return stage


def method_config(method: str, stage: TrainingStageConfig | None = None, *, output_dir: str | Path = "outputs/tmp",
                  seed: int = 0, **parameters):
    """The method's config (``QCRDConfig`` …) from stage 03's parameters: the one place a stage name meets the
    Trainer's (:data:`TRAINER_NAMES`). ``lr`` None: :data:`SCRATCH_LR` for a preset built from a config,
    :data:`PRETRAINED_LR` for a pretrained student; ``logging_steps`` about 20 logs a run; ``extra`` holds any
    other field of the method's config (``{"warmup_steps": 0.05}``); a relative ``fixed_generator`` is a project path."""
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
    stage = training_stage(stage, **parameters)
    cls = METHODS[method][0]
    values = {TRAINER_NAMES.get(f.name, f.name): getattr(stage, f.name) for f in dataclasses.fields(stage)
              if f.name not in RUN_LEVEL}
    values["save_steps"] = values["eval_steps"]
    values["disable_tqdm"] = not values.pop("progress")
    if values["learning_rate"] is None:
        values["learning_rate"] = SCRATCH_LR if stage.student in STUDENT_PRESETS else PRETRAINED_LR
    if values["fixed_generator"]:
        values["fixed_generator"] = str(project_path(values["fixed_generator"]))
    values["logging_steps"] = max(1, min(10, stage.steps // 20))
    known = set().union(*(_fields(c) for c, _ in METHODS.values()))
    unknown = sorted(set(stage.extra) - known)
    if unknown:
        raise ConfigError(f"{TRAINING}.extra: unknown training argument(s) {unknown} (not a field of any method's "
                          "config: Seq2SeqTrainingArguments or the methods' own)")
    values.update(stage.extra)
    own = _fields(cls)
    return cls(output_dir=str(output_dir), seed=seed, **{k: v for k, v in values.items() if k in own})


def student_folder_name(method: str, seed: int = 0, *, tag: str | None = None) -> str:
    """``<method>[-<tag>][-seed<k>]``: the seed appears when it is not 0, so adding seeds to a run
    keeps (and reuses) its seed-0 students."""
    return "-".join([method] + ([tag] if tag else []) + ([f"seed{seed}"] if seed else []))


def student_label(output_dir: str | Path) -> str:
    """The student's name for progress lines: its folder (``students/<name>/checkpoints`` → ``<name>``)."""
    path = Path(output_dir)
    return path.parent.name if path.name == "checkpoints" else path.name


@dataclasses.dataclass
class StudentSetup:
    """A method's trainer on a run, and what :func:`train_student` reports with it."""

    trainer: object
    task: object
    spec: dict
    examples: dict
    counts: dict
    tokenizer: object


def build_trainer(method: str, run_dir: str | Path, stage: TrainingStageConfig | None = None, *,
                  output_dir: str | Path, seed: int = 0, **parameters) -> StudentSetup:
    """The method's trainer on the run's data (train rows, valid rows for selection), model and
    tokenizer made, judge loaded for QCRD. ``stage`` / ``parameters``: stage 03's (:func:`training_stage`)."""
    run_dir = Path(run_dir)
    stage = training_stage(stage, **parameters)
    student, tokenizer, vocab_size = stage.student, stage.tokenizer, stage.vocab_size
    args = run_method_config(method, run_dir, stage, output_dir=output_dir, seed=seed)
    task, spec = load_task(run_dir)
    examples = {split: task.load(split, data_dir=spec.get("data_dir")) for split in ("train", "valid", "test")}
    records = [r for r in read_teacher_samples(run_dir) if r["split"] == "train"]
    greedy = read_teacher_greedy(run_dir)
    greedy = None if greedy is None else [r for r in greedy if r["split"] == "train"]
    # the subset depends on the fraction only (not on method or seed): methods compare on the same questions
    train_examples = pick_questions(examples["train"], max(1, round(args.train_fraction * len(examples["train"]))))
    # Finetune learns no rationale: its rows take the first sample (never read)
    rows, counts = train_rows(task, train_examples, records, rationale_source=getattr(args, "rationale_source", "one_sample"),
                              source=str(run_dir / "teacher" / "samples.jsonl"),
                              greedy=greedy, greedy_source=str(teacher_greedy_path(run_dir)))
    with args.main_process_first(desc="student tokenizer"):
        tok = run_student_tokenizer(run_dir, student, tokenizer, vocab_size,
                                    student_corpus(examples, records + (greedy or []), task))
    set_seed(seed)
    model, tok = build_student(student, tokenizer=tok if tok is not None else tokenizer)

    trainer_cls = METHODS[method][1]
    if args.generation_max_length is None:
        collator = StudentCollator(tok, trainer_cls.input_format, args.max_input_length, args.max_target_length)
        args.generation_max_length = generation_length(collator, rows, trainer_cls.input_format)
    extra = {}
    if method == "qcrd" and args.use_judge:
        from qcrdkit.core.rundir import judge_heldout_questions

        extra["judge"] = load_online_judge(run_dir, args)
        extra["judge_heldout"] = judge_heldout_questions(run_dir)
    trainer = trainer_cls(model=model, args=args, train_dataset=rows, eval_dataset=eval_rows(task, examples["valid"]),
                          task=task, processing_class=tok,
                          callbacks=progress_callbacks(f"student {student_label(output_dir)}"), **extra)
    trainer.rationale_max_new_tokens = rationale_generation_length(tok, rows, args.max_target_length)
    return StudentSetup(trainer, task, spec, examples, counts, tok)


#: a student's recorded settings under the names a user writes (``config.max_steps`` is the parameter ``steps``)
SETTING_NAMES = {f"config.{field}": name for name, field in TRAINER_NAMES.items()}


def claim_student(method: str, run_dir: str | Path, stage: TrainingStageConfig, *, seed: int = 0,
                  out_dir: str | Path | None = None) -> tuple[str, Path, dict, dict]:
    """``(decision, folder, settings, inputs)`` of one student (:func:`qcrdkit.core.provenance.decide`), reading only:
    a finished student or unfinished checkpoints of other settings raise
    :class:`qcrdkit.core.provenance.ArtifactConflict` naming the parameters that differ, unless ``stage.replace``."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir else run_dir / "students" / student_folder_name(method, seed, tag=stage.tag)
    args = run_method_config(method, run_dir, stage, output_dir=out / "checkpoints", seed=seed)
    settings = {"method": method, "student": stage.student, "seed": seed, "tokenizer": stage.tokenizer,
                "vocab_size": stage.vocab_size, "config": _config_summary(args)}
    inputs = student_inputs(run_dir, method, args)
    decision, _ = decide(out, "student", settings, inputs, finished=(out / "metrics.json").exists(),
                         replace=stage.replace, what=f"the finished student {out.name}", names=SETTING_NAMES,
                         hint="give the variant a tag (tag='short' trains students/<method>-short beside it)")
    if decision == "new":
        checkpoint_differences(out / "checkpoints", "student", settings, inputs, replace=stage.replace,
                               names=SETTING_NAMES)
    return decision, out, settings, inputs


def check_students(run_dir: str | Path, stage: TrainingStageConfig) -> dict[str, str]:
    """``{student folder name: decision}`` for every method and seed of stage 03, decided before any is trained:
    a refusal comes before anything is written (not after the first students and the run's tokenizer)."""
    return {out.name: decision for method in stage.methods for seed in stage.seeds
            for decision, out, _, _ in [claim_student(method, run_dir, stage, seed=seed)]}


def train_student(method: str, run_dir: str | Path, stage: TrainingStageConfig | None = None, *, seed: int = 0,
                  out_dir: str | Path | None = None, resume: bool = True, keep_checkpoints: bool = False,
                  **parameters) -> dict:
    """Train, select on valid, test once, write the artifacts; return ``metrics``.

    ``stage`` / ``parameters``: stage 03's parameters, under their stage names (``steps=500``,
    ``student="t5-small"``, ``negative_top_k=0``; :func:`training_stage`), the notebook's vocabulary.

    A student already finished in ``out_dir`` with the same method, student, seed, tokenizer and config,
    on the run's current teacher samples (and judge, for QCRD) is not trained again (its ``metrics.json``
    is returned, with ``"reused": True``); one that differs is kept and refused
    (:class:`qcrdkit.core.provenance.ArtifactConflict` names the differences) unless ``replace``, which moves it
    to ``<run>/replaced/``. An unfinished one resumes from its last checkpoint (``resume``) when its
    checkpoints were made with the same configuration."""
    run_dir = Path(run_dir)
    stage = training_stage(stage, **parameters)
    replace = stage.replace
    decision, out, settings, inputs = claim_student(method, run_dir, stage, seed=seed, out_dir=out_dir)
    if decision == "reuse":
        return {**read_json(out / "metrics.json"), "reused": True}
    if stage.processes > 1 and launched_processes() == 1:
        return train_in_processes(method, run_dir, stage, seed=seed, out=out, keep_checkpoints=keep_checkpoints)
    final, root = out, run_dir if run_dir.resolve() in out.resolve().parents else out.parent
    if decision == "replace":          # built beside the old student, swapped in complete (an interruption resumes)
        out = staging_dir(root) / out.resolve().relative_to(root.resolve())
    if int(os.environ.get("RANK", "0")) == 0:          # under torchrun one process claims the folder
        claim_checkpoints(root, out / "checkpoints", "student", settings, inputs, replace=replace)
    setup = build_trainer(method, run_dir, stage, output_dir=out / "checkpoints", seed=seed)
    trainer, task, spec, examples, counts, tok = (setup.trainer, setup.task, setup.spec, setup.examples, setup.counts,
                                                  setup.tokenizer)
    args = trainer.args
    last = get_last_checkpoint(args.output_dir) if resume and Path(args.output_dir).is_dir() else None
    result = trainer.train(resume_from_checkpoint=last)

    evaluation_start = time.perf_counter()
    valid = trainer.evaluate(metric_key_prefix="valid")        # the selected (best-on-valid) model
    test = trainer.evaluate(eval_rows(task, examples["test"]), metric_key_prefix="test")   # once
    evaluation_seconds = time.perf_counter() - evaluation_start
    test_predictions = trainer.last_predictions
    timer = trainer.step_timer
    metrics = {
        "method": method, "name": out.name, "tag": name_tag(out.name, method), "seed": seed, "task": spec["task"],
        "student": stage.student,
        "valid_accuracy": valid["valid_accuracy"], "test_accuracy": test["test_accuracy"],
        # the answer reached by the greedy rationale (None: the method learns no rationale)
        "valid_rationale_accuracy": valid.get("valid_rationale_accuracy"),
        "test_rationale_accuracy": test.get("test_rationale_accuracy"),
        # QCRD: share of negatives inside the margin (CE < δ) over the second half of training
        "negatives_inside_margin": getattr(trainer, "negatives_inside_margin", None),
        "n_valid": len(examples["valid"]), "n_test": len(examples["test"]),
        "steps": trainer.state.global_step, "best_checkpoint_step": _checkpoint_step(trainer.state.best_model_checkpoint),
        "train_seconds": round(timer.seconds, 2), "seconds_per_step": round(timer.seconds / max(timer.steps, 1), 4),
        "train_runtime": round(result.metrics.get("train_runtime", 0.0), 2), "resumed_from": last,
        # for qcrd check's projection: steps after the first, the online judge's updates, the final evaluation
        "steady_seconds_per_step": timer.steady_seconds_per_step,
        "judge_update_seconds": round(sum(getattr(trainer, "judge_update_times", [])), 2),
        "judge_updates": len(getattr(trainer, "judge_update_times", [])),
        # updates that were due while the judge's buffer held one label only (warned in the log)
        "judge_updates_skipped": getattr(getattr(trainer, "judge_schedule", None), "skipped", None),
        "evaluation_seconds": round(evaluation_seconds, 2),
        "processes": args.world_size, "device": str(args.device),     # one student, trained by this many processes
        "peak_memory_gb": gather_list([round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)]),  # each
        "data": counts, "config": _config_summary(args),
    }
    if trainer.is_world_process_zero():
        trainer.save_model(str(out))
        tok.save_pretrained(str(out))
        write_json(out / "metrics.json", metrics)
        write_json(out / "history.json", trainer.state.log_history)
        write_jsonl(out / "test_predictions.jsonl", test_predictions)
        if getattr(trainer, "judge", None) is not None:       # QCRD: the online judge as training left it
            from qcrdkit.judge import save_judge

            save_judge(trainer.judge.model, trainer.judge.tokenizer, out / "judge")
        write_record(out, "student", settings, inputs)          # last: the student is finished
        if not keep_checkpoints:
            remove_inside(out, args.output_dir)
        if out != final:
            swap_in(root, [str(final.resolve().relative_to(root.resolve()))])
    return metrics


def train_in_processes(method: str, run_dir: Path, stage: TrainingStageConfig, *, seed: int, out: Path,
                       keep_checkpoints: bool = False) -> dict:
    """One student trained by ``stage.processes`` processes, launched from this one (a notebook, ``qcrd run``):
    ``torchrun --standalone --nproc_per_node N -m qcrdkit.cli train`` with this stage's parameters; their output is
    shown here, and the student's ``metrics.json`` is returned."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        stage_file = Path(tmp) / "stage.json"
        write_json(stage_file, dataclasses.asdict(stage))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(stage.processes),
               "-m", "qcrdkit.cli", "train", "--run-dir", str(run_dir), "--method", method, "--seed", str(seed),
               "--out", str(out), "--stage-file", str(stage_file), *(["--keep-checkpoints"] if keep_checkpoints else [])]
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as launched:
            tail = []
            try:
                for line in launched.stdout:
                    print(line, end="", flush=True)
                    tail = (tail + [line])[-20:]
            except BaseException:          # an interrupted notebook or run: torchrun stops its processes on SIGTERM
                launched.terminate()
                raise
        if launched.returncode:
            raise ConfigError(f"{out.name}: training in {stage.processes} processes failed (exit {launched.returncode}); "
                              f"its last lines:\n{''.join(tail)}")
    return read_json(out / "metrics.json")


def name_tag(name: str, method: str) -> str | None:
    """The tag of a student folder named by :func:`student_folder_name` (``qcrd-woNK-seed1`` → ``woNK``)."""
    rest = re.sub(r"(^|-)seed\d+$", "", name[len(method):] if name.startswith(method) else name).lstrip("-")
    return rest or None


def student_inputs(run_dir: str | Path, method: str, args) -> dict:
    """Fingerprints of what a student reads: stage 01's files, the judge's weights (QCRD with the judge),
    a fixed negative generator's weights."""
    run_dir = Path(run_dir)
    inputs = teacher_inputs(run_dir)
    if method == "qcrd" and getattr(args, "use_judge", False):
        inputs[judge_weights(run_dir)] = file_fingerprint(run_dir / judge_weights(run_dir))
    if method == "qcrd" and getattr(args, "negative_source", None) == "fixed" and args.fixed_generator:
        weights = Path(args.fixed_generator).resolve() / "model.safetensors"
        inputs[str(weights)] = file_fingerprint(weights)
    return inputs


def run_method_config(method: str, run_dir: str | Path, stage: TrainingStageConfig, *, output_dir: str | Path,
                      seed: int):
    """:func:`method_config` with what the run decides: QCRD's online-update objective
    (:func:`online_judge_objective`), so that the student records what its judge's updates use."""
    args = method_config(method, stage, output_dir=output_dir, seed=seed)
    if method == "qcrd":
        args.judge_objective = online_judge_objective(run_dir, args)
    return args


def online_judge_objective(run_dir: str | Path, args) -> str:
    """The online updates' ``L_D``: ``judge_objective`` when set, else the objective stage 02 trained the run's
    judge with (its ``metrics.json``; ``bce`` when it does not say)."""
    from qcrdkit.core.rundir import judge_dir

    if args.judge_objective:
        return args.judge_objective
    metrics = judge_dir(run_dir) / "metrics.json"
    return (read_json(metrics).get("objective") or "bce") if metrics.exists() else "bce"


def load_online_judge(run_dir: Path, args):
    from qcrdkit.judge import OnlineJudge
    from qcrdkit.core.rundir import judge_dir
    from qcrdkit.judge.model import load_run_judge

    if not (judge_dir(run_dir) / "config.json").exists():
        raise ConfigError(f"{judge_dir(run_dir)}: no judge; run stage 02 for this run_dir, "
                          "or set use_judge=False (ablation w/o QJ)")
    judge, judge_tok = load_run_judge(run_dir, device=args.device)
    return OnlineJudge(judge, judge_tok, objective=args.judge_objective, learning_rate=args.judge_learning_rate)


def _checkpoint_step(path: str | None) -> int | None:
    return int(path.rsplit("-", 1)[-1]) if path else None


SUMMARY_FIELDS = ("learning_rate", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
                  "eval_steps", "seed", "max_input_length", "max_target_length", "train_fraction")


def summary_fields(cls) -> list[str]:
    """The config fields a student's ``metrics.json`` records (what describes the method, not plumbing)."""
    return sorted(set(SUMMARY_FIELDS) | (_fields(cls) - _fields(METHODS["finetune"][0])))


def _config_summary(args) -> dict:
    """The config fields that describe the method (not paths or logging plumbing)."""
    return {k: getattr(args, k) for k in summary_fields(type(args))}
