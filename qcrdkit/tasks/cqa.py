"""CommonsenseQA (Talmor et al. 2018) with CoS-E explanations, five answer choices."""
from __future__ import annotations

import re
import string
from typing import Any

from qcrdkit.tasks.base import Example, Task, register_task
from qcrdkit.tasks.choice import closing_choice, parse_choice, parse_unlisted_choice
from qcrdkit.tasks.reading import Reading

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
        """``(c) train station.`` -> ``train station``; a bare letter or an option's text also works; a hedge
        (``(d) soccer game or (e) hockey game.``) or a letter whose text names another option is ``None``
        (:mod:`qcrdkit.tasks.choice`). Without the example's options: the letter's text (or the letter)."""
        choices = (example.meta.get("choices") if example else None) or []
        return parse_choice(answer_text, choices, _norm) if choices else parse_unlisted_choice(answer_text, _norm, LETTERS)

    def closing_answer(self, text: str, example: Example | None = None) -> Reading:
        """The option the closing statement names (:func:`qcrdkit.tasks.choice.closing_choice`)."""
        return closing_choice(text, (example.meta.get("choices") if example else None) or [], _norm)

    def answer_key(self, answer: Any):
        return None if answer is None else _norm(str(answer))

    def _load_split_hub(self, split):
        from qcrdkit.tasks.hub import load_hub_split
        return load_hub_split(self, "cos_e", "v1.11", {"train": "train", "test": "validation"}, split)
