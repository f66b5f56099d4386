"""What the kit's two ``TrainingArguments`` subclasses share — the students'
(:class:`qcrdkit.training.StudentConfig`) and the judge's
(:class:`qcrdkit.judge.JudgeTrainingConfig`): no reporting service, the kit's own columns kept, no pinned
memory (CPU runs), evaluation and checkpoints on a step cadence, a log line every 10 steps, bf16 where a
CUDA device supports it, and a distributed CPU run (gloo) when several processes were launched on a machine
without CUDA."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from transformers import TrainingArguments


@dataclass
class KitTrainingArguments(TrainingArguments):
    """``TrainingArguments`` with the defaults both trainers of the kit use. A subclass that also derives
    from ``Seq2SeqTrainingArguments`` lists this class first, so these defaults win."""

    report_to: str | list[str] | None = "none"
    remove_unused_columns: bool = False
    dataloader_pin_memory: bool = False
    logging_steps: float = 10
    eval_strategy: str = "steps"
    save_strategy: str = "steps"
    bf16: bool | None = field(default=None, metadata={"help": "None: bf16 when a CUDA device supports it"})

    def __post_init__(self):
        if self.bf16 is None:
            self.bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        if launched_processes() > 1 and not torch.cuda.is_available():
            # accelerate sets up a multi-CPU run only when asked for the CPU; otherwise each launched process
            # would be a run of its own, all training and writing one student folder
            self.use_cpu = True
            self.ddp_backend = self.ddp_backend or "gloo"
        super().__post_init__()


def launched_processes() -> int:
    """How many processes ``torchrun`` / ``accelerate launch`` started for this run (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))
