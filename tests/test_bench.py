"""bench/methods.py's tables, on the smoke run (DSS and QCRD, one seed): what it reports is what the
students' files say."""
import json
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def methods_bench():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import methods
        yield methods
    finally:
        sys.path.remove(str(REPO / "bench"))


def test_results_markdown_reports_the_students_files(smoke_run, methods_bench):
    runs = [{"command": "qcrd run --params params/bench.yaml", "wall_seconds": 90.0, "peak_rss_gb": 1.5, "cold": True}]
    text = methods_bench.results_markdown(smoke_run, runs, "python bench/methods.py")
    students = {m["name"]: m for m in json.loads((smoke_run / "students" / "summary.json").read_text())}
    dss, qcrd = students["dss"], students["qcrd"]
    lines = text.splitlines()
    row = next(line for line in lines if line.startswith("| DSS "))
    assert f"| {100 * dss['test_accuracy']:.1f} (n=1) " in row and f"| {dss['seconds_per_step']:.4f} " in row, row
    assert "| 1.00 " in row        # DSS against itself
    assert f"| {100 * dss['test_rationale_accuracy']:.1f} (n=1) " in row, row        # rationale accuracy beside it
    qrow = next(line for line in lines if line.startswith("| QCRD "))
    assert f"| {qcrd['seconds_per_step'] / dss['seconds_per_step']:.2f} " in qrow, qrow
    # the paired difference from the per-question predictions
    rows = {(r["id"]): r["correct"] for r in map(json.loads, (smoke_run / "students" / "dss" / "test_predictions.jsonl")
                                                 .read_text().splitlines())}
    q = [json.loads(x) for x in (smoke_run / "students" / "qcrd" / "test_predictions.jsonl").read_text().splitlines()]
    diff = 100 * sum(int(r["correct"]) - int(rows[r["id"]]) for r in q) / len(q)
    drow = next(line for line in lines if line.startswith("| QCRD − DSS "))
    assert f"| {diff:+.1f} " in drow and "| 1 seed: no interval over seeds |" in drow and drow.replace(" ", "").endswith("|1|"), drow
    assert "*Not run this time (`--no-fraction`).*" in text and "not a cold run" not in text
    assert "*Fewer than two seeds of QCRD and a method with rationales" in text           # one seed: no interval
    assert drow.split("|")[6].strip() == "–"                                               # nor a Holm p
    assert not any(line.startswith("| QCRD w/o") for line in lines)          # the smoke run has no ablations
    assert "1.5 min wall in all" in text and "held-out AUC" in text
    assert any(line.startswith("| QCRD ") and "label CE" not in line for line in lines[lines.index("## Diagnostics"):])
    # parallel runs count once in the wall time: their longest
    assert methods_bench.phase_wall([{"wall_seconds": 10, "parallel": 1}, {"wall_seconds": 50, "parallel": 2},
                                     {"wall_seconds": 70, "parallel": 2}, {"wall_seconds": 5}]) == 85
    warm = methods_bench.results_markdown(smoke_run, [{**runs[0], "cold": False}], "x")
    assert "not a cold run" in warm
