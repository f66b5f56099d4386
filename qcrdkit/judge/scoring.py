"""Scores of rationales, ROC-AUC and the held-out evaluation report."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from qcrdkit.judge.pairs import encode_pairs
from qcrdkit.judge.items import NEGATIVE, POSITIVE
from qcrdkit.judge.model import QualityJudge


@torch.inference_mode()
def score_rationales(model: QualityJudge, tokenizer, questions: Sequence[str], rationales: Sequence[str], *,
                     answer_signal: Sequence[float] | None = None, batch_size: int = 64,
                     progress: bool = False) -> np.ndarray:
    """Quality scores in [0, 1], batched (similar lengths together), on the model's device.

    ``answer_signal``: each rationale's answer signal, for a judge with an answer input
    (:func:`~qcrdkit.judge.items.answer_signals`; ignored by one without)."""
    from tqdm.auto import tqdm

    if len(questions) != len(rationales):
        raise ValueError(f"{len(questions)} questions but {len(rationales)} rationales")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(questions)), key=lambda i: len(questions[i]) + len(rationales[i]))
    scores = np.empty(len(order), dtype=np.float64)
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    for start in tqdm(range(0, len(order), batch_size), desc="scoring", disable=not progress):
        idx = order[start:start + batch_size]
        enc = encode_pairs(tokenizer, [questions[i] for i in idx], [rationales[i] for i in idx],
                           model.config.max_pair_length).to(device)
        extra = {} if answer_signal is None else {
            "answer_signal": torch.tensor([float(answer_signal[i]) for i in idx], device=device)}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(**enc, **extra).logits
        scores[idx] = torch.sigmoid(logits.float()).cpu().numpy()
    model.train(was_training)
    return scores


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """ROC-AUC = P(score of a random positive > score of a random negative), ties half (Mann–Whitney U)."""
    from scipy.stats import mannwhitneyu

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    return float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


def score_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> dict:
    """Held-out ROC-AUC, accuracy at ``threshold``, mean score of positives / negatives, counts."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1], scores[labels == 0]
    return {"auc": roc_auc(labels, scores),
            "accuracy": float(((scores >= threshold) == (labels == 1)).mean()) if len(labels) else None,
            "mean_score_pos": float(pos.mean()) if len(pos) else None,
            "mean_score_neg": float(neg.mean()) if len(neg) else None,
            "n_pos": int(len(pos)), "n_neg": int(len(neg))}


def score_items(model: QualityJudge, tokenizer, items: Sequence[dict], *, batch_size: int = 64,
                progress: bool = False) -> list[dict]:
    """One row per item: ``id``, ``key``, ``split``, ``source``, ``label``, ``augment``, ``score``."""
    signal = [it["answer_signal"] for it in items] if all("answer_signal" in it for it in items) else None
    scores = score_rationales(model, tokenizer, [it["question"] for it in items], [it["rationale"] for it in items],
                              answer_signal=signal, batch_size=batch_size, progress=progress)
    return [{"id": it["id"], "key": it["key"], "split": it.get("split"), "source": it["source"], "label": it["label"],
             "augment": it.get("augment"), "score": round(float(s), 6)} for it, s in zip(items, scores)]


def evaluation_report(rows: Sequence[dict]) -> dict:
    """Metrics of scored rows: the teacher's own rationales at the top level (positives vs
    negatives of the self-consistency split), ``with_augmented`` adding the augmented negatives,
    and the mean score per source."""
    teacher = [r for r in rows if r["source"] in (POSITIVE, NEGATIVE)]
    report = score_metrics([r["label"] for r in teacher], [r["score"] for r in teacher])
    report["with_augmented"] = score_metrics([r["label"] for r in rows], [r["score"] for r in rows])
    by_source: dict[str, list[float]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r["score"])
    report["by_source"] = {src: {"n": len(v), "mean_score": round(float(np.mean(v)), 4)} for src, v in by_source.items()}
    report["questions"] = len({r["id"] for r in rows})
    return report
