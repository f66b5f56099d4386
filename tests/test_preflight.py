"""``qcrd check``: quick checks that fail fast naming the problem, the tiny run in a scratch folder, and the
projection of the real run (qcrdkit.cli.preflight, qcrdkit.cli.projection)."""
import json
import os
import socket
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_qcrd
from qcrdkit.cli.pipeline import load_params
from qcrdkit.cli.preflight import tiny_params


def _params_file(tmp_path, edit) -> Path:
    params = yaml.safe_load((REPO / "params" / "smoke.yaml").read_text())
    params["outputs_dir"] = str(tmp_path / "outputs")
    edit(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_the_tiny_run_is_the_same_run_shrunk_in_its_own_folder(tmp_path):
    params = load_params(REPO / "params" / "demo.yaml")
    params["sweep"] = {"stage": "03_training", "variants": {"long": {"steps": 5000, "scheme": "maxmin"}}}
    tiny = tiny_params(params, tmp_path / "scratch", questions=32)
    assert tiny["outputs_dir"] == str(tmp_path / "scratch") and tiny["run_id"] == "tiny"
    assert tiny["common"]["task_options"]["questions_per_split"] == 32
    assert tiny["common"]["task_options"]["max_operand"] == 5                      # the real task otherwise
    assert tiny["01_teacher_sampling"]["cache_dir"].startswith(str(tmp_path / "scratch"))   # never the real cache
    assert tiny["01_teacher_sampling"]["model"] == params["01_teacher_sampling"]["model"]
    assert tiny["02_judge"]["steps"] == 2 and tiny["02_judge"]["backbone"] == "scratch-small"
    training = tiny["03_training"]
    # QCRD's ring (iterations_back 3) fills and its generator, negatives and judge updates all happen
    assert training["steps_per_iteration"] == 1 and training["steps"] == 5 and training["iterations_back"] == 3
    assert training["batch_size"] == 32 and training["student"] == "scratch-small"   # memory as the real run's
    assert tiny["sweep"]["variants"]["long"] == {"steps": 5, "scheme": "maxmin"}
    assert tiny["04_analysis"]["llm_judge_cache_dir"].startswith(str(tmp_path / "scratch"))
    assert params["03_training"]["steps"] == 600                                       # the real params untouched


def _check(path: Path, cwd: Path) -> dict:
    """``qcrd check`` of a params file, in this process (the command line's own test is the slow one below)."""
    from qcrdkit.cli.preflight import run_preflight

    return run_preflight(load_params(path), cwd, offline=True, echo=lambda *a: None)


def test_an_uncached_hub_model_fails_naming_it_and_how_to_fetch_it_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = _params_file(tmp_path, lambda p: p["03_training"].update(student="qcrd-test/t5-never-downloaded"))
    report = _check(path, tmp_path)
    assert len(report["problems"]) == 1 and "tiny_run" not in report       # nothing ran
    assert "'qcrd-test/t5-never-downloaded' is not in the Hugging Face cache" in report["problems"][0]
    assert "hf download qcrd-test/t5-never-downloaded" in report["problems"][0]
    assert json.loads((tmp_path / "outputs" / "preflight" / "smoke" / "preflight.json").read_text()) == report
    assert not (tmp_path / "outputs" / "runs").exists()


def test_a_refused_endpoint_fails_naming_the_url(tmp_path):
    with socket.socket() as s:                     # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    path = _params_file(tmp_path, lambda p: p["01_teacher_sampling"].update(teacher="openai", base_url=url,
                                                                            model="some-model", api_key_env=None))
    problems = _check(path, tmp_path)["problems"]
    assert len(problems) == 1 and f"cannot connect to the teacher endpoint {url}" in problems[0]


def test_parameters_a_method_would_reject_are_problems_before_anything_runs(tmp_path):
    path = _params_file(tmp_path, lambda p: p["03_training"].update(scheme="median", methods=["dss", "qcrd"]))
    problems = _check(path, tmp_path)["problems"]
    assert len(problems) == 1 and "03_training method qcrd" in problems[0] and "median" in problems[0]


@pytest.mark.slow
def test_qcrd_check_exits_1_with_one_line_per_problem_and_no_traceback(tmp_path):
    path = _params_file(tmp_path, lambda p: p["03_training"].update(student="qcrd-test/t5-never-downloaded"))
    res = run_qcrd("check", "--params", str(path), env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=tmp_path,
                   timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "hf download qcrd-test/t5-never-downloaded" in res.stderr


@pytest.mark.slow
def test_a_preflight_of_the_smoke_params_passes_and_projects_every_stage(tmp_path):
    """Stage 03 with ``processes: 2``: the notebook launches torchrun for each student (qcrd run's path to several
    processes), and the check says so beside the device."""
    res = run_qcrd("check", "--params", str(REPO / "params" / "smoke.yaml"), "--set", f"outputs_dir={tmp_path}",
                   "--set", "03_training.processes=2", "--price-in", "0.5", "--price-out", "1.5", cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    report = json.loads((tmp_path / "preflight" / "smoke" / "preflight.json").read_text())
    assert report["processes"] == 2 and "each student trained by 2 process(es)" in res.stdout
    assert "device: cpu (" in res.stdout and "passes without gradient in" in res.stdout
    students = list((tmp_path / "preflight" / "smoke").glob("tiny/**/students/*/metrics.json"))
    assert students and all(json.loads(p.read_text())["processes"] == 2 for p in students)
    assert report["problems"] == [] and not (tmp_path / "runs" / "smoke").exists()    # the real run untouched
    assert set(report["seconds_per_step"]) >= {"judge", "dss", "qcrd"}
    assert report["teacher_requests"] == 40 * 2            # 40 train questions: one request of k, one greedy
    assert report["teacher_tokens"]["completion"] > 0 and report["teacher_cost"] > 0
    assert all(report["peak_memory_gb"][s] > 0.1 for s in ("02_judge", "03_training"))
    # every stage projected; how close to the real run's times: bench/preflight_projection.py (a timing ratio is
    # a measurement, not a test)
    assert all(report["projected_hours"][stage] > 0 for stage in ("01_teacher_sampling", "02_judge", "03_training",
                                                                   "04_analysis"))


def test_any_task_takes_only_the_first_questions_of_each_split(dss_dir):
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.tasks import get_task

    full = get_task("svamp").load("test", data_dir=dss_dir)
    first = get_task("svamp", questions_per_split=3)
    assert [ex.id for ex in first.load("test", data_dir=dss_dir)] == [ex.id for ex in full[:3]]
    assert len(get_task("arith", n_train=50, questions_per_split=7).load("train")) == 7
    with pytest.raises(ConfigError, match="questions_per_split must be an integer >= 1"):
        get_task("arith", questions_per_split=0)
