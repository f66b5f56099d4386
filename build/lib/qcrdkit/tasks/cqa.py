"""CommonsenseQA (Talmor et al. 2018) with CoS-E explanations, five answer choices."""
from __future__ import annotations

import re
import string
from typing import Any

from .base import Example, Task, register_task

LETTERS = "abcde"


def format_choices(question: str, choices: list[str]) -> str:
    """The DSS input format: the question, then ``Answer Choices:`` and ``(a) ...`` lines."""
    lines = [question, "Answer Choices:"] + [f"({LETTERS[i]}) {c}" for i, c in enumerate(choices)]
    return "\n".join(lines)


def _norm(text: str) -> str:
    return text.strip().strip(string.punctuation + " ").lower()


@register_task("cqa")
class CQA(Task):
    required_fields = ("question", "choices", "answer")
    valid_from_train = True

    def example_from_record(self, record: dict, default_id: str) -> Example:
        choices = list(record["choices"])
        if len(choices) != 5:
            raise ValueError(f"expected 5 choices, got {len(choices)}")
        if record["answer"] not in choices:
            raise ValueError(f"answer {record['answer']!r} is not one of the choices")
        return Example(id=str(record.get("id") or default_id), input=format_choices(record["question"], choices),
                       label=record["answer"], answer=record["answer"],
                       meta={"choices": choices, "explanation": record.get("abstractive_explanation")})

    def parse_answer_text(self, answer_text: str, example: Example | None) -> str | None:
        """``(c) train station.`` -> ``train station``; a bare letter or choice text also works."""
        choices = (example.meta.get("choices") if example else None) or []
        first_sentence = re.split(r"(?<=[.!?])\s|\n", answer_text.strip(), maxsplit=1)[0]
        m = re.match(r"^\(?([a-eA-E])\)(?:\s*|$)(.*)$", first_sentence) or re.match(r"^([a-eA-E])[.)]?$", first_sentence)
        if m:
            idx = LETTERS.index(m.group(1).lower())
            if choices:
                return choices[idx]
            rest = _norm(m.group(2)) if m.lastindex and m.lastindex >= 2 else ""
            return rest or m.group(1).lower()
        text = _norm(first_sentence)
        if not text:
            return None
        if not choices:
            return text
        for c in choices:
            if _norm(c) == text:
                return c
        contained = [c for c in choices if re.search(rf"\b{re.escape(_norm(c))}\b", text)]
        return contained[0] if len(contained) == 1 else None

    def answer_key(self, answer: Any):
        return None if answer is None else _norm(str(answer))

    def _load_split_hub(self, split):
        from .hub import load_hub_split
        return load_hub_split(self, "cos_e", "v1.11", {"train": "train", "test": "validation"}, split)
