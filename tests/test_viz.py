"""Plots of stage 04: each draws what it is given (axes, lines, bars, legend), headless."""
import matplotlib

matplotlib.use("Agg")

from qcrdkit.analysis import plots as viz  # noqa: E402


def test_score_kde_draws_one_curve_per_source_and_a_line_for_a_constant():
    rows = [{"source": "teacher positive", "score": s} for s in (0.8, 0.9, 0.85)] + \
           [{"source": "student τ=1.5", "score": 0.2}]
    fig = viz.plot_score_kde(rows)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["teacher positive (n=3, mean 0.85)", "student τ=1.5 (n=1, mean 0.20)"]


def test_fraction_curves_one_line_per_method_in_percent():
    tables = [{"method": m, "task": "arith", "rows": [{"value": "0.5", "test_mean": a}, {"value": "1", "test_mean": b}]}
              for m, a, b in (("dss", 0.1, 0.2), ("qcrd", 0.15, 0.25))]
    ax = viz.plot_fraction_curves(tables).axes[0]
    assert [tuple(line.get_xdata()) for line in ax.lines] == [(0.5, 1.0)] * 2
    assert tuple(ax.lines[1].get_ydata()) == (15.0, 25.0)


def test_judge_counts_stack_every_outcome():
    counts = {"τ=0": {"a_better": 2, "both_good": 1, "b_better": 3, "both_bad": 0, "undecided": 4}}
    ax = viz.plot_judge_counts(counts, "DSS", "QCRD").axes[0]
    widths = [p.get_width() for p in ax.patches]
    assert widths == [2, 1, 3, 0, 4] and sum(widths) == 10
    assert ax.get_legend_handles_labels()[1][:3] == ["DSS better", "both good", "QCRD better"]


def test_tables_keep_counts_as_integers():
    from qcrdkit.analysis.plots import metrics_table, stats_table

    table = metrics_table({"held-out": {"auc": 0.83, "accuracy": 0.8, "mean_score_pos": 0.6, "mean_score_neg": 0.2,
                                        "n_pos": 409, "n_neg": 91}})
    assert "409.0" not in table.to_string() and table.loc["n_pos", "held-out"] == 409
    stats = {"train": {"questions": 2000, "samples_per_question": 5.0, "teacher_accuracy": 0.8, "sc_accuracy": 0.9,
                       "majority": {"mean_positives": 3.9}, "ground_truth": {"mean_positives": 3.8,
                       "frac_only_positive": 0.5, "frac_only_negative": 0.05}, "unparseable": 12}}
    text = stats_table(stats).to_string()
    assert "2000.0" not in text and " 2000" in text and "0.8" in text
