"""Task registry: svamp, cqa, anli1, esnli (Distilling Step-by-Step data), arith (embedded) and jsonl
(your own questions from JSONL/CSV files or a ``datasets`` dataset, no code).

>>> from qcrdkit.tasks import get_task
>>> task = get_task("arith", n_train=4, n_valid=2, n_test=2)      # the embedded world; svamp etc. read the DSS
>>> [len(task.load(split)) for split in ("train", "valid", "test")]   # files: task.load("test", data_dir=...)
[4, 2, 2]
"""
from .base import SPLITS, Example, Task, carve_valid, get_task, register_task, split_answer, task_names
from . import svamp, cqa, nli, arith, jsonl  # noqa: F401  (registration)

__all__ = ["SPLITS", "Example", "Task", "carve_valid", "get_task", "register_task", "split_answer", "task_names"]
