"""The finished demo against its targets: wall time ≤ 10 min after set-up, peak memory < 4 GB, and
the mechanisms doing their jobs: DSS's greedy rationales answer ≥ 60 % of the test
questions right, the QCRD student's τ = 0.7 samples ≥ 40 %, the judge's ROC-AUC ≥ 0.85 on the
teacher's held-out rationales and ≥ 0.80 on the student's samples (each ≥ 0.10 above "shorter is
better"), and ≥ 30 % of QCRD's negatives inside the margin over the second half of training.

Runs ``qcrd run --params params/demo.yaml`` (what ``make demo`` runs) cold: into a fresh outputs
folder, with fresh teacher and judge caches, so nothing is reused. While it runs, the resident
memory of the whole process tree (``qcrd run`` and the notebook kernels it starts) is summed every
0.2 s; the peak of that sum is reported. Prints the seconds per stage, the total, the peak, the
report's accuracy table and mechanism numbers (one seed), and whether the targets hold (exit 1 if not).

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
TARGET_SECONDS, TARGET_BYTES = 10 * 60, 4 * 1024 ** 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="outputs folder (default: a new temporary folder)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="qcrd-demo-bench-")).resolve()
    cmd = [sys.executable, "-m", "qcrdkit.cli", "run", "--params", "params/demo.yaml",
           "--set", f"outputs_dir={out}", "--set", f"01_teacher_sampling.cache_dir={out / 'cache' / 'teacher'}",
           "--set", f"04_analysis.llm_judge_cache_dir={out / 'cache' / 'judge'}"]
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
    print("one seed (students are not bit-reproducible across CPUs: expect a few points of variation)")
    for s in summary["students"]:
        rationale = s.get("test_rationale_accuracy")
        print(f"  {s['name']}: label valid {s['valid_accuracy']:.3f}, test {s['test_accuracy']:.3f}; rationale test "
              + ("–" if rationale is None else f"{rationale:.3f}")
              + f"; selected step {s.get('best_checkpoint_step')}; {s['seconds_per_step']:.3f} s/step")
    for d in summary.get("paired_difference", []):
        print(f"  {d['a']} - {d['b']} on {d['task']}: {d['difference']:+.3f} (one seed: no interval over seeds)")
    checks = mechanism_checks(summary)
    for name, (value, passed) in checks.items():
        print(f"  {'ok  ' if passed else 'MISS'} {name}: {value}")
    ok = wall <= TARGET_SECONDS and peak < TARGET_BYTES and all(passed for _, passed in checks.values())
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


def mechanism_checks(summary: dict) -> dict[str, tuple]:
    """The demo's targets from the report's ``summary.json``: name → (value, met)."""
    def num(x):
        return float("nan") if x is None else float(x)

    dss = num(next((s.get("test_rationale_accuracy") for s in summary["students"] if s["name"] == "dss"), None))
    samples = num(summary.get("student_samples_correct", {}).get("0.7"))
    ranking = summary.get("judge_ranking", {})
    teacher, student = ranking.get("teacher_heldout") or {}, ranking.get("student_samples") or {}
    margin = num(summary.get("negatives_inside_margin", {}).get("qcrd"))

    def judge(r):
        return num(r.get("judge")), num(r.get("shorter_first"))
    (t_auc, t_short), (s_auc, s_short) = judge(teacher), judge(student)
    return {"DSS greedy rationale accuracy ≥ 0.60": (round(dss, 3), dss >= 0.60),
            "QCRD τ = 0.7 samples correct ≥ 0.40": (round(samples, 3), samples >= 0.40),
            "judge AUC, teacher held-out ≥ 0.85 (shorter-first)": (f"{t_auc:.3f} ({t_short:.3f})",
                                                                   t_auc >= 0.85 and t_auc >= t_short + 0.10),
            "judge AUC, student samples ≥ 0.80 (shorter-first)": (f"{s_auc:.3f} ({s_short:.3f})",
                                                                  s_auc >= 0.80 and s_auc >= s_short + 0.10),
            "QCRD negatives inside the margin ≥ 0.30": (round(margin, 3), margin >= 0.30)}


if __name__ == "__main__":
    sys.exit(main())
