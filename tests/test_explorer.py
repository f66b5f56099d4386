"""The rationale explorer: its pure data layer on hand-made rows, and the widget driven directly."""
import base64
import json
import re

import numpy as np
import pytest

from qcrdkit.analysis import explorer as X


def records():
    base = {"split": "train", "question": "Ann has 3 apples and buys 4. How many?", "gold": 7.0, "temperature": 0.7}
    return [
        {**base, "id": "q1", "sample_index": 0, "rationale": "3 + 4 = 7.", "answer": 7.0, "correct": True, "positive": True},
        {**base, "id": "q1", "sample_index": 1, "rationale": "3 + 4 = 8.", "answer": 8.0, "correct": False, "positive": False},
        {**base, "id": "q2", "sample_index": 0, "rationale": "She has 12 now.", "answer": 12.0, "correct": True,
         "positive": True, "question": "Bo has 10 and gets 2. How many?", "gold": 12.0},
        {**base, "id": "q3", "split": "test", "sample_index": 0, "rationale": "no idea", "answer": None,
         "correct": False, "positive": False, "analysis_only": True, "question": "Cy has 1. How many?", "gold": 1.0},
    ]


def table():
    scores = {"q1#0": {"score": 0.9, "judge_trained_on": True}, "q1#1": {"score": 0.8, "judge_trained_on": True},
              "q2#0": {"score": 0.1}, "q3#0": {"score": 0.2}}
    students = [{"student": "qcrd", "question_id": "q3", "question": "Cy has 1. How many?", "gold": 1.0,
                 "temperature": 1.5, "index": 0, "rationale": "1 + 0 = 1", "answer": 1.0, "correct": True, "score": 0.3}]
    return X.rationale_table(X.teacher_rows(records(), scores) + X.student_rows(students))


def test_rows_sides_scores_and_disagreement():
    df = table()
    assert list(df["source"]) == ["teacher"] * 4 + ["student qcrd"]
    assert list(df["side"][:4]) == ["positive", "negative", "positive", "negative"] and df["side"].isna().iloc[4]
    # |score - 1| for a rationale that reaches the gold answer, |score - 0| for one that does not
    assert df["disagreement"].tolist() == pytest.approx([0.1, 0.8, 0.9, 0.2, 0.7])
    # the evidence is the gold answer, not the self-consistency side: a positive of a wrong majority scored
    # high is a mistake of the judge, the same positive scored low is not
    wrong_majority = [{**records()[0], "correct": False}]
    assert X.rationale_table(X.teacher_rows(wrong_majority, {"q1#0": {"score": 0.9}}))["disagreement"][0] == \
        pytest.approx(0.9)
    assert df["judge_trained_on"].tolist() == [True, True, False, False, False]
    assert df["analysis_only"].tolist() == [False, False, False, True, True]


def test_select_and_sort():
    df = table()
    assert list(X.select(df, correct=False)["question_id"]) == ["q1", "q3"]
    assert list(X.select(df, unread=True)["question_id"]) == ["q3"]            # "answer unread": no answer read
    assert len(X.select(df, unread=False)) == len(df) - 1
    assert len(X.select(df, side="positive", split="train")) == 2
    assert list(X.select(df, score_range=(0.15, 0.85))["score"]) == [0.8, 0.2, 0.3]
    assert list(X.select(df, text="12")["question_id"]) == ["q2"]             # in the rationale
    assert list(X.select(df, text="BO HAS")["question_id"]) == ["q2"]        # or the question, any case
    assert list(X.select(df, source="student qcrd")["question_id"]) == ["q3"]
    # the judge's mistakes first: the positive it scored 0.1, then the negative it scored 0.8
    mistakes = X.sort_rows(df, "judge vs evidence (mistakes first)")
    assert [(r.question_id, r.sample_index) for r in mistakes.head(2).itertuples()] == [("q2", 0), ("q1", 1)]
    assert list(X.sort_rows(df, "score (low first)")["score"]) == [0.1, 0.2, 0.3, 0.8, 0.9]
    with pytest.raises(ValueError, match="sort must be one of"):
        X.sort_rows(df, "length")


def test_question_view_and_export(tmp_path):
    df = table()
    view = X.question_html(df, "q3")
    assert "data-question='q3'" in view and view.count("qcrd-card") == 2            # teacher and student side by side
    assert "<mark>1</mark>" in view and "τ=1.5" in view and "Gold answer:</b> 1" in view
    assert X.highlight_numbers("3 + 4 = 7 < 8") == "<mark>3</mark> + <mark>4</mark> = <mark>7</mark> &lt; <mark>8</mark>"
    assert "No rationales" in X.question_html(df, "nope")
    rows = json.loads("[" + ",".join(X.export_rows(X.select(df, correct=False), tmp_path / "s.jsonl")
                                     .read_text().splitlines()) + "]")
    assert [r["question_id"] for r in rows] == ["q1", "q3"] and rows[1]["answer"] is None
    csv = X.export_rows(df, tmp_path / "all.csv").read_text().splitlines()
    assert csv[0].startswith("source,split,question_id") and len(csv) == 6
    with pytest.raises(ValueError, match="export to .jsonl or .csv"):
        X.export_rows(df, tmp_path / "x.parquet")


def test_explorer_widget_filters_opens_and_exports(tmp_path):
    from qcrdkit.analysis.widgets import RationaleExplorer

    e = RationaleExplorer(table(), export_name="sel.csv")
    assert "5 rationales selected" in e.rows.value and "<img class='qcrd-histogram'" in e.histogram.value
    assert e.question.value == "q2"                      # the judge's worst mistake opens first
    e.correct.value = "wrong"
    assert "2 rationales selected" in e.rows.value and e.question.options[0][1] == "q1"
    e.question.value = "q3"
    assert "data-question='q3'" in e.question_view.value
    e.side.value = "positive"
    assert "0 rationales selected" in e.rows.value and e.question.value is None and e.question_view.value == ""
    e.side.value = e.ALL
    link = e.export()                                     # a download in the browser: a data: link, no server file
    assert "download='sel.csv'" in link and "download 2 rows" in link and not list(tmp_path.iterdir())
    payload = base64.b64decode(re.search(r"base64,([^']+)'", link).group(1)).decode()
    assert len(payload.splitlines()) == 3 and payload.startswith("source,")      # header + the 2 wrong rows
    e.export_name.value = "sel.txt"
    assert "name the file .jsonl or .csv" in e.export()
    assert np.isnan(X.disagreement(X.rationale_table(X.teacher_rows(records()[:1])))[0])     # unscored: NaN
