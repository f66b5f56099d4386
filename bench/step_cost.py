"""Cost of a QCRD optimizer step against a DSS step, on the demo configuration.

Reads the student settings of ``params/demo.yaml`` (section ``03_training``: preset, batch size,
QCRD hyper-parameters) and trains DSS and QCRD for ``--steps`` optimizer steps each on the demo
run's data (stages 01-02; made with ``qcrd run`` first if ``--run-dir`` has none), without
evaluation or checkpoints. Each method runs in its own process, one after the other, so its peak
memory is its own. Seconds per step are the Trainer's optimizer steps, wall clock, everything
included (QCRD: negative sampling, judge scoring and its online updates, amortized over the run).

Target (issue 4): QCRD ≤ 1.8× DSS per step. The paper reports 13 h vs 4 h (≈ 3.25×) for T5-base.

Usage: ``python bench/step_cost.py [--steps 128] [--run-dir outputs/runs/demo] [--set num_positives=1 ...]``
(``--set`` changes a QCRD config field, to see what a setting costs).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# notebook-03 parameter names -> config fields (the notebook maps them the same way)
RENAMED = {"steps": None, "batch_size": "per_device_train_batch_size", "lr": "learning_rate", "judge_lr": "judge_learning_rate",
           "eval_every": None, "methods": None, "seeds": None, "tag": None, "progress": None, "extra": None}


def demo_training_params() -> tuple[dict, dict]:
    """``(train_student keywords, config fields)`` of the demo's stage 03."""
    import yaml

    section = dict(yaml.safe_load((REPO / "params" / "demo.yaml").read_text()).get("03_training") or {})
    student = {k: section.pop(k) for k in ("student", "tokenizer", "vocab_size") if k in section}
    fields = {}
    for key, value in section.items():
        target = RENAMED.get(key, key)
        if target:
            fields[target] = value
    return student, fields


def worker(method: str, run_dir: str, steps: int, overrides: list[str]) -> dict:
    import torch

    from qcrdkit.students.trainers.run import build_trainer

    from qcrdkit.pipeline import parse_override

    student, fields = demo_training_params()
    if method == "qcrd":
        fields.update({".".join(k): v for k, v in map(parse_override, overrides)})
    with tempfile.TemporaryDirectory() as tmp:
        setup = build_trainer(method, run_dir, output_dir=tmp, progress=False, **student,
                              **{**fields, "max_steps": steps, "eval_strategy": "no", "save_strategy": "no",
                                 "load_best_model_at_end": False, "logging_steps": steps})
        t0 = time.perf_counter()
        setup.trainer.train()
        wall = time.perf_counter() - t0
        timer = setup.trainer.step_timer
    out = {"method": method, "steps": timer.steps, "seconds_per_step": timer.seconds / timer.steps,
           "train_wall_seconds": wall, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
           "threads": torch.get_num_threads(), "student": student.get("student", "scratch-small"),
           "batch_size": fields.get("per_device_train_batch_size")}
    if torch.cuda.is_available():
        out["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 2**30
    if method == "qcrd":
        out["negatives_sampled"] = setup.trainer.negatives_sampled
    return out


def ensure_run(run_dir: Path) -> None:
    if (run_dir / "discriminator" / "config.json").exists():
        return
    print(f"{run_dir} has no stage-02 judge: running stages 01-02 of the demo first", flush=True)
    subprocess.run([sys.executable, "-m", "qcrdkit.cli", "run", "--params", "params/demo.yaml",
                    "--set", "stages=[01_teacher_sampling, 02_discriminator]", "--set", f"run_id={run_dir.name}",
                    "--set", f"outputs_dir={run_dir.parent.parent}"], check=True, cwd=REPO)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--run-dir", default=str(REPO / "outputs" / "runs" / "demo"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a QCRD config field")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.run_dir, args.steps, args.set)))
        return 0
    run_dir = Path(args.run_dir).resolve()
    ensure_run(run_dir)
    results = {}
    for method in ("dss", "qcrd"):
        res = subprocess.run([sys.executable, __file__, "--worker", method, "--run-dir", str(run_dir),
                              "--steps", str(args.steps), *[f"--set={x}" for x in args.set]], capture_output=True, text=True, cwd=REPO)
        if res.returncode:
            print(res.stderr[-3000:], file=sys.stderr)
            return 1
        results[method] = json.loads(res.stdout.strip().splitlines()[-1])
    print(f"demo configuration: student {results['dss']['student']}, batch {results['dss']['batch_size']}, "
          f"{args.steps} steps per method, {results['dss']['threads']} threads"
          + (f"; QCRD with {' '.join(args.set)}" if args.set else ""))
    print(f"{'method':8} {'s/step':>8} {'peak RSS GB':>12}")
    for method, r in results.items():
        print(f"{method:8} {r['seconds_per_step']:8.3f} {r['peak_rss_gb']:12.2f}"
              + (f"   peak CUDA {r['peak_cuda_gb']:.2f} GB" if "peak_cuda_gb" in r else ""))
    ratio = results["qcrd"]["seconds_per_step"] / results["dss"]["seconds_per_step"]
    print(f"QCRD / DSS per step: {ratio:.2f}x (target <= 1.8x; paper, T5-base: 13 h / 4 h = 3.25x)")
    print(json.dumps({"ratio": ratio, **{m: r for m, r in results.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
