"""Reruns reuse only what is provably current: provenance records, conflicts, replace, paths that never
resolve into the package, notebook parameters given as strings, file modes that follow the umask."""
import json
import os
import stat
from pathlib import Path

import pytest

from conftest import REPO
from qcrdkit.core import provenance as P
from qcrdkit.core.errors import ConfigError


def finished_artifact(run: Path, settings: dict, inputs: dict) -> Path:
    folder = run / "judge"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"old weights")
    P.write_record(folder, "judge", settings, inputs)
    return folder


def test_reuse_only_on_an_exact_match_and_name_every_difference(tmp_path):
    (tmp_path / "samples.jsonl").write_text('{"a": 1}\n')
    inputs = P.fingerprints(tmp_path, ["samples.jsonl"])
    folder = finished_artifact(tmp_path, {"steps": 400, "ops": ["mask"]}, inputs)
    assert P.decide(folder, "judge", {"steps": 400, "ops": ("mask",)}, inputs, finished=True) == ("reuse", [])
    assert P.decide(tmp_path / "other", "judge", {}, {}, finished=False) == ("new", [])
    (tmp_path / "samples.jsonl").write_text('{"a": 2}\n')             # stage 01 re-sampled
    changed = P.fingerprints(tmp_path, ["samples.jsonl"])
    with pytest.raises(P.ArtifactConflict) as err:
        P.decide(folder, "judge", {"steps": 20, "ops": ["mask"]}, changed, finished=True)
    message = str(err.value)
    assert "steps: 400 → 20" in message and "input samples.jsonl changed" in message and "replace=True" in message
    assert (folder / "weights.bin").read_bytes() == b"old weights"    # refused: untouched
    decision, diff = P.decide(folder, "judge", {"steps": 20, "ops": ["mask"]}, changed, finished=True, replace=True)
    assert decision == "replace" and diff == ["steps: 400 → 20", "input samples.jsonl changed"]
    # an artifact made before records existed is not silently reused either
    (folder / P.RECORD).unlink()
    with pytest.raises(P.ArtifactConflict, match="no record of what produced it"):
        P.decide(folder, "judge", {"steps": 400}, inputs, finished=True)


def test_move_aside_keeps_what_was_computed(tmp_path):
    folder = finished_artifact(tmp_path, {"steps": 1}, {})
    moved = P.move_aside(tmp_path, folder)
    assert not folder.exists() and (moved / "weights.bin").read_bytes() == b"old weights"
    assert moved.relative_to(tmp_path).parts[0] == "replaced" and moved.name == "judge"
    assert P.move_aside(tmp_path, tmp_path / "nothing") is None


def test_checkpoints_resume_only_into_the_configuration_that_made_them(tmp_path):
    ckpt = tmp_path / "student" / "checkpoints"
    P.claim_checkpoints(tmp_path, ckpt, "student", {"max_steps": 600}, {"x": "1"})
    (ckpt / "checkpoint-150").mkdir()
    P.claim_checkpoints(tmp_path, ckpt, "student", {"max_steps": 600}, {"x": "1"})       # same: resumes
    assert (ckpt / "checkpoint-150").exists()
    with pytest.raises(P.ArtifactConflict, match="unfinished student's checkpoints.*max_steps: 600 → 20"):
        P.claim_checkpoints(tmp_path, ckpt, "student", {"max_steps": 20}, {"x": "1"})
    P.claim_checkpoints(tmp_path, ckpt, "student", {"max_steps": 20}, {"x": "1"}, replace=True)
    assert not (ckpt / "checkpoint-150").exists() and list((tmp_path / "replaced").rglob("checkpoint-150"))


def test_stale_inputs_name_the_files_that_changed(tmp_path):
    (tmp_path / "teacher").mkdir()
    (tmp_path / "teacher" / "samples.jsonl").write_text("a\n")
    folder = tmp_path / "students" / "dss"
    folder.mkdir(parents=True)
    P.write_record(folder, "student", {}, P.fingerprints(tmp_path, ["teacher/samples.jsonl", "teacher/greedy.jsonl"]))
    assert P.stale_inputs(folder, tmp_path) == []
    (tmp_path / "teacher" / "greedy.jsonl").write_text("g\n")
    assert P.stale_inputs(folder, tmp_path) == ["teacher/greedy.jsonl"]


def test_collect_students_leaves_out_students_of_replaced_inputs(tmp_path):
    from qcrdkit.analysis.student_results import collect_students

    run = tmp_path / "run"
    (run / "teacher").mkdir(parents=True)
    (run / "teacher" / "samples.jsonl").write_text("old\n")
    for name in ("dss", "qcrd"):
        folder = run / "students" / name
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps({"method": name, "name": name, "config": {}}))
        P.write_record(folder, "student", {}, P.fingerprints(run, ["teacher/samples.jsonl"]))
    (run / "teacher" / "samples.jsonl").write_text("new\n")          # replaced; dss trained again on it
    P.write_record(run / "students" / "dss", "student", {}, P.fingerprints(run, ["teacher/samples.jsonl"]))
    left_out = []
    students, _ = collect_students([run], left_out=left_out)
    assert [s["name"] for s in students] == ["dss"]
    assert left_out == [(run / "students" / "qcrd", "trained on inputs the run has since replaced "
                                                    "(teacher/samples.jsonl)")]


def test_run_dir_none_finds_the_newest_run_with_students(tmp_path, monkeypatch):
    from qcrdkit.core.rundir import resolve_run_dir

    monkeypatch.delenv("QCRD_RUN_DIR", raising=False)
    monkeypatch.setenv("QCRD_PROJECT_DIR", str(tmp_path))
    for i, name in enumerate(["old", "new"]):
        metrics = tmp_path / "outputs" / "runs" / name / "students" / "dss" / "metrics.json"
        metrics.parent.mkdir(parents=True)
        metrics.write_text("{}")
        os.utime(metrics, (1_000_000 + i, 1_000_000 + i))
    (tmp_path / "outputs" / "runs" / "teacher-only").mkdir()
    assert resolve_run_dir(None) == tmp_path / "outputs" / "runs" / "new"          # the run, not its students/
    assert resolve_run_dir("outputs/runs/old") == tmp_path / "outputs" / "runs" / "old"   # relative: to the project
    with pytest.raises(ConfigError, match="no run with trained students"):
        resolve_run_dir(None, outputs_dir=tmp_path / "elsewhere")


def test_relative_paths_resolve_against_the_checkout_not_through_the_notebooks_link(monkeypatch):
    from qcrdkit.core.paths import PACKAGE_DIR, project_dir, project_path

    monkeypatch.delenv("QCRD_PROJECT_DIR", raising=False)
    monkeypatch.chdir(REPO / "notebooks")                 # the link into the package, as JupyterLab opens it
    assert Path(os.getcwd()) == PACKAGE_DIR / "notebooks"  # the kernel sees the package folder
    assert project_dir() == REPO
    assert project_path("outputs/runs/interactive") == REPO / "outputs" / "runs" / "interactive"
    assert project_path("../outputs/x") == REPO.parent / "outputs" / "x"
    with pytest.raises(ConfigError, match="inside the qcrdkit package"):
        project_path(PACKAGE_DIR / "outputs")
    monkeypatch.setenv("QCRD_PROJECT_DIR", "/tmp")
    assert project_path("outputs") == Path("/tmp/outputs").resolve()


def test_papermill_string_parameters_are_read_as_yaml_or_refused():
    from qcrdkit.core.stage_parameters import accept_parameters
    from qcrdkit.core.stages import defaults

    namespace = {**defaults("03_training"), "methods": '["qcrd"]', "extra": "{warmup_steps: 2}", "seeds": "[0, 1]"}
    accept_parameters("03_training", namespace)
    assert namespace["methods"] == ["qcrd"] and namespace["extra"] == {"warmup_steps": 2} and namespace["seeds"] == [0, 1]
    with pytest.raises(ConfigError, match=r"03_training\.methods: expected a list.*papermill -y"):
        accept_parameters("03_training", {**defaults("03_training"), "methods": "qcrd"})
    with pytest.raises(ConfigError, match=r"03_training\.steps: expected int"):
        accept_parameters("03_training", {**defaults("03_training"), "steps": "many"})


def test_written_files_follow_the_umask(tmp_path):
    from qcrdkit.core.io import write_json

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        os.umask(0o077)
        write_json(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600


def test_the_run_tokenizer_is_trained_again_on_a_new_corpus_and_the_old_one_kept(tmp_path):
    from qcrdkit.students.models import load_or_train_tokenizer

    path = tmp_path / "run" / "students" / "tokenizer"
    first = load_or_train_tokenizer(path, "scratch-tiny", ["one apple", "two pears"] * 20, "corpus", 300)
    again = load_or_train_tokenizer(path, "scratch-tiny", ["one apple", "two pears"] * 20, "corpus", 300)
    assert again.get_vocab() == first.get_vocab() and not (tmp_path / "run" / "replaced").exists()
    load_or_train_tokenizer(path, "scratch-tiny", ["seven kiwis", "eight plums"] * 20, "corpus", 300)
    assert len(list((tmp_path / "run" / "replaced").rglob("qcrd_tokenizer.json"))) == 1
    with pytest.raises(ConfigError, match="use the same tokenizer settings"):
        load_or_train_tokenizer(path, "scratch-tiny", ["x"], "byte", 300)


def test_a_run_made_before_the_rename_keeps_its_judge_in_discriminator(tmp_path):
    from qcrdkit.core.rundir import judge_dir, judge_weights

    new, old = tmp_path / "new", tmp_path / "old"
    new.mkdir()
    assert judge_dir(new) == new / "judge" and judge_weights(new) == "judge/model.safetensors"
    (old / "discriminator").mkdir(parents=True)
    # an old run's judge, and the key its QCRD students recorded the judge's weights under, stay where they were
    assert judge_dir(old) == old / "discriminator" and judge_weights(old) == "discriminator/model.safetensors"
    (old / "judge").mkdir()                                   # a judge made since: that one
    assert judge_dir(old) == old / "judge"


def test_qcrd_runs_lists_each_runs_stages_and_what_replaced_keeps(tmp_path, capsys):
    from qcrdkit.cli import commands as cli

    run = tmp_path / "runs" / "r1"
    (run / "teacher").mkdir(parents=True)
    (run / "teacher" / "samples.jsonl").write_text("{}\n")
    (run / "replaced" / "20261206-101010" / "teacher").mkdir(parents=True)
    (run / "replaced" / "20261206-101010" / "teacher" / "samples.jsonl").write_bytes(b"x" * 2**20)
    assert cli.main(["runs", "--outputs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "r1: stages 01, " in out.replace("stages 01 ", "stages 01, ") and "replaced/ keeps 1 earlier result(s), 1.0 MB" in out
    assert f"rm -r {run / 'replaced'}" in out and "20261206-101010: teacher (1.0 MB)" in out
