"""Reruns as users make them — `qcrd run` under the same run_id with a changed setting, papermill reruns of
notebook 03, notebook 04 on its own defaults opened from notebooks/ — never lose or mix results."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_qcrd as qcrd

pytestmark = pytest.mark.slow


def tree_digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_smoke(smoke_run: Path, outputs: Path) -> Path:
    run = outputs / "runs" / "smoke"
    shutil.copytree(smoke_run, run)
    return run


def test_a_changed_stage01_setting_under_the_same_run_id_refuses_then_replace_recomputes_downstream(smoke_run, tmp_path):
    from qcrdkit.core.provenance import read_record
    from qcrdkit.core.rundir import teacher_inputs
    from qcrdkit.analysis.student_results import collect_students

    run = copy_smoke(smoke_run, tmp_path)
    teacher, judge = tree_digest(run / "teacher"), tree_digest(run / "judge")
    whole = tree_digest(run)
    changed = ["--set", f"outputs_dir={tmp_path}", "--set", "stages=[01_teacher_sampling, 02_judge]",
               "--set", "01_teacher_sampling.temperature=0.3", "--quiet"]
    res = qcrd("run", "--params", "params/smoke.yaml", *changed)
    assert res.returncode == 1
    assert "temperature: 0.7 → 0.3" in res.stderr and "replace=True" in res.stderr
    assert tree_digest(run / "teacher") == teacher and tree_digest(run / "judge") == judge   # nothing lost
    # the refusal wrote nothing: the run folder is byte-identical (params.yaml, the good executed notebook, all)
    assert tree_digest(run) == whole and "refused: nothing was written" in res.stderr
    # the same settings again: every stage reuses, nothing is re-sampled or retrained
    same = qcrd("run", "--params", "params/smoke.yaml", "--set", f"outputs_dir={tmp_path}", "--set",
                "stages=[01_teacher_sampling, 02_judge]", "--quiet")
    assert same.returncode == 0, same.stderr[-2000:]
    assert "**Reused**" in (run / "notebooks" / "01_teacher_sampling.ipynb").read_text()
    assert "**Reused**" in (run / "notebooks" / "02_judge.ipynb").read_text()
    assert (run / "teacher" / "samples.jsonl").read_bytes() == (smoke_run / "teacher" / "samples.jsonl").read_bytes()
    # asked to replace: the teacher re-samples, the judge sees its input changed and pretrains again
    res = qcrd("run", "--params", "params/smoke.yaml", *changed, "--replace")
    assert res.returncode == 0, res.stderr[-2000:]
    samples = [json.loads(x) for x in (run / "teacher" / "samples.jsonl").read_text().splitlines()]
    assert {r["temperature"] for r in samples} == {0.3}
    assert read_record(run / "judge")["inputs"] == teacher_inputs(run)                # trained on the new ones
    replaced = run / "replaced"
    assert tree_digest(next(replaced.glob("*/teacher"))) == teacher                           # the old ones kept
    assert tree_digest(next(replaced.glob("*/judge"))) == judge
    assert not (run / ".staging").exists()                   # the replacements were built there and swapped in
    assert not (run / "notebooks" / "01_teacher_sampling.failed.ipynb").exists()    # the stage ran through since
    # students trained on the old samples are left out of the tables (named), not mixed in
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.provenance import stale_inputs

    with pytest.raises(ConfigError, match="every student there was trained on teacher samples or a judge that have"):
        collect_students([run])
    assert all("teacher/samples.jsonl" in stale_inputs(run / "students" / name, run) for name in ("dss", "qcrd"))


def papermill(notebook: str, out: Path, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papermill", str(REPO / "notebooks" / notebook), str(out),
                           "--kernel", "python3", *args], capture_output=True, text=True, cwd=cwd, timeout=900)


def test_an_untagged_short_papermill_rerun_of_notebook_03_leaves_the_finished_students_unchanged(smoke_run, tmp_path):
    run = copy_smoke(smoke_run, tmp_path)
    students, whole = tree_digest(run / "students"), tree_digest(run)
    # finetune would be new, qcrd is refused: every student is decided first, so nothing is trained or written
    res = papermill("03_training.ipynb", tmp_path / "short.ipynb", "-p", "run_dir", str(run), "-p", "steps", "2",
                    "-p", "methods", '["finetune", "qcrd"]', "-p", "progress", "False")
    assert res.returncode != 0
    assert "the finished student qcrd" in res.stderr and "steps: 6 → 2" in res.stderr and "tag" in res.stderr
    assert "config.max_steps" not in res.stderr                  # the parameter as the user wrote it
    assert tree_digest(run) == whole                             # the run folder byte-identical
    # a mistyped parameter stops papermill as it stops qcrd run, naming the closest declared one
    res = papermill("03_training.ipynb", tmp_path / "typo.ipynb", "-p", "run_dir", str(run), "-p", "stpes", "2")
    assert res.returncode != 0 and "unknown parameter(s) 'stpes' (did you mean 'steps'?)" in res.stderr
    assert tree_digest(run) == whole
    # a tagged variant trains beside it; the run-level summary and figures cover every student of the run
    res = papermill("03_training.ipynb", tmp_path / "tagged.ipynb", "-p", "run_dir", str(run), "-p", "steps", "2",
                    "-p", "methods", "[dss]", "-p", "tag", "short", "-p", "student", "scratch-tiny", "-p", "vocab_size",
                    "500", "-p", "batch_size", "4", "-p", "eval_every", "2", "-p", "progress", "False")
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((run / "students" / "summary.json").read_text())
    assert [m["name"] for m in summary] == ["dss", "dss-short", "qcrd"]
    assert {k: v for k, v in tree_digest(run / "students").items() if not k.startswith(("dss-short", "summary",
                                                                                         "curves", "negatives"))} \
        == {k: v for k, v in students.items() if not k.startswith(("summary", "curves", "negatives"))}
    from qcrdkit.analysis.student_results import student_histories

    assert sorted(student_histories(run)) == ["dss", "dss-short", "qcrd"]       # what curves.png is drawn from


def test_notebook_04_on_its_own_defaults_analyses_the_interactive_run_and_names_an_unfinished_student(smoke_run,
                                                                                                       tmp_path):
    """A checkout laid out as the repository (notebooks/ links into the package), opened in notebooks/, where the
    notebooks' run (``interactive``) has a student whose training stopped, and a newer run (a ``make demo``) has
    students too: notebook 04 on its defaults analyses ``interactive``, names the unfinished student, skips the
    quality scores of a student that has only checkpoints, and marks its report complete."""
    project = tmp_path / "checkout"
    (project / "qcrdkit" / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "qcrdkit"\n')
    shutil.copy(REPO / "notebooks" / "04_analysis.ipynb", project / "qcrdkit" / "notebooks")
    (project / "notebooks").symlink_to("qcrdkit/notebooks")
    run = project / "outputs" / "runs" / "interactive"
    shutil.copytree(smoke_run, run)
    shutil.rmtree(run / "report")
    (run / "students" / "qcrd-late" / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (run / "students" / "qcrd-late" / "checkpoints" / "checkpoint-2" / "trainer_state.json").write_text("{}")
    newer = copy_smoke(smoke_run, project / "outputs")
    os.utime(newer / "students" / "dss" / "metrics.json")                   # the newest run with students
    env = {k: v for k, v in os.environ.items() if k not in ("QCRD_PROJECT_DIR", "QCRD_RUN_DIR")}
    res = subprocess.run([sys.executable, "-m", "papermill", "04_analysis.ipynb", str(tmp_path / "out.ipynb"),
                          "--kernel", "python3", "-p", "student", "qcrd-late"], capture_output=True, text=True,
                         cwd=project / "notebooks", env=env, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((run / "report" / "summary.json").read_text())
    assert summary["runs"] == [str(run)] and [s["name"] for s in summary["students"]] == ["dss", "qcrd"]
    assert summary["complete"] is True and "case_study" not in summary
    executed = (tmp_path / "out.ipynb").read_text()
    assert "Left out `qcrd-late`: unfinished" in executed and "Quality scores and the case study skipped" in executed
    assert (newer / "report" / "tables.md").read_bytes() == (smoke_run / "report" / "tables.md").read_bytes()
    assert not (project / "qcrdkit" / "outputs").exists()                  # nothing written inside the package
    assert (project / "outputs" / "cache" / "judge").is_dir()               # the LLM judge's cache: project outputs/
