"""(question, rationale) pairs as the judge's model inputs; the batches of whole questions they come in are
:mod:`qcrdkit.core.question_batches`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch


def encode_pairs(tokenizer, questions: Sequence[str], rationales: Sequence[str], max_length: int):
    return tokenizer(list(questions), list(rationales), truncation=True, max_length=max_length, padding=True,
                     return_tensors="pt")


@dataclass
class PairCollator:
    """Items → tokenized (question, rationale) pairs with ``labels``, per-batch ``group_ids`` and, when the
    items carry it, ``answer_signal`` (the judge's answer input, :func:`~qcrdkit.judge.items.answer_signals`)."""

    tokenizer: object
    max_length: int

    def __call__(self, items: list[dict]) -> dict:
        batch = dict(encode_pairs(self.tokenizer, [it["question"] for it in items], [it["rationale"] for it in items],
                                  self.max_length))
        index: dict[str, int] = {}
        batch["group_ids"] = torch.tensor([index.setdefault(it["id"], len(index)) for it in items])
        batch["labels"] = torch.tensor([float(it["label"]) for it in items])
        if all("answer_signal" in it for it in items):
            batch["answer_signal"] = torch.tensor([float(it["answer_signal"]) for it in items])
        return batch
