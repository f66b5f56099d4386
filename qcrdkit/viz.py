"""Plots and display tables (pure: data in, figure or DataFrame out; saving is the caller's)."""
from __future__ import annotations

from collections import Counter

import pandas as pd


def stats_table(stats_by_split: dict[str, dict]) -> pd.DataFrame:
    """Self-consistency statistics as a table, one column per split (Table 2 / Table 3 top rows)."""
    rows = {}
    for split, s in stats_by_split.items():
        rows[split] = {
            "questions": s["questions"], "samples per question": round(s["samples_per_question"], 2),
            "teacher accuracy (single sample)": round(s["teacher_accuracy"], 4),
            "teacher accuracy with SC": round(s["sc_accuracy"], 4),
            "mean positives (majority)": round(s["majority"]["mean_positives"], 3),
            "mean positives (correct)": round(s["ground_truth"]["mean_positives"], 3),
            "only positives (correct)": round(s["ground_truth"]["frac_only_positive"], 3),
            "only negatives (correct)": round(s["ground_truth"]["frac_only_negative"], 3),
            "unparseable samples": s["unparseable"],
        }
    return pd.DataFrame(rows)


def plot_positives(records: list[dict], k_max: int):
    """Histogram of positives per question, one bar group per split."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    per_question: dict[tuple[str, str], int] = Counter()
    for r in records:
        per_question[(r["split"], r["id"])] += bool(r.get("positive"))
    df = pd.DataFrame([{"split": s, "positives": n} for (s, _), n in per_question.items()])
    fig, ax = plt.subplots(figsize=(6, 3.2))
    sns.countplot(data=df, x="positives", hue="split", order=list(range(k_max + 1)), ax=ax)
    ax.set_xlabel(f"positive rationales per question (of {k_max})")
    ax.set_ylabel("questions")
    ax.set_title("Self-consistency split")
    fig.tight_layout()
    return fig
