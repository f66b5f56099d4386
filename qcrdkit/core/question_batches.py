"""Batches of whole questions, in one seeded order per epoch: the judge's batches (eq. 2 needs a
question's positives and negatives together) and every student's (the same question order for
every method of a seed)."""
from __future__ import annotations

import math
import random
from typing import Sequence

import torch
from transformers import Trainer

from qcrdkit.core.errors import ConfigError


class QuestionBatchSampler(torch.utils.data.Sampler):
    """Batches of ``questions_per_batch`` whole questions: all rationales of a question together.

    Shuffled per epoch with ``seed + epoch`` (deterministic, so a resumed run skips exactly the
    batches it already trained on). A batch holds a varying number of rationales.

    ``per_question`` (the judge's batches): at most that many rationales of a question per batch,
    taken in turn from its positives and negatives (a new seeded pick each epoch), so a question
    with many rationales does not blow a batch up. ``group_by_length``: batches of questions of
    similar length (shuffled within windows of 50 batches, the batches then shuffled), so each
    batch pads to a nearby longest rationale.
    """

    def __init__(self, items: Sequence[dict], questions_per_batch: int, shuffle: bool = True, seed: int = 0,
                 per_question: int | None = None, group_by_length: bool = False):
        if questions_per_batch < 1:
            raise ConfigError(f"batch size (questions per batch) must be ≥ 1, got {questions_per_batch}")
        if per_question is not None and per_question < 1:
            raise ConfigError(f"rationales_per_question must be ≥ 1 or None (all), got {per_question}")
        groups: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(it["id"], []).append(i)
        self.groups = list(groups.values())
        # read only when asked for (a student's items need neither)
        self.labels = [[items[i].get("label") for i in g] for g in self.groups] if per_question else None
        self.lengths = [max(len(items[i].get("question") or "") + len(items[i].get("rationale") or "") for i in g)
                        for g in self.groups] if group_by_length else None
        self.questions_per_batch, self.shuffle, self.seed, self.epoch = questions_per_batch, shuffle, seed, 0
        self.per_question, self.group_by_length = per_question, group_by_length

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.groups) / self.questions_per_batch)

    def _pick(self, g: int, rng: random.Random) -> list[int]:
        """A question's rationales for this epoch: all, or ``per_question`` alternating by label."""
        members = self.groups[g]
        if self.per_question is None or len(members) <= self.per_question:
            return members
        by_label: dict = {}
        for i, label in zip(members, self.labels[g]):
            by_label.setdefault(label, []).append(i)
        pools = [rng.sample(v, len(v)) for _, v in sorted(by_label.items(), key=lambda kv: str(kv[0]))]
        rng.shuffle(pools)
        picked = []
        while len(picked) < self.per_question:
            for pool in pools:
                if pool and len(picked) < self.per_question:
                    picked.append(pool.pop())
        return sorted(picked)

    def __iter__(self):
        rng = random.Random(self.seed + self.epoch)
        order = list(range(len(self.groups)))
        if self.shuffle:
            rng.shuffle(order)
        batches = [order[s:s + self.questions_per_batch] for s in range(0, len(order), self.questions_per_batch)]
        if self.group_by_length:
            window = 50 * self.questions_per_batch
            order = [g for s in range(0, len(order), window)
                     for g in sorted(order[s:s + window], key=lambda g: self.lengths[g])]
            batches = [order[s:s + self.questions_per_batch] for s in range(0, len(order), self.questions_per_batch)]
            if self.shuffle:
                rng.shuffle(batches)
        for batch in batches:
            yield [i for g in batch for i in self._pick(g, rng)]


def question_loader(trainer: Trainer, dataset, batch_size: int, shuffle: bool, **sampler_options):
    """``(loader, sampler)``: a ``trainer``'s dataloader over ``dataset`` in
    :class:`QuestionBatchSampler` batches (``sampler_options``: ``per_question``, ``group_by_length``),
    prepared by its accelerator (sharded across processes), and the sampler (its batch order, before
    sharding)."""
    sampler = QuestionBatchSampler(dataset, batch_size, shuffle=shuffle, seed=trainer.args.seed, **sampler_options)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=trainer.data_collator,
                                         num_workers=trainer.args.dataloader_num_workers)
    return trainer.accelerator.prepare(loader), sampler
