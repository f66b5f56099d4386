"""Task registry: svamp, cqa, anli1, esnli (Distilling Step-by-Step data), arith (embedded) and jsonl
(your own questions from JSONL/CSV files or a ``datasets`` dataset, no code).

>>> from qcrdkit.tasks import get_task
>>> task = get_task("arith", n_train=4, n_valid=2, n_test=2)      # the embedded world; svamp etc. read the DSS
>>> [len(task.load(split)) for split in ("train", "valid", "test")]   # files: task.load("test", data_dir=...)
[4, 2, 2]
"""
from __future__ import annotations

from pathlib import Path

from qcrdkit.tasks.base import SPLITS, Example, Task, carve_valid, get_task, register_task, split_answer, task_names
from qcrdkit.tasks import svamp, cqa, nli, arith, jsonl  # noqa: F401  (registration)

__all__ = ["SPLITS", "Example", "Task", "carve_valid", "get_task", "register_task", "split_answer", "task_names"]


def load_task(run_dir: str | Path) -> tuple[Task, dict]:
    """The run's task (with the options stage 01 used) and its spec (``<run>/task.json``)."""
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.io import read_json

    path = Path(run_dir) / "task.json"
    if not path.exists():
        raise ConfigError(f"{path}: not found; run stage 01 (teacher sampling) for this run_dir first")
    spec = read_json(path)
    return get_task(spec["task"], **spec.get("task_options", {})), spec


def load_examples(run_dir: str | Path, splits) -> dict:
    """``{id: Example}`` of the run's task over ``splits``."""
    task, spec = load_task(run_dir)
    return {ex.id: ex for split in splits for ex in task.load(split, data_dir=spec.get("data_dir"))}
