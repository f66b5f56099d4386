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

    ``shards`` processes training one model (``torchrun --nproc_per_node N``): each batch is one optimizer
    step's global batch, and the sampler of process ``shard`` yields its part of it (:func:`shard_part`), so N
    processes see the questions of one process's run, step for step.
    """

    def __init__(self, items: Sequence[dict], questions_per_batch: int, shuffle: bool = True, seed: int = 0,
                 per_question: int | None = None, group_by_length: bool = False, shards: int = 1, shard: int = 0):
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
        if not 0 <= shard < shards:
            raise ConfigError(f"process {shard} of {shards}: no such process")
        self.shards, self.shard = shards, shard

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
            picked = [self._pick(g, rng) for g in batch]          # every process draws the whole batch's picks
            yield [i for group in shard_part(picked, self.shards, self.shard) for i in group]


def shard_part(batch: list, shards: int, shard: int) -> list:
    """Process ``shard``'s part of a global batch of questions: contiguous, sizes differing by at most one (so the
    processes' parts, in process order, are the batch). A batch with fewer questions than processes (a tiny last
    batch) gives an empty part its first question again: every process must take the step."""
    size, extra = divmod(len(batch), shards)
    start = shard * size + min(shard, extra)
    return batch[start:start + size + (shard < extra)] or batch[:1]


def question_loader(trainer: Trainer, dataset, batch_size: int, shuffle: bool, **sampler_options):
    """``(loader, sampler)``: a ``trainer``'s dataloader over ``dataset`` in
    :class:`QuestionBatchSampler` batches (``sampler_options``: ``per_question``, ``group_by_length``),
    prepared by its accelerator, and the sampler. Under N processes each global batch of ``batch_size`` questions
    is split between them by the sampler (``shards``), and the loader only places batches on the process's device
    (accelerate's own sharding would give each process whole batches in turn: N times the questions per step)."""
    args = trainer.args
    sampler = QuestionBatchSampler(dataset, batch_size, shuffle=shuffle, seed=args.seed, shards=args.world_size,
                                   shard=args.process_index, **sampler_options)
    if args.world_size == 1:
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=trainer.data_collator,
                                             num_workers=args.dataloader_num_workers)
        return trainer.accelerator.prepare(loader), sampler
    from accelerate.data_loader import DataLoaderShard

    loader = DataLoaderShard(dataset, device=trainer.accelerator.device, batch_sampler=sampler,
                             collate_fn=trainer.data_collator, num_workers=args.dataloader_num_workers)
    trainer.accelerator._dataloaders.append(loader)
    return loader, sampler
