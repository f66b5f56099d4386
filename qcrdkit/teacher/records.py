"""Teacher sample records: the rows of ``<run>/teacher/samples.jsonl``.

One record per sample: ``id``, ``split``, ``question``, ``sample_index``, ``temperature``,
``model``, ``source``, ``raw`` (the completion as returned), ``rationale`` (cut at the next
few-shot example, answer sentence removed), ``answer`` (as read; ``null`` if unread), ``read_by`` (the rule
that read it: :data:`qcrdkit.tasks.reading.RULES`), ``gold``, ``correct``, ``finish_reason``; after the self-consistency split also ``positive``,
``majority_answer`` and ``majority_correct``.
"""
from __future__ import annotations

from qcrdkit.tasks.base import Example, Task


def make_record(task: Task, example: Example, *, split: str, sample_index: int, raw: str,
                temperature: float | None, model: str, source: str, finish_reason: str | None = None) -> dict:
    rationale, reading = task.read_completion(raw, example)
    answer = reading.answer
    return {"id": example.id, "split": split, "question": example.input, "sample_index": sample_index,
            "temperature": temperature, "model": model, "source": source, "raw": raw, "rationale": rationale,
            "answer": answer, "read_by": reading.rule, "gold": example.answer, "correct": task.is_correct(answer, example),
            "finish_reason": finish_reason}
