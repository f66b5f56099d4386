"""Pure functions behind the analysis stage (04): results tables, paired comparisons, training
time and the tables of whatever sweeps a run holds (the statistics they rest on: :mod:`.statistics`).

No plotting and no I/O here: rows in (``students/*/metrics.json`` and per-question test
predictions, read by :func:`qcrdkit.analysis.student_results.collect_students`), numbers and DataFrames out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from qcrdkit.analysis.statistics import interval_text, paired_difference
from qcrdkit.training.data import LEGACY_SOURCE_NAMES, recorded_rationale_source


def accuracy_by_method(metrics: Sequence[dict], key: str = "test_accuracy") -> dict[tuple[str, str], dict]:
    """``(task, method) → {"mean", "std", "n"}`` over seeds (std with ddof 1; 0 for one seed).
    Students without ``key`` (``None``: e.g. rationale accuracy of a label-only method) are left out."""
    groups: dict[tuple[str, str], list[float]] = {}
    for m in metrics:
        if m.get(key) is not None:
            groups.setdefault((m["task"], m["method"]), []).append(float(m[key]))
    return {k: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "n": len(v)}
            for k, v in groups.items()}




# --------------------------------------------------------------------------- tables over students
# A student is its ``metrics.json`` row plus ``run`` (the run directory's name), see
# ``analysis.students.collect_students``. "Main" students have no tag; tagged ones belong to sweeps.

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
    source = recorded_rationale_source(config)
    if config.get("negative_source") not in ("self", "none") or source not in ("self_consistent", "greedy", "one_sample"):
        return None
    missing = [name for name, off in (("ED", source != "self_consistent"),
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


#: the config fields that have named a student's rationale source (older students: ``positives``, ``rationale``)
SOURCE_FIELDS = ("rationale_source", *LEGACY_SOURCE_NAMES)

SWEEPS = (
    Sweep("Ablation (Table 4)", (*SOURCE_FIELDS, "negative_source", "use_judge"), _ablation_label),
    Sweep("Rationale source", SOURCE_FIELDS, recorded_rationale_source, methods=("single_task", "dss", "mi", "qcrd")),
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


def _rationale_cells(part: Sequence[dict]) -> dict:
    """``rationale`` (mean ± std text, "–" when a student has none) and ``rationale_mean`` of students' test
    rationale accuracy."""
    values = [s.get("test_rationale_accuracy") for s in part]
    if any(v is None for v in values):
        return {"rationale": "–", "rationale_mean": None}
    return {"rationale": mean_std_text(values), "rationale_mean": float(np.mean(values))}


def sweep_tables(students: Sequence[dict], sweeps: Sequence[Sweep] = SWEEPS) -> list[dict]:
    """Every sweep the students contain: students of one method, run and task whose configs differ
    only in the sweep's fields (and the seed), with at least two values of it.

    One dict per table: ``sweep``, ``run``, ``task``, ``method``, ``rows`` (per value: ``value``,
    ``test`` and ``valid`` accuracy as mean ± std text, ``test_mean``, ``rationale`` — the test accuracy of the answer
    the greedy rationale reaches, mean ± std text, "–" for a method that learns no rationale — and
    ``rationale_mean``, ``n`` (students: one per seed), ``students``).
    """
    out = []
    # one student per experiment: two of one run, method and config (seed included) are the same
    # experiment trained twice (qcrd-woED and qcrd-greedy), not two seeds
    unique: dict[tuple, dict] = {}
    for s in sorted(students, key=lambda s: (bool(s.get("tag")), s["name"])):
        unique.setdefault((s["run"], s["task"], s["method"], json.dumps(s.get("config", {}), sort_keys=True)), s)
    for sweep in sweeps:
        groups: dict[tuple, dict[str, list[dict]]] = {}
        for s in unique.values():
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
                     "test_mean": float(np.mean([s["test_accuracy"] for s in part])),
                     **_rationale_cells(part), "n": len(part), "students": sorted(s["name"] for s in part)}
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

    return pd.DataFrame([{"variant": r["value"], "label accuracy, test (%)": r["test"],
                          "rationale accuracy, test (%)": r.get("rationale", "–"), "label accuracy, valid (%)": r["valid"],
                          "seeds": r["n"], "students": ", ".join(r["students"])}
                         for r in table["rows"]]).set_index("variant")


def preference_table(preference: dict):
    """The LLM judge's preference over seeds (:func:`qcrdkit.analysis.llm_judge.preference_over_seeds` per student
    temperature) as rows: seeds, each seed's value, and the mean with its interval, in points of the pairs."""
    import pandas as pd

    rows = {}
    for temperature, p in preference.items():
        interval = f" [{100 * p['low']:+.1f}, {100 * p['high']:+.1f}]" if "low" in p else " (one seed: no interval)"
        rows[temperature] = {"seeds": p["seeds"],
                             "per seed": ", ".join(f"{100 * v:+.1f}" for v in p["per_seed"].values()),
                             "mean [95 % t]": f"{100 * p['mean']:+.1f}{interval}" if p["mean"] is not None else "–"}
    return pd.DataFrame(rows).T
