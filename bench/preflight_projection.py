"""How close is ``qcrd check``'s projection to the run it projects, and how fast does it fail?

1. ``qcrd run --params <params>`` (default ``params/smoke.yaml``) in a scratch folder: each stage's wall time (its
   executed notebook's papermill duration);
2. ``qcrd check`` of the same params: each stage's projected time; the ratio projected / measured per stage;
3. how long a check takes to fail: an uncached hub model (quick checks only) and a refused teacher endpoint.

A stage of a few seconds is mostly kernel start-up, whose time varies by seconds from run to run: read its ratio with
that in mind (the suite asserts no timing; this script measures them).

Usage: ``python bench/preflight_projection.py [--params params/smoke.yaml] [--out outputs/bench-preflight]``
"""
from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def qcrd(*args, cwd=REPO) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "qcrdkit.cli", *args], cwd=cwd, capture_output=True, text=True)
    return res, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params/smoke.yaml")
    parser.add_argument("--out", default="outputs/bench-preflight")
    args = parser.parse_args()
    out = (REPO / args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    params = yaml.safe_load((REPO / args.params).read_text())
    run_id = params.get("run_id", "run")

    res, run_seconds = qcrd("run", "--params", args.params, "--set", f"outputs_dir={out}", "--quiet")
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    measured = {}
    for notebook in sorted((out / "runs" / run_id / "notebooks").glob("0*.ipynb")):
        measured[notebook.stem] = json.loads(notebook.read_text())["metadata"]["papermill"]["duration"]
    res, check_seconds = qcrd("check", "--params", args.params, "--set", f"outputs_dir={out / 'check'}")
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    report = json.loads((out / "check" / "preflight" / run_id / "preflight.json").read_text())
    rows = [{"stage": s, "measured_s": round(m, 1), "projected_s": round(report["projected_hours"][s] * 3600, 1),
             "ratio": round(report["projected_hours"][s] * 3600 / m, 2)} for s, m in measured.items()]

    failing = {}
    bad = dict(params, outputs_dir=str(out / "fail"))
    bad["03_training"] = {**(bad.get("03_training") or {}), "student": "qcrd-bench/never-downloaded"}
    path = out / "uncached.yaml"
    path.write_text(yaml.safe_dump(bad))
    res, failing["uncached hub model"] = qcrd("check", "--params", str(path))
    assert res.returncode == 1, res.stderr[-2000:]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bad = dict(params, outputs_dir=str(out / "fail"))
    bad["01_teacher_sampling"] = {**(bad.get("01_teacher_sampling") or {}), "teacher": "openai", "model": "m",
                                  "base_url": f"http://127.0.0.1:{port}/v1", "api_key_env": None}
    path.write_text(yaml.safe_dump(bad))
    res, failing["refused teacher endpoint"] = qcrd("check", "--params", str(path))
    assert res.returncode == 1, res.stderr[-2000:]

    print(f"qcrd run {args.params}: {run_seconds:.0f} s; qcrd check: {check_seconds:.0f} s")
    print(f"{'stage':22} {'measured s':>10} {'projected s':>11} {'ratio':>6}")
    for r in rows:
        print(f"{r['stage']:22} {r['measured_s']:10.1f} {r['projected_s']:11.1f} {r['ratio']:6.2f}")
    for what, seconds in failing.items():
        print(f"qcrd check fails in {seconds:.1f} s on: {what} (the command, interpreter start included)")
    result = {"params": args.params, "run_seconds": round(run_seconds, 1), "check_seconds": round(check_seconds, 1),
              "stages": rows, "fails_in_seconds": {k: round(v, 1) for k, v in failing.items()}}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
