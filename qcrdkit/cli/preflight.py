"""``qcrd check``: know in about two minutes that a big run will work, and what it will cost.

1. **Quick checks** (seconds, before anything runs; :func:`quick_checks`): every stage's parameters and the
   configuration each method would build from them; the task's data files; hub models in the local cache when
   the hub is offline; the teacher's and the LLM judge's endpoints (the client's TCP probe, then one request).
   Each problem is one line naming the parameter, file, model or URL.
2. **A tiny run** of the same params (:func:`tiny_params`): every stage end to end (with the stages before the
   first one asked for, whose artifacts it needs) on a few questions per split, two judge steps, a few steps of
   every method (QCRD's iteration shortened to one step, so its negatives, the online judge's updates and the
   snapshot ring all happen, and its margin δ opened so the judge scores every negative, as it does for a
   trained student), one seed — models, tokenizers and data loaded as the real run loads them, on the device it
   will use, in ``<outputs_dir>/preflight/<run_id>/tiny/`` with its own caches (the real run's outputs and
   caches are never touched). Peak memory is sampled per stage.
3. **A projection** of the real run from what the tiny run measured (:func:`project`): the tiny run's fixed
   cost of each stage (kernel start, imports, loading) plus its measured unit costs times the real run's
   units — teacher requests and tokens per question (× questions; time by waves of ``concurrency``
   requests), the judge's seconds per step (× steps), each method's seconds per step after the first (× steps
   × seeds; QCRD's online-judge updates counted at the real cadence) and its evaluations (× evaluations ×
   questions), stage 04's sampling and judging (× questions). Peak memory is the tiny run's (same models,
   same batch size). A disk estimate (model sizes × the checkpoints the run keeps) is checked against free
   space. Written to ``<outputs_dir>/preflight/<run_id>/preflight.json``.
"""
from __future__ import annotations

import copy
import json
import math
import os
import threading
import time
from pathlib import Path

from qcrdkit.core.errors import ConfigError, QcrdError
from qcrdkit.core.stages import JUDGE, TRAINING, stage_names

#: questions per split in the tiny run (at least a batch of each stage, at most this many more)
TINY_QUESTIONS = 8
TINY_JUDGE_STEPS = 2
#: a check message for an uncached hub model
HUB_FETCH = "fetch it once with `hf download {name}` (or run with --online, which lets the run download it)"


# ---- 1. quick checks ------------------------------------------------------------------------------------------
def hub_model_problem(where: str, name: str, presets, offline: bool) -> str | None:
    """A line when ``name`` (a model the run loads) is neither a preset nor a local folder nor in the Hugging Face
    cache while the hub is offline."""
    if name in presets or Path(name).exists():
        return None
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str) or not offline:
        return None
    return (f"{where}: model {name!r} is not in the Hugging Face cache and the hub is offline (HF_HUB_OFFLINE=1); "
            + HUB_FETCH.format(name=name))


def endpoint_problem(where: str, model: str, base_url: str | None, api_key_env: str | None) -> str | None:
    """The endpoint answers one request for ``model`` (the teacher client's probe first): ``None``, else the line
    naming the URL and what went wrong."""
    from qcrdkit.teacher.client import TeacherClient, TeacherConfig

    try:
        config = TeacherConfig(model=model, base_url=base_url, api_key_env=api_key_env, k=1, max_tokens=1,
                               max_retries=0, timeout=30.0)
        TeacherClient(config, None, progress=False).sample({"check": [{"role": "user", "content": "Reply OK."}]})
    except QcrdError as exc:
        line = f"{where}: {str(exc).splitlines()[0]}"
        return line if "teacher" in where else line.replace("the teacher endpoint", "the endpoint")
    return None


def check_teacher_sampling(config, offline: bool, context: dict) -> list[str]:
    """Stage 01: the task's data loads (kept in ``context["task"]`` for the later stages), the files it names
    exist, the teacher's endpoint answers."""
    from qcrdkit.tasks import get_task

    stage, problems = config.stage, []
    try:
        task = get_task(config.task, **(config.task_options or {}))
        context["task"] = (task, config.data_dir)
        for split in ("train", "valid", "test"):
            task.load(split, data_dir=config.data_dir)
    except (QcrdError, OSError, ValueError) as exc:
        problems.append(f"{stage}: task {config.task!r} data: {str(exc).splitlines()[0]}")
    for key in ("import_path", "prompt_template"):
        path = getattr(config, key)
        if path and not Path(path).exists():
            problems.append(f"{stage}.{key}: {path} does not exist")
    if config.teacher == "openai":
        problems.append(endpoint_problem(f"{stage} teacher", config.model, config.base_url, config.api_key_env))
    return problems


def check_judge(config, offline: bool, context: dict) -> list[str]:
    """Stage 02: the backbone is a preset, a folder or a cached hub model."""
    from qcrdkit.judge.model import T5_PRESETS
    from qcrdkit.students.models import STUDENT_PRESETS

    return [hub_model_problem(f"{config.stage}.backbone", config.backbone, {*T5_PRESETS, *STUDENT_PRESETS, "minilm"},
                              offline)]


def check_training(config, offline: bool, context: dict) -> list[str]:
    """Stage 03: the student model loads, and every method builds its configuration (QCRD's outcome labels read
    the task stage 01 checked)."""
    from qcrdkit.students.models import STUDENT_PRESETS
    from qcrdkit.training.qcrd_judge import check_outcome_labels
    from qcrdkit.training.run import method_config

    problems = [hub_model_problem(f"{config.stage}.student", config.student, STUDENT_PRESETS, offline)]
    for method in config.methods:
        try:
            method_config(method, config, output_dir="/nonexistent", seed=(config.seeds or [0])[0])
            if method == "qcrd" and config.use_judge and config.judge_labels == "outcome" and "task" in context:
                check_outcome_labels(context["task"][0])
        except QcrdError as exc:
            problems.append(f"{config.stage} method {method}: {str(exc).splitlines()[0]}")
    return problems


def check_analysis(config, offline: bool, context: dict) -> list[str]:
    """Stage 04: the LLM judge's endpoint answers."""
    if config.llm_judge != "openai":
        return []
    return [endpoint_problem(f"{config.stage} LLM judge", config.llm_judge_model, config.llm_judge_base_url,
                             config.llm_judge_api_key_env)]


def _stage_checks(stage: str, parameters: dict, offline: bool, context: dict) -> list[str]:
    from qcrdkit.core.stage_parameters import make_stage_config
    from qcrdkit.core.stages import STAGES_BY_NAME

    config = make_stage_config(stage, {k: v for k, v in parameters.items() if k != "run_dir"}, strict=False)
    checks = STAGES_BY_NAME[stage].hook("checks")
    return [p for p in (checks(config, offline, context) if checks else []) if p]


def quick_checks(params: dict, cwd: Path, *, offline: bool) -> tuple[list[str], list]:
    """``(problems, plan)``: the lines of what the real run would fail on, found without running it."""
    from qcrdkit.cli.pipeline import plan_run

    try:
        _, plan = plan_run(params, cwd)
    except QcrdError as exc:
        return [str(exc).splitlines()[0]], []
    problems, task_cache = [], {}
    for stage, name, parameters in plan:
        try:
            problems += _stage_checks(stage, parameters, offline, task_cache)
        except QcrdError as exc:
            problems.append(f"{name}: {str(exc).splitlines()[0]}")
    return problems, plan


# ---- 2. the tiny run -------------------------------------------------------------------------------------------
def tiny_teacher_sampling(s: dict, tiny_root: Path, context: dict) -> dict:
    if s.get("cache_dir", "") is not None:
        s["cache_dir"] = str(tiny_root / "cache" / "teacher")
    return s


def tiny_judge(s: dict, tiny_root: Path, context: dict) -> dict:
    s.update(steps=TINY_JUDGE_STEPS, eval_every=TINY_JUDGE_STEPS, save_every=TINY_JUDGE_STEPS,
             heldout_fraction=max(float(s.get("heldout_fraction") or 0.1), 0.25))
    return s


def tiny_training(s: dict, tiny_root: Path, context: dict) -> dict:
    qcrd = context["qcrd"]
    steps = max(3, context["iterations_back"] + 2) if qcrd else 3
    s.update(steps=steps, eval_every=steps)
    if "seeds" in s:
        s["seeds"] = list(s["seeds"])[:1]
    if qcrd:     # the ring advances and negatives come each step; the online judge updates twice
        s["steps_per_iteration"] = 1
        # every negative inside the margin, so the judge scores it: a trained student's step, not a fresh one's
        s["delta"] = 1e6
        if s.get("judge_update_every", 1) != 0:
            s["judge_update_every"] = max(2, steps // 2)
    return s


def tiny_analysis(s: dict, tiny_root: Path, context: dict) -> dict:
    s.update(kde_questions=2, samples_per_temperature=1, case_questions=1, llm_judge_questions=2,
             bootstrap_resamples=50)
    if s.get("llm_judge_cache_dir", "") is not None:
        s["llm_judge_cache_dir"] = str(tiny_root / "cache" / "judge")
    return s


def _shrink(stage: str, section: dict, tiny_root: Path, context: dict) -> dict:
    """A stage's own parameters for the tiny run (only keys it already sets or the tiny run needs): its record's
    ``tiny`` hook."""
    from qcrdkit.core.stages import STAGES_BY_NAME

    tiny = STAGES_BY_NAME[stage].hook("tiny")
    return tiny(dict(section or {}), tiny_root, context) if tiny else dict(section or {})


def tiny_params(params: dict, tiny_root: Path, questions: int = TINY_QUESTIONS) -> dict:
    """The params of the tiny run (see the module doc), in ``tiny_root``."""
    from qcrdkit.core.stages import TEACHER_SAMPLING, TrainingStageConfig, defaults

    p = copy.deepcopy(params)
    p["run_id"], p["outputs_dir"] = "tiny", str(tiny_root)
    common = p["common"] = dict(p.get("common") or {})
    training = {**common, **(p.get(TRAINING) or {})}
    context = {"qcrd": "qcrd" in (training.get("methods") or defaults(TRAINING)["methods"]),
               "iterations_back": int(training.get("iterations_back") or TrainingStageConfig.iterations_back)}
    teacher = p.setdefault(TEACHER_SAMPLING, {}) or {}
    holder = teacher if "task_options" in teacher else common
    holder["task_options"] = {**(holder.get("task_options") or {}), "questions_per_split": questions}
    # the stages before the first one asked for run too: a later stage needs their artifacts
    names = stage_names()
    p["stages"] = names[:max(names.index(s) for s in p["stages"]) + 1]
    for stage in p["stages"]:
        p[stage] = _shrink(stage, p.get(stage), tiny_root, context)
    sweep = p.get("sweep")
    if sweep:           # a variant's own settings are shrunk too (those it sets; the rest come from its stage's)
        sweep["variants"] = {name: {k: v for k, v in _shrink(sweep["stage"], variant, tiny_root, context).items()
                                    if k in variant}
                             for name, variant in sweep["variants"].items()}
    return p


class PeakMemory:
    """Peak resident memory (GB) of this process's children (the notebook kernels), per stage: sampled every
    0.2 s while a stage runs (``on_stage`` of :func:`qcrdkit.cli.pipeline.run_pipeline`)."""

    def __init__(self):
        self.peaks: dict[str, float] = {}
        self.current, self._stop = None, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def on_stage(self, event: str, name: str, seconds) -> None:
        self.current = name if event == "start" else None

    def _sample(self):
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            name = self.current
            if name is None:
                continue
            total = 0
            for child in me.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.peaks[name] = max(self.peaks.get(name, 0.0), total / 2**30)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=2)


# ---- 3. all of it -------------------------------------------------------------------------------------------------
#: the file that marks a tiny run's folder as made by ``qcrd check`` (only such a folder is ever deleted)
TINY_MARKER = ".made-by-qcrd-check"


def preflight_dir(params: dict, cwd: str | Path) -> Path:
    from qcrdkit.core.guards import check_run_name

    name = check_run_name(params.get("run_id") or "run")
    return (Path(cwd) / params.get("outputs_dir", "outputs") / "preflight" / name).resolve()


def fresh_tiny_folder(folder: Path) -> Path:
    """``<folder>/tiny``, emptied when an earlier ``qcrd check`` made it (its marker file); a ``tiny`` folder
    that check did not make is a :class:`ConfigError` and stays as it is."""
    from qcrdkit.core.guards import remove_inside

    tiny = folder / "tiny"
    if tiny.exists() or tiny.is_symlink():
        if tiny.is_symlink() or not (tiny / TINY_MARKER).is_file():
            raise ConfigError(f"{tiny} exists and was not made by qcrd check: it is left as it is; "
                              "move it, or give another run_id or outputs_dir")
        remove_inside(folder, tiny)
    tiny.mkdir(parents=True)
    (tiny / TINY_MARKER).write_text("made by qcrd check; deleted by the next check of this run_id\n")
    return tiny


def run_preflight(params: dict, cwd: str | Path, *, offline: bool = True, price_in: float | None = None,
                  price_out: float | None = None, echo=print) -> dict:
    """Quick checks, the tiny run, the projection (see the module doc): the report, also written to
    ``<outputs_dir>/preflight/<run_id>/preflight.json``. ``report["problems"]`` lists what would fail (empty: none);
    the tiny run and the projection are skipped when a quick check fails."""
    from qcrdkit.cli.pipeline import StageFailed, run_pipeline
    from qcrdkit.cli.projection import disk_free_gb, disk_needed_gb, project

    cwd = Path(cwd).resolve()
    folder = preflight_dir(params, cwd)
    if folder.exists() and any(folder.iterdir()) and not ((folder / "preflight.json").is_file()
                                                          or (folder / "tiny" / TINY_MARKER).is_file()):
        raise ConfigError(f"{folder} holds files qcrd check did not write: it is left as it is; give another "
                          "run_id or outputs_dir")
    folder.mkdir(parents=True, exist_ok=True)
    report = {"params_run_id": params.get("run_id"), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "device": _device(), "problems": []}
    t0 = time.perf_counter()
    problems, plan = quick_checks(params, cwd, offline=offline)
    report["quick_check_seconds"] = round(time.perf_counter() - t0, 2)
    if not problems:
        tiny_root = fresh_tiny_folder(folder)
        batch = max(int((params.get(s) or {}).get("batch_size") or 0) for s in (JUDGE, TRAINING))
        questions = max(TINY_QUESTIONS, min(batch, 64))
        runs = [tiny_params(params, tiny_root, questions=questions)]
        if params.get("sweep"):       # a sweep runs on a run that has its swept stage's plain artifacts: make them
            base = {k: v for k, v in params.items() if k != "sweep"}
            base["stages"] = stage_names()[:stage_names().index(params["sweep"]["stage"]) + 1]
            runs.insert(0, tiny_params(base, tiny_root, questions=questions))
        memory, stage_seconds = PeakMemory(), {}

        def on_stage(event, name, seconds):
            memory.on_stage(event, name, seconds)
            echo(f"  tiny run: {name} " + ("..." if event == "start" else f"{seconds:.0f} s"))

        try:
            for tiny in runs:
                result = run_pipeline(tiny, cwd=cwd, on_stage=on_stage)
                for name, took in result.seconds.items():        # a stage reused by the second run: the first's time
                    stage_seconds.setdefault(name, took)
            report["tiny_run"] = {"dir": str(result.run_dir), "seconds": stage_seconds, "peak_memory_gb": memory.peaks}
            report.update(project(plan, result.run_dir, stage_seconds, memory.peaks, price_in=price_in,
                                  price_out=price_out))
            report["disk_gb_needed"] = disk_needed_gb(plan, result.run_dir)
            report["disk_gb_free"] = disk_free_gb(cwd / params.get("outputs_dir", "outputs"))
            if report["disk_gb_needed"] > report["disk_gb_free"]:
                problems.append(f"disk: the run writes up to {report['disk_gb_needed']:.1f} GB of models and "
                                f"checkpoints, {report['disk_gb_free']:.1f} GB are free under {params.get('outputs_dir', 'outputs')}")
        except StageFailed as exc:
            problems.append(f"tiny run, stage {exc.stage}: {str(exc.detail).splitlines()[0]} (notebook: {exc.notebook})")
        except QcrdError as exc:
            problems.append(f"tiny run: {str(exc).splitlines()[0]}")
        except (OSError, KeyError, ValueError, ZeroDivisionError) as exc:     # an artifact the projection reads
            problems.append(f"projection from the tiny run: {type(exc).__name__}: {exc}")
        finally:
            memory.stop()
    report["problems"] = problems
    report["seconds"] = round(time.perf_counter() - t0, 1)
    (folder / "preflight.json").write_text(json.dumps(report, indent=2))
    return report


def _device() -> str:
    """The device each process trains on and the dtype of QCRD's passes without gradient (``inference_dtype:
    auto``, :mod:`qcrdkit.core.precision`)."""
    import torch

    from qcrdkit.core.precision import inference_dtype

    if torch.cuda.is_available():
        where = f"cuda ({torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}, bf16 training {torch.cuda.is_bf16_supported()})"
    else:
        where = f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    dtype = str(inference_dtype("auto", "cuda" if torch.cuda.is_available() else "cpu")).removeprefix("torch.")
    return f"{where}; passes without gradient in {dtype}"
