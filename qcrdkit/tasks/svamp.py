"""SVAMP (Patel et al. 2021): arithmetic word problems whose gold label is an equation."""
from __future__ import annotations

import re
from typing import Any

from .base import Example, Task, register_task
from .numeric import format_number, number_key, numbers_equal, parse_number, safe_eval


_LAST_RESULT = re.compile(r"=\s*(-?\d+(?:\.\d+)?)")


class NumericTask(Task):
    """Shared answer handling for tasks whose answer is a number."""

    numeric = True

    def parse_answer_text(self, answer_text: str, example: Example | None) -> float | None:
        return parse_number(answer_text)

    def answer_key(self, answer: Any):
        return None if answer is None else number_key(answer)

    def is_correct(self, answer: Any, example: Example) -> bool:
        return answer is not None and numbers_equal(float(answer), float(example.answer))

    def answer_to_text(self, answer: Any) -> str:
        return format_number(answer)

    def fallback_answer(self, text: str, example: Example | None = None) -> float | None:
        """The result of the text's last calculation (``... = 32 more wrappers`` -> 32)."""
        results = _LAST_RESULT.findall(text.replace(",", ""))
        return float(results[-1]) if results else None

    def parse_label(self, text: str, example: Example | None = None) -> float | None:
        """An equation (``( 5.0 + 3.0 )``) or a bare number, evaluated; anything else (a broken
        equation, words) is ``None``: no credit for a number picked out of a malformed label."""
        try:
            return safe_eval(text)
        except (ValueError, RecursionError):
            return None


@register_task("svamp")
class SVAMP(NumericTask):
    required_fields = ("input", "label")
    valid_from_train = True
    hub_id = "ChilleD/SVAMP"

    def example_from_record(self, record: dict, default_id: str) -> Example:
        if "input" not in record:  # hub layout: Body / Question / Equation
            record = {"input": f"{record['Body']}\n{record['Question']}", "label": record["Equation"],
                      "id": record.get("ID")}
        return Example(id=str(record.get("id") or default_id), input=record["input"],
                       label=record["label"], answer=safe_eval(record["label"]))

    def _load_split_hub(self, split):
        from .hub import load_hub_split
        return load_hub_split(self, self.hub_id, None, {"train": "train", "test": "test"}, split)
