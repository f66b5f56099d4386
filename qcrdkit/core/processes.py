"""One student trained by several processes (``torchrun --nproc_per_node N -m qcrdkit.cli train …``, or
``accelerate launch --multi_gpu --num_processes N …``; stage 03's ``processes``).

The Trainer keeps the student the same on every process (DDP averages the gradients of each step's global batch,
split between the processes by :class:`~qcrdkit.core.question_batches.QuestionBatchSampler`). QCRD's own state
needs these three collectives to stay the same too:

* each step's judge pairs are gathered, in process order, so every process's replay buffer sees the global batch
  as one process would (:func:`gather_list`);
* the online judge updates on process 0 and its weights are broadcast (:func:`broadcast_module`): its student
  samples at τ > 0 draw from each process's own random stream, so separate updates could drift apart;
* each step's margin counts (negatives inside δ) are summed over the processes (:func:`sum_over_processes`).

The snapshot ring needs nothing: it copies the student, which is the same everywhere. Negatives are sampled on each
process for its own questions. Without a process group every function is the identity.
"""
from __future__ import annotations

import torch


def distributed() -> bool:
    """Whether this process is one of several training one model."""
    return torch.distributed.is_available() and torch.distributed.is_initialized() and \
        torch.distributed.get_world_size() > 1


def gather_list(items: list) -> list:
    """Every process's ``items`` concatenated in process order (the same list on every process)."""
    if not distributed():
        return list(items)
    parts = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(parts, list(items))
    return [item for part in parts for item in part]


def broadcast_module(module: torch.nn.Module, source: int = 0) -> None:
    """Every parameter and buffer of ``module`` as process ``source`` has it."""
    if distributed():
        for tensor in module.state_dict().values():
            torch.distributed.broadcast(tensor, source)


def sum_over_processes(values: list[int]) -> list[int]:
    """Element-wise sums of integer counters over the processes."""
    if not distributed():
        return list(values)
    total = torch.tensor(values, dtype=torch.long)
    torch.distributed.all_reduce(total)
    return total.tolist()
