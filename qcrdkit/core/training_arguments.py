"""What the kit's two ``TrainingArguments`` subclasses share — the students'
(:class:`qcrdkit.training.StudentConfig`) and the judge's
(:class:`qcrdkit.judge.JudgeTrainingConfig`): no reporting service, the kit's own columns kept, no pinned
memory (CPU runs), evaluation and checkpoints on a step cadence, a log line every 10 steps, and bf16 where a
CUDA device supports it."""
from __future__ import annotations

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
        super().__post_init__()
