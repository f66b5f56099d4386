"""Batches of whole questions, in one seeded order per epoch: the judge's batches (eq. 2 needs a
question's positives and negatives together) and every student's (the same question order for
every method of a seed)."""
from __future__ import annotations

import math
import random
from typing import Sequence

import torch
from transformers import Trainer

from .errors import ConfigError


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
