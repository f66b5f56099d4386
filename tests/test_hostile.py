"""Untrusted input stays data (bench/hostile_inputs.py's corpus, case by case), readers and loaders never raise or
hang on any text (hypothesis), and qcrd stops its kernels when it is stopped."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, stand_in_stage

sys.path.insert(0, str(REPO / "bench"))
import hostile_inputs  # noqa: E402

CASES = hostile_inputs.cases()


#: cases that write and read a million lines (seconds each): the slow tier
BIG = ("dump: a million lines matching nothing",)


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c.name in BIG else c for c in CASES],
                         ids=[c.name for c in CASES])
def test_each_hostile_input_is_refused_clearly_or_read_and_touches_nothing_outside(case, tmp_path):
    outcome = hostile_inputs.run_case(case, tmp_path)
    assert outcome.outcome == ("clear error" if case.expect == "error" else "accepted"), outcome.detail
    assert outcome.touched_outside == []


def test_the_bench_prints_its_counts_as_the_last_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(hostile_inputs, "cases", lambda: CASES[:3])
    assert hostile_inputs.main(trials=0) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary == {"cases": 3, "clear_errors": 3, "accepted": 0, "wrong": 0, "crashes": 0, "hangs": 0,
                       "files_touched_outside": 0}


# ---- readers and loaders: any text ------------------------------------------------------------------------------
def _tasks():
    from qcrdkit.tasks import get_task

    own = REPO / "tests" / "data" / "own_task"
    tasks = [get_task("arith"), get_task("jsonl", train=str(own / "questions_train.jsonl"),
                                         test=str(own / "questions_test.csv"), id_field="qid", answer_type="number")]
    dss = os.environ.get("QCRD_DSS_DATA")
    if dss and Path(dss).is_dir():            # the DSS tasks' readers (choices, NLI labels) on their own questions
        for name in ("cqa", "anli1"):
            task = get_task(name)
            tasks.append((task, task.load("test", data_dir=dss)[0]))
    return [t if isinstance(t, tuple) else (t, None) for t in tasks]


TASKS = _tasks()
ADVERSARIAL = st.sampled_from(["The answer is ", "Answer: ", "####", "\\boxed{", "}", "(", ")", "-", "+", "*", "/",
                               "=", "So ", "which is ", "1", "9" * 50, ".", ",", "e", "\n", " ", "option (a) ",
                               "yes", "contradiction", "\\frac{", "x", "%", "$", "\u00d7", "\u2212", "\x00"])
TEXTS = st.one_of(st.text(max_size=2000), st.lists(ADVERSARIAL, max_size=400).map("".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS)
def test_every_reader_gives_a_reading_for_any_text(text):
    for task, example in TASKS:
        rationale, reading = task.read_completion(text, example)
        assert isinstance(rationale, str) and reading.rule in ("marker", "closing", "calculation", "llm", "unread")


@settings(max_examples=12, deadline=None)
@given(st.lists(ADVERSARIAL, min_size=1, max_size=20).map("".join), st.integers(1, 1024))
def test_readers_read_up_to_a_megabyte_of_adversarial_text_without_hanging(piece, kilobytes):
    """Never an exception, and no blow-up: a reader that went quadratic would take minutes on 1 MB. (The speed
    target, under 50 ms per 100 KB, is measured by bench/hostile_inputs.py, not timed here.)"""
    text = (piece * (kilobytes * 1024 // len(piece) + 1))[:kilobytes * 1024]
    for task, example in TASKS:
        start = time.perf_counter()
        task.read_completion(text, example)
        assert time.perf_counter() - start < 10, (task.name, kilobytes)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000))
def test_loaders_read_any_bytes_or_name_the_file(tmp_path, data):
    from qcrdkit.core.errors import QcrdError
    from qcrdkit.core.io import read_jsonl
    from qcrdkit.tasks.jsonl import read_rows

    for name in ("any.jsonl", "any.csv"):
        path = tmp_path / name
        path.write_bytes(data)
        try:
            rows = read_rows(path) if name.endswith(".csv") else read_jsonl(path)
        except QcrdError as exc:
            assert str(path) in str(exc)
        else:
            assert isinstance(rows, list)


@pytest.mark.slow
def test_a_million_line_dump_and_a_10_mb_line_load(tmp_path):
    """Both load whole (how fast: bench/hostile_inputs.py)."""
    from qcrdkit.core.io import read_jsonl

    path = tmp_path / "big.jsonl"
    path.write_text('{"id": "q", "rationale": "' + "7 " * 5_000_000 + '"}\n' + '{"a": 1}\n' * 1_000_000)
    assert len(read_jsonl(path)) == 1_000_001


# ---- stopping qcrd stops its kernels ------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_qcrd_run_stops_the_kernel_and_keeps_the_failed_notebook(tmp_path, signum):
    import psutil

    marker = tmp_path / "kernel.pid"
    notebooks, params = stand_in_stage(
        tmp_path, ["import os\nopen(marker, 'w').write(str(os.getpid()))\nwhile True:\n    sum(range(10**6))"], "busy",
        marker)
    code = (f"import sys, pathlib, qcrdkit.cli.pipeline as p; p.NOTEBOOK_DIR = pathlib.Path({str(notebooks)!r}); "
            f"from qcrdkit.cli import commands as cli; sys.exit(cli.main(['run', '--params', {str(params)!r}, '--quiet']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        time.sleep(0.2)
    kernel = int(marker.read_text())
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert f"stopped by {signal.Signals(signum).name}" in err
    time.sleep(1)
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE
    run = tmp_path / "out" / "runs" / "busy"
    assert (run / "notebooks" / "01_teacher_sampling.failed.ipynb").exists()
    assert not (run / "notebooks" / "01_teacher_sampling.ipynb").exists() and not (run / "params.yaml").exists()


# ---- the guards themselves ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["demo", "sweep-1", "t10_a.b", "2024", 7, "_x"])
def test_plain_run_names_pass(name):
    from qcrdkit.core.guards import check_run_name

    assert check_run_name(name) == str(name)


@pytest.mark.parametrize("name", ["..", "a/b", "../x", "/abs", ".hidden", "a..b", "", "x" * 200, True, None, "a\nb"])
def test_run_names_that_are_paths_or_odd_are_refused_with_the_rule(name):
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.guards import NAME_RULE, check_run_name

    with pytest.raises(ConfigError, match="is not a name") as info:
        check_run_name(name)
    assert NAME_RULE in str(info.value)


def test_every_shipped_params_file_is_plain_data():
    from qcrdkit.cli.pipeline import load_params

    for path in sorted((REPO / "params").glob("*.yaml")):
        load_params(path)                       # raises on anything but plain YAML, a bad run_id or variant name


def test_a_replacement_is_swapped_in_whole_and_the_old_one_kept(tmp_path):
    from qcrdkit.core.guards import remove_inside
    from qcrdkit.core.rundir import staging_dir, swap_in

    run = tmp_path / "run"
    (run / "students" / "dss").mkdir(parents=True)
    (run / "students" / "dss" / "metrics.json").write_text("old")
    staged = staging_dir(run) / "students" / "dss"
    staged.mkdir(parents=True)
    (staged / "metrics.json").write_text("new")
    swap_in(run, ["students/dss"])
    assert (run / "students" / "dss" / "metrics.json").read_text() == "new"
    assert [p.read_text() for p in (run / "replaced").glob("*/students/dss/metrics.json")] == ["old"]
    assert not staging_dir(run).exists()
    (run / "link").symlink_to(tmp_path, target_is_directory=True)
    assert remove_inside(run, run / "link") and tmp_path.is_dir() and (run / "students").is_dir()


@pytest.mark.parametrize("value", ["!!binary aGVsbG8=", "!!timestamp 2001-12-14", "2001-12-14", "!!set {a, b}",
                                   "!!omap [a: 1]", "!!pairs [a: 1, a: 2]", ".nan", "-.inf", "{1: a}",
                                   "[ok, !!binary aGVsbG8=]", "{deep: {deeper: [!!binary aGVsbG8=]}}",
                                   "!!python/name:os.system", "!!python/object/apply:os.system [ls]"])
def test_every_yaml_tag_beyond_plain_data_is_refused_naming_the_key(value, tmp_path):
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.cli.pipeline import load_params

    path = tmp_path / "p.yaml"
    path.write_text("run_id: ok\n")
    with pytest.raises(ConfigError, match="common.task_options"):
        load_params(path, [f"common.task_options={value}"])
    path.write_text(f"common:\n  task_options: {value}\n")
    with pytest.raises(ConfigError, match=f"{path.name}"):
        load_params(path)


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "my_service_api_key_2024_prod", "MY_SERVICE_KEY_2024", None])
def test_variable_names_pass_as_api_key_env(name):
    from qcrdkit.core.guards import check_env_name

    check_env_name(name, "api_key_env")


@pytest.mark.parametrize("key", ["sk-proj-4f9aT3xQ7LmN2pR8vK1sW6yZ0bC5dE", "ghp_9ab8c7d6e5f4a3b2c1d0e9f8",
                                 "hf_AbCdEfGh1234567890XyZ", "AKIA1234567890ABCDEF"])
def test_a_key_given_as_api_key_env_is_refused_without_being_shown(key):
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.guards import check_env_name

    with pytest.raises(ConfigError, match="NAME of an environment variable") as info:
        check_env_name(key, "api_key_env")
    assert key not in str(info.value)
