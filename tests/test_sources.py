"""The rationale-source view: what each source teaches for a training question (stage 04, the dashboard)."""
from __future__ import annotations

from qcrdkit.core.io import write_jsonl
from qcrdkit.tasks import get_task
from qcrdkit.core.rundir import save_task_spec

from test_trainers import TASK_OPTIONS, make_greedy, make_records


def hand_run(tmp_path, greedy=True):
    task = get_task("arith", **TASK_OPTIONS)
    save_task_spec(tmp_path, "arith", None, TASK_OPTIONS)
    write_jsonl(tmp_path / "teacher" / "samples.jsonl", make_records(task))
    if greedy:
        write_jsonl(tmp_path / "teacher" / "greedy.jsonl", make_greedy(task))
    return task


def test_each_source_shows_what_it_teaches_with_the_teachers_reading(tmp_path):
    from qcrdkit.analysis.sources import source_html, source_questions, source_summary, source_viewer

    task = hand_run(tmp_path)
    rows = source_questions(tmp_path, 5, seed=1)
    assert len(rows) == 5 and rows == source_questions(tmp_path, 5, seed=1)          # a seeded pick
    assert [r["id"] for r in rows] != [r["id"] for r in source_questions(tmp_path, 5, seed=2)]
    ex = {e.id: e for e in task.load("train")}[rows[0]["id"]]
    sources = rows[0]["sources"]
    assert [i["rationale"] for i in sources["greedy"]] == ["Greedy: " + ex.rationale]
    assert [i["rationale"] for i in sources["one_sample"]] == [ex.rationale]
    assert [(i["rationale"], i["correct"]) for i in sources["self_consistent"]] == [
        (ex.rationale, True), (ex.rationale.replace(" so ", " then "), True)]
    assert [i["rationale"] for i in sources["greedy_and_samples"]] == [
        "Greedy: " + ex.rationale] + [i["rationale"] for i in sources["self_consistent"]]
    rows[0]["students"] = {"dss": {"rationale": "1 + <2> = 3", "answer": 3.0, "correct": False, "source": "greedy"}}
    page = source_html(rows[0])
    assert "self-consistent τ samples" in page and "greedy + self-consistent samples" in page
    assert "student dss" in page and "1 + &lt;2&gt; = 3" in page                     # escaped
    summary = source_summary(rows)
    assert summary.loc["source: self-consistent τ samples", "rationales right"] == "10 / 10"
    assert summary.loc["student dss (learnt from: greedy)", "rationales right"] == "0 / 1"
    viewer = source_viewer(rows)
    viewer.question.value = rows[2]["id"]
    assert rows[2]["question"].split()[0] in viewer.view.value


def test_a_run_without_greedy_rationales_shows_the_sources_it_has(tmp_path):
    from qcrdkit.analysis.sources import source_questions

    hand_run(tmp_path, greedy=False)
    assert set(source_questions(tmp_path, 2)[0]["sources"]) == {"one_sample", "self_consistent"}
