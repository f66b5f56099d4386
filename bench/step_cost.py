"""Cost of a QCRD optimizer step against a DSS step, on the demo configuration.

Reads the student settings of ``params/demo.yaml`` (section ``03_training``: preset, batch size,
QCRD hyper-parameters) and trains DSS and QCRD for ``--steps`` optimizer steps each on the demo
run's data (stages 01-02; made with ``qcrd run`` first if ``--run-dir`` has none), without
evaluation or checkpoints. Each method runs in its own process, one after the other, so its peak
memory is its own. Seconds per step are the Trainer's optimizer steps, wall clock, everything
included (QCRD: negative sampling, judge scoring and its online updates, amortized over the run).

Target: QCRD ≤ 2.0× DSS per step once QCRD has negatives (after its first iteration). The paper reports 13 h vs 4 h (≈ 3.25×) for T5-base.

Usage: ``python bench/step_cost.py [--steps 200] [--repeats 3] [--run-dir outputs/runs/demo] [--set num_positives=1 ...]
[--both student=outputs/models/t5-shrunk]`` (``--set`` changes a stage-03 parameter of QCRD, by its stage name, to see
what a setting costs; ``--both`` changes it for both methods).
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

import yaml
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

def demo_training_stage(overrides: list[str] = ()):
    """Stage 03 of the demo (``params/demo.yaml``: its ``common`` keys stage 03 declares, then its ``03_training``
    section) with ``overrides`` (``name=value``, stage-03 names), as ``qcrd run`` would inject it."""
    from qcrdkit.cli.pipeline import parse_override
    from qcrdkit.core.stages import defaults
    from qcrdkit.training import training_stage

    params = yaml.safe_load((REPO / "params" / "demo.yaml").read_text())
    names = set(defaults("03_training")) - {"run_dir"}
    section = {**{k: v for k, v in (params.get("common") or {}).items() if k in names},
               **(params.get("03_training") or {})}
    section.update({".".join(k): v for k, v in map(parse_override, overrides)})
    return training_stage(**section)


class StepProfile:
    """Per-step wall seconds of the whole step and of named parts of it (a Trainer callback; the parts
    are methods of the trainer wrapped with a timer). Steps ``>= start`` count (the steady state)."""

    def __init__(self, trainer, start: int, parts: dict[str, str]):
        from transformers import TrainerCallback

        self.start, self.steps, self.totals, self.current, self.t0 = start, 0, {}, {}, None
        self.wall = 0.0
        profile = self

        class Callback(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                profile.current, profile.t0 = {}, time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step > profile.start:
                    profile.wall += time.perf_counter() - profile.t0
                    profile.steps += 1
                    for name, value in profile.current.items():
                        profile.totals[name] = profile.totals.get(name, 0.0) + value

        trainer.add_callback(Callback())
        for method, name in parts.items():
            self.wrap(trainer, method, name)

    def wrap(self, trainer, method: str, name: str) -> None:
        import torch

        fn = getattr(trainer, method)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            out = fn(*args, **kwargs)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            label = name(out, args, kwargs) if callable(name) else name
            self.current[label] = self.current.get(label, 0.0) + time.perf_counter() - t
            return out

        setattr(trainer, method, timed)

    def report(self) -> dict:
        per_step = {name: value / max(self.steps, 1) for name, value in self.totals.items()}
        return {"steady_steps": self.steps, "steady_seconds_per_step": self.wall / max(self.steps, 1), "parts": per_step}


def _ce_part(out, args, kwargs):
    return "decoder, rationales (with gradient)" if out.requires_grad else "decoder, rationales (selection, no grad)"


#: the parts of a QCRD step timed by the profile (trainer method -> name)
QCRD_PARTS = {"compute_loss": "forward (compute_loss)", "sample_negatives": "sampling negatives",
              "rationale_ce": _ce_part, "quality": "judge scoring", "update_judge": "online judge update"}


def worker(method: str, run_dir: str, steps: int, overrides: list[str], both: list[str] = ()) -> dict:
    import torch

    from qcrdkit.training.run import build_trainer

    stage = demo_training_stage([*both, *(overrides if method == "qcrd" else [])])
    with tempfile.TemporaryDirectory() as tmp:
        setup = build_trainer(method, run_dir, stage, output_dir=tmp, steps=steps, progress=False,
                              extra={**stage.extra, "eval_strategy": "no", "save_strategy": "no",
                                     "load_best_model_at_end": False, "logging_steps": steps})
        # the steady state: after QCRD's first iteration (from then on it has negatives), for both methods
        start = stage.steps_per_iteration
        profile = StepProfile(setup.trainer, start, QCRD_PARTS if method == "qcrd" else
                              {"compute_loss": "forward (compute_loss)"})
        t0 = time.perf_counter()
        setup.trainer.train()
        wall = time.perf_counter() - t0
        timer = setup.trainer.step_timer
    out = {"method": method, "steps": timer.steps, "seconds_per_step": timer.seconds / timer.steps,
           **profile.report(),
           "train_wall_seconds": wall, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
           "threads": torch.get_num_threads(), "student": stage.student,
           "batch_size": stage.batch_size}
    if torch.cuda.is_available():
        out["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 2**30
    if method == "qcrd":
        out["negatives_sampled"] = setup.trainer.negatives_sampled
    return out


def ensure_run(run_dir: Path) -> None:
    from qcrdkit.core.rundir import judge_dir

    if (judge_dir(run_dir) / "config.json").exists():
        return
    print(f"{run_dir} has no stage-02 judge: running stages 01-02 of the demo first", flush=True)
    subprocess.run([sys.executable, "-m", "qcrdkit.cli", "run", "--params", "params/demo.yaml",
                    "--set", "stages=[01_teacher_sampling, 02_judge]", "--set", f"run_id={run_dir.name}",
                    "--set", f"outputs_dir={run_dir.parent.parent}"], check=True, cwd=REPO)


def profile_table(results: dict) -> list[str]:
    """Rows ``part | DSS | QCRD`` (seconds per step): the timed parts, the rest of the forward (label task,
    encoders), and backward + optimizer + data (the step minus the forward)."""
    rows = {}
    for method, r in results.items():
        parts = dict(r["parts"])
        forward = parts.pop("forward (compute_loss)", 0.0)
        nested = sum(v for k, v in parts.items())
        parts["label task, encoders, losses (rest of the forward)"] = forward - nested
        parts["backward, optimizer step, data"] = r["steady_seconds_per_step"] - forward
        parts["step"] = r["steady_seconds_per_step"]
        for name, value in parts.items():
            rows.setdefault(name, {})[method] = value
    order = sorted(rows, key=lambda n: (n == "step", n.startswith("backward"), n.startswith("label"), n))
    lines = [f"{'part':52} {'DSS':>7} {'QCRD':>7}"]
    for name in order:
        cells = [f"{rows[name][m]:7.3f}" if m in rows[name] else f"{'–':>7}" for m in ("dss", "qcrd")]
        lines.append(f"{name:52} {' '.join(cells)}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=1, help="alternating DSS/QCRD runs; the median ratio is reported")
    parser.add_argument("--run-dir", default=str(REPO / "outputs" / "runs" / "demo"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a QCRD config field")
    parser.add_argument("--both", action="append", default=[], metavar="KEY=VALUE",
                        help="a stage-03 field of both methods (e.g. student=outputs/models/t5-shrunk)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.run_dir, args.steps, args.set, args.both)))
        return 0
    run_dir = Path(args.run_dir).resolve()
    ensure_run(run_dir)
    runs = []          # one {method: result} per repeat; DSS and QCRD alternate, so drift hits both
    for repeat in range(args.repeats):
        results = {}
        for method in ("dss", "qcrd"):
            res = subprocess.run([sys.executable, __file__, "--worker", method, "--run-dir", str(run_dir),
                                  "--steps", str(args.steps), *[f"--set={x}" for x in args.set],
                                  *[f"--both={x}" for x in args.both]],
                                 capture_output=True, text=True, cwd=REPO)
            if res.returncode:
                print(res.stderr[-3000:], file=sys.stderr)
                return 1
            results[method] = json.loads(res.stdout.strip().splitlines()[-1])
        runs.append(results)
    def steady_ratio(r: dict) -> float:
        return r["qcrd"]["steady_seconds_per_step"] / r["dss"]["steady_seconds_per_step"]
    runs.sort(key=steady_ratio)
    results = runs[len(runs) // 2]            # the run with the median ratio (the upper one of two middles)
    ratios = [steady_ratio(r) for r in runs]
    print(f"demo configuration: student {results['dss']['student']}, batch {results['dss']['batch_size']}, "
          f"{args.steps} steps per method, {results['dss']['threads']} threads"
          + (f"; QCRD with {' '.join(args.set)}" if args.set else "")
          + (f"; both with {' '.join(args.both)}" if args.both else ""))
    steady = results["dss"]["steady_steps"]
    print(f"{'method':8} {'s/step, all':>12} {f's/step, last {steady}':>16} {'peak RSS GB':>12}")
    for method, r in results.items():
        print(f"{method:8} {r['seconds_per_step']:12.3f} {r['steady_seconds_per_step']:16.3f} {r['peak_rss_gb']:12.2f}"
              + (f"   peak CUDA {r['peak_cuda_gb']:.2f} GB" if "peak_cuda_gb" in r else ""))
    print(f"\nprofile of a step, seconds (mean over the last {steady} steps, after QCRD's first iteration):")
    for line in profile_table(results):
        print(line)
    ratio = steady_ratio(results)
    whole = results["qcrd"]["seconds_per_step"] / results["dss"]["seconds_per_step"]
    print(f"\nQCRD / DSS per step once QCRD has negatives: ratio {ratio:.2f}x"
          + (f" (median of {len(runs)} alternating runs: {', '.join(f'{r:.2f}' for r in ratios)})" if len(runs) > 1 else "")
          + f"; {whole:.2f}x over all {args.steps} steps of the run above, the first iteration without negatives "
          f"included. Target <= 2.0x; paper, T5-base: 13 h / 4 h = 3.25x")
    print(json.dumps({"ratio": ratio, "ratios": ratios, "ratio_all_steps": whole, **{m: r for m, r in results.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
