"""Stage 04's sections as notebook 04 runs them (qcrdkit/analysis/run.py), and notebook 03's closing look
at its students (qcrdkit.training.outputs.py), on a copy of the smoke run."""
import shutil
from dataclasses import replace

import pytest

from qcrdkit.analysis import run as stage_04

pytestmark = pytest.mark.slow           # the smoke run (a pipeline) is their input
from qcrdkit.core.errors import ConfigError
from qcrdkit.core.io import read_json, read_jsonl
from qcrdkit.core.stages import AnalysisStageConfig


@pytest.fixture
def analysis_run(smoke_run, tmp_path):
    run = tmp_path / "smoke"
    shutil.copytree(smoke_run, run)
    shutil.rmtree(run / "report", ignore_errors=True)
    stage = AnalysisStageConfig(run_dir=str(run), temperatures=[0.7], kde_questions=3, samples_per_temperature=2,
                                case_questions=3, llm_judge_questions=2, llm_judge_temperatures=[0.0],
                                llm_judge_cache_dir=None, bootstrap_resamples=100, progress=False)
    return run, stage


def test_each_section_adds_its_tables_to_the_report(analysis_run):
    run, stage = analysis_run
    a = stage_04.open_analysis(stage)
    assert a.run_dir == run and {s["name"] for s in a.students} == {"dss", "qcrd"} and not a.left_out
    accuracy = stage_04.accuracy_section(a, stage)
    assert list(accuracy["accuracy"].columns) and accuracy["differences"][0]["a"] == "qcrd"   # compare: B - A
    assert stage_04.sweep_section(a, stage) == [] and read_json(run / "report" / "summary.json")["sweeps"] == []
    quality = stage_04.quality_section(a, stage)
    assert quality.judge_name == "online" and len(quality.studied) == 3
    samples = read_jsonl(run / "report" / "student_samples.jsonl")
    assert len(samples) == 3 * 2 and {s["temperature"] for s in samples} == {0.7}
    assert set(quality.ranking["student_samples"]) >= {"judge", "shorter_first", "agreement"}
    judgement = stage_04.llm_judge_section(a, stage)
    assert len(judgement.rows) == 2 and judgement.counts_table.shape[0] == 1
    assert "**Example**" in stage_04.judged_example(judgement, ("dss", "qcrd"))
    summary = read_json(run / "report" / "summary.json")
    assert {"students", "accuracy", "paired_difference", "judge_ranking", "llm_judge"} <= set(summary)
    assert (run / "report" / "scores_kde.png").exists() and (run / "report" / "llm_judge.png").exists()


def test_a_compare_student_the_run_lacks_is_named(analysis_run):
    run, stage = analysis_run
    stage = replace(stage, compare=["mi", "qcrd"])
    a = stage_04.open_analysis(stage)
    assert stage_04.accuracy_section(a, stage)["differences"] == []           # no pair: no difference, no error
    with pytest.raises(ConfigError, match=r"04_analysis.compare: .* has no trained student \['mi'\]"):
        stage_04.llm_judge_section(a, stage)


def test_student_outputs_answer_a_few_questions(smoke_run):
    from qcrdkit.tasks import load_task
    from qcrdkit.training.outputs import student_outputs

    task, spec = load_task(smoke_run)
    examples = task.load("test", data_dir=spec.get("data_dir"))[:2]
    rows = student_outputs(smoke_run, ["dss", "qcrd"], examples)
    assert [(r["question"], r["student"]) for r in rows] == [(e.id, s) for s in ("dss", "qcrd") for e in examples]
    # both learn rationales (the smoke run's barely trained students may write an empty one)
    assert all(isinstance(r["rationale"], str) and isinstance(r["label"], str) for r in rows)
    assert [r["gold"] for r in rows] == [e.label for e in examples] * 2
