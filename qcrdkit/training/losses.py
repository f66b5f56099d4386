"""The students' loss functions, pure: tensors in, a tensor out (no models, no I/O).

Notation of the paper: ``CE(f(x), r)`` is the mean token cross-entropy of rationale ``r`` given
the explain input of question ``x`` (:func:`sequence_cross_entropy`); ``s`` are judge
quality scores in [0, 1]. Every rationale term of every method (DSS's and MI's ``L_expl``,
Single-Task's one target, QCRD's ``L_cl``) averages these per-sequence CEs over the batch
(:func:`mean_sequence_cross_entropy`); label terms are the token mean (the Trainer's loss).

* DSS (Hsieh et al. 2023):  ``α · L_pred + (1 − α) · L_expl``                    (:func:`dss_loss`)
* MI (Chen et al. 2024):    DSS + ``w · CE(maxpool softmax(expl), maxpool softmax(pred).detach())``
  (:func:`mi_loss`)
* QCRD, eq. 3–7 (:func:`contrastive_loss`), per question ``i``:

      L_i = s_pos · CE(x, r_pos*) − β · (1 − s_neg) · min(CE(x, r_neg*) − δ, 0)

  where ``r_pos*`` / ``r_neg*`` are chosen by the many-to-one scheme (§5.1):

  ============  =======================================================================
  ``minmax``    the positive with the smallest CE and the negative with the largest (eq. 4–5; default)
  ``maxmin``    the positive with the largest CE and the negative with the smallest
  ``sampling``  one positive and one negative at random
  ``mean``      §5.1's Mean, "average the loss for all rationales": the plain average of every
                positive's ``CE`` and every negative's ``min(CE − δ, 0)`` (no quality scores)
  ``wmean``     §5.1's W-mean, "weight the loss with quality scores and then average": the average
                of eq. 6–7's weighted terms ``s · CE`` and ``(1 − s) · min(CE − δ, 0)``
  ============  =======================================================================

  The margin ``min(CE − δ, 0)`` is zero for a negative the student already finds unlikely
  (CE ≥ δ: "too simple", filtered out); below δ the term pushes its CE up, never past δ.
  ``L_cl`` is the mean of ``L_i`` over the questions. Without quality scores (ablation
  "w/o QJ") pass ``s_pos = 1`` and ``s_neg = 0``: unit weights, eq. 3–5.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

SCHEMES = ("minmax", "maxmin", "sampling", "mean", "wmean")


def sequence_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean token cross-entropy per sequence: ``logits`` [B, T, V], ``labels`` [B, T] → [B]."""
    # [B·T, V] rows: softmax over contiguous memory (the [B, V, T] transpose took 3x as long at T5's 32 128 tokens)
    token = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=ignore_index,
                            reduction="none").view(labels.shape)
    mask = labels != ignore_index
    return (token * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def mean_sequence_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """The rationale terms' normalisation, the same for every method: each sequence's mean token CE
    (:func:`sequence_cross_entropy`, the paper's ``CE(f(x), r)``), averaged over the sequences that
    have tokens. A long rationale weighs as much as a short one (the Trainer's default, one token
    mean over the whole batch, would weigh rationales by their length)."""
    per_sequence = sequence_cross_entropy(logits, labels, ignore_index)
    has_tokens = (labels != ignore_index).any(dim=1)
    return per_sequence[has_tokens].mean() if has_tokens.any() else per_sequence.sum() * 0.0


def dss_loss(pred_loss: torch.Tensor, expl_loss: torch.Tensor, alpha: float = 0.5) -> torch.Tensor:
    """Distilling step-by-step: ``α · L_pred + (1 − α) · L_expl``."""
    return alpha * pred_loss + (1 - alpha) * expl_loss


def _masked_max_over_time(probs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is not None:
        probs = probs.masked_fill(~mask.bool()[..., None], 0.0)
    return probs.max(dim=1).values


def mi_loss(pred_logits: torch.Tensor, expl_logits: torch.Tensor, pred_mask: torch.Tensor | None = None,
            expl_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Chen et al. 2024's mutual-information term, as in their code.

    ``P = max_t softmax(pred_logits)_t`` (detached) and ``Q = max_t softmax(expl_logits)_t`` are
    max-pooled vocabulary distributions [B, V]; the loss is the cross-entropy with ``Q`` read as
    logits and ``P`` as soft targets: ``mean_b −Σ_v P_v · log_softmax(Q)_v``. Padding positions
    (``mask`` 0) are left out of the pooling (the reference pools over them too).
    """
    p = _masked_max_over_time(pred_logits.detach().float().softmax(-1), pred_mask)
    q = _masked_max_over_time(expl_logits.float().softmax(-1), expl_mask)
    return -(p * q.log_softmax(-1)).sum(-1).mean()


def negative_margin(ce: torch.Tensor, delta: float) -> torch.Tensor:
    """``min(CE − δ, 0)``: zero for negatives the student already finds unlikely."""
    return torch.clamp(ce - delta, max=0.0)


def select_rationales(pos_ce: torch.Tensor, neg_ce: torch.Tensor, pos_mask: torch.Tensor, neg_mask: torch.Tensor,
                      scheme: str = "minmax", generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the positive and of the negative each question uses under a single-pick scheme.

    ``pos_ce`` [N, m] / ``neg_ce`` [N, k] may be computed without gradient: only the picks need
    one. Rows without any valid entry get index 0 (their term is masked out later).
    """
    if scheme == "minmax":
        return (pos_ce.masked_fill(~pos_mask, float("inf")).argmin(1),
                neg_ce.masked_fill(~neg_mask, float("-inf")).argmax(1))
    if scheme == "maxmin":
        return (pos_ce.masked_fill(~pos_mask, float("-inf")).argmax(1),
                neg_ce.masked_fill(~neg_mask, float("inf")).argmin(1))
    if scheme == "sampling":
        def pick(mask):
            weights = mask.float()
            weights[~mask.any(1)] = 1.0
            return torch.multinomial(weights, 1, generator=generator).squeeze(1)
        return pick(pos_mask), pick(neg_mask)
    raise ValueError(f"scheme {scheme!r} does not pick single rationales; single-pick schemes: minmax, maxmin, sampling")


def contrastive_loss(pos_ce: torch.Tensor, neg_ce: torch.Tensor, pos_scores: torch.Tensor, neg_scores: torch.Tensor,
                     pos_mask: torch.Tensor | None = None, neg_mask: torch.Tensor | None = None, *,
                     scheme: str = "minmax", beta: float = 0.2, delta: float = 3.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """``L_cl`` (eq. 3 with eq. 6–7) over N questions with m positives and k negatives each.

    ``pos_ce`` / ``pos_scores`` / ``pos_mask``: [N, m]; ``neg_*``: [N, k] (``k`` may be 0). Masks
    mark real entries (questions have different numbers of rationales). See the module doc.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    pos_mask = torch.ones_like(pos_ce, dtype=torch.bool) if pos_mask is None else pos_mask.bool()
    neg_mask = torch.ones_like(neg_ce, dtype=torch.bool) if neg_mask is None else neg_mask.bool()
    has_pos, has_neg = pos_mask.any(1), neg_mask.any(1)
    margin = negative_margin(neg_ce, delta)
    if scheme in ("mean", "wmean"):
        weighted = scheme == "wmean"            # W-mean: each term weighted by its quality score, then averaged
        pos_terms = (pos_scores * pos_ce if weighted else pos_ce).masked_fill(~pos_mask, 0)
        neg_terms = ((1 - neg_scores) * margin if weighted else margin).masked_fill(~neg_mask, 0)
        pos_term = pos_terms.sum(1) / pos_mask.sum(1).clamp(min=1)
        neg_term = neg_terms.sum(1) / neg_mask.sum(1).clamp(min=1)
    else:
        if neg_ce.shape[1] == 0:
            neg_ce = margin = neg_scores = torch.zeros_like(pos_ce[:, :1])
            neg_mask = torch.zeros_like(pos_mask[:, :1])
        jp, jn = select_rationales(pos_ce.detach(), neg_ce.detach(), pos_mask, neg_mask, scheme, generator)
        rows = torch.arange(pos_ce.shape[0], device=pos_ce.device)
        pos_term = pos_scores[rows, jp] * pos_ce[rows, jp]
        neg_term = (1 - neg_scores[rows, jn]) * margin[rows, jn]
    per_question = pos_term * has_pos - beta * neg_term * has_neg
    return per_question.mean()


def qcrd_objective(loss_pred: torch.Tensor, loss_cl: torch.Tensor, alpha_pred: float, alpha_cl: float) -> torch.Tensor:
    """Eq. 8, the student's part: ``α1 · L_pred + α2 · L_cl``. (Its third term ``α3 · L_D`` trains
    only the judge's weights, so the judge takes it as a separate step, weighted by
    :func:`alpha3_schedule`.)"""
    return alpha_pred * loss_pred + alpha_cl * loss_cl


def alpha3_schedule(alpha3: float, decay: float, iteration: int) -> float:
    """The judge's loss weight in iteration ``t`` (steps ``t·S … (t+1)·S − 1``): ``α3 · decay^t``
    (the paper: α3 = 0.5, decayed by 0.9 per iteration)."""
    return alpha3 * decay ** iteration
