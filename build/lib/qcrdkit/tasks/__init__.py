"""Task registry: svamp, cqa, anli1, esnli (Distilling Step-by-Step data), arith (embedded) and jsonl
(your own questions from JSONL/CSV files or a ``datasets`` dataset, no code).

>>> from qcrdkit.tasks import get_task
>>> task = get_task("svamp")
>>> examples = task.load("test", data_dir="../shared/data/dss")
"""
from .base import SPLITS, Example, Task, carve_valid, get_task, register_task, split_answer, task_names
from . import svamp, cqa, nli, arith, jsonl  # noqa: F401  (registration)

__all__ = ["SPLITS", "Example", "Task", "carve_valid", "get_task", "register_task", "split_answer", "task_names"]
