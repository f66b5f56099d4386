"""``qcrd check``: quick checks that fail fast naming the problem, the tiny run in a scratch folder, and the
projection of the real run (qcrdkit.cli.preflight, qcrdkit.cli.projection)."""
import json
import os
import socket
import time
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


def test_an_uncached_hub_model_fails_in_seconds_naming_it_and_how_to_fetch_it(tmp_path):
    path = _params_file(tmp_path, lambda p: p["03_training"].update(student="qcrd-test/t5-never-downloaded"))
    t0 = time.perf_counter()
    res = run_qcrd("check", "--params", str(path), env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=tmp_path,
                   timeout=120)
    assert res.returncode == 1 and time.perf_counter() - t0 < 60
    assert "'qcrd-test/t5-never-downloaded' is not in the Hugging Face cache" in res.stderr
    assert "hf download qcrd-test/t5-never-downloaded" in res.stderr and "Traceback" not in res.stderr
    report = json.loads((tmp_path / "outputs" / "preflight" / "smoke" / "preflight.json").read_text())
    assert len(report["problems"]) == 1 and "tiny_run" not in report       # nothing ran
    assert not (tmp_path / "outputs" / "runs").exists()


def test_a_refused_endpoint_fails_naming_the_url(tmp_path):
    with socket.socket() as s:                     # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    path = _params_file(tmp_path, lambda p: p["01_teacher_sampling"].update(teacher="openai", base_url=url,
                                                                            model="some-model", api_key_env=None))
    res = run_qcrd("check", "--params", str(path), cwd=tmp_path, timeout=120)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"cannot connect to the teacher endpoint {url}" in res.stderr


def test_parameters_a_method_would_reject_are_problems_before_anything_runs(tmp_path):
    path = _params_file(tmp_path, lambda p: p["03_training"].update(scheme="median", methods=["dss", "qcrd"]))
    res = run_qcrd("check", "--params", str(path), cwd=tmp_path, timeout=120)
    assert res.returncode == 1 and "03_training method qcrd" in res.stderr and "median" in res.stderr


@pytest.mark.slow
def test_a_preflight_of_the_smoke_params_passes_and_projects_the_smoke_run_within_2x(tmp_path, smoke_run):
    res = run_qcrd("check", "--params", str(REPO / "params" / "smoke.yaml"), "--set", f"outputs_dir={tmp_path}",
                   "--price-in", "0.5", "--price-out", "1.5", cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    report = json.loads((tmp_path / "preflight" / "smoke" / "preflight.json").read_text())
    assert report["problems"] == [] and not (tmp_path / "runs" / "smoke").exists()    # the real run untouched
    assert set(report["seconds_per_step"]) >= {"judge", "dss", "qcrd"}
    assert report["teacher_requests"] == 40 * 2            # 40 train questions: one request of k, one greedy
    assert report["teacher_tokens"]["completion"] > 0 and report["teacher_cost"] > 0
    assert all(report["peak_memory_gb"][s] > 0.1 for s in ("02_judge", "03_training"))
    for stage in ("01_teacher_sampling", "02_judge", "03_training", "04_analysis"):
        notebook = json.loads((smoke_run / "notebooks" / f"{stage}.ipynb").read_text())
        measured = notebook["metadata"]["papermill"]["duration"]
        projected = report["projected_hours"][stage] * 3600
        # within 2x, give or take 10 s: a stage of a few seconds (01: about 4 s) is mostly kernel start-up, whose
        # time varies by a few seconds from run to run (9.7 s projected against 4.4 s measured in one CI run)
        assert measured / 2 - 10 <= projected <= measured * 2 + 10, (stage, projected, measured)


def test_any_task_takes_only_the_first_questions_of_each_split(dss_dir):
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.tasks import get_task

    full = get_task("svamp").load("test", data_dir=dss_dir)
    first = get_task("svamp", questions_per_split=3)
    assert [ex.id for ex in first.load("test", data_dir=dss_dir)] == [ex.id for ex in full[:3]]
    assert len(get_task("arith", n_train=50, questions_per_split=7).load("train")) == 7
    with pytest.raises(ConfigError, match="questions_per_split must be an integer >= 1"):
        get_task("arith", questions_per_split=0)
