"""Pure functions behind the analysis stage (04): results tables and paired comparisons.

No plotting and no I/O here: rows in (``students/*/metrics.json`` and per-question test
predictions), numbers out.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import bootstrap

from .errors import ConfigError


def accuracy_by_method(metrics: Sequence[dict], key: str = "test_accuracy") -> dict[tuple[str, str], dict]:
    """``(task, method) → {"mean", "std", "n"}`` over seeds (std with ddof 1; 0 for one seed)."""
    groups: dict[tuple[str, str], list[float]] = {}
    for m in metrics:
        groups.setdefault((m["task"], m["method"]), []).append(float(m[key]))
    return {k: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "n": len(v)}
            for k, v in groups.items()}


def paired_difference(a: Sequence[dict], b: Sequence[dict], *, confidence: float = 0.95, resamples: int = 2000,
                      seed: int = 0) -> dict:
    """Accuracy of ``a`` minus ``b`` on the same questions, with a paired bootstrap interval.

    ``a`` / ``b``: per-question rows with ``id`` and ``correct`` (``test_predictions.jsonl``).
    Questions are resampled together (percentile bootstrap of the mean per-question difference).
    """
    correct_b = {r["id"]: bool(r["correct"]) for r in b}
    shared = [r["id"] for r in a if r["id"] in correct_b]
    if len(shared) < 2:
        raise ConfigError(f"paired comparison needs at least 2 shared questions, got {len(shared)}")
    correct_a = {r["id"]: bool(r["correct"]) for r in a}
    diff = np.array([float(correct_a[q]) - float(correct_b[q]) for q in shared])
    if np.all(diff == diff[0]):        # no variation: the interval is the point
        low = high = float(diff[0])
    else:
        res = bootstrap((diff,), np.mean, confidence_level=confidence, n_resamples=resamples, method="percentile",
                        random_state=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return {"difference": float(diff.mean()), "low": low, "high": high, "confidence": confidence, "n": len(shared)}
