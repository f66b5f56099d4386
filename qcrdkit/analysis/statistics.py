"""The statistics behind stage 04's claims, pure functions: intervals over seeds (a t interval; a two-level
bootstrap over seeds, then questions), the paired difference of two methods with both, the smallest difference
a number of seeds can detect, and whether a quality judge ranks right above wrong rationales (ROC-AUC beside
two trivial scorers). Tables that use them: :mod:`.tables`."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from qcrdkit.core.errors import ConfigError

ONE_SEED_NOTE = "1 seed: no interval over seeds"


def hierarchical_bootstrap_means(per_seed: Sequence[np.ndarray], *, resamples: int = 10000,
                                 seed: int = 0) -> np.ndarray:
    """Two-level bootstrap of a mean over seeds: each resample draws as many seeds as there are, with
    replacement, then each drawn seed's questions with replacement, and averages the drawn seeds'
    question means. ``per_seed``: one array of per-question values per seed. Returns ``resamples``
    means.

    A seed's resampled question mean is drawn exactly through its value counts (a multinomial over
    its distinct values: paired correctness differences take only -1, 0 and +1), so 10 000 resamples
    of 5 seeds × 500 questions take milliseconds."""
    rng = np.random.default_rng(seed)
    n_seeds = len(per_seed)
    drawn = rng.integers(0, n_seeds, size=(resamples, n_seeds))        # resample the seeds
    means = np.empty((resamples, n_seeds))
    for s, values in enumerate(per_seed):
        values = np.asarray(values, dtype=float)
        support, counts = np.unique(values, return_counts=True)
        where = drawn == s
        draws = rng.multinomial(len(values), counts / len(values), size=int(where.sum()))   # resample its questions
        means[where] = draws @ support / len(values)
    return means.mean(axis=1)


def seed_t_interval(per_seed: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Student's t interval of the mean of per-seed values (``(low, high, p)``; ``p``: two-sided
    one-sample t-test against 0). Needs at least 2 seeds."""
    from scipy.stats import t, ttest_1samp

    x = np.asarray(per_seed, dtype=float)
    half = t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    p = float(ttest_1samp(x, 0.0).pvalue) if x.std(ddof=1) > 0 else (1.0 if x.mean() == 0 else 0.0)
    return float(x.mean() - half), float(x.mean() + half), p


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (the comparisons a winner is picked from): the k-th smallest is
    multiplied by (m − k + 1), kept monotone, capped at 1. A difference is claimed where its adjusted p < 0.05."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [1.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def detectable_difference(seed_std: float, seeds: int, *, confidence: float = 0.95, power: float = 0.8) -> float:
    """The smallest true mean difference a paired t-test over ``seeds`` seeds detects with probability
    ``power`` at level 1 − ``confidence``, when per-seed differences spread with ``seed_std``:
    (t_{1−α/2} + t_{power}) · sd / √seeds, with seeds − 1 degrees of freedom."""
    from scipy.stats import t

    df = seeds - 1
    return float((t.ppf(0.5 + confidence / 2, df) + t.ppf(power, df)) * seed_std / np.sqrt(seeds))


def paired_difference(a: Sequence[dict], b: Sequence[dict], *, confidence: float = 0.95, resamples: int = 10000,
                      seed: int = 0) -> dict:
    """Accuracy of ``a`` minus ``b``, paired by seed and question, with intervals over **seeds**.

    ``a`` / ``b``: per-question rows with ``id``, ``correct`` and ``seed`` (``test_predictions.jsonl``
    of students trained with that seed; a missing ``seed`` counts as seed 0). Pairing by seed is
    real: a seed gives both methods the same question order and initialisation.

    The difference is the mean over seeds of each seed's mean over its questions. Two intervals:

    * ``low``/``high`` — a two-level (hierarchical) percentile bootstrap: resample seeds, then
      questions within each drawn seed (:func:`hierarchical_bootstrap_means`), so both the
      between-seed spread and the question sampling widen it;
    * ``t_low``/``t_high`` — Student's t over the per-seed differences (``p``: its two-sided test
      against 0). With few seeds the bootstrap over seeds is too narrow (it sees only the seeds
      drawn); read the wider of the two.

    With one seed there is no interval over seeds: ``low``, ``high``, ``t_low``, ``t_high`` and ``p``
    are ``None`` and ``note`` says so (an interval over one seed's questions is not evidence about a
    method: another seed, or the same seed on another CPU, moves the difference by more).
    Also returns ``confidence``, ``n`` (questions shared by every seed's pair, or the mean count),
    ``seeds``, ``per_seed`` (seed order), ``seed_std`` and ``detectable`` (:func:`detectable_difference`).
    """
    correct_b = {(r.get("seed", 0), r["id"]): bool(r["correct"]) for r in b}
    by_seed: dict[int, list[float]] = {}
    for r in a:
        key = (r.get("seed", 0), r["id"])
        if key in correct_b:
            by_seed.setdefault(key[0], []).append(float(bool(r["correct"])) - float(correct_b[key]))
    if not by_seed or min(len(v) for v in by_seed.values()) < 2:
        raise ConfigError("paired comparison needs at least 2 shared questions per seed, got "
                          f"{min((len(v) for v in by_seed.values()), default=0)}")
    seeds = sorted(by_seed)
    per_seed = [float(np.mean(by_seed[k])) for k in seeds]
    out = {"difference": float(np.mean(per_seed)), "low": None, "high": None, "t_low": None, "t_high": None,
           "p": None, "confidence": confidence, "n": round(float(np.mean([len(v) for v in by_seed.values()]))),
           "seeds": len(seeds), "per_seed": per_seed, "seed_std": None, "detectable": None, "note": ONE_SEED_NOTE}
    if len(seeds) == 1:
        return out
    means = hierarchical_bootstrap_means([np.array(by_seed[k]) for k in seeds], resamples=resamples, seed=seed)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    t_low, t_high, p = seed_t_interval(per_seed, confidence)
    std = float(np.std(per_seed, ddof=1))
    out.update(low=float(low), high=float(high), t_low=t_low, t_high=t_high, p=p, seed_std=std,
               detectable=detectable_difference(std, len(seeds), confidence=confidence), note=None)
    return out


def interval_text(d: dict, kind: str = "bootstrap") -> str:
    """``"[+1.2, +3.4]"`` in accuracy points for a :func:`paired_difference` result (``kind``:
    ``bootstrap`` or ``t``), or its one-seed note."""
    low, high = (d["low"], d["high"]) if kind == "bootstrap" else (d["t_low"], d["t_high"])
    if low is None:
        return d.get("note") or ONE_SEED_NOTE
    return f"[{100 * low:+.1f}, {100 * high:+.1f}]"


from qcrdkit.judge.ranking import BASELINES, agreement_scores, ranking_aucs  # noqa: E402,F401  (analysis's statistics)
