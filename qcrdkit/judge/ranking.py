"""Does a quality judge rank right rationales above wrong ones? Its ROC-AUC beside three trivial scorers
(shorter-first, agreement, agreement with ties broken by shorter-first), with intervals over questions; stage 02
reports it on held-out teacher rationales, stage 04 on those and on the student's samples."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def agreement_scores(rows: Sequence[dict]) -> list[float]:
    """A trivial quality scorer: the share of the *other* rationales of the same question (``question_id``)
    that reach the same ``answer`` (self-consistency without a model). An unanswered rationale scores 0;
    a question's only rationale scores 0.5."""
    by_question: dict[str, list] = {}
    for r in rows:
        by_question.setdefault(r["question_id"], []).append(r.get("answer"))
    out = []
    for r in rows:
        others = list(by_question[r["question_id"]])
        others.remove(r.get("answer"))
        if r.get("answer") is None:
            out.append(0.0)
        else:
            out.append(sum(a == r["answer"] for a in others) / len(others) if others else 0.5)
    return out


#: the trivial scorers a judge is ranked beside (:func:`ranking_aucs`)
BASELINES = ("shorter_first", "agreement", "agreement_then_shorter")


def _fast_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC-AUC with ties counted half (Mann-Whitney U from average ranks)."""
    from scipy.stats import rankdata

    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ranking_aucs(rows: Sequence[dict], *, resamples: int = 1000, seed: int = 0) -> dict:
    """ROC-AUC of the judge and of three trivial scorers on the same items (label 1 = good rationale), each with
    a 95 % bootstrap interval over questions, and the judge's difference from each scorer with its interval.

    ``rows``: ``label`` (1/0), ``score`` (the judge's), ``rationale``, ``question_id``, ``answer``.
    ``judge``: the judge's scores; ``shorter_first``: minus the rationale's length in characters;
    ``agreement``: :func:`agreement_scores`; ``agreement_then_shorter``: agreement with its ties broken by
    shorter-first — agreement takes few values with few samples a question, and a tie counts half, so any
    better-than-chance tie-breaker raises an AUC above agreement's without ranking better otherwise.
    ``intervals[<scorer>]``: (low, high) from ``resamples`` resamples of the questions; ``differences[<scorer>]``:
    the judge minus that scorer, its interval and ``excludes_zero`` — only such a difference is a lead (or a
    deficit). ``n_good`` / ``n_bad``: the counts (an AUC needs both; else ``None``)."""
    labels = np.array([int(r["label"]) for r in rows])
    length = np.array([len(r["rationale"]) for r in rows], dtype=np.float64)
    agreement = np.array(agreement_scores(rows))
    scorers = {"judge": np.array([r["score"] for r in rows], dtype=np.float64), "shorter_first": -length,
               "agreement": agreement,
               "agreement_then_shorter": agreement - 1e-6 * length / (length.max() + 1 if len(length) else 1)}
    out = {name: _fast_auc(labels, s) for name, s in scorers.items()}
    out.update(n_good=int(labels.sum()), n_bad=int(len(labels) - labels.sum()), questions=len({r["question_id"]
                                                                                             for r in rows}))
    if out["judge"] is None or not resamples:
        return out
    by_question: dict = {}
    for i, r in enumerate(rows):
        by_question.setdefault(r["question_id"], []).append(i)
    groups = list(by_question.values())
    rng = np.random.default_rng(seed)
    draws = {name: [] for name in scorers}
    for _ in range(resamples):
        idx = np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))])
        aucs = {name: _fast_auc(labels[idx], s[idx]) for name, s in scorers.items()}
        if all(v is not None for v in aucs.values()):
            for name, v in aucs.items():
                draws[name].append(v)
    if len(draws["judge"]) < resamples // 2:           # too few resamples hold both labels: no interval
        return out
    out["intervals"] = {name: [round(float(np.percentile(v, 2.5)), 4), round(float(np.percentile(v, 97.5)), 4)]
                        for name, v in draws.items()}
    out["differences"] = {}
    for name in BASELINES:
        diff = np.array(draws["judge"]) - np.array(draws[name])
        low, high = float(np.percentile(diff, 2.5)), float(np.percentile(diff, 97.5))
        out["differences"][name] = {"difference": round(out["judge"] - out[name], 4), "interval": [round(low, 4),
                                    round(high, 4)], "excludes_zero": bool(low > 0 or high < 0)}
    out["resamples"] = len(draws["judge"])
    return out


def right_wrong_rows(items: Sequence[dict], records: Sequence[dict], scored: Sequence[dict]) -> list[dict]:
    """Stage 02's judge items as ranking rows (:func:`~.statistics.ranking_aucs`): labelled by whether the
    teacher's answer is right (the gold answer, not the self-consistency side), with the judge's score from
    ``scored`` (rows of :func:`~qcrdkit.judge.score_items`, by ``key``)."""
    by_record = {f"{r['id']}#{r['sample_index']}": r for r in records}
    score_by_key = {r["key"]: r["score"] for r in scored}
    return [{"label": int(bool(by_record[it["key"]]["correct"])), "score": score_by_key[it["key"]],
             "rationale": it["rationale"], "question_id": it["id"], "answer": by_record[it["key"]]["answer"]}
            for it in items if it["key"] in by_record and it["key"] in score_by_key]
