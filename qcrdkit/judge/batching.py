"""Batches of whole questions: every rationale of a question in one batch (eq. 2 needs them together)."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

import torch
from transformers import Trainer

from ..errors import ConfigError


def encode_pairs(tokenizer, questions: Sequence[str], rationales: Sequence[str], max_length: int):
    return tokenizer(list(questions), list(rationales), truncation=True, max_length=max_length, padding=True,
                     return_tensors="pt")


@dataclass
class PairCollator:
    """Items → tokenized (question, rationale) pairs with ``labels`` and per-batch ``group_ids``."""

    tokenizer: object
    max_length: int

    def __call__(self, items: list[dict]) -> dict:
        batch = dict(encode_pairs(self.tokenizer, [it["question"] for it in items], [it["rationale"] for it in items],
                                  self.max_length))
        index: dict[str, int] = {}
        batch["group_ids"] = torch.tensor([index.setdefault(it["id"], len(index)) for it in items])
        batch["labels"] = torch.tensor([float(it["label"]) for it in items])
        return batch


class QuestionBatchSampler(torch.utils.data.Sampler):
    """Batches of ``questions_per_batch`` whole questions: all rationales of a question together.

    Shuffled per epoch with ``seed + epoch`` (deterministic, so a resumed run skips exactly the
    batches it already trained on). A batch holds a varying number of rationales.
    """

    def __init__(self, items: Sequence[dict], questions_per_batch: int, shuffle: bool = True, seed: int = 0):
        if questions_per_batch < 1:
            raise ConfigError(f"batch size (questions per batch) must be ≥ 1, got {questions_per_batch}")
        groups: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(it["id"], []).append(i)
        self.groups = list(groups.values())
        self.questions_per_batch, self.shuffle, self.seed, self.epoch = questions_per_batch, shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.groups) / self.questions_per_batch)

    def __iter__(self):
        order = list(range(len(self.groups)))
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(order)
        for start in range(0, len(order), self.questions_per_batch):
            yield [i for g in order[start:start + self.questions_per_batch] for i in self.groups[g]]


def question_loader(trainer: Trainer, dataset, batch_size: int, shuffle: bool):
    """``(loader, sampler)``: a ``trainer``'s dataloader over ``dataset`` in
    :class:`QuestionBatchSampler` batches, prepared by its accelerator (sharded across processes),
    and the sampler (its batch order, before sharding)."""
    sampler = QuestionBatchSampler(dataset, batch_size, shuffle=shuffle, seed=trainer.args.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=trainer.data_collator,
                                         num_workers=trainer.args.dataloader_num_workers)
    return trainer.accelerator.prepare(loader), sampler
