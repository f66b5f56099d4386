"""`qcrd run` with papermill: the smoke params, sweeps, failures that name the stage and cell, no secrets."""
import json
from pathlib import Path
import shutil

import pytest
import yaml

from qcrdkit.core.errors import ConfigError
from qcrdkit.cli.pipeline import load_params

from conftest import REPO, SMOKE_SECRET, run_qcrd as qcrd, stand_in_stage

pytestmark = pytest.mark.slow


def test_smoke_run_writes_every_stage_contract(smoke_run):
    run = smoke_run
    records = [json.loads(x) for x in (run / "teacher" / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 40 * 3
    assert set(records[0]) >= {"id", "question", "sample_index", "temperature", "raw", "rationale", "answer", "gold",
                               "correct", "positive"}
    stats = json.loads((run / "teacher" / "stats.json").read_text())["by_split"]["train"]
    assert stats["questions"] == 40 and 0.5 < stats["teacher_accuracy"] <= 1.0
    assert (run / "teacher" / "positives.png").stat().st_size > 1000
    assert (run / "notebooks" / "01_teacher_sampling.ipynb").exists()
    # stage 02: the judge checkpoint, its metrics, per-rationale held-out scores and plots
    judge = run / "judge"
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
    from qcrdkit.judge.model import load_run_judge
    from qcrdkit.judge import score_rationales
    model, tok = load_run_judge(run)
    assert score_rationales(model, tok, ["q"], ["r"], answer_signal=[1.0]).shape == (1,)   # the default answer input
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
    # stage 04: the report (tables, numbers, figures) and the executed notebook with the widget's state
    report = run / "report"
    summary = json.loads((report / "summary.json").read_text())
    assert [s["name"] for s in summary["students"]] == ["dss", "qcrd"]
    diff = summary["paired_difference"][0]
    assert diff["task"] == "arith" and diff["n"] == 10 and diff["seeds"] == 1 and diff["low"] is None  # one seed: no interval
    by_source = {r["source"]: r for r in summary["quality_scores"]}
    assert {"teacher positive", "student τ=0.7", "student τ=1.5"} <= set(by_source)
    assert by_source["student τ=0.7"]["n"] == 4 * 2 and 0 <= by_source["student τ=1.5"]["mean_score"] <= 1
    # the judge QCRD used (its online judge, kept beside the student) is the one evaluated; stage 02's beside it
    assert (run / "students" / "qcrd" / "judge" / "model.safetensors").exists()
    ranking = summary["judge_ranking"]
    assert ranking["student_samples"]["judge_source"] == "online" and ranking["teacher_heldout"]["judge_source"] == "online"
    assert set(ranking["by_judge"]) == {"online", "stage 02"}
    assert ranking["by_judge"]["online"]["student_samples"]["judge"] == ranking["student_samples"]["judge"]
    samples = [json.loads(x) for x in (report / "student_samples.jsonl").read_text().splitlines()]
    assert {s["judge"] for s in samples} == {"online"}
    history = json.loads((run / "students" / "qcrd" / "history.json").read_text())
    assert any("judge_delta" in h for h in history) and (run / "students" / "judge_updates.png").exists()
    judge = summary["llm_judge"]
    assert judge["questions"] == 3 and set(judge["counts"]) == {"τ=0", "τ=0.7"}
    assert all(sum(c.values()) == 3 for c in judge["counts"].values())
    tables = (report / "tables.md").read_text()
    for heading in ("Test accuracy (%)", "Paired difference", "Training time", "Quality scores by source", "LLM judge",
                    "Rationale sources (3 training questions)"):
        assert f"## {heading}" in tables
    # what each rationale source teaches, beside the rationale each student writes for the same question
    source_rows = [json.loads(x) for x in (report / "source_rationales.jsonl").read_text().splitlines()]
    assert len(source_rows) == 3 and all(r["id"].startswith("arith-train-") for r in source_rows)
    assert set(source_rows[0]["sources"]) == {"greedy", "one_sample", "self_consistent", "greedy_and_samples"}
    learnt = {name: s["source"] for name, s in source_rows[0]["students"].items()}
    assert learnt == {"dss": "greedy", "qcrd": "self_consistent"}
    for png in ("scores_kde.png", "llm_judge.png"):
        assert (report / png).stat().st_size > 5000
    executed = json.loads((run / "notebooks" / "04_analysis.ipynb").read_text())
    state = executed["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [m["state"]["value"] for m in state.values() if m["model_name"] == "HTMLModel"]
    assert any("qcrd-case" in v and "τ=1.5" in v for v in views)      # the widget's last view is saved
    assert any("qcrd-sources" in v and "student qcrd" in v for v in views)
    for path in run.rglob("*"):
        if path.is_file():
            assert SMOKE_SECRET.encode() not in path.read_bytes(), path


def test_sweep_runs_one_stage_per_variant_and_04_tabulates_it(smoke_run, tmp_path):
    """A sweep file based on smoke.yaml: stage 03 once per variant (tagged students), then 04."""
    shutil.copytree(smoke_run, tmp_path / "runs" / "smoke")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({
        "base": str(REPO / "params" / "smoke.yaml"), "stages": ["03_training", "04_analysis"],
        "03_training": {"methods": ["qcrd"]}, "04_analysis": {"llm_judge": None},
        "sweep": {"stage": "03_training", "variants": {"mean": {"scheme": "mean"}, "woNK": {"negative_source": "none"},
                                                       "samples": {"methods": ["dss"], "rationale_source": "self_consistent"}}}}))
    res = qcrd("run", "--params", str(sweep), "--set", f"outputs_dir={tmp_path}")
    assert res.returncode == 0, res.stderr[-3000:]
    run = tmp_path / "runs" / "smoke"
    assert (run / "notebooks" / "03_training-mean.ipynb").exists() and (run / "notebooks" / "03_training-woNK.ipynb").exists()
    metrics = {m["name"]: m for m in json.loads((run / "students" / "summary.json").read_text())}
    assert set(metrics) == {"dss", "qcrd", "qcrd-mean", "qcrd-woNK", "dss-samples"}
    assert metrics["dss-samples"]["config"]["rationale_source"] == "self_consistent"
    assert metrics["qcrd-mean"]["tag"] == "mean" and metrics["qcrd-mean"]["config"]["scheme"] == "mean"
    sweeps = {t["sweep"]: t for t in json.loads((run / "report" / "summary.json").read_text())["sweeps"]}
    assert [r["students"] for r in sweeps["Contrastive scheme (Table 5)"]["rows"]] == [["qcrd-mean"], ["qcrd"]]
    assert [r["value"] for r in sweeps["Ablation (Table 4)"]["rows"]] == ["QCRD", "w/o NK"]
    source = sweeps["Rationale source"]
    assert source["method"] == "dss" and [(r["value"], r["students"]) for r in source["rows"]] == [
        ("greedy", ["dss"]), ("self_consistent", ["dss-samples"])]
    assert all(r["rationale"] != "–" for r in source["rows"])          # rationale accuracy beside label accuracy
    assert "rationale accuracy, test (%)" in (run / "report" / "tables.md").read_text()
    assert "llm_judge" not in json.loads((run / "report" / "summary.json").read_text())


def test_failing_stage_names_notebook_and_cell(tmp_path):
    res = qcrd("run", "--params", "params/smoke.yaml", "--set", f"outputs_dir={tmp_path}", "--set", "common.task=nosuchtask")
    assert res.returncode == 1
    assert "stage 01_teacher_sampling failed" in res.stderr and "cell" in res.stderr
    assert "unknown task 'nosuchtask'" in res.stderr and "01_teacher_sampling.failed.ipynb" in res.stderr


def test_params_base_file_and_sweep_checks(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"base: {REPO / 'params' / 'smoke.yaml'}\n03_training: {{steps: 2}}\nstages: [03_training]\n")
    p = load_params(child)
    assert p["03_training"]["steps"] == 2 and p["03_training"]["batch_size"] == 4     # merged key by key
    assert p["stages"] == ["03_training"] and p["common"]["task"] == "arith"
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {child}\nsweep: {{stage: 02_judge, variants: {{a: {{}}}}}}\n")
    with pytest.raises(ConfigError, match="sweep needs 'stage'"):
        load_params(bad)
    # --base: the same sweep file on another run's settings
    on_bench = load_params(REPO / "params" / "sweep-temperature.yaml", base=REPO / "params" / "bench.yaml")
    on_demo = load_params(REPO / "params" / "sweep-temperature.yaml")
    assert on_bench["run_id"] == "bench" and on_bench["03_training"]["seeds"] == [0, 1, 2, 3, 4]
    assert on_bench["03_training"]["methods"] == ["qcrd"] and on_bench["stages"] == ["03_training", "04_analysis"]
    assert on_demo["run_id"] == "demo" and on_demo["sweep"] == on_bench["sweep"]
    with pytest.raises(ConfigError, match="nothere.yaml not found"):
        load_params(child, base=tmp_path / "nothere.yaml")
    loop = tmp_path / "loop.yaml"
    loop.write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="include each other"):
        load_params(loop)


def test_params_files_may_still_call_the_judge_stage_02_discriminator(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("stages: [01_teacher_sampling, 02_discriminator]\n02_discriminator: {steps: 7}\n"
                   "sweep: {stage: 02_discriminator, variants: {a: {steps: 8}}}\n")
    p = load_params(old, ["02_discriminator.batch_size=3"])
    assert p["stages"] == ["01_teacher_sampling", "02_judge"] and p["sweep"]["stage"] == "02_judge"
    assert p["02_judge"] == {"steps": 7, "batch_size": 3} and "02_discriminator" not in p
    both = tmp_path / "both.yaml"
    both.write_text("02_discriminator: {steps: 7}\n02_judge: {steps: 8}\n")
    with pytest.raises(ConfigError, match="both '02_discriminator' and '02_judge'"):
        load_params(both)


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
               "--set", "02_judge.stepz=3")
    assert res.returncode != 0
    assert "02_judge: unknown parameter(s) ['stepz']" in res.stderr
    assert not (tmp_path / "runs" / "smoke" / "teacher").exists()


@pytest.mark.parametrize("path", sorted((REPO / "params").glob("*.yaml")), ids=lambda p: p.name)
def test_every_params_file_loads_and_its_notebooks_declare_its_parameters(path, tmp_path):
    """What `qcrd run` checks before the first stage, for each shipped params file and sweep variant."""
    import papermill as pm

    from qcrdkit.cli.pipeline import NOTEBOOK_DIR, merge_params, stage_parameters

    params = load_params(path)
    sweep = params.get("sweep") or {"stage": None, "variants": {}}
    for stage in params["stages"]:
        declared = set(pm.inspect_notebook(str(NOTEBOOK_DIR / f"{stage}.ipynb")))
        variants = sweep["variants"].values() if stage == sweep["stage"] else [{}]
        for variant in variants:
            stage_parameters(merge_params(params, {stage: variant}), stage, tmp_path, REPO, declared)


@pytest.mark.parametrize("notebook", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_parameter_line_of_a_notebook_is_one_papermill_reads(notebook):
    """A parameter papermill cannot parse is invisible to `qcrd run`'s check (a --set of it fails)."""
    import re

    import papermill as pm

    cell = next(c for c in json.loads(notebook.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
    assigned = [m.group(1) for line in "".join(cell["source"]).splitlines() if (m := re.match(r"(\w+)\s*=", line))]
    assert sorted(pm.inspect_notebook(str(notebook))) == sorted(assigned)


def test_own_jsonl_data_runs_stages_01_02_and_bad_records_stop_before_writing(tmp_path):
    """README "Your own data": params/own-jsonl.yaml on the shipped example (a few judge steps here)."""
    res = qcrd("run", "--params", "params/own-jsonl.yaml", "--set", f"outputs_dir={tmp_path}",
                   "--set", "02_judge.steps=4", "--set", "02_judge.eval_every=2",
                   "--set", "02_judge.save_every=2")
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    # progress you can see: stage lines, the judge's steps as a bar, no kernel transport warnings
    assert "qcrd run: 01_teacher_sampling ..." in res.stdout and "qcrd run: 02_judge done in" in res.stdout
    assert "judge (stage 02) pretraining" in res.stderr and "4/4" in res.stderr
    assert "without encryption" not in res.stdout + res.stderr and "figures: judge/curve.png" in res.stdout
    run = tmp_path / "runs" / "own-jsonl"
    spec = json.loads((run / "task.json").read_text())
    assert spec["task"] == "jsonl" and Path(spec["task_options"]["train"]).is_absolute()      # resolved for later stages
    provenance = json.loads((run / "teacher" / "config.json").read_text())
    imported = provenance["import"]
    assert imported["by_split"]["train"]["questions"] == 54 and imported["by_split"]["test"]["questions"] == 20
    assert imported["other_splits"] == 6 and imported["unmatched"] == {} and provenance["unparseable"]["train"] < 0.1
    samples = [json.loads(x) for x in (run / "teacher" / "samples.jsonl").read_text().splitlines()]
    assert {r["split"] for r in samples if r.get("analysis_only")} == {"test"}
    metrics = json.loads((run / "judge" / "metrics.json").read_text())
    assert metrics["auc"] is not None and metrics["settings"]["steps"] == 4
    # stage 02 again with the same settings: the finished judge is reused, not trained again
    again = qcrd("run", "--params", "params/own-jsonl.yaml", "--set", f"outputs_dir={tmp_path}", "--set",
                 "stages=[02_judge]", "--set", "02_judge.steps=4", "--quiet")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "**Reused**" in (run / "notebooks" / "02_judge.ipynb").read_text()
    assert json.loads((run / "judge" / "metrics.json").read_text())["auc"] == metrics["auc"]
    # a bad record: the run stops naming file and line, and writes nothing into the run
    bad = tmp_path / "bad.jsonl"
    lines = (REPO / "tests" / "data" / "own_task" / "questions_train.jsonl").read_text().splitlines()
    bad.write_text("\n".join(lines[:3] + ['{"qid": "x", "question": "no answer?"}']) + "\n")
    res = qcrd("run", "--params", "params/own-jsonl.yaml", "--set", f"outputs_dir={tmp_path}",
                   "--set", "run_id=bad", "--set", f"common.task_options.train={bad}", "--quiet")
    assert "%|" not in res.stderr                                             # --quiet: no bars
    assert res.returncode != 0 and "bad.jsonl:4: missing field 'answer'" in res.stdout + res.stderr
    assert not (tmp_path / "runs" / "bad" / "task.json").exists() and not (tmp_path / "runs" / "bad" / "teacher").exists()


def test_progress_file_reports_and_terminal_bars(tmp_path, monkeypatch, capsys):
    from qcrdkit.core import progress

    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv(progress.PROGRESS_ENV, str(path))
    progress._last.clear()
    for step in range(0, 11):
        progress.report("student dss", step, 10, every=3600)        # throttled: first and last only
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines == [{"task": "student dss", "done": 0, "total": 10}, {"task": "student dss", "done": 10, "total": 10}]
    bars = progress.TerminalProgress(tmp_path / "p2.jsonl")
    bars.update({"task": "teacher arith/train", "done": 3, "total": 8})
    bars.update({"task": "teacher arith/train", "done": 8, "total": 8})
    bars.update({"task": "teacher arith/train", "done": 1, "total": 8})    # the same loop again: a new bar
    bars.finish()
    err = capsys.readouterr().err
    assert "8/8" in err and err.count("teacher arith/train") >= 2
    monkeypatch.delenv(progress.PROGRESS_ENV)
    progress.report("x", 1, 2)                                             # no variable: nothing written
    assert not (tmp_path / "x").exists()


def test_a_non_editable_install_runs_qcrd_run_from_another_folder(tmp_path):
    """The notebooks ship as package data: `pip install .` (not editable) and `qcrd run` elsewhere."""
    import os
    import subprocess
    import sys

    target, project = tmp_path / "site", tmp_path / "project"
    project.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(target), str(REPO)], check=True, timeout=300)
    assert (target / "qcrdkit" / "notebooks" / "01_teacher_sampling.ipynb").exists()
    # this interpreter's editable install of the checkout must not answer the imports: hide its finder
    (tmp_path / "noedit").mkdir()
    (tmp_path / "noedit" / "sitecustomize.py").write_text(
        "import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n")
    shutil.copy(REPO / "params" / "smoke.yaml", project / "smoke.yaml")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'noedit'}{os.pathsep}{target}"}
    res = qcrd("run", "--params", "smoke.yaml", "--set", "stages=[01_teacher_sampling, 02_judge]", "--quiet",
               env=env, cwd=project)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    run = project / "outputs" / "runs" / "smoke"
    assert (run / "teacher" / "samples.jsonl").exists() and (run / "judge" / "metrics.json").exists()
    where = subprocess.run([sys.executable, "-c", "import qcrdkit; print(qcrdkit.__file__)"], env=env, cwd=project,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target))          # the installed copy ran, not the checkout


def test_a_dead_kernel_is_one_line_naming_stage_and_cell_and_keeps_outputs(tmp_path, monkeypatch, capsys):
    """The kernel is SIGKILLed in the middle of a stage (as the OOM killer does): `qcrd run` exits 1 with
    one line naming the stage, the cell and the likely cause, and what the stage wrote stays."""
    from qcrdkit.cli import commands as cli, pipeline

    marker = tmp_path / "partial.txt"
    notebooks, params = stand_in_stage(tmp_path, ["open(marker, 'w').write('written before the kill')",
                                                  "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                                                  "print('never reached')"], "dies", marker)
    monkeypatch.setattr(pipeline, "NOTEBOOK_DIR", notebooks)
    code = cli.main(["run", "--params", str(params), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "stage 01_teacher_sampling failed: the kernel died in cell 3 (`import os, signal`)" in err
    assert "out of memory is the usual cause" in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("qcrd run:")]) == 1
    assert marker.read_text() == "written before the kill"
    assert (tmp_path / "out" / "runs" / "dies" / "notebooks" / "01_teacher_sampling.failed.ipynb").exists()
