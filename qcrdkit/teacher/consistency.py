"""Self-consistency (paper §3.2.1): split each question's K teacher samples into positives and
negatives, and the statistics of the paper's Table 2 and Table 3 (top).

Two modes:

* ``"majority"`` (the method, §3.2.1): the majority answer among the parseable samples; positives
  are the samples that agree with it. Ties go to the answer whose first vote comes earliest
  (lowest sample index), so the split is deterministic.
* ``"ground_truth"`` (Table 2's definition): positives are the samples whose answer is correct.

In both modes an unparseable sample (no answer found) is a negative.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Hashable, Iterable, Sequence

from qcrdkit.core.errors import ConfigError

SPLIT_MODES = ("majority", "ground_truth")


def majority_vote(keys: Sequence[Hashable | None]) -> Hashable | None:
    """The most common non-``None`` key; ties go to the one seen first. ``None`` if all are ``None``."""
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(k for k in keys if k is not None and counts[k] == best)


def self_consistency_split(keys: Sequence[Hashable | None], mode: str = "majority",
                           correct: Sequence[bool] | None = None) -> list[bool]:
    """Positive (True) / negative (False) for each sample of one question.

    ``keys`` are the samples' answer keys (``None`` = unparseable); ``correct`` is needed in
    ``"ground_truth"`` mode.
    """
    if mode == "majority":
        winner = majority_vote(keys)
        return [k is not None and k == winner for k in keys]
    if mode == "ground_truth":
        if correct is None or len(correct) != len(keys):
            raise ConfigError("split_mode='ground_truth' needs one correctness flag per sample")
        return [k is not None and bool(c) for k, c in zip(keys, correct)]
    raise ConfigError(f"split_mode must be one of {SPLIT_MODES}, got {mode!r}")


def group_by_question(records: Iterable[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[r["id"]].append(r)
    for g in groups.values():
        g.sort(key=lambda r: r["sample_index"])
    return dict(groups)


def apply_split(records: list[dict], task, mode: str = "majority") -> list[dict]:
    """Fill ``positive``, ``majority_answer`` and ``majority_correct`` on sample records (in place)."""
    for group in group_by_question(records).values():
        keys = [task.answer_key(r["answer"]) for r in group]
        winner = majority_vote(keys)
        winner_answer = next((r["answer"] for r, k in zip(group, keys) if k is not None and k == winner), None)
        flags = self_consistency_split(keys, mode, [r["correct"] for r in group])
        for r, flag in zip(group, flags):
            r["positive"] = flag
            r["majority_answer"] = winner_answer
            r["majority_correct"] = next((x["correct"] for x, k in zip(group, keys) if k == winner and k is not None), False)
    return records


def consistency_stats(records: list[dict], task) -> dict:
    """Table 2 / Table 3 (top) statistics over sample records.

    * ``teacher_accuracy``: fraction of single samples whose answer is correct;
    * ``sc_accuracy``: fraction of questions whose majority answer is correct;
    * per split mode: ``mean_positives`` per question, ``frac_only_positive``,
      ``frac_only_negative``;
    * ``unparseable``: samples with no answer (count and fraction).
    """
    groups = group_by_question(records)
    if not groups:
        raise ConfigError("no teacher samples to compute statistics on")
    n_samples = sum(len(g) for g in groups.values())
    stats: dict = {
        "questions": len(groups),
        "samples": n_samples,
        "samples_per_question": n_samples / len(groups),
        "teacher_accuracy": sum(r["correct"] for g in groups.values() for r in g) / n_samples,
        "unparseable": sum(r["answer"] is None for g in groups.values() for r in g),
    }
    stats["unparseable_fraction"] = stats["unparseable"] / n_samples
    sc_correct = 0
    per_mode = {m: {"positives": 0, "only_pos": 0, "only_neg": 0} for m in SPLIT_MODES}
    for group in groups.values():
        keys = [task.answer_key(r["answer"]) for r in group]
        correct = [r["correct"] for r in group]
        winner = majority_vote(keys)
        sc_correct += winner is not None and any(c for k, c in zip(keys, correct) if k == winner)
        for mode in SPLIT_MODES:
            flags = self_consistency_split(keys, mode, correct)
            per_mode[mode]["positives"] += sum(flags)
            per_mode[mode]["only_pos"] += all(flags)
            per_mode[mode]["only_neg"] += not any(flags)
    stats["sc_accuracy"] = sc_correct / len(groups)
    for mode, c in per_mode.items():
        stats[mode] = {"mean_positives": c["positives"] / len(groups),
                       "frac_only_positive": c["only_pos"] / len(groups),
                       "frac_only_negative": c["only_neg"] / len(groups)}
    return stats
