"""Analysis functions: accuracy over seeds and the paired bootstrap difference."""
import pytest

from qcrdkit.analysis import accuracy_by_method, paired_difference
from qcrdkit.errors import ConfigError


def test_accuracy_by_method_over_seeds():
    rows = [{"task": "arith", "method": "dss", "test_accuracy": a} for a in (0.1, 0.2, 0.3)] + \
           [{"task": "arith", "method": "qcrd", "test_accuracy": 0.5}]
    table = accuracy_by_method(rows)
    assert table[("arith", "dss")] == pytest.approx({"mean": 0.2, "std": 0.1, "n": 3})
    assert table[("arith", "qcrd")] == {"mean": 0.5, "std": 0.0, "n": 1}


def rows(flags, prefix="q"):
    return [{"id": f"{prefix}{i}", "correct": c} for i, c in enumerate(flags)]


def test_paired_difference_by_hand_and_interval():
    a = rows([True] * 60 + [False] * 40)
    b = rows([True] * 40 + [False] * 60)
    res = paired_difference(a, b)
    assert res["difference"] == pytest.approx(0.2) and res["n"] == 100
    assert res["low"] < 0.2 < res["high"]            # per-question diffs: 20 ones, 80 zeros
    assert 0.1 < res["low"] and res["high"] < 0.3    # binomial sd of the mean ≈ 0.04
    assert res["seeds"] == 1 and res["per_seed"] == [pytest.approx(0.2)]
    same = paired_difference(a, a)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0, "confidence": 0.95, "n": 100, "seeds": 1,
                    "per_seed": [0.0]}
    assert paired_difference(a, b[:10])["n"] == 10   # only shared questions count
    with pytest.raises(ConfigError, match="at least 2 shared questions"):
        paired_difference(a, rows([True], prefix="x"))


QCRD_DEFAULT = {"scheme": "minmax", "num_positives": 5, "num_negatives": 1, "negative_source": "self",
                "iterations_back": 5, "fixed_generator": None, "negative_temperature": 1.5, "positives": "sc",
                "use_judge": True, "train_fraction": 1.0, "max_steps": 100}


def student(name, method="qcrd", seed=0, test=0.5, valid=0.4, run="r", task="arith", tag=None, sps=0.2,
            test_rationale_accuracy=None, **config):
    base = dict(QCRD_DEFAULT) if method == "qcrd" else {"alpha": 0.5, "train_fraction": 1.0, "max_steps": 100}
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

    students = [student("qcrd", test=0.5), student("qcrd-seed1", seed=1, test=0.7),
                student("qcrd-maxmin", tag="maxmin", scheme="maxmin", test=0.4),
                student("qcrd-woNK", tag="woNK", negative_source="none", test=0.3),
                student("qcrd-woEDQJ", tag="woEDQJ", positives="first", use_judge=False, test=0.2),
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
    ablation = [r["value"] for r in tables[("Ablation (Table 4)", "qcrd")]["rows"]]
    assert ablation == ["QCRD", "w/o ED, QJ", "w/o NK"]
    assert [r["value"] for r in tables[("Negative source and j (A.2 Table 3)", "qcrd")]["rows"]] == \
        ["j=5", "j=10", "Fixed", "SC"]
    assert [r["value"] for r in tables[("Negative temperature τ (A.4 Table 5)", "qcrd")]["rows"]] == ["0.7", "1.5"]
    assert [r["value"] for r in tables[("Training-set fraction (Fig. 4)", "dss")]["rows"]] == ["0.5", "1"]
    assert ("Training-set fraction (Fig. 4)", "qcrd") in tables
    assert not any("qcrd-other" in r["students"] for t in tables.values() for r in t["rows"])
    assert sweep_tables([student("qcrd")]) == []


def test_paired_difference_resamples_questions_not_seeds():
    a = rows([True] * 60 + [False] * 40)
    b = rows([True] * 40 + [False] * 60)
    one = paired_difference(a, b)
    # the same results under three seeds: three times the rows, but the same 100 questions, so the same interval
    three = paired_difference([{**r, "seed": s} for s in range(3) for r in a],
                              [{**r, "seed": s} for s in range(3) for r in b])
    assert three["n"] == 100 and three["seeds"] == 3 and three["per_seed"] == [pytest.approx(0.2)] * 3
    assert (three["low"], three["high"]) == (one["low"], one["high"])
    # seeds that disagree: per question the mean over seeds, per seed its own difference
    mixed = paired_difference([{"id": "q0", "seed": 0, "correct": True}, {"id": "q1", "seed": 0, "correct": True},
                               {"id": "q0", "seed": 1, "correct": False}, {"id": "q1", "seed": 1, "correct": True}],
                              [{"id": q, "seed": s, "correct": False} for s in (0, 1) for q in ("q0", "q1")])
    assert mixed["difference"] == pytest.approx(0.75) and mixed["per_seed"] == [1.0, 0.5] and mixed["n"] == 2


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
    assert d["per_seed"] == [0.25, 0.75] and d["low"] <= 0.5 <= d["high"]
    table = difference_table([d])
    row = table.iloc[0]
    assert row["QCRD − DSS"] == "+50.0" and row["questions"] == 4 and row["seeds"] == 2 and row["per seed"] == "+25.0, +75.0"


def test_report_writes_tables_summary_and_figures(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from qcrdkit.report import Report

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
