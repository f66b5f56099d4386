"""The judge's loss L_D: the paper's eq. 2 or binary cross-entropy (the default; see the package doc)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from qcrdkit.core.errors import ConfigError


OBJECTIVES = ("bce", "eq2")


def eq2_loss(scores: torch.Tensor, labels: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    """Paper eq. 2 on quality scores: mean over questions of ``logsumexp(s_neg) - logsumexp(s_pos)``.

    ``-log(Σ exp(s_pos) / Σ exp(s_neg))`` equals ``logsumexp(s_neg) - logsumexp(s_pos)``. Only
    questions (``group_ids``) with at least one positive and one negative count; with none, the
    result is a zero that keeps the graph (a batch with nothing to learn from).
    """
    groups = torch.unique(group_ids)
    member = group_ids[None, :] == groups[:, None]
    pos = member & (labels[None, :] > 0.5)
    neg = member & (labels[None, :] <= 0.5)
    usable = pos.any(dim=1) & neg.any(dim=1)
    if not bool(usable.any()):
        return scores.sum() * 0.0
    s = scores[None, :].expand(int(usable.sum()), -1)
    lse_pos = torch.logsumexp(s.masked_fill(~pos[usable], float("-inf")), dim=1)
    lse_neg = torch.logsumexp(s.masked_fill(~neg[usable], float("-inf")), dim=1)
    return (lse_neg - lse_pos).mean()


def bce_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against labels 1 (positive) / 0 (negative)."""
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def judge_loss(logits: torch.Tensor, labels: torch.Tensor, group_ids: torch.Tensor | None,
               objective: str = "bce") -> torch.Tensor:
    """``L_D`` for a batch: ``"bce"`` on logits, or ``"eq2"`` on ``sigmoid(logits)`` per question."""
    if objective == "bce":
        return bce_loss(logits, labels)
    if objective == "eq2":
        if group_ids is None:
            raise ConfigError("objective 'eq2' needs the question (group id) of every rationale")
        return eq2_loss(torch.sigmoid(logits), labels, group_ids)
    raise ConfigError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
