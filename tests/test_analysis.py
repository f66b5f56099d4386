"""Analysis functions: accuracy over seeds and the paired bootstrap difference."""
import pytest

from qcrdkit.analysis import ONE_SEED_NOTE, accuracy_by_method, interval_text, paired_difference
from qcrdkit.core.errors import ConfigError


def test_accuracy_by_method_over_seeds():
    rows = [{"task": "arith", "method": "dss", "test_accuracy": a} for a in (0.1, 0.2, 0.3)] + \
           [{"task": "arith", "method": "qcrd", "test_accuracy": 0.5}]
    table = accuracy_by_method(rows)
    assert table[("arith", "dss")] == pytest.approx({"mean": 0.2, "std": 0.1, "n": 3})
    assert table[("arith", "qcrd")] == {"mean": 0.5, "std": 0.0, "n": 1}


def rows(flags, prefix="q"):
    return [{"id": f"{prefix}{i}", "correct": c} for i, c in enumerate(flags)]


def seeded(flags_by_seed, prefix="q"):
    return [{**r, "seed": s} for s, flags in enumerate(flags_by_seed) for r in rows(flags, prefix)]


def test_paired_difference_one_seed_gives_no_interval():
    a = rows([True] * 60 + [False] * 40)
    b = rows([True] * 40 + [False] * 60)
    res = paired_difference(a, b)
    assert res["difference"] == pytest.approx(0.2) and res["n"] == 100
    assert res["seeds"] == 1 and res["per_seed"] == [pytest.approx(0.2)]
    # one seed: no interval at all, and the note the tables print instead
    assert res["low"] is None and res["high"] is None and res["t_low"] is None and res["p"] is None
    assert res["note"] == ONE_SEED_NOTE and interval_text(res) == ONE_SEED_NOTE
    assert paired_difference(a, b[:10])["n"] == 10   # only shared questions count
    with pytest.raises(ConfigError, match="at least 2 shared questions"):
        paired_difference(a, rows([True], prefix="x"))


def test_paired_difference_by_hand_over_seeds():
    # seed 0: +0.2 (60 vs 40 of 100), seed 1: +0.4, seed 2: 0.0
    a = seeded([[True] * 60 + [False] * 40, [True] * 70 + [False] * 30, [True] * 50 + [False] * 50])
    b = seeded([[True] * 40 + [False] * 60, [True] * 30 + [False] * 70, [True] * 50 + [False] * 50])
    res = paired_difference(a, b)
    assert res["per_seed"] == pytest.approx([0.2, 0.4, 0.0]) and res["difference"] == pytest.approx(0.2)
    assert res["seeds"] == 3 and res["n"] == 100 and res["note"] is None
    # t interval by hand: mean 0.2, sd 0.2, t(0.975, 2) = 4.303 -> half width 4.303 * 0.2 / sqrt(3) = 0.4969
    assert res["t_low"] == pytest.approx(0.2 - 0.4969, abs=1e-3) and res["t_high"] == pytest.approx(0.2 + 0.4969, abs=1e-3)
    assert res["seed_std"] == pytest.approx(0.2)
    # the two-level bootstrap lies within the seeds' range widened by question noise
    assert -0.1 < res["low"] < 0.2 < res["high"] < 0.5
    assert interval_text(res, "t") == "[-29.7, +69.7]"


def test_between_seed_variance_widens_the_interval():
    import numpy as np

    rng = np.random.default_rng(0)
    n = 400

    def world(seed_effects):
        a, b = [], []
        for s, effect in enumerate(seed_effects):
            base = rng.random(n) < 0.5
            flip = rng.random(n) < abs(effect)            # a shifts effect·n questions relative to b
            ca = np.where(flip, effect > 0, base)
            a += [{"id": f"q{i}", "seed": s, "correct": bool(c)} for i, c in enumerate(ca)]
            b += [{"id": f"q{i}", "seed": s, "correct": bool(c)} for i, c in enumerate(base)]
        return paired_difference(a, b, resamples=4000)

    calm = world([0.05] * 5)
    noisy = world([0.25, -0.15, 0.2, -0.1, 0.05])          # about the same mean, large spread over seeds
    width = lambda d, k="": d[f"{k}high"] - d[f"{k}low"]
    assert width(noisy) > 2 * width(calm) and width(noisy, "t_") > 3 * width(calm, "t_")
    assert noisy["low"] < 0 < noisy["high"] and calm["low"] > 0      # the noisy seeds cannot tell the sign
    assert noisy["detectable"] > 3 * calm["detectable"]


def test_hierarchical_bootstrap_resamples_seeds_then_questions():
    import numpy as np

    from qcrdkit.analysis import hierarchical_bootstrap_means

    # no question noise: only seed resampling moves the mean; the values stay within the seeds' range
    means = hierarchical_bootstrap_means([np.full(50, 0.1), np.full(50, 0.3)], resamples=2000)
    assert set(np.round(means, 6)) == {0.1, 0.2, 0.3}
    assert np.mean(means == 0.2) == pytest.approx(0.5, abs=0.05)          # {0,1} and {1,0} draws
    # one seed: only question resampling; a seed's resampled mean has the binomial spread
    one = hierarchical_bootstrap_means([np.array([1.0] * 30 + [0.0] * 70)], resamples=5000, seed=1)
    assert one.mean() == pytest.approx(0.3, abs=0.01) and one.std() == pytest.approx(np.sqrt(0.21 / 100), rel=0.1)


def test_detectable_difference_by_hand():
    from qcrdkit.analysis import detectable_difference

    # 5 seeds, sd 2 points: (t(0.975, 4) 2.776 + t(0.8, 4) 0.941) * 2 / sqrt(5) = 3.325
    assert detectable_difference(0.02, 5) == pytest.approx(0.03325, abs=2e-4)


QCRD_DEFAULT = {"scheme": "minmax", "num_positives": 5, "num_negatives": 1, "negative_source": "self",
                "iterations_back": 5, "fixed_generator": None, "negative_temperature": 1.5,
                "rationale_source": "self_consistent",
                "use_judge": True, "train_fraction": 1.0, "max_steps": 100}


def student(name, method="qcrd", seed=0, test=0.5, valid=0.4, run="r", task="arith", tag=None, sps=0.2,
            test_rationale_accuracy=None, **config):
    base = dict(QCRD_DEFAULT) if method == "qcrd" else {"alpha": 0.5, "train_fraction": 1.0, "max_steps": 100,
                                                        "rationale_source": "greedy"}
    return {"name": name, "method": method, "seed": seed, "test_accuracy": test, "valid_accuracy": valid, "run": run,
            "task": task, "tag": tag, "seconds_per_step": sps, "train_seconds": sps * 100, "steps": 100,
            "test_rationale_accuracy": test_rationale_accuracy, "config": {**base, **config, "seed": seed}}


def test_results_matrix_and_timing():
    import pandas as pd
    from qcrdkit.analysis import results_matrix, timing_table

    students = [student("dss-seed0", "dss", 0, test=0.1, sps=0.1), student("dss-seed1", "dss", 1, test=0.3, sps=0.1),
                student("qcrd", test=0.25, sps=0.3), student("qcrd-mean", tag="mean", scheme="mean", test=0.9, sps=0.3),
                student("qcrd", task="svamp", test=0.5, sps=0.35)]
    m = results_matrix(students)
    assert list(m.index) == ["DSS", "QCRD"] and list(m.columns) == ["arith", "svamp"]
    assert m.loc["DSS", "arith"] == "20.0 ± 14.1 (n=2)" and m.loc["QCRD", "arith"] == "25.0 (n=1)"   # tagged left out
    assert m.loc["DSS", "svamp"] == ""
    rationale = results_matrix(students + [student("finetune", "finetune", test=0.2, test_rationale_accuracy=None)],
                               key="test_rationale_accuracy")
    assert rationale.loc["Finetune", "arith"] == "–" and rationale.loc["DSS", "arith"] == "–"   # not measured
    students[0]["test_rationale_accuracy"], students[1]["test_rationale_accuracy"] = 0.6, 0.4
    assert results_matrix(students, key="test_rationale_accuracy").loc["DSS", "arith"] == "50.0 ± 14.1 (n=2)"
    assert accuracy_by_method(students, "test_rationale_accuracy") == {("arith", "dss"): {"mean": 0.5,
                                                                                          "std": pytest.approx(0.1414, abs=1e-4), "n": 2}}
    t = timing_table(students).set_index(["task", "student"])
    assert t.loc[("arith", "QCRD"), "× DSS"] == 3.0 and t.loc[("arith", "QCRD (mean)"), "seconds / step"] == 0.3
    assert t.loc[("arith", "DSS"), "runs"] == 2 and pd.isna(t.loc[("svamp", "QCRD"), "× DSS"])


def test_sweep_tables_find_one_factor_groups():
    from qcrdkit.analysis import sweep_tables

    students = [student("qcrd", test=0.5, test_rationale_accuracy=0.4),
                student("qcrd-seed1", seed=1, test=0.7, test_rationale_accuracy=0.6),
                student("qcrd-maxmin", tag="maxmin", scheme="maxmin", test=0.4),
                student("qcrd-woNK", tag="woNK", negative_source="none", test=0.3),
                student("qcrd-woEDQJ", tag="woEDQJ", rationale_source="one_sample", use_judge=False, test=0.2),
                student("qcrd-greedy", tag="greedy", rationale_source="greedy", test=0.6, test_rationale_accuracy=0.7),
                student("dss-samples", "dss", tag="samples", rationale_source="self_consistent", test=0.3),
                student("qcrd-j10", tag="j10", iterations_back=10), student("qcrd-sc", tag="sc", negative_source="teacher"),
                student("qcrd-fixed", tag="fixed", negative_source="fixed", fixed_generator="/x/dss"),
                student("qcrd-t07", tag="t07", negative_temperature=0.7),
                student("qcrd-other", tag="other", scheme="maxmin", max_steps=50),    # differs in two fields: no table
                student("dss", "dss", test=0.2), student("dss-f05", "dss", tag="f05", train_fraction=0.5, test=0.1),
                student("qcrd-f05", tag="f05", train_fraction=0.5, test=0.15)]
    tables = {(t["sweep"], t["method"]): t for t in sweep_tables(students)}
    scheme = tables[("Contrastive scheme (Table 5)", "qcrd")]["rows"]
    assert [(r["value"], r["students"], r["n"]) for r in scheme] == [("maxmin", ["qcrd-maxmin"], 1),
                                                                     ("minmax", ["qcrd", "qcrd-seed1"], 2)]
    assert scheme[1]["test"] == "60.0 ± 14.1 (n=2)"
    # rationale accuracy beside label accuracy; "–" where a student has none
    assert (scheme[1]["rationale"], scheme[1]["rationale_mean"], scheme[0]["rationale"]) == ("50.0 ± 14.1 (n=2)", 0.5, "–")
    from qcrdkit.analysis.tables import sweep_frame

    frame = sweep_frame(tables[("Contrastive scheme (Table 5)", "qcrd")])
    assert list(frame.columns[:4]) == ["label accuracy, test (%)", "rationale accuracy, test (%)",
                                       "label accuracy, valid (%)", "seeds"]
    assert frame.loc["minmax", "rationale accuracy, test (%)"] == "50.0 ± 14.1 (n=2)"
    ablation = [r["value"] for r in tables[("Ablation (Table 4)", "qcrd")]["rows"]]
    assert ablation == ["QCRD", "w/o ED", "w/o ED, QJ", "w/o NK"]
    # the rationale source: a table per method that learns rationales, with rationale accuracy
    source = {r["value"]: r for r in tables[("Rationale source", "qcrd")]["rows"]}
    assert sorted(source) == ["greedy", "self_consistent"] and source["greedy"]["rationale"] == "70.0 (n=1)"
    assert [r["value"] for r in tables[("Rationale source", "dss")]["rows"]] == ["greedy", "self_consistent"]
    # the same experiment under two names (w/o ED and the source sweep's greedy QCRD) counts once
    again = {(t["sweep"], t["method"]): t for t in sweep_tables(
        students + [student("qcrd-woED", tag="woED", rationale_source="greedy", test=0.6, test_rationale_accuracy=0.7)])}
    assert [r["students"] for r in again[("Rationale source", "qcrd")]["rows"]][0] == ["qcrd-greedy"]
    assert [r["value"] for r in tables[("Negative source and j (A.2 Table 3)", "qcrd")]["rows"]] == \
        ["j=5", "j=10", "Fixed", "SC"]
    assert [r["value"] for r in tables[("Negative temperature τ (A.4 Table 5)", "qcrd")]["rows"]] == ["0.7", "1.5"]
    assert [r["value"] for r in tables[("Training-set fraction (Fig. 4)", "dss")]["rows"]] == ["0.5", "1"]
    assert ("Training-set fraction (Fig. 4)", "qcrd") in tables
    assert not any("qcrd-other" in r["students"] for t in tables.values() for r in t["rows"])
    assert sweep_tables([student("qcrd")]) == []


def test_paired_method_differences_pair_by_run_and_seed():
    from qcrdkit.analysis import difference_table, paired_method_differences

    students = [student("dss-seed0", "dss", 0), student("qcrd-seed0", "qcrd", 0), student("dss-seed1", "dss", 1),
                student("qcrd-seed1", "qcrd", 1), student("qcrd-x", tag="x"), student("qcrd-seed2", "qcrd", 2)]
    predictions = {("r", "dss-seed0"): rows([True, False, False, False]), ("r", "qcrd-seed0"): rows([True, True, False, False]),
                   ("r", "dss-seed1"): rows([False] * 4), ("r", "qcrd-seed1"): rows([True, True, True, False]),
                   ("r", "qcrd-seed2"): rows([True] * 4)}
    (d,) = paired_method_differences(students, predictions, resamples=500)
    # seed 0 diffs [0, 1, 0, 0], seed 1 [1, 1, 1, 0]; seed 2 has no DSS
    assert d["task"] == "arith" and d["n"] == 4 and d["seeds"] == 2 and d["difference"] == pytest.approx(4 / 8)
    assert d["per_seed"] == [0.25, 0.75] and d["low"] <= 0.5 <= d["high"] and d["t_low"] < d["low"]
    table = difference_table([d])
    row = table.iloc[0]
    assert row["QCRD − DSS"] == "+50.0" and row["questions per seed"] == 4 and row["seeds"] == 2
    assert row["per seed"] == "+25.0, +75.0" and row["95% t-interval over seeds"] == interval_text(d, "t")
    # one seed: the table says so instead of an interval
    (one,) = paired_method_differences(students[:2], predictions)
    assert difference_table([one]).iloc[0]["95% CI (bootstrap: seeds, then questions)"] == ONE_SEED_NOTE


def test_report_writes_tables_summary_and_figures(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from qcrdkit.analysis.report import Report

    report = Report(tmp_path / "report", "R")
    report.table("Accuracy", pd.DataFrame({"arith": {"DSS": "1.0"}}).rename_axis("method"), note="n")
    report.data("x", {"a": 1})
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    report.figure("f.png", fig, "a line")
    text = (tmp_path / "report" / "tables.md").read_text()
    assert text.startswith("# R\n\n## Accuracy\n\nn\n\n| method   | arith   |") and "| DSS      | 1.0     |" in text, text
    assert "![a line](f.png)" in text and (tmp_path / "report" / "f.png").stat().st_size > 1000
    assert (tmp_path / "report" / "summary.json").read_text().strip().startswith("{")


def test_ranking_aucs_of_the_judge_and_the_trivial_scorers():
    from qcrdkit.analysis import agreement_scores, ranking_aucs

    rows = [  # question a: two agree on 5 (good), one says 6; question b: one good, one unanswered
        {"question_id": "a", "answer": 5, "rationale": "x" * 30, "label": 1, "score": 0.9},
        {"question_id": "a", "answer": 5, "rationale": "x" * 10, "label": 1, "score": 0.4},
        {"question_id": "a", "answer": 6, "rationale": "x" * 20, "label": 0, "score": 0.5},
        {"question_id": "b", "answer": 7, "rationale": "x" * 40, "label": 1, "score": 0.8},
        {"question_id": "b", "answer": None, "rationale": "x" * 5, "label": 0, "score": 0.1}]
    assert agreement_scores(rows) == [0.5, 0.5, 0.0, 0.0, 0.0]
    aucs = ranking_aucs(rows)
    # judge: good scores 0.9, 0.4, 0.8 vs bad 0.5, 0.1 -> 5 of 6 pairs ordered
    assert aucs["judge"] == pytest.approx(5 / 6)
    # shorter first: good lengths 30, 10, 40 vs bad 20, 5 -> only (10 < 20) is ordered the "short" way
    assert aucs["shorter_first"] == pytest.approx(1 / 6)
    # agreement: good 0.5, 0.5, 0.0 vs bad 0.0, 0.0 -> 4 wins, 2 ties (half each)
    assert aucs["agreement"] == pytest.approx(5 / 6)
    assert (aucs["n_good"], aucs["n_bad"]) == (3, 2)
    assert ranking_aucs([r for r in rows if r["label"] == 1])["judge"] is None


def test_factor_differences_pair_each_value_by_seed():
    import matplotlib
    matplotlib.use("Agg")

    from qcrdkit.analysis import factor_differences
    from qcrdkit.analysis.plots import plot_factor_differences

    def st(name, method, seed, tag=None, fraction=None):
        s = student(name, method, seed, tag=tag)
        s["config"] = {} if fraction is None else {"train_fraction": fraction}
        return s

    students = [st(f"{m}-seed{i}", m, i) for m in ("dss", "qcrd") for i in (0, 1)] + \
               [st(f"{m}-f05-seed{i}", m, i, "f05", 0.5) for m in ("dss", "qcrd") for i in (0, 1)] + \
               [st("qcrd-woNK", "qcrd", 0, "woNK")]          # another sweep: not part of this factor
    predictions = {("r", s["name"]): rows([True, True, False, False]) for s in students}
    predictions[("r", "qcrd-f05-seed0")] = rows([True, True, True, False])      # +25 at seed 0 of f05
    predictions[("r", "qcrd-f05-seed1")] = rows([True, True, True, True])       # +50 at seed 1
    diffs = factor_differences(students, predictions)
    assert [d["value"] for d in diffs] == [0.5, 1.0]
    assert diffs[0]["per_seed"] == [0.25, 0.5] and diffs[0]["seeds"] == 2 and diffs[0]["difference"] == 0.375
    assert diffs[1]["per_seed"] == [0.0, 0.0] and diffs[1]["low"] == diffs[1]["high"] == 0.0
    fig = plot_factor_differences(diffs, xlabel="share of training questions")
    assert fig.axes[0].get_xlabel() == "share of training questions"


def test_right_wrong_rows_label_by_the_gold_answer_not_the_side():
    from qcrdkit.analysis.judging import right_wrong_rows, row_signals

    records = [{"id": "q1", "sample_index": 0, "correct": True, "positive": False, "answer": 3.0},
               {"id": "q1", "sample_index": 1, "correct": False, "positive": True, "answer": 4.0}]
    items = [{"key": "q1#0", "id": "q1", "rationale": "1 + 2 = 3"}, {"key": "q1#1", "id": "q1", "rationale": "2 + 2 = 4"},
             {"key": "q1#1+aug0", "id": "q1", "rationale": "augmented"}]
    rows = right_wrong_rows(items, records, [{"key": "q1#0", "score": 0.2}, {"key": "q1#1", "score": 0.9}])
    assert [(r["label"], r["score"], r["answer"]) for r in rows] == [(1, 0.2, 3.0), (0, 0.9, 4.0)]   # augmented left out
    rows = [{"question_id": "a", "answer": 3.0}, {"question_id": "a", "answer": None},
            {"question_id": "a", "rationale_answer": 4.0, "answer": 3.0}, {"question_id": "b", "answer": 1.0}]
    assert row_signals(rows, "answered") == [1.0, 0.0, 1.0, 1.0]
    assert row_signals(rows, "agreement") == [0.0, 0.0, 0.0, 1.0]      # the teacher's reading of its rationale: 4
    assert row_signals(rows, "none") is None


def test_the_dashboard_defaults_to_the_notebooks_run_and_says_when_a_report_is_partial(tmp_path, monkeypatch):
    from qcrdkit.analysis.dashboard import locate_run, run_status
    from qcrdkit.analysis.report import Report

    monkeypatch.setenv("QCRD_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("QCRD_RUN_DIR", raising=False)
    run = tmp_path / "outputs" / "runs" / "interactive"
    assert locate_run(None) == run                            # the run notebooks 01-04 make by default
    report = Report(run / "report", "a report")
    report.text("Accuracy", "what was shown before stage 04 stopped")
    ready, message = run_status(run)
    assert ready and "A partial report" in message and str(tmp_path) not in message
    report.finish()
    assert run_status(run) == (True, "")


def test_holm_by_hand():
    from qcrdkit.analysis import holm

    # sorted 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 = 0.04 -> 0.06 (never below the one before)
    assert holm([0.04, 0.01, 0.03]) == pytest.approx([0.06, 0.03, 0.06])
    assert holm([0.6, 0.9]) == [1.0, 1.0]                    # 1.2 capped at 1; 0.9 kept at 1


def test_students_trained_before_rationale_source_keep_their_source():
    from qcrdkit.training.data import recorded_rationale_source

    assert recorded_rationale_source({"positives": "sc"}) == "self_consistent"         # QCRD
    assert recorded_rationale_source({"positives": "greedy"}) == "greedy"              # QCRD w/o ED
    assert recorded_rationale_source({"rationale": "greedy"}) == "greedy"              # DSS, MI, Single-Task
    assert recorded_rationale_source({"rationale": "first_positive"}) is None          # no source reproduces it
    assert recorded_rationale_source({"alpha": 0.5}) is None                           # Finetune
    assert recorded_rationale_source({"rationale_source": "greedy_and_samples", "positives": "sc"}) == "greedy_and_samples"


def test_the_llm_judges_preference_has_an_interval_over_seeds_only():
    from qcrdkit.analysis.llm_judge import preference_over_seeds
    from qcrdkit.analysis.tables import preference_table

    one = preference_over_seeds({0: ["b_better", "b_better", "a_better", "both_good"]})
    assert one == {"per_seed": {0: 0.25}, "seeds": 1, "mean": 0.25}          # one pair of students: no interval
    three = preference_over_seeds({0: ["b_better", "a_better", "b_better", "undecided"],     # +0.25
                                   1: ["a_better", "a_better", "both_bad", "b_better"],      # -0.25
                                   2: ["b_better", "b_better", "b_better", "both_good"]})    # +0.75
    assert three["per_seed"] == {0: 0.25, 1: -0.25, 2: 0.75} and three["mean"] == pytest.approx(0.25)
    # t(2) 97.5 % = 4.303; std of (0.25, -0.25, 0.75) = 0.5
    assert (three["low"], three["high"]) == pytest.approx((0.25 - 4.303 * 0.5 / 3 ** 0.5, 0.25 + 4.303 * 0.5 / 3 ** 0.5),
                                                          abs=1e-3)
    table = preference_table({"τ=0": one, "τ=0.7": three})
    assert table.loc["τ=0", "mean [95 % t]"] == "+25.0 (one seed: no interval)"
    assert table.loc["τ=0.7", "per seed"] == "+25.0, -25.0, +75.0" and table.loc["τ=0.7", "seeds"] == 3
    with pytest.raises(ValueError, match="unknown outcome"):
        preference_over_seeds({0: ["b_wins"]})


def test_the_llm_judge_pairs_each_seeds_students_of_the_two_compared_methods(tmp_path):
    from types import SimpleNamespace

    from qcrdkit.analysis.run import seed_pairs

    for name in ("dss", "qcrd", "dss-seed1", "qcrd-seed1", "dss-seed2", "qcrd-seed3", "qcrd-woNK-seed1"):
        (tmp_path / "students" / name).mkdir(parents=True)
        (tmp_path / "students" / name / "metrics.json").write_text("{}")
    (tmp_path / "students" / "dss-seed4").mkdir()                          # unfinished: no metrics.json
    (tmp_path / "students" / "qcrd-seed4").mkdir()
    run = SimpleNamespace(run_dir=tmp_path)
    assert seed_pairs(run, ["dss", "qcrd"]) == {0: ("dss", "qcrd"), 1: ("dss-seed1", "qcrd-seed1")}
    assert seed_pairs(run, ["qcrd", "qcrd-woNK"]) == {0: ("qcrd", "qcrd-woNK"), 1: ("qcrd-seed1", "qcrd-woNK-seed1")}
