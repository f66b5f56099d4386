"""Scoring the answer reader against rationales with known readings (``tests/data/free_form/rationales.jsonl``,
a held-out dump): per style, how many are read, read as expected, and how many a right/wrong label gets wrong.

Used by ``bench/answer_reading.py`` and ``tests/test_reading.py``."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from qcrdkit.tasks import get_task
from qcrdkit.tasks.base import Example


def task_for(answer_type: str):
    """The task that reads rows of one answer type (``number``: SVAMP's; ``choice``: CQA's; ``label``: ANLI's)."""
    return get_task({"number": "svamp", "choice": "cqa", "label": "anli1"}[answer_type])


def example_for(row: dict) -> Example:
    """An example carrying what the reader may use: the options of a choice row, the question when given."""
    meta = {"choices": row["options"]} if row.get("options") else {}
    return Example(id="row", input=row.get("question", ""), label=str(row["gold"]), answer=row["gold"], meta=meta)


def same_answer(task, a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return task.answer_key(a) == task.answer_key(b)


def score_rows(rows: Iterable[dict]) -> dict:
    """``{style: {n, read, as_expected, label_agrees, false_credit}}`` and ``"all"``: ``label_agrees`` — the
    reading's right/wrong equals the expected reading's; ``false_credit`` — credited where a careful reader
    credits nothing. Each row's reading is kept under ``"rows"``."""
    stats: dict = defaultdict(lambda: defaultdict(int))
    read_rows = []
    for row in rows:
        task = task_for(row["type"])
        example = example_for(row)
        reading = task.read_completion(row["text"], example)[1]
        right = reading.read and task.is_correct(reading.answer, example)
        expected_right = row["expected"] is not None and task.is_correct(row["expected"], example)
        for key in (row["style"].split("/")[0], "all"):          # long/<style> counts under long
            s = stats[key]
            s["n"] += 1
            s["read"] += reading.read
            s["as_expected"] += same_answer(task, reading.answer, row["expected"])
            s["label_agrees"] += right == expected_right
            s["false_credit"] += right and not expected_right
        read_rows.append({**row, "read_as": reading.answer, "rule": reading.rule})
    return {"styles": {k: dict(v) for k, v in stats.items()}, "rows": read_rows}
