"""Pure functions behind the analysis stage (04): results tables, paired comparisons, training
time and the tables of whatever sweeps a run holds.

No plotting and no I/O here: rows in (``students/*/metrics.json`` and per-question test
predictions, read by :func:`qcrdkit.students.trainers.collect_students`), numbers and DataFrames out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import ConfigError


def accuracy_by_method(metrics: Sequence[dict], key: str = "test_accuracy") -> dict[tuple[str, str], dict]:
    """``(task, method) → {"mean", "std", "n"}`` over seeds (std with ddof 1; 0 for one seed).
    Students without ``key`` (``None``: e.g. rationale accuracy of a label-only method) are left out."""
    groups: dict[tuple[str, str], list[float]] = {}
    for m in metrics:
        if m.get(key) is not None:
            groups.setdefault((m["task"], m["method"]), []).append(float(m[key]))
    return {k: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "n": len(v)}
            for k, v in groups.items()}


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


# --------------------------------------------------------------------------- tables over students
# A student is its ``metrics.json`` row plus ``run`` (the run directory's name), see
# ``trainers.collect_students``. "Main" students have no tag; tagged ones belong to sweeps.

METHOD_ORDER = ("finetune", "single_task", "dss", "mi", "qcrd")
METHOD_NAMES = {"finetune": "Finetune", "single_task": "Single-Task", "dss": "DSS", "mi": "MI", "qcrd": "QCRD"}


def _method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


def mean_std_text(values: Sequence[float], scale: float = 100.0, digits: int = 1) -> str:
    """``"12.6 ± 1.2 (n=3)"`` (accuracy in percent; std with ddof 1; no ± for one value)."""
    v = np.asarray(values, dtype=float) * scale
    if len(v) == 1:
        return f"{v[0]:.{digits}f} (n=1)"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=1):.{digits}f} (n={len(v)})"


def results_matrix(students: Sequence[dict], key: str = "test_accuracy"):
    """Methods × tasks (the paper's Tables 1–2): ``key`` in percent, mean ± std over seeds; untagged
    students. A method without the metric (``None``: rationale accuracy of a label-only method) shows "–"."""
    import pandas as pd

    main = [s for s in students if not s.get("tag")]
    groups: dict[tuple[str, str], list[float]] = {}
    for s in main:
        values = groups.setdefault((s["method"], s["task"]), [])
        if s.get(key) is not None:
            values.append(float(s[key]))
    methods = sorted({m for m, _ in groups}, key=_method_rank)
    tasks = sorted({t for _, t in groups})
    return pd.DataFrame({t: {METHOD_NAMES.get(m, m): (mean_std_text(groups[(m, t)]) if groups[(m, t)] else "–")
                             if (m, t) in groups else "" for m in methods} for t in tasks}).rename_axis("method")


def paired_method_differences(students: Sequence[dict], predictions: dict[tuple[str, str], list[dict]], *,
                              a: str = "qcrd", b: str = "dss", tag: str | None = None, **bootstrap_options) -> list[dict]:
    """Per task: accuracy of method ``a`` minus ``b`` on the same test questions, paired by run and
    seed, with the seed-level intervals of :func:`paired_difference`. Students with ``tag`` (default:
    untagged, the main ones; e.g. ``"f025"`` compares the two methods' students of one sweep
    variant). ``predictions``: ``(run, name) → rows``."""
    by_key = {(s["run"], s["task"], s["seed"], s["method"]): s for s in students if (s.get("tag") or None) == tag}
    pooled: dict[str, tuple[list, list]] = {}
    for (run, task, seed, method), s in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        other = by_key.get((run, task, seed, b))
        if method != a or other is None:
            continue
        rows_a, rows_b = predictions.get((run, s["name"])), predictions.get((run, other["name"]))
        if not rows_a or not rows_b:
            continue
        pa, pb = pooled.setdefault(task, ([], []))
        unit = seed if len({k[0] for k in by_key}) == 1 else f"{run}|{seed}"     # a seed of a run
        pa += [{"id": r["id"], "seed": unit, "correct": r["correct"]} for r in rows_a]
        pb += [{"id": r["id"], "seed": unit, "correct": r["correct"]} for r in rows_b]
    return [{"task": task, "a": a, "b": b, **({"tag": tag} if tag else {}), **paired_difference(pa, pb, **bootstrap_options)}
            for task, (pa, pb) in sorted(pooled.items())]


def factor_differences(students: Sequence[dict], predictions: dict[tuple[str, str], list[dict]], *,
                       field: str = "train_fraction", default: float = 1.0, a: str = "qcrd", b: str = "dss") -> list[dict]:
    """``a`` − ``b`` at each value of one training setting (``field`` of the students' configs, e.g.
    the training-set fraction of ``params/sweep-fraction.yaml``): the run's main students at their
    value plus the sweep students that changed ``field``, paired by seed, each point with the
    seed-level intervals of :func:`paired_difference`. One entry per (value, task), sorted by value,
    with ``value`` added."""
    groups: dict[float, list[dict]] = {}
    for s in students:
        value = (s.get("config") or {}).get(field, default)
        if s["method"] in (a, b) and (not s.get("tag") or value != default):
            groups.setdefault(value, []).append({**s, "tag": None})
    out = []
    for value in sorted(groups):
        out += [{**d, "field": field, "value": value}
                for d in paired_method_differences(groups[value], predictions, a=a, b=b)]
    return out


def timing_table(students: Sequence[dict]):
    """Training time per student kind (the paper's A.5 Table 6): seconds per optimizer step and in total."""
    import pandas as pd

    groups: dict[tuple, list[dict]] = {}
    for s in students:
        groups.setdefault((s["task"], s["method"], s.get("tag") or ""), []).append(s)
    rows = []
    for (task, method, tag), part in sorted(groups.items(), key=lambda kv: (kv[0][0], _method_rank(kv[0][1]), kv[0][2])):
        rows.append({"task": task, "student": METHOD_NAMES.get(method, method) + (f" ({tag})" if tag else ""),
                     "seconds / step": round(float(np.mean([s["seconds_per_step"] for s in part])), 4),
                     "train seconds": round(float(np.mean([s["train_seconds"] for s in part])), 1),
                     "steps": int(np.mean([s["steps"] for s in part])), "runs": len(part)})
    df = pd.DataFrame(rows)
    if len(df):
        base = {t: r["seconds / step"] for t, r in zip(df["task"], df.to_dict("records")) if r["student"] == "DSS"}
        df["× DSS"] = [round(r["seconds / step"] / base[r["task"]], 2) if base.get(r["task"]) else None
                       for r in df.to_dict("records")]
    return df


# --------------------------------------------------------------------------- sweeps (one factor at a time)

def _ablation_label(config: dict) -> str | None:
    if config.get("negative_source") not in ("self", "none"):
        return None
    missing = [name for name, off in (("ED", config.get("positives") == "first"),
                                      ("NK", config.get("negative_source") == "none"),
                                      ("QJ", not config.get("use_judge", True))) if off]
    return "QCRD" if not missing else "w/o " + ", ".join(missing)


def _negative_source_label(config: dict) -> str | None:
    source = config.get("negative_source")
    return {"self": f"j={config.get('iterations_back')}", "fixed": "Fixed", "teacher": "SC"}.get(source)


@dataclass(frozen=True)
class Sweep:
    """One factor of the paper's sweeps: the config ``fields`` it varies and how a value is named."""

    name: str
    fields: tuple[str, ...]
    label: Callable[[dict], str | None]
    methods: tuple[str, ...] = ("qcrd",)


def _field_label(name: str) -> Callable[[dict], str | None]:
    return lambda config: None if config.get(name) is None else f"{config[name]:g}" if isinstance(config[name], float) \
        else str(config[name])


SWEEPS = (
    Sweep("Ablation (Table 4)", ("positives", "negative_source", "use_judge"), _ablation_label),
    Sweep("Contrastive scheme (Table 5)", ("scheme",), _field_label("scheme")),
    Sweep("Positives per question m (§5.2 Table 6)", ("num_positives",), _field_label("num_positives")),
    Sweep("Negatives per question k (§5.2 Table 6)", ("num_negatives",), _field_label("num_negatives")),
    Sweep("Negative source and j (A.2 Table 3)", ("negative_source", "iterations_back", "fixed_generator"),
          _negative_source_label),
    Sweep("Negative temperature τ (A.4 Table 5)", ("negative_temperature",), _field_label("negative_temperature")),
    Sweep("Training-set fraction (Fig. 4)", ("train_fraction",), _field_label("train_fraction"),
          methods=METHOD_ORDER),
)


def _label_order(label: str):
    try:
        return (0, float(label.split("=")[-1]), label)
    except ValueError:
        return (1, 0.0, label)


def sweep_tables(students: Sequence[dict], sweeps: Sequence[Sweep] = SWEEPS) -> list[dict]:
    """Every sweep the students contain: students of one method, run and task whose configs differ
    only in the sweep's fields (and the seed), with at least two values of it.

    One dict per table: ``sweep``, ``run``, ``task``, ``method``, ``rows`` (per value: ``value``,
    ``test`` and ``valid`` accuracy as mean ± std text, ``test_mean``, ``n``, ``students``).
    """
    out = []
    for sweep in sweeps:
        groups: dict[tuple, dict[str, list[dict]]] = {}
        for s in students:
            if s["method"] not in sweep.methods:
                continue
            config = s.get("config", {})
            label = sweep.label(config)
            if label is None:
                continue
            rest = json.dumps({k: v for k, v in config.items() if k not in sweep.fields and k != "seed"}, sort_keys=True)
            groups.setdefault((s["run"], s["task"], s["method"], rest), {}).setdefault(label, []).append(s)
        for (run, task, method, _), by_label in groups.items():
            if len(by_label) < 2:
                continue
            rows = [{"value": label, "test": mean_std_text([s["test_accuracy"] for s in part]),
                     "valid": mean_std_text([s["valid_accuracy"] for s in part]),
                     "test_mean": float(np.mean([s["test_accuracy"] for s in part])), "n": len(part),
                     "students": sorted(s["name"] for s in part)}
                    for label, part in sorted(by_label.items(), key=lambda kv: _label_order(kv[0]))]
            out.append({"sweep": sweep.name, "run": run, "task": task, "method": method, "rows": rows})
    return out


def difference_table(differences: Sequence[dict], names: dict[str, str] = METHOD_NAMES):
    """:func:`paired_method_differences` as a display table (points in accuracy percent): the
    difference, the two-level bootstrap and t intervals over seeds (or the one-seed note), the
    per-seed differences."""
    import pandas as pd

    rows = []
    for d in differences:
        conf = round(100 * d["confidence"])
        rows.append({"task": d["task"], f"{names.get(d['a'], d['a'])} − {names.get(d['b'], d['b'])}": f"{100 * d['difference']:+.1f}",
                     f"{conf}% CI (bootstrap: seeds, then questions)": interval_text(d),
                     f"{conf}% t-interval over seeds": interval_text(d, "t"),
                     "p (t-test over seeds)": "–" if d.get("p") is None else f"{d['p']:.2f}",
                     "per seed": ", ".join(f"{100 * x:+.1f}" for x in d.get("per_seed", [])),
                     "seeds": d.get("seeds", 1), "questions per seed": d["n"]})
    return pd.DataFrame(rows)


def sweep_frame(table: dict):
    """One :func:`sweep_tables` entry as a display table."""
    import pandas as pd

    return pd.DataFrame([{"variant": r["value"], "test accuracy (%)": r["test"], "valid accuracy (%)": r["valid"],
                          "students": ", ".join(r["students"])} for r in table["rows"]]).set_index("variant")


# --------------------------------------------------------------------------- does the judge rank?

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


def ranking_aucs(rows: Sequence[dict]) -> dict:
    """ROC-AUC of the judge and of two trivial scorers on the same items (label 1 = good rationale).

    ``rows``: ``label`` (1/0), ``score`` (the judge's), ``rationale``, ``question_id``, ``answer``.
    ``judge``: the judge's scores; ``shorter_first``: minus the rationale's length in characters;
    ``agreement``: :func:`agreement_scores`. A judge that does not beat ``shorter_first`` clearly has
    not learned quality. ``n_good`` / ``n_bad``: the counts (an AUC needs both; else ``None``)."""
    from ..judge import roc_auc

    labels = [int(r["label"]) for r in rows]
    return {"judge": roc_auc(labels, [r["score"] for r in rows]),
            "shorter_first": roc_auc(labels, [-len(r["rationale"]) for r in rows]),
            "agreement": roc_auc(labels, agreement_scores(rows)),
            "n_good": sum(labels), "n_bad": len(labels) - sum(labels)}
