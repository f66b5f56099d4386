"""Calibrating the embedded world: which `arith` difficulty, student size, batch, steps
and learning rate make rationales learnable on 2 CPU cores?

Each setting: stage 01 on `arith` with the given task options (synthetic teacher, K = 5 at τ = 0.7
plus one greedy sample per question; cached), then students trained with the kit's own trainers
(`train_student`), valid-selected, test once. Reports label accuracy, rationale accuracy (the
answer reached by the greedy `<Explain>` output), the selected step and the training time.

    python bench/calibrate.py --setting NAME [--setting NAME ...]   # see SETTINGS
    python bench/calibrate.py --list

Results go to outputs/calibrate/<setting>/ (students reused when finished) and are appended to
outputs/calibrate/results.jsonl; bench/README.md's calibration table quotes them.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "outputs" / "calibrate"

TASKS = {
    "op20": {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 2, "seed": 0,
             "label": "equation"},
    "op10": {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 2, "max_operand": 10,
             "seed": 0, "label": "equation"},
    "op10-ans": {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 2, "max_operand": 10,
                 "seed": 0, "label": "answer"},
    "addsub10": {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 2, "max_operand": 10,
                 "ops": "+-", "seed": 0, "label": "answer"},
    "op5": {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 2, "max_operand": 5,
            "seed": 0, "label": "answer"},
    "op5-s13": {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 3, "max_operand": 5,
                "seed": 0, "label": "answer"},
    "op5-s23": {"n_train": 2000, "n_valid": 200, "n_test": 500, "min_steps": 2, "max_steps": 3, "max_operand": 5,
                "seed": 0, "label": "answer"},
    "op10-4k": {"n_train": 4000, "n_valid": 200, "n_test": 500, "min_steps": 1, "max_steps": 2, "max_operand": 10,
                "seed": 0},
}
# name: (task, methods, stage-03 parameters)
SETTINGS = {
    "old-demo": ("op20", ["dss"], dict(steps=500, batch_size=8, lr=1e-3)),
    "op10-b8-1000": ("op10", ["dss"], dict(steps=1000, batch_size=8, lr=1e-3)),
    "op10-b32-600": ("op10", ["dss"], dict(steps=600, batch_size=32, lr=1e-3)),
    "op10-b32-1200": ("op10", ["dss"], dict(steps=1200, batch_size=32, lr=1e-3)),
    "op10-b32-1200-lr2e-3": ("op10", ["dss"], dict(steps=1200, batch_size=32,
                                                   lr=2e-3)),
    "op20-b32-1200": ("op20", ["dss"], dict(steps=1200, batch_size=32, lr=1e-3)),
    "op10-4k-b32-1200": ("op10-4k", ["dss"], dict(steps=1200, batch_size=32,
                                                  lr=1e-3)),
    "op10-b32-2400": ("op10", ["dss"], dict(steps=2400, batch_size=32, lr=1e-3)),
    "op10-b32-1200-lr3e-3-wu": ("op10", ["dss"], dict(steps=1200, batch_size=32,
                                                      lr=3e-3, extra={"warmup_steps": 100})),
    "op10-b32-600-num": ("op10", ["dss"], dict(steps=600, batch_size=32, lr=1e-3,
                                               tokenizer="corpus-numbers")),
    "op10-b32-1200-num": ("op10", ["dss"], dict(steps=1200, batch_size=32, lr=1e-3,
                                                tokenizer="corpus-numbers")),
    "ans-b32-600": ("op10-ans", ["dss", "finetune"], dict(steps=600, batch_size=32,
                                                         lr=1e-3)),
    "ans-b32-600-num": ("op10-ans", ["dss", "finetune"], dict(steps=600, batch_size=32,
                                                             lr=1e-3, tokenizer="corpus-numbers")),
    "ans-b32-600-num-lr3e-3": ("op10-ans", ["dss"], dict(steps=600, batch_size=32,
                                                          lr=3e-3, extra={"warmup_steps": 60}, tokenizer="corpus-numbers")),
    "eq-b32-600-num-lr3e-3": ("op10", ["dss"], dict(steps=600, batch_size=32,
                                                    lr=3e-3, extra={"warmup_steps": 60}, tokenizer="corpus-numbers")),
    "addsub10-b32-600-num": ("addsub10", ["dss", "finetune"], dict(steps=600, batch_size=32,
                                                                  lr=1e-3, tokenizer="corpus-numbers")),
    "op5-b32-600-num": ("op5", ["dss", "finetune"], dict(steps=600, batch_size=32,
                                                        lr=1e-3, tokenizer="corpus-numbers")),
    "ans-b32-3000-num": ("op10-ans", ["dss", "finetune"], dict(steps=3000, batch_size=32,
                                                              lr=1e-3, tokenizer="corpus-numbers")),
    "op5-s13-b32-600-num": ("op5-s13", ["dss", "finetune"], dict(steps=600, batch_size=32,
                                                                lr=1e-3, tokenizer="corpus-numbers")),
    "op5-s23-b32-600-num": ("op5-s23", ["dss", "finetune"], dict(steps=600, batch_size=32,
                                                                lr=1e-3, tokenizer="corpus-numbers")),
    "op5-b32-1800-num": ("op5", ["dss", "finetune"], dict(steps=1800, batch_size=32,
                                                         lr=1e-3, tokenizer="corpus-numbers")),
    "op5-b32-1200-num": ("op5", ["dss", "finetune"], dict(steps=1200, batch_size=32,
                                                         lr=1e-3, tokenizer="corpus-numbers")),
    # QCRD's negatives: decoding and snapshot age (S = 50 steps per iteration, j iterations back)
    "op5-qcrd-paper": ("op5", ["qcrd"], dict(steps=600, batch_size=32, lr=1e-3,
                                              tokenizer="corpus-numbers", steps_per_iteration=50, iterations_back=3)),
    "op5-qcrd-topk5": ("op5", ["qcrd"], dict(steps=600, batch_size=32, lr=1e-3,
                                              tokenizer="corpus-numbers", steps_per_iteration=50, iterations_back=3,
                                              negative_top_k=5)),
    "op5-qcrd-topk20": ("op5", ["qcrd"], dict(steps=600, batch_size=32, lr=1e-3,
                                               tokenizer="corpus-numbers", steps_per_iteration=50, iterations_back=3,
                                               negative_top_k=20)),
    "op5-qcrd-j1-topk5": ("op5", ["qcrd"], dict(steps=600, batch_size=32, lr=1e-3,
                                                 tokenizer="corpus-numbers", steps_per_iteration=50, iterations_back=1,
                                                 negative_top_k=5)),
    "op10-b16-1500": ("op10", ["dss"], dict(steps=1500, batch_size=16, lr=1e-3)),
    "op10-b16-1500-tiny": ("op10", ["dss"], dict(steps=1500, batch_size=16, lr=1e-3,
                                                 student="scratch-tiny")),
    "op10-b16-3000": ("op10", ["dss", "finetune"], dict(steps=3000, batch_size=16,
                                                       lr=1e-3)),
}


def stage01(task_name: str, tokenizer: str = "corpus", judge: bool = False) -> Path:
    """A stage-01 run per task (and per student tokenizer: a run keeps one); with ``judge`` also
    stage 02 (the demo's judge settings) for QCRD."""
    from qcrdkit.core.rundir import judge_dir

    run_id = f"task-{task_name}" + ("" if tokenizer == "corpus" else f"-{tokenizer}")
    run_dir = OUT / "runs" / run_id
    stages = ([] if (run_dir / "teacher" / "greedy.jsonl").exists() else ["01_teacher_sampling"]) + \
        (["02_judge"] if judge and not (judge_dir(run_dir) / "config.json").exists() else [])
    if not stages:
        return run_dir
    overrides = [f"run_id={run_id}", f"outputs_dir={OUT.relative_to(ROOT)}", f"stages=[{', '.join(stages)}]",
                 f"common.task_options={json.dumps(TASKS[task_name])}", "common.progress=false",
                 f"02_judge.tokenizer={tokenizer}"]
    cmd = [sys.executable, "-m", "qcrdkit.cli", "run", "--params", "params/demo.yaml"]
    for o in overrides:
        cmd += ["--set", o]
    subprocess.run(cmd, cwd=ROOT, check=True)
    return run_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", action="append", default=[])
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--eval-every", type=int, default=None, help="valid evaluation spacing (default steps/4)")
    args = parser.parse_args(argv)
    if args.list or not args.setting:
        for name, (task, methods, params) in SETTINGS.items():
            print(f"{name:24s} task {task:8s} {methods} {params}")
        return 0
    import torch
    torch.set_num_threads(2)
    from qcrdkit.training.run import train_student

    for name in args.setting:
        task_name, methods, params = SETTINGS[name]
        params = dict(params)
        student = params.pop("student", "scratch-small")
        tokenizer = params.pop("tokenizer", "corpus")
        run_dir = stage01(task_name, tokenizer, judge="qcrd" in methods)
        every = args.eval_every or max(50, params["steps"] // 4)
        for method in methods:
            t0 = time.perf_counter()
            m = train_student(method, run_dir, out_dir=OUT / name / method, student=student, tokenizer=tokenizer,
                              progress=False, eval_every=every, **params)
            row = {"setting": name, "task": task_name, "method": method, "student": student, "tokenizer": tokenizer,
                   **params,
                   "valid": m["valid_accuracy"], "test": m["test_accuracy"],
                   "valid_rationale": m.get("valid_rationale_accuracy"), "test_rationale": m.get("test_rationale_accuracy"),
                   "negatives_inside_margin": m.get("negatives_inside_margin"),
                   "best_step": m["best_checkpoint_step"], "s_per_step": m["seconds_per_step"],
                   "train_s": m["train_seconds"], "wall_s": round(time.perf_counter() - t0, 1)}
            print(json.dumps(row), flush=True)
            with open(OUT / "results.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
