"""One student trained by two processes against one process, on the demo configuration.

DSS and QCRD of ``params/demo.yaml``'s stage 03 (600 steps, 32 questions per step) on the demo run's stages
01-02, each trained twice with the same seed and the same global batch: once by one process (``qcrd train``, torch's
default threads) and once by two (``torchrun --standalone --nproc_per_node 2 -m qcrdkit.cli train``, gloo on CPUs,
one thread each, 16 questions per process per step). Reported per run: optimizer steps, valid and test accuracy,
the best checkpoint, wall time of the whole command, the peak resident memory of each process (each records its
own), the student folders written, and whether any training process outlived its launcher.

Targets: the same optimizer steps, valid accuracy within 1 point, one student folder, no process left.
The two runs differ beyond float rounding: each process draws its own dropout masks, and the label loss is a token
mean per process.

Usage: ``python bench/processes.py [--run-dir outputs/runs/demo] [--methods dss qcrd] [--seeds 0] [--out DIR]``
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _monitor import run_measured
from step_cost import demo_training_stage, ensure_run

REPO = Path(__file__).resolve().parent.parent


def train(method: str, run_dir: Path, seed: int, processes: int, out: Path, stage_file: Path) -> dict:
    """Train one student (``processes`` of them training it); its metrics plus the command's wall time and peak."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)] \
        if processes > 1 else [sys.executable]
    cmd = [*launcher, "-m", "qcrdkit.cli", "train", "--run-dir", str(run_dir), "--method", method, "--seed", str(seed),
           "--out", str(out), "--stage-file", str(stage_file), "--no-progress"]
    measured = run_measured(cmd, REPO)
    if measured.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{measured.output[-3000:]}")
    left = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout.split()
    metrics = json.loads((out / "metrics.json").read_text())
    return {"method": method, "seed": seed, "processes": metrics["processes"], "steps": metrics["steps"],
            "valid_accuracy": metrics["valid_accuracy"], "test_accuracy": metrics["test_accuracy"],
            "valid_rationale_accuracy": metrics.get("valid_rationale_accuracy"),
            "best_checkpoint_step": metrics["best_checkpoint_step"], "seconds_per_step": metrics["seconds_per_step"],
            "wall_seconds": round(measured.wall_seconds, 1), "peak_memory_gb_per_process": metrics["peak_memory_gb"],
            "peak_memory_gb_tree": round(measured.peak_rss_bytes / 2**30, 2),
            "folders": sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name)),
            "processes_left": len(left)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", default=str(REPO / "outputs" / "runs" / "demo"))
    parser.add_argument("--methods", nargs="+", default=["dss", "qcrd"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", default=None, help="where the students go (default: a temporary folder)")
    args = parser.parse_args()
    run_dir = Path(args.run_dir).resolve()
    ensure_run(run_dir)
    stage = demo_training_stage([])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp).resolve()
        root.mkdir(parents=True, exist_ok=True)
        stage_file = root / "stage.json"
        stage_file.write_text(json.dumps(dataclasses.asdict(stage)))
        for seed in args.seeds:
            for method in args.methods:
                for processes in (1, 2):
                    row = train(method, run_dir, seed, processes, root / f"{method}-seed{seed}-p{processes}", stage_file)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print(f"\n{'method':6} {'seed':>4} {'proc':>4} {'steps':>5} {'valid':>6} {'test':>6} {'best':>5} {'s/step':>7} "
          f"{'wall s':>7} {'peak GB per process':>20} {'left':>4}")
    for r in rows:
        print(f"{r['method']:6} {r['seed']:4} {r['processes']:4} {r['steps']:5} {100 * r['valid_accuracy']:6.1f} "
              f"{100 * r['test_accuracy']:6.1f} {str(r['best_checkpoint_step']):>5} {r['seconds_per_step']:7.3f} "
              f"{r['wall_seconds']:7.1f} {' '.join(f'{g:.2f}' for g in r['peak_memory_gb_per_process']):>20} "
              f"{r['processes_left']:4}")
    ok = True
    for seed in args.seeds:
        for method in args.methods:
            one, two = (next(r for r in rows if (r["method"], r["seed"], r["processes"]) == (method, seed, p))
                        for p in (1, 2))
            diff = 100 * (two["valid_accuracy"] - one["valid_accuracy"])
            held = one["steps"] == two["steps"] and round(abs(diff), 6) <= 1.0 and len(two["folders"]) == 1 \
                and two["processes_left"] == 0
            ok &= held
            print(f"{method} seed {seed}: 2 - 1 processes, valid {diff:+.1f} points, test "
                  f"{100 * (two['test_accuracy'] - one['test_accuracy']):+.1f}; wall {two['wall_seconds'] / one['wall_seconds']:.2f}x; "
                  f"targets {'held' if held else 'NOT held'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
