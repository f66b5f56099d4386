"""Method benchmark (issue 6): does QCRD beat DSS on the embedded task, and at what cost?

Runs ``qcrd run --params params/bench.yaml`` (stages 01-03: the teacher, the judge, and all five
methods with three seeds each, identical data, student preset, steps and hyper-parameters), then
``qcrd run --params params/sweep-ablation.yaml --base params/bench.yaml`` (QCRD w/o ED, w/o NK,
w/o QJ with the same seeds and budget, and the stage-04 report), measuring each (wall time, peak memory of the process tree). Then it
writes the result as markdown: test accuracy mean ± std per method (checkpoints selected on valid,
test evaluated once), every method's paired difference to DSS with a 95 % bootstrap interval over
test questions, seconds per step and the ratio to DSS, the ablations, and QCRD's training
diagnostics (its loss terms and the judge's scores of positives and negatives).

Resumable: everything lives under ``--out`` (default ``outputs/bench``); running again reuses
finished students and resumes unfinished ones (then the timings are not a cold run, and the
result says so). ``--fresh`` deletes ``--out`` first.

Usage::

    python bench/methods.py [--out outputs/bench] [--fresh] [--results bench/RESULTS.md] [--set key=value ...]
    python bench/methods.py --report-only      # tables again from a finished --out

Target: at most 60 minutes on the 2-core CI machine.
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from _monitor import machine_description, run_measured

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
#: the ``qcrd run`` argument lists, in order
RUNS = (["--params", "params/bench.yaml"], ["--params", "params/sweep-ablation.yaml", "--base", "params/bench.yaml"])
TARGET_SECONDS = 60 * 60
BASELINE = "dss"
#: QCRD's logged training terms shown as diagnostics (means over the second half of training)
DIAGNOSTICS = {"loss_pred": "label CE", "loss_cl": "contrastive loss", "ce_pos": "CE of the picked positive",
               "ce_neg": "CE of the picked negative", "neg_active": "share of negatives with CE < δ",
               "score_pos": "judge score, positives", "score_neg": "judge score, negatives"}


def run_benchmark(out: Path, overrides: list[str]) -> list[dict]:
    runs = []
    for run_args in RUNS:
        cmd = [sys.executable, "-m", "qcrdkit.cli", "run", *run_args, "--set", f"outputs_dir={out}",
               "--set", f"01_teacher_sampling.cache_dir={out / 'cache' / 'teacher'}",
               "--set", f"04_analysis.judge_cache_dir={out / 'cache' / 'judge'}"]
        for item in overrides:
            cmd += ["--set", item]
        shown = "qcrd run " + " ".join(run_args)
        print(f"$ {shown} (outputs in {out}) ...", flush=True)
        measured = run_measured(cmd, REPO, echo=True)
        runs.append({"command": shown, "returncode": measured.returncode, "wall_seconds": round(measured.wall_seconds, 1),
                     "peak_rss_gb": round(measured.peak_rss_bytes / 1024 ** 3, 2)})
        if measured.returncode != 0:
            print(measured.output[-3000:])
            raise SystemExit(f"{shown} failed (exit {measured.returncode}); "
                             f"run again to resume from what is finished under {out}")
    return runs


ABLATIONS = {None: "QCRD", "woED": "w/o ED", "woQJ": "w/o QJ"}     # (w/o NK has no negatives)


def qcrd_diagnostics(run_dir: Path, students: list[dict], tags: dict = ABLATIONS) -> list[dict]:
    """Per QCRD student kind (``tags``: tag → label): :data:`DIAGNOSTICS` averaged over the second half
    of training (its ``history.json``) and over seeds."""
    rows = []
    for tag, label in tags.items():
        part = [s for s in students if s["method"] == "qcrd" and (s.get("tag") or None) == tag]
        values: dict[str, list[float]] = {k: [] for k in DIAGNOSTICS}
        for s in part:
            history = json.loads((run_dir / "students" / s["name"] / "history.json").read_text())
            logs = [h for h in history if "loss_cl" in h]
            for h in logs[len(logs) // 2:]:
                for k in DIAGNOSTICS:
                    if k in h:
                        values[k].append(float(h[k]))
        if part:
            row = {"student": label, **{k: (f"{np.mean(v):.3f}" if v else "–") for k, v in values.items()}}
            if not part[0]["config"].get("use_judge", True):
                row.update(score_pos="1 (no judge)", score_neg="0 (no judge)")
            rows.append(row)
    return rows


def results_markdown(run_dir: Path, runs: list[dict], command: str, *, date: str | None = None,
                     commit: str | None = None, machine: str | None = None) -> str:
    """The benchmark's markdown from a run directory holding its students (and ``runs``: the
    measured ``qcrd run`` commands; ``date``, ``commit`` and ``machine`` of the measurement,
    default now, HEAD and this machine)."""
    import pandas as pd

    from qcrdkit import analysis
    from qcrdkit.report import markdown_table
    from qcrdkit.rundir import collect_students

    def _table(header: list[str], rows: list[list]) -> str:
        return markdown_table(pd.DataFrame(rows, columns=header))

    students, predictions = collect_students([run_dir])
    task = json.loads((run_dir / "task.json").read_text())
    main = [s for s in students if not s.get("tag")]
    methods = sorted({s["method"] for s in main}, key=analysis.METHOD_ORDER.index)
    seeds = sorted({s["seed"] for s in main})
    config = next(s for s in main if s["method"] == BASELINE)["config"]
    sps = {m: float(np.mean([s["seconds_per_step"] for s in main if s["method"] == m])) for m in methods}

    accuracy_rows = []
    for m in methods:
        part = sorted((s for s in main if s["method"] == m), key=lambda s: s["seed"])
        rationale = [s.get("test_rationale_accuracy") for s in part]
        accuracy_rows.append([analysis.METHOD_NAMES[m], analysis.mean_std_text([s["test_accuracy"] for s in part]),
                              ", ".join(f"{100 * s['test_accuracy']:.1f}" for s in part),
                              "–" if None in rationale else analysis.mean_std_text(rationale),
                              analysis.mean_std_text([s["valid_accuracy"] for s in part]),
                              ", ".join(str(s["best_checkpoint_step"]) for s in part),
                              f"{sps[m]:.4f}", f"{sps[m] / sps[BASELINE]:.2f}",
                              f"{np.mean([s['train_seconds'] for s in part]):.0f}"])
    diff_rows = []
    for m in methods:
        if m == BASELINE:
            continue
        (d,) = analysis.paired_method_differences(students, predictions, a=m, b=BASELINE, resamples=10000, seed=0)
        diff_rows.append([f"{analysis.METHOD_NAMES[m]} − DSS", f"{100 * d['difference']:+.1f}",
                          f"[{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]",
                          ", ".join(f"{100 * x:+.1f}" for x in d["per_seed"]), f"{d['n']} × {d['seeds']}"])
    ablation_rows = []
    ablation = next((t for t in analysis.sweep_tables(students) if t["sweep"].startswith("Ablation")), None)
    for row in (ablation or {}).get("rows", []):
        names = row["students"]
        part = [s for s in students if s["name"] in names]
        step = float(np.mean([s["seconds_per_step"] for s in part]))
        ablation_rows.append([row["value"], row["test"], row["valid"], f"{step:.4f}", f"{step / sps[BASELINE]:.2f}"])

    report = json.loads((run_dir / "report" / "summary.json").read_text()) if (run_dir / "report" / "summary.json").exists() else {}
    judge = json.loads((run_dir / "discriminator" / "metrics.json").read_text())
    teacher = json.loads((run_dir / "teacher" / "config.json").read_text())
    teacher_stats = json.loads((run_dir / "teacher" / "stats.json").read_text())["by_split"]["train"]
    wall = sum(r["wall_seconds"] for r in runs)
    cold = all(r.get("cold") for r in runs)
    lines = [
        f"# Method benchmark: QCRD against the baselines on `{task['task']}`",
        "",
        f"Measured {date or datetime.date.today().isoformat()} on {machine or machine_description()}; "
        f"commit {commit or _git_commit()}.",
        "",
        f"Command: `{command}` — {wall / 60:.1f} min wall in all"
        + ("" if cold else " (**not a cold run**: some students were reused or resumed)")
        + f" (target ≤ {TARGET_SECONDS // 60} min); "
        + "; ".join(f"`{r['command']}` {r['wall_seconds'] / 60:.1f} min, peak {r['peak_rss_gb']} GB" for r in runs) + ".",
        "",
        f"Set-up: task `{task['task']}` with {json.dumps(task.get('task_options', {}))}; teacher `{teacher['teacher']['model']}` "
        f"({teacher['source']} endpoint), k = {teacher['teacher']['k']} samples per question at T = "
        f"{teacher['teacher']['temperature']:g}, positives by self-consistency (`{teacher['split_mode']}`): a sample's answer is right "
        f"{100 * teacher_stats['teacher_accuracy']:.1f} % of the time, the self-consistency vote "
        f"{100 * teacher_stats['sc_accuracy']:.1f} %; every method: student "
        f"`{main[0]['student']}` from scratch, {config['max_steps']} steps of {config['per_device_train_batch_size']} "
        f"questions, learning rate {config['learning_rate']:g}, seeds {', '.join(map(str, seeds))}; the checkpoint with "
        f"the best valid accuracy (every {config['eval_steps']:g} steps) is kept and the test split "
        f"({main[0]['n_test']} questions) evaluated once. No method was tuned: all share these settings, and "
        "every method-specific hyper-parameter is the paper's default (QCRD's iteration length scaled to the budget). "
        "How the difficulty and budget were chosen, what the numbers mean and what was investigated: `bench/README.md`.",
        "",
        "## Test accuracy (%)",
        "",
        _table(["method", "test (mean ± std)", "test per seed", "rationale test (mean ± std)", "valid (mean ± std)",
                "selected step per seed",
                "s / step", "× DSS", "train s"], accuracy_rows),
        "",
        "## Paired difference to DSS (accuracy points)",
        "",
        "95 % percentile bootstrap over test questions (10 000 resamples; a question's difference is "
        "averaged over seeds); the per-seed differences show the spread over seeds.",
        "",
        _table(["comparison", "difference", "95 % CI", "per seed", "questions × seeds"], diff_rows),
        "",
        "## QCRD ablations (Table 4)",
        "",
        _table(["variant", "test (%)", "valid (%)", "s / step", "× DSS"], ablation_rows) if ablation_rows
        else "*No ablation students found.*",
        "",
        "## Diagnostics",
        "",
        f"Judge (stage 02): held-out AUC {judge['auc']:.3f} on the teacher's held-out rationales ({judge['n_pos']} positive, {judge['n_neg']} negative).",
        "",
        "QCRD's logged training terms, means over the second half of training and over seeds (CE: the "
        "student's mean token cross-entropy of a rationale; MinMax uses the positive with the lowest and "
        "the negative with the highest CE; a negative adds to the loss only while its CE is below δ = "
        f"{next((s['config'] for s in main if s['method'] == 'qcrd'), {}).get('delta', 3.0):g}):",
        "",
        _table(["student"] + list(DIAGNOSTICS.values()),
               [[r["student"]] + [r[k] for k in DIAGNOSTICS] for r in qcrd_diagnostics(run_dir, students)]),
    ]
    scores = report.get("quality_scores")
    if scores:
        lines += ["", f"Judge scores by source (stage 04, student `{report.get('student', 'qcrd')}`):", "",
                  _table(["source", "n", "mean score", "answer correct"],
                         [[r["source"], r["n"], f"{r['mean_score']:.3f}",
                           "–" if r.get("answer_correct") is None else f"{100 * r['answer_correct']:.1f} %"]
                          for r in scores])]
    return "\n".join(lines) + "\n"


def _git_commit() -> str:
    """HEAD's short hash, with "+ local changes" when tracked files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + local changes" if dirty else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="outputs/bench", help="outputs folder (runs/bench and caches)")
    parser.add_argument("--fresh", action="store_true", help="delete --out first (a cold, fully measured run)")
    parser.add_argument("--results", default="bench/RESULTS.md", help="where the markdown goes ('-': print only)")
    parser.add_argument("--report-only", action="store_true", help="no training: tables from a finished --out")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as for qcrd run")
    args = parser.parse_args()
    out = (REPO / args.out).resolve()
    timings = out / "bench_runs.json"
    command = "python bench/methods.py" + (" --fresh" if args.fresh else "") + \
        ("" if args.out == "outputs/bench" else f" --out {args.out}") + "".join(f" --set {s}" for s in args.set)
    if args.report_only:
        if not timings.exists():
            raise SystemExit(f"{timings} not found: run python bench/methods.py first")
        saved = json.loads(timings.read_text())
    else:
        if args.fresh and out.exists():
            shutil.rmtree(out)
        cold = not (out / "runs" / "bench").exists()
        saved = {"date": datetime.date.today().isoformat(), "commit": _git_commit(), "machine": machine_description(),
                 "command": command}
        saved["runs"] = [{**r, "cold": cold} for r in run_benchmark(out, args.set)]
        timings.write_text(json.dumps(saved, indent=1))
    runs = saved["runs"]
    text = results_markdown(out / "runs" / "bench", runs, saved["command"], date=saved.get("date"),
                            commit=saved.get("commit"), machine=saved.get("machine"))
    print(text)
    if args.results != "-":
        (REPO / args.results).write_text(text)
        print(f"written to {args.results}")
    wall = sum(r["wall_seconds"] for r in runs)
    print(f"wall {wall / 60:.1f} min (target ≤ {TARGET_SECONDS // 60} min)")
    return 0 if wall <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
