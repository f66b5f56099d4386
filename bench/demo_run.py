"""The finished demo against its targets: wall time ≤ 15 min after set-up, peak memory < 4 GB.

Runs ``qcrd run --params params/demo.yaml`` (what ``make demo`` runs) cold: into a fresh outputs
folder, with fresh teacher and judge caches, so nothing is reused. While it runs, the resident
memory of the whole process tree (``qcrd run`` and the notebook kernels it starts) is summed every
0.2 s; the peak of that sum is reported. Prints the seconds per stage, the total, the peak, the
report's accuracy table, and whether the targets hold (exit 1 if not).

Usage: ``python bench/demo_run.py [--out DIR] [--set key=value ...]`` (``--set`` as for ``qcrd run``).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _monitor import run_measured

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS, TARGET_BYTES = 15 * 60, 4 * 1024 ** 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="outputs folder (default: a new temporary folder)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="qcrd-demo-bench-")).resolve()
    cmd = [sys.executable, "-m", "qcrdkit.cli", "run", "--params", "params/demo.yaml",
           "--set", f"outputs_dir={out}", "--set", f"01_teacher_sampling.cache_dir={out / 'cache' / 'teacher'}",
           "--set", f"04_analysis.judge_cache_dir={out / 'cache' / 'judge'}"]
    for item in args.set:
        cmd += ["--set", item]
    run = run_measured(cmd, REPO)
    rc, output, wall, peak = run.returncode, run.output, run.wall_seconds, run.peak_rss_bytes
    stages = [line.strip() for line in output.splitlines() if line.startswith("  0")]
    print(f"qcrd run --params params/demo.yaml (cold, outputs in {out}): exit {rc}")
    for line in stages:
        print(f"  {line}")
    print(f"wall {wall:.1f} s ({wall / 60:.2f} min; target ≤ {TARGET_SECONDS / 60:.0f} min), "
          f"peak RSS of the process tree {peak / 1024 ** 3:.2f} GB (target < {TARGET_BYTES / 1024 ** 3:.0f} GB)")
    if rc != 0:
        print(output[-3000:])
        return 1
    report = out / "runs" / "demo" / "report"
    summary = json.loads((report / "summary.json").read_text())
    for s in summary["students"]:
        print(f"  {s['name']}: valid {s['valid_accuracy']:.3f}, test {s['test_accuracy']:.3f}, "
              f"{s['seconds_per_step']:.3f} s/step")
    for d in summary.get("paired_difference", []):
        print(f"  {d['a']} - {d['b']} on {d['task']}: {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]")
    ok = wall <= TARGET_SECONDS and peak < TARGET_BYTES
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
