"""`qcrd run` with papermill: the smoke params, failures that name the stage and cell, no secrets."""
import json
import subprocess
import sys

import pytest

from qcrdkit.errors import ConfigError
from qcrdkit.pipeline import load_params

from conftest import REPO

pytestmark = pytest.mark.slow


def qcrd(*args, env=None, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "qcrdkit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600)


def test_smoke_run_writes_every_stage_contract(tmp_path, monkeypatch):
    import os
    secret = "sk-test-NEVER-WRITTEN-42"
    env = {**os.environ, "OPENAI_API_KEY": secret}
    res = qcrd("run", "--params", "params/smoke.yaml", "--set", f"outputs_dir={tmp_path}", env=env)
    assert res.returncode == 0, res.stderr
    run = tmp_path / "runs" / "smoke"
    records = [json.loads(x) for x in (run / "teacher" / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 40 * 3
    assert set(records[0]) >= {"id", "question", "sample_index", "temperature", "raw", "rationale", "answer", "gold",
                               "correct", "positive"}
    stats = json.loads((run / "teacher" / "stats.json").read_text())["by_split"]["train"]
    assert stats["questions"] == 40 and 0.5 < stats["teacher_accuracy"] <= 1.0
    assert (run / "teacher" / "positives.png").stat().st_size > 1000
    assert (run / "notebooks" / "01_teacher_sampling.ipynb").exists()
    # stage 02: the judge checkpoint, its metrics, per-rationale held-out scores and plots
    judge = run / "discriminator"
    metrics = json.loads((judge / "metrics.json").read_text())
    assert {"auc", "accuracy", "mean_score_pos", "mean_score_neg", "n_pos", "n_neg"} <= set(metrics)
    assert metrics["n_pos"] + metrics["n_neg"] == 10 * 3                 # 10 held-out questions x 3 samples
    assert metrics["steps"] == 6 and metrics["backbone"] == "t5-tiny" and 0 < metrics["augmentation"]["augmented"]
    rows = [json.loads(x) for x in (judge / "scores.jsonl").read_text().splitlines()]
    assert {r["source"] for r in rows} == {"teacher positive", "teacher negative", "augmented negative"}
    assert all(0 <= r["score"] <= 1 and set(r) >= {"id", "source", "label", "score"} for r in rows)
    assert len({r["id"] for r in rows}) == 10 == metrics["questions"]     # heldout_fraction 0.25 of 40
    assert metrics["train"]["questions"] == 30
    assert (judge / "config.json").exists() and (judge / "model.safetensors").exists()
    assert not (judge / "checkpoints").exists()                          # removed once finished
    assert (judge / "kde.png").stat().st_size > 1000 and (judge / "curve.png").stat().st_size > 1000
    from qcrdkit.rundir import load_run_discriminator
    from qcrdkit.discriminator import score_rationales
    model, tok = load_run_discriminator(run)
    assert score_rationales(model, tok, ["q"], ["r"]).shape == (1,)
    # stage 03: one folder per method with the selected model and its metrics, the summary and curves
    students = run / "students"
    summary = json.loads((students / "summary.json").read_text())
    assert [m["method"] for m in summary] == ["dss", "qcrd"]
    for m in summary:
        assert m["steps"] == 6 and m["n_valid"] == 10 and m["n_test"] == 10
        assert 0 <= m["valid_accuracy"] <= 1 and 0 <= m["test_accuracy"] <= 1 and m["seconds_per_step"] > 0
        assert (students / m["name"] / "model.safetensors").exists()
        assert json.loads((students / m["name"] / "metrics.json").read_text()) == m
    assert (students / "curves.png").stat().st_size > 1000 and (students / "tokenizer" / "tokenizer.json").exists()
    for path in run.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_failing_stage_names_notebook_and_cell(tmp_path):
    res = qcrd("run", "--params", "params/smoke.yaml", "--set", f"outputs_dir={tmp_path}", "--set", "common.task=nosuchtask")
    assert res.returncode == 1
    assert "stage 01_teacher_sampling failed" in res.stderr and "cell" in res.stderr
    assert "unknown task 'nosuchtask'" in res.stderr and "01_teacher_sampling.ipynb" in res.stderr


def test_params_overrides_and_errors(tmp_path):
    p = load_params(REPO / "params" / "smoke.yaml", ["01_teacher_sampling.k=2", "common.seed=3", "run_id=x"])
    assert p["01_teacher_sampling"]["k"] == 2 and p["common"]["seed"] == 3 and p["run_id"] == "x"
    with pytest.raises(ConfigError, match="key=value"):
        load_params(REPO / "params" / "smoke.yaml", ["k"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [09_nope]\n")
    with pytest.raises(ConfigError, match="unknown stage"):
        load_params(bad)


def test_unknown_stage_parameter_fails_before_any_stage_runs(tmp_path):
    res = qcrd("run", "--params", "params/smoke.yaml", "--set", f"outputs_dir={tmp_path}",
               "--set", "02_discriminator.stepz=3")
    assert res.returncode != 0
    assert "02_discriminator: unknown parameter(s) ['stepz']" in res.stderr
    assert not (tmp_path / "runs" / "smoke" / "teacher").exists()
