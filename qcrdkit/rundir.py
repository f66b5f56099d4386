"""The run directory: one folder per run that every stage reads from and writes to (01 → 04).

```
<run>/task.json                 which task and options the run uses (written by stage 01)
<run>/teacher/samples.jsonl     stage 01: one record per teacher sample (see teacher/records.py)
<run>/teacher/greedy.jsonl      stage 01: one greedy (τ = 0) sample per question, the baselines' rationale
<run>/teacher/stats.json        stage 01: self-consistency statistics (consistency.py)
<run>/teacher/config.json       stage 01: what produced the samples (never an API key)
<run>/discriminator/            stage 02: the judge (save_pretrained folder: config, weights, tokenizer)
<run>/discriminator/metrics.json      held-out ROC-AUC, accuracy at 0.5, mean scores, counts
<run>/discriminator/scores.jsonl      per held-out rationale: id, key, source, label, score
<run>/discriminator/history.json      the Trainer's log history (loss and validation curve)
<run>/discriminator/teacher_scores.jsonl   the final judge's score of every teacher sample (the explorer)
<run>/students/tokenizer/       stage 03: the run's student tokenizer (offline presets)
<run>/students/<name>/          stage 03: a selected student, its metrics.json, history.json, test_predictions.jsonl
<run>/students/summary.json     stage 03: every student's metrics.json (students.trainers.collect_students reads them)
<run>/report/                   stage 04: tables.md, summary.json, figures, student_samples.jsonl
<run>/notebooks/NN_*.ipynb      executed notebooks (qcrd run); the kernels run in this folder
```
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import ConfigError
from .io import read_json, read_jsonl, write_json, write_jsonl
from .tasks import Task, get_task


def save_task_spec(run_dir: str | Path, task: str, data_dir: str | None, task_options: dict | None) -> Path:
    path = Path(run_dir) / "task.json"
    write_json(path, {"task": task, "data_dir": None if data_dir is None else str(Path(data_dir).resolve()),
                      "task_options": task_options or {}})
    return path


def load_task(run_dir: str | Path) -> tuple[Task, dict]:
    """The run's task (with the options stage 01 used) and its spec."""
    path = Path(run_dir) / "task.json"
    if not path.exists():
        raise ConfigError(f"{path}: not found; run stage 01 (teacher sampling) for this run_dir first")
    spec = read_json(path)
    return get_task(spec["task"], **spec.get("task_options", {})), spec


def teacher_samples_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "teacher" / "samples.jsonl"


def teacher_greedy_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "teacher" / "greedy.jsonl"


def write_teacher_artifacts(run_dir: str | Path, records: list[dict], stats: dict, config: dict,
                            greedy: list[dict] | None = None) -> Path:
    """``samples.jsonl``, ``stats.json``, ``config.json`` and, when given, ``greedy.jsonl``."""
    out = Path(run_dir) / "teacher"
    write_jsonl(out / "samples.jsonl", records)
    if greedy is not None:
        write_jsonl(out / "greedy.jsonl", greedy)
    write_json(out / "stats.json", stats)
    write_json(out / "config.json", config)
    return out


def read_teacher_samples(run_dir: str | Path) -> list[dict]:
    path = teacher_samples_path(run_dir)
    if not path.exists():
        raise ConfigError(f"{path}: not found; run stage 01 (teacher sampling) for this run_dir first")
    return read_jsonl(path)


def read_teacher_greedy(run_dir: str | Path) -> list[dict] | None:
    """Stage 01's greedy samples (``teacher/greedy.jsonl``), or ``None`` when it did not take them."""
    path = teacher_greedy_path(run_dir)
    return read_jsonl(path) if path.exists() else None


def discriminator_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "discriminator"


def write_discriminator_artifacts(run_dir: str | Path, model, tokenizer, *, metrics: dict, scores: list[dict],
                                  history: list[dict], extra_scores: dict[str, list[dict]] | None = None) -> Path:
    """The judge checkpoint plus ``metrics.json``, ``scores.jsonl`` (``scores_<split>.jsonl`` for
    ``extra_scores``) and ``history.json`` under ``<run>/discriminator/``."""
    from .judge import save_discriminator

    out = discriminator_dir(run_dir)
    save_discriminator(model, tokenizer, out)
    write_json(out / "metrics.json", metrics)
    write_jsonl(out / "scores.jsonl", scores)
    for split, rows in (extra_scores or {}).items():
        write_jsonl(out / f"scores_{split}.jsonl", rows)
    write_json(out / "history.json", history)
    return out


def finished_discriminator(run_dir: str | Path, settings: dict) -> dict | None:
    """The saved ``metrics.json`` of a stage-02 judge pretrained with exactly these ``settings``
    (the notebook's training parameters), so the stage can reuse it; ``None`` otherwise."""
    path = discriminator_dir(run_dir) / "metrics.json"
    if not path.exists() or not (discriminator_dir(run_dir) / "config.json").exists():
        return None
    saved = read_json(path)
    return saved if saved.get("settings") == json.loads(json.dumps(settings)) else None


def load_run_discriminator(run_dir: str | Path, device=None):
    """The run's stage-02 judge and tokenizer."""
    from .judge import load_discriminator

    return load_discriminator(discriminator_dir(run_dir), device=device)


def resolve_run_dir(run_dir: str | Path | None, outputs_dir: str | Path = "outputs") -> Path:
    """``run_dir`` itself; for ``None``, ``$QCRD_RUN_DIR`` or else the newest run under
    ``<outputs_dir>/runs`` with trained students (a notebook opened by hand, or served by Voilà)."""
    import os

    if run_dir is None:
        run_dir = os.environ.get("QCRD_RUN_DIR")
    if run_dir is None:
        runs = sorted((p.parent.parent for p in Path(outputs_dir).glob("runs/*/students/*/metrics.json")),
                      key=lambda p: p.stat().st_mtime)
        if not runs:
            raise ConfigError(f"no run with trained students under {Path(outputs_dir) / 'runs'}; "
                              "pass run_dir, set QCRD_RUN_DIR, or run `make demo` first")
        run_dir = runs[-1]
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"run_dir {run_dir} does not exist")
    return run_dir
