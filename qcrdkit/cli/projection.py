"""``qcrd check``'s projection of the real run from its tiny run (the model: :mod:`qcrdkit.cli.preflight`).

Every projected quantity is ``fixed + unit cost × units``: the tiny run measured the unit costs (seconds per
teacher wave, per judge step, per student step, per evaluated question; tokens per question) and each stage's
fixed cost (its wall time minus the measured work); the real run's params give the units.

>>> waves(700, 8) / waves(8, 8)          # 700 questions at 8 requests in flight take 88 waves of the tiny run's one
88.0
"""
from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from qcrdkit.core.io import read_json
from qcrdkit.core.stage_parameters import make_stage_config
from qcrdkit.core.stages import TRAINING

GB = 2**30


def waves(questions: int, concurrency: int) -> float:
    """Rounds of ``concurrency`` requests in flight that ``questions`` take."""
    return float(math.ceil(max(questions, 1) / max(concurrency, 1)))


def _config(stage: str, parameters: dict):
    return make_stage_config(stage, {k: v for k, v in parameters.items() if k != "run_dir"}, strict=False)


def _task_sizes(config) -> dict:
    """Questions per split of the real run's task (stage 01's ``limit`` applies to the sampled splits)."""
    from qcrdkit.tasks import get_task

    task = get_task(config.task, **{k: v for k, v in (config.task_options or {}).items() if k != "questions_per_split"})
    sizes = {}
    for split in ("train", "valid", "test"):
        n = len(task.load(split, data_dir=config.data_dir))
        sizes[split] = min(n, config.limit) if config.limit and split in config.splits else n
    return sizes


def _read(path: Path) -> dict:
    return read_json(path) if Path(path).exists() else {}


def _students(tiny_run: Path) -> dict[str, dict]:
    """The tiny run's students' metrics, one per method (the first found)."""
    out = {}
    for path in sorted((tiny_run / "students").glob("*/metrics.json")):
        metrics = read_json(path)
        out.setdefault(metrics["method"], metrics)
    return out


@dataclass
class Measured:
    """What the per-stage projections share: the tiny run, the real run's task sizes, stage 01's record of the tiny
    run's requests, and ``out`` (the report's keys, which a stage's projection adds to)."""

    tiny_run: Path
    sizes: dict
    teacher: dict
    tiny_questions: int
    sizes_ratio: float
    out: dict


def project_teacher_sampling(m: Measured, config, name: str, wall: float) -> float:
    """Requests and tokens scale with the questions; time by waves of ``concurrency`` requests (an import with
    the questions)."""
    greedy = m.teacher.get("greedy") or {}
    real_questions = sum(m.sizes[s] for s in config.splits)
    m.out["teacher_requests"] = round((m.teacher.get("requests", 0) + greedy.get("requests", 0)) * m.sizes_ratio)
    for kind in ("prompt", "completion"):
        key = f"{kind}_tokens"
        m.out["teacher_tokens"][kind] = round((m.teacher.get(key, 0) + greedy.get(key, 0)) * m.sizes_ratio)
    sampled = m.teacher.get("sampling_seconds", m.teacher.get("seconds", 0.0)) + greedy.get("seconds", 0.0)
    scale = waves(real_questions, config.concurrency) / waves(m.tiny_questions, config.concurrency) \
        if config.teacher in ("openai", "synthetic") else m.sizes_ratio
    return max(wall - sampled, 0.0) + sampled * scale


def project_judge(m: Measured, config, name: str, wall: float) -> float:
    """Seconds per step × steps, evaluations × their time, scoring every teacher rationale."""
    from qcrdkit.core.rundir import judge_dir

    folder = judge_dir(m.tiny_run)
    metrics, history = read_json(folder / "metrics.json"), read_json(folder / "history.json")
    evals = [e["eval_runtime"] for e in history if "eval_runtime" in e]
    per_eval = sum(evals) / max(len(evals), 1)
    per_step = max(metrics["train_seconds"] - sum(evals), 0.0) / max(metrics["steps"], 1)
    work = _read(folder / "teacher_scores_work.json")          # scoring every teacher rationale
    m.out["seconds_per_step"]["judge"] = round(per_step, 4)
    fixed = max(wall - metrics["train_seconds"] - work.get("seconds", 0.0), 0.0)
    real_rationales = work.get("rationales", 0) * m.sizes_ratio
    return fixed + per_step * config.steps + per_eval * (config.steps // max(config.eval_every or 0, 1)) \
        + work.get("seconds", 0.0) * real_rationales / max(work.get("rationales", 0), 1)


def project_training(m: Measured, config, name: str, wall: float) -> float:
    """Per method: seconds per step after the first × steps × seeds (QCRD's online-judge updates at the real
    cadence), evaluations × questions."""
    students = _students(m.tiny_run)
    measured = sum(s["train_runtime"] + s.get("evaluation_seconds", 0.0) for s in students.values())
    total = max(wall - measured, 0.0)
    sizes = m.sizes
    m.out["processes"] = config.processes           # the tiny run trained each student with as many
    for method in config.methods:
        s = students.get(method)
        if s is None:
            continue
        per_step = s.get("steady_seconds_per_step") or s["seconds_per_step"]
        updates = s.get("judge_update_seconds") or 0.0           # outside the step timer: added at its cadence
        every = config.judge_update_every if config.judge_update_every is not None else config.steps_per_iteration
        if updates and every:
            per_step += updates / max(s.get("judge_updates") or 1, 1) / every
        m.out["seconds_per_step"][method] = round(per_step, 4)
        in_training = max(s["train_runtime"] - s["train_seconds"] - updates, 0.0) \
            * (config.steps // max(config.eval_every or 0, 1)) * sizes["valid"] / max(s["n_valid"], 1)
        final = s.get("evaluation_seconds", 0.0) * (sizes["valid"] + sizes["test"]) / max(s["n_valid"] + s["n_test"], 1)
        total += len(config.seeds or [0]) * (per_step * config.steps + in_training + final)
    return total


def project_analysis(m: Measured, config, name: str, wall: float) -> float:
    """The quality plot's samples and the LLM judge's pairs × their measured time."""
    summary = _read(m.tiny_run / "report" / "summary.json")
    quality, judged = summary.get("work_quality") or {}, summary.get("work_llm_judge") or {}
    fixed = max(wall - quality.get("seconds", 0.0) - judged.get("seconds", 0.0), 0.0)
    samples = min(config.kde_questions, m.sizes["test"]) * config.samples_per_temperature * len(config.temperatures)
    pairs = min(config.llm_judge_questions, m.sizes["test"]) * len(config.llm_judge_temperatures) \
        if config.llm_judge else 0
    return fixed + quality.get("seconds", 0.0) * samples / max(quality.get("samples", 0), 1) \
        + judged.get("seconds", 0.0) * pairs / max(judged.get("pairs", 0), 1)


def project(plan: list, tiny_run: Path, stage_seconds: dict, peaks: dict, *, price_in: float | None = None,
            price_out: float | None = None) -> dict:
    """The real run's projection (keys of ``preflight.json``; see the module doc): each stage's by its record's
    ``projection`` hook. ``plan``: the real run's :func:`qcrdkit.cli.pipeline.plan_run` plan; ``tiny_run``: the tiny
    run's folder; ``stage_seconds`` / ``peaks``: the tiny run's wall seconds and peak GB per stage (or sweep
    variant) name."""
    from qcrdkit.core.stages import STAGES_BY_NAME, TEACHER_SAMPLING

    configs = [(stage, name, _config(stage, parameters)) for stage, name, parameters in plan]
    first = next((c for s, _, c in configs if s == TEACHER_SAMPLING), None)
    if first is None:
        from qcrdkit.tasks import load_task

        spec = load_task(tiny_run)[1]
        first = _config(TEACHER_SAMPLING, {"task": spec["task"], "data_dir": spec.get("data_dir"),
                                           "task_options": spec.get("task_options") or {}})
    sizes = _task_sizes(first)
    teacher = _read(tiny_run / "teacher" / "config.json")
    tiny_questions = max(sum((teacher.get("splits") or {}).values()), 1)
    out = {"teacher_requests": 0, "teacher_tokens": {"prompt": 0, "completion": 0}, "seconds_per_step": {},
           "projected_hours": {}, "peak_memory_gb": {}}
    # the teacher's samples scale with the questions sampled
    measured = Measured(tiny_run, sizes, teacher, tiny_questions, sum(sizes[s] for s in first.splits) / tiny_questions,
                        out)
    seconds = {}
    for stage, name, config in configs:
        projection = STAGES_BY_NAME[stage].hook("projection")
        if projection is not None:
            seconds[name] = projection(measured, config, name, stage_seconds.get(name, 0.0))
    for stage, name, _ in configs:
        hours = seconds.get(name, 0.0) / 3600
        out["projected_hours"][stage] = round(out["projected_hours"].get(stage, 0.0) + hours, 4)
        if name in peaks:
            out["peak_memory_gb"][stage] = round(max(out["peak_memory_gb"].get(stage, 0.0), peaks[name]), 2)
    out["projected_hours"]["total"] = round(sum(out["projected_hours"].values()), 4)
    tokens = out["teacher_tokens"]
    tokens["total"] = tokens["prompt"] + tokens["completion"]
    if price_in is not None or price_out is not None:
        out["teacher_cost"] = round(tokens["prompt"] / 1e6 * (price_in or 0.0)
                                    + tokens["completion"] / 1e6 * (price_out or 0.0), 4)
    out["questions"] = sizes
    return out


def disk_needed_gb(plan: list, tiny_run: Path) -> float:
    """Disk the real run's artifacts and checkpoints take at most (GB): every student's final model (and QCRD's
    judge), one student's checkpoints in flight (the Trainer keeps ``save_total_limit`` of them, plus the best:
    weights, Adam's two moments, QCRD's snapshot ring of ``iterations_back + 1`` copies and its judge) and
    the judge's folder with its checkpoint."""
    from qcrdkit.core.rundir import judge_dir
    from qcrdkit.training.base import StudentConfig

    def size(path: Path) -> float:
        return path.stat().st_size / GB if path.exists() else 0.0

    judge = size(judge_dir(tiny_run) / "model.safetensors")
    sizes = {}
    for path in (tiny_run / "students").glob("*/metrics.json"):
        sizes.setdefault(read_json(path)["method"], size(path.parent / "model.safetensors"))
    finals, in_flight = judge * 4, 0.0
    kept = (StudentConfig.save_total_limit or 1) + 1
    for stage, _, parameters in plan:
        if stage != TRAINING:
            continue
        config = _config(stage, parameters)
        for method in config.methods:
            model = sizes.get(method, 0.0)
            qcrd = method == "qcrd"
            finals += len(config.seeds or [0]) * (model + (judge if qcrd else 0.0))
            checkpoint = model * 3 + ((config.iterations_back + 1) * model + 3 * judge if qcrd else 0.0)
            in_flight = max(in_flight, kept * checkpoint)
    return round(finals + in_flight, 3)


def disk_free_gb(path: Path) -> float:
    path = Path(path)
    while not path.exists():
        path = path.parent
    return round(shutil.disk_usage(path).free / GB, 3)


def table(report: dict) -> str:
    """The projection as a short text table."""
    lines = [f"device: {report.get('device', '?')}"]
    if "processes" in report:
        lines.append(f"stage 03: each student trained by {report['processes']} process(es) (processes; the tiny run "
                     "trained that way, so its seconds per step are those processes')")
    lines.append(f"{'stage':22} {'projected h':>12} {'peak GB':>8}")
    for stage, hours in report["projected_hours"].items():
        if stage != "total":
            lines.append(f"{stage:22} {hours:12.3f} {report['peak_memory_gb'].get(stage, float('nan')):8.2f}")
    lines.append(f"{'total':22} {report['projected_hours']['total']:12.3f}")
    lines.append("seconds per step: " + ", ".join(f"{k} {v:.3f}" for k, v in report["seconds_per_step"].items()))
    tokens = report["teacher_tokens"]
    lines.append(f"teacher: {report['teacher_requests']} requests, {tokens['prompt']} prompt + {tokens['completion']} "
                 f"completion tokens" + (f", cost {report['teacher_cost']:.2f}" if "teacher_cost" in report else
                                         " (--price-in/--price-out for the cost)"))
    lines.append(f"disk: {report['disk_gb_needed']:.2f} GB needed, {report['disk_gb_free']:.1f} GB free")
    return "\n".join(lines)
