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
    return pd.DataFrame({split: pd.Series(row, dtype=object) for split, row in rows.items()})  # counts stay integers


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


def plot_score_kde(rows: list[dict], hue: str = "source", title: str = "Judge quality scores"):
    """Kernel density of quality scores, one curve per ``hue`` value (the paper's Fig. 6)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    df = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for name, part in df.groupby(hue, sort=False):
        label = f"{name} (n={len(part)}, mean {part['score'].mean():.2f})"
        if part["score"].nunique() > 1:
            sns.kdeplot(part["score"], ax=ax, label=label, clip=(0, 1), fill=True, alpha=0.25, warn_singular=False)
        else:   # a KDE needs spread; a single value is drawn as a line
            ax.axvline(part["score"].iloc[0], label=label, linestyle="--")
    ax.set_xlim(0, 1)
    ax.set_xlabel("quality score s = D(x, r)")
    ax.set_ylabel("density")
    if ax.get_ylim()[1] > 10:       # a source piled up at one score would flatten every other curve
        ax.set_ylim(0, 10)
        ax.set_ylabel("density (cut at 10)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_judge_curve(log_history: list[dict], auc_label: str = "held-out ROC-AUC"):
    """Training loss, held-out loss and held-out ROC-AUC against the step (Trainer log history)."""
    import matplotlib.pyplot as plt

    train = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h]
    evals = [(h["step"], h["eval_loss"], h.get("eval_auc")) for h in log_history if "eval_loss" in h]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.8, 3.2))
    if train:
        ax1.plot(*zip(*train), label="train")
    if evals:
        ax1.plot([e[0] for e in evals], [e[1] for e in evals], marker="o", label="held-out")
        ax2.plot([e[0] for e in evals if e[2] is not None], [e[2] for e in evals if e[2] is not None], marker="o",
                 color="tab:green")
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.set_xlabel("step")
    ax2.set_ylabel(auc_label)
    ax2.set_ylim(0.4, 1.0)
    ax2.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    fig.suptitle("Judge pretraining")
    fig.tight_layout()
    return fig


def metrics_table(metrics_by_name: dict[str, dict]) -> pd.DataFrame:
    """Judge metrics (``score_metrics`` dicts) side by side, one column per evaluation set."""
    keys = ("auc", "accuracy", "mean_score_pos", "mean_score_neg", "n_pos", "n_neg")
    return pd.DataFrame({name: pd.Series({k: (round(m[k], 4) if isinstance(m.get(k), float) else m.get(k)) for k in keys},
                                         dtype=object) for name, m in metrics_by_name.items()})   # counts stay integers


def plot_learning_curves(histories: dict[str, list[dict]], parts: tuple[str, ...] = ("loss_pred", "loss_expl", "loss_cl")):
    """Students' learning curves (Trainer log histories by name): training loss, its parts
    (label task, rationale task, contrastive loss, where logged) and valid accuracy."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 3.4))
    for i, (name, history) in enumerate(histories.items()):
        color = f"C{i}"
        train = [(h["step"], h["loss"]) for h in history if "loss" in h and "step" in h]
        if train:
            ax1.plot(*zip(*train), color=color, label=name)
        for part, style in zip(parts, ("-", "--", ":")):
            points = [(h["step"], h[part]) for h in history if part in h]
            if points:
                ax2.plot(*zip(*points), color=color, linestyle=style, label=f"{name} {part.removeprefix('loss_')}")
        acc = [(h["step"], h["eval_accuracy"]) for h in history if "eval_accuracy" in h]
        if acc:
            ax3.plot(*zip(*acc), color=color, marker="o", label=f"{name} label")
        racc = [(h["step"], h["eval_rationale_accuracy"]) for h in history if "eval_rationale_accuracy" in h]
        if racc:
            ax3.plot(*zip(*racc), color=color, marker="x", linestyle="--", label=f"{name} rationale")
    ax1.set(xlabel="step", ylabel="training loss (method's own)")
    ax2.set(xlabel="step", ylabel="loss parts")
    ax3.set(xlabel="step", ylabel="valid accuracy (label o, rationale x)", ylim=(0, 1))
    for ax in (ax1, ax2, ax3):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("Student training")
    fig.tight_layout()
    return fig


def plot_negative_term(histories: dict[str, list[dict]], delta: float | dict[str, float]):
    """Is QCRD's negative term on? Per logged step: the picked negatives' mean CE against the margin
    δ (the term acts only on negatives with CE < δ), the share inside the margin, and the judge's mean
    score of negatives and positives. ``histories``: Trainer log histories of QCRD students by name;
    ``delta``: the margin, or each student's margin by name (a line per distinct value)."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 3.4))
    for i, (name, history) in enumerate(histories.items()):
        color = f"C{i}"
        for ax, key, style in ((ax1, "ce_neg", "-"), (ax1, "ce_pos", ":"), (ax2, "neg_active", "-"),
                               (ax3, "score_neg", "-"), (ax3, "score_pos", ":")):
            points = [(h["step"], h[key]) for h in history if key in h and "step" in h]
            if points:
                ax.plot(*zip(*points), color=color, linestyle=style, label=f"{name} {key}")
    for value in sorted(set(delta.values()) if isinstance(delta, dict) else {delta}):
        ax1.axhline(value, color="grey", linestyle="--", linewidth=1, label=f"δ = {value:g}")
    ax1.set(xlabel="step", ylabel="CE (negatives solid, positives dotted)")
    ax2.set(xlabel="step", ylabel="share of negatives with CE < δ", ylim=(0, 1.02))
    ax3.set(xlabel="step", ylabel="judge score (neg solid, pos dotted)", ylim=(0, 1))
    for ax in (ax1, ax2, ax3):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("Is the negative term on?")
    fig.tight_layout()
    return fig


def plot_judge_updates(histories: dict[str, list[dict]]):
    """Does the online judge learn? Per update (QCRD's log history): the mean |Δ score| of its fixed probe set,
    and the probe's mean score of label-1 and label-0 pairs after the update. ``histories``: QCRD students by name."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    for i, (name, history) in enumerate(histories.items()):
        color = f"C{i}"
        for ax, key, style in ((ax1, "judge_delta", "-"), (ax2, "judge_probe_pos", "-"), (ax2, "judge_probe_neg", ":")):
            points = [(h["step"], h[key]) for h in history if key in h and "step" in h]
            if points:
                ax.plot(*zip(*points), color=color, linestyle=style, marker=".", label=f"{name} {key}")
    ax1.set(xlabel="step", ylabel="mean |Δ score| of the probe set per update")
    ax2.set(xlabel="step", ylabel="probe score (label 1 solid, label 0 dotted)", ylim=(0, 1))
    for ax in (ax1, ax2):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("Does the online judge learn?")
    fig.tight_layout()
    return fig


def results_table(metrics: list[dict]) -> pd.DataFrame:
    """One row per trained student: valid / test accuracy, steps and timing (``metrics.json`` rows)."""
    cols = ("name", "method", "seed", "valid_accuracy", "test_accuracy", "valid_rationale_accuracy",
            "test_rationale_accuracy", "negatives_inside_margin", "steps", "best_checkpoint_step", "train_seconds",
            "seconds_per_step")
    return pd.DataFrame([{c: m.get(c) for c in cols} for m in metrics]).set_index("name")


def plot_fraction_curves(tables: list[dict]):
    """Test accuracy against the share of training questions, one line per method (the paper's Fig. 4);
    ``tables``: the training-set-fraction entries of ``analysis.sweep_tables``."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for table in tables:
        points = sorted((float(r["value"]), 100 * r["test_mean"]) for r in table["rows"])
        ax.plot(*zip(*points), marker="o", label=f"{table['method']} ({table['task']})")
    ax.set(xlabel="share of training questions", ylabel="test accuracy (%)", title="Distillation with less data")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_factor_differences(differences: list[dict], names: dict[str, str] | None = None, xlabel: str | None = None):
    """``a`` − ``b`` (accuracy points) against a setting, one point per value (``analysis.factor_differences``):
    thick bars the two-level bootstrap interval over seeds and questions, thin bars the t interval over
    seeds, grey dots the per-seed differences; a one-seed point has no bars."""
    import matplotlib.pyplot as plt

    names = names or {}
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    ax.axhline(0, color="grey", lw=0.8)
    for d in differences:
        x, y = d["value"], 100 * d["difference"]
        ax.scatter([x] * len(d["per_seed"]), [100 * v for v in d["per_seed"]], color="grey", s=10, zorder=2)
        if d["low"] is not None:
            ax.errorbar(x, y, yerr=[[y - 100 * d["t_low"]], [100 * d["t_high"] - y]], color="tab:blue", lw=0.8,
                        capsize=3, zorder=3)
            ax.errorbar(x, y, yerr=[[y - 100 * d["low"]], [100 * d["high"] - y]], color="tab:blue", lw=3, zorder=3)
        ax.scatter([x], [y], color="tab:blue", s=30, zorder=4)
        ax.annotate(f"{d['seeds']} seed{'s' if d['seeds'] > 1 else ''}", (x, y), textcoords="offset points",
                    xytext=(6, 4), fontsize=7)
    if differences:
        a, b = (names.get(differences[0][k], differences[0][k]) for k in ("a", "b"))
        ax.set_ylabel(f"{a} − {b} (test accuracy points)")
        ax.set_xlabel(xlabel or differences[0]["field"])
        ax.set_xticks(sorted({d["value"] for d in differences}))
    ax.set_title("Difference with intervals over seeds", fontsize=10)
    fig.tight_layout()
    return fig


def plot_judge_counts(counts: dict[str, dict[str, int]], a: str, b: str):
    """LLM-judge outcomes per student temperature as stacked bars (the paper's Table 7 as a figure)."""
    import matplotlib.pyplot as plt

    labels = {"a_better": f"{a} better", "both_good": "both good", "b_better": f"{b} better", "both_bad": "both bad",
              "undecided": "undecided (orders disagree)"}
    colours = {"a_better": "tab:blue", "both_good": "tab:green", "b_better": "tab:orange", "both_bad": "tab:red",
               "undecided": "lightgrey"}
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * len(counts)))
    for y, (name, c) in enumerate(counts.items()):
        left = 0
        for outcome, label in labels.items():
            ax.barh(y, c.get(outcome, 0), left=left, color=colours[outcome], label=label if y == 0 else None)
            if c.get(outcome):
                ax.text(left + c[outcome] / 2, y, str(c[outcome]), ha="center", va="center", fontsize=8)
            left += c.get(outcome, 0)
    ax.set_yticks(range(len(counts)), list(counts))
    ax.set_xlabel("questions")
    ax.set_title("Which rationale is better? (LLM judge, both orders)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig
