"""One QCRD step's candidate rationales as tensors: each question's positives and negatives, padded
label matrices, scatter into ``[N, width]`` matrices, and each target's CE read off the shared encoder output
(pure tensor helpers of :mod:`.qcrd`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers.modeling_outputs import BaseModelOutput

from qcrdkit.students.models import decoder_inputs
from qcrdkit.training.losses import sequence_cross_entropy

def pad_labels(sequences: list[torch.Tensor], device) -> torch.Tensor:
    """1-D token tensors → one [n, T] label matrix padded with -100."""
    width = max((len(s) for s in sequences), default=1)
    out = torch.full((len(sequences), max(width, 1)), -100, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, :len(s)] = s
    return out.to(device)


def generated_labels(ids: torch.Tensor, eos_token_id: int) -> list[torch.Tensor]:
    """Sampled decoder outputs (without the start token) → targets: each kept up to its first EOS."""
    is_eos = ids == eos_token_id
    before_or_at_eos = (is_eos.long().cumsum(1) - is_eos.long()) == 0
    return [row[keep].cpu() for row, keep in zip(ids, before_or_at_eos)]


def scatter_rows(values: torch.Tensor, cells: list[int], n: int, width: int) -> torch.Tensor:
    """An [n, width] matrix of zeros with ``values`` at the flat ``cells`` (differentiable in ``values``)."""
    flat = torch.zeros(n * width, device=values.device, dtype=values.dtype)
    if cells:
        flat = flat.index_put((torch.tensor(cells, device=values.device),), values)
    return flat.view(n, width)


#: a candidate rationale: (question row, "pos" or "neg", its index among that question's candidates)
Slot = tuple


@dataclass
class Candidates:
    """One batch's candidate rationales: per question its positives and negatives (texts, token ids)."""

    questions: list[str]
    pos_texts: list[list[str]]
    pos_ids: list[list[torch.Tensor]]
    neg_texts: list[list[str]]
    neg_ids: list[list[torch.Tensor]]
    teacher_texts: list[list[str]] = field(default_factory=list)    # every teacher sample of each question
    teacher_negatives: bool = False                                  # the negatives are the teacher's

    @property
    def n(self) -> int:
        return len(self.questions)

    @property
    def m(self) -> int:
        """Width of the positives' matrix (at least 1)."""
        return max(1, max((len(p) for p in self.pos_texts), default=0))

    @property
    def k(self) -> int:
        """Width of the negatives' matrix (0: no negatives this step)."""
        return max((len(t) for t in self.neg_texts), default=0)

    def slots(self) -> list[Slot]:
        """Every candidate: all positives, then all negatives."""
        return [(i, "pos", j) for i in range(self.n) for j in range(len(self.pos_texts[i]))] + \
               [(i, "neg", j) for i in range(self.n) for j in range(len(self.neg_texts[i]))]

    def masks(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``[N, m]`` and ``[N, k]``: which cells hold a candidate."""
        pos = torch.tensor([[j < len(p) for j in range(self.m)] for p in self.pos_texts], dtype=torch.bool, device=device)
        neg = torch.tensor([[j < len(t) for j in range(self.k)] for t in self.neg_texts], dtype=torch.bool,
                           device=device).reshape(self.n, self.k)
        return pos, neg

    def ids(self, i: int, kind: str, j: int) -> torch.Tensor:
        return self.pos_ids[i][j] if kind == "pos" else self.neg_ids[i][j]

    def text(self, i: int, kind: str, j: int) -> str:
        return self.pos_texts[i][j] if kind == "pos" else self.neg_texts[i][j]

    def peers(self, i: int, kind: str, j: int) -> list[str]:
        """What the judge's answer input compares a candidate with — one definition in every stage, whatever label
        the candidate is trained on: the other samples of its source for question ``i``. A teacher rationale's are
        the teacher's other samples, positives and negatives alike (as in stage 02 and stage 04); a self-negative's
        the other self-negatives (the same model at the same temperature)."""
        if (kind == "pos" or self.teacher_negatives) and i < len(self.teacher_texts) and self.teacher_texts[i]:
            others = list(self.teacher_texts[i])
            if self.text(i, kind, j) in others:
                others.remove(self.text(i, kind, j))
            return others
        texts = self.pos_texts[i] if kind == "pos" else self.neg_texts[i]
        return [t for jj, t in enumerate(texts) if jj != j]


def rationale_ce(student, hidden, attention_mask, rows: list[int], labels: list[torch.Tensor],
                 chunk_rows: int = 0) -> torch.Tensor:
    """``CE(f(x), r)`` of each target, the decoder reading the shared encoder output of its question.

    ``chunk_rows > 0``: targets sorted by length and decoded ``chunk_rows`` at a time, so that each
    chunk is padded to its own longest target (same values, less padding)."""
    if chunk_rows <= 0 or len(rows) <= chunk_rows:
        index = torch.tensor(rows, device=hidden.device)
        label_matrix = pad_labels(labels, hidden.device)
        out = student(encoder_outputs=BaseModelOutput(last_hidden_state=hidden[index]),
                      attention_mask=attention_mask[index], decoder_input_ids=decoder_inputs(student, label_matrix))
        return sequence_cross_entropy(out.logits, label_matrix)
    order = sorted(range(len(rows)), key=lambda i: len(labels[i]))
    ce = torch.empty(len(rows), device=hidden.device)
    for start in range(0, len(order), chunk_rows):
        part = order[start:start + chunk_rows]
        ce[torch.tensor(part, device=hidden.device)] = rationale_ce(
            student, hidden, attention_mask, [rows[i] for i in part], [labels[i] for i in part])
    return ce
