"""Method benchmark: does QCRD beat DSS on the embedded task, and at what cost?

Phases (``PHASES``; the runs of a phase go in parallel, one torch thread each):

1. ``qcrd run --params params/bench.yaml`` stages 01-02: the teacher and the judge;
2. stage 03 of the same file (Finetune, Single-Task, DSS, MI, QCRD; five seeds each, identical data
   order per seed, student preset, steps and hyper-parameters) beside
   ``qcrd run --params params/sweep-ablation.yaml --base params/bench.yaml`` (QCRD w/o ED, w/o NK,
   w/o QJ, same seeds and budget);
3. "where does QCRD help?": DSS and QCRD on a quarter and a half of the training questions, seeds
   0-2 (``params/sweep-fraction.yaml``; timed apart, skip with ``--no-fraction``);
4. stage 04: the report.

Each run is measured (wall time, peak memory of its process tree). Then it writes the result as
markdown: label and rationale test accuracy per student kind (mean ± std and per seed; checkpoints
selected on valid, test evaluated once), the selected steps, seconds per step and the ratio to
DSS; QCRD − X for every baseline and ablation paired by seed, with a two-level bootstrap (seeds,
then questions) and a t interval over seeds, and the smallest difference the design can detect;
the fraction sweep as a table and a plot (``bench/fraction_difference.png``); QCRD's training
diagnostics.

Resumable: everything lives under ``--out`` (default ``outputs/bench``); running again reuses
finished students and resumes unfinished ones (then the timings are not a cold run, and the
result says so). ``--fresh`` deletes ``--out`` first.

Usage::

    python bench/methods.py [--out outputs/bench] [--fresh] [--no-fraction] [--results bench/RESULTS.md] [--set key=value ...]
    python bench/methods.py --report-only      # tables again from a finished --out

Target: the benchmark (phases 1, 2 and 4) in at most 90 minutes on the 2-core CI machine.
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _monitor import machine_description, run_measured

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from qcrdkit.core.rundir import judge_dir  # noqa: E402
#: the ``qcrd run`` argument lists, phase by phase; the runs of one phase go in parallel, one torch
#: thread each (two small students side by side use 2 cores better than one student on two threads)
PHASES = (
    [["--params", "params/bench.yaml", "--set", "stages=[01_teacher_sampling, 02_judge]"]],
    [["--params", "params/bench.yaml", "--set", "stages=[03_training]"],
     ["--params", "params/sweep-ablation.yaml", "--base", "params/bench.yaml", "--set", "stages=[03_training]"]],
    [["--params", "params/bench.yaml", "--set", "stages=[04_analysis]"]],
)
#: "where does QCRD help?": DSS and QCRD on a quarter and a half of the training questions,
#: seeds 0-2 (the full set is the benchmark's own students); one variant per parallel run
FRACTION_SEEDS = [0, 1, 2]
FRACTION_PHASE = [["--params", "params/sweep-fraction.yaml", "--base", "params/bench.yaml",
                   "--set", "stages=[03_training]", "--set", f"03_training.seeds={FRACTION_SEEDS}",
                   "--set", f"sweep.variants={{{name}: {{train_fraction: {fraction}}}}}"]
                  for name, fraction in (("f025", 0.25), ("f05", 0.5))]
TARGET_SECONDS = 90 * 60
#: bench/sources.py's section of RESULTS.md (kept when this script rewrites the file)
BEGIN_SOURCES, END_SOURCES = "<!-- bench/sources.py: begin -->", "<!-- bench/sources.py: end -->"
BASELINE = "dss"
#: QCRD's logged training terms shown as diagnostics (means over the second half of training)
DIAGNOSTICS = {"loss_pred": "label CE", "loss_cl": "contrastive loss", "ce_pos": "CE of the picked positive",
               "ce_neg": "CE of the picked negative", "neg_active": "share of negatives with CE < δ",
               "score_pos": "judge score, positives", "score_neg": "judge score, negatives"}


def _shown(run_args: list[str]) -> str:
    return "qcrd run " + " ".join(a if " " not in a else repr(a) for a in run_args)


def run_phase(out: Path, phase: list[list[str]], overrides: list[str]) -> list[dict]:
    """The runs of one phase, in parallel when there are several (each on one torch thread), each
    measured (wall time, peak memory of its process tree)."""
    from concurrent.futures import ThreadPoolExecutor

    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if len(phase) > 1 else None

    def one(i_args):
        i, run_args = i_args
        time.sleep(2 * i)          # a sweep names its params file by the second it starts
        cmd = [sys.executable, "-m", "qcrdkit.cli", "run", *run_args, "--set", f"outputs_dir={out}",
               "--set", f"01_teacher_sampling.cache_dir={out / 'cache' / 'teacher'}",
               "--set", f"04_analysis.llm_judge_cache_dir={out / 'cache' / 'judge'}"]
        for item in overrides:
            cmd += ["--set", item]
        shown = _shown(run_args)
        print(f"$ {shown} (outputs in {out}) ...", flush=True)
        measured = run_measured(cmd, REPO, echo=f"[{i}] " if len(phase) > 1 else True, env=env)
        return shown, measured

    with ThreadPoolExecutor(max_workers=len(phase)) as pool:
        results = list(pool.map(one, enumerate(phase)))
    runs = []
    for shown, measured in results:
        if measured.returncode != 0:
            print(measured.output[-3000:])
            raise SystemExit(f"{shown} failed (exit {measured.returncode}); "
                             f"run again to resume from what is finished under {out}")
        runs.append({"command": shown, "returncode": measured.returncode, "wall_seconds": round(measured.wall_seconds, 1),
                     "peak_rss_gb": round(measured.peak_rss_bytes / 1024 ** 3, 2), "parallel": len(phase)})
    return runs


def phase_wall(runs: list[dict]) -> float:
    """Wall time of runs grouped in phases (parallel runs count once: their longest)."""
    total, i = 0.0, 0
    while i < len(runs):
        n = runs[i].get("parallel", 1)
        total += max(r["wall_seconds"] for r in runs[i:i + n])
        i += n
    return total


ABLATIONS = {None: "QCRD", "woED": "w/o ED", "woQJ": "w/o QJ"}     # (w/o NK has no negatives)
ABLATION_TAGS = {"woED": "w/o ED", "woNK": "w/o NK", "woQJ": "w/o QJ"}


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
                     commit: str | None = None, machine: str | None = None, fraction_runs: list[dict] = (),
                     figure: Path | None = None, note: str | None = None) -> str:
    """The benchmark's markdown from a run directory holding its students (and ``runs``: the
    measured ``qcrd run`` commands; ``date``, ``commit`` and ``machine`` of the measurement,
    default now, HEAD and this machine)."""
    import pandas as pd

    from qcrdkit import analysis
    from qcrdkit.analysis.report import markdown_table
    from qcrdkit.analysis.student_results import collect_students

    def _table(header: list[str], rows: list[list]) -> str:
        return markdown_table(pd.DataFrame(rows, columns=header))

    students, predictions = collect_students([run_dir])
    task = json.loads((run_dir / "task.json").read_text())
    main = [s for s in students if not s.get("tag")]
    methods = sorted({s["method"] for s in main}, key=analysis.METHOD_ORDER.index)
    seeds = sorted({s["seed"] for s in main})
    config = next(s for s in main if s["method"] == BASELINE)["config"]
    sps = {m: float(np.mean([s["seconds_per_step"] for s in main if s["method"] == m])) for m in methods}

    def accuracy_row(label: str, part: list[dict]) -> list:
        part = sorted(part, key=lambda s: s["seed"])
        rationale = [s.get("test_rationale_accuracy") for s in part]
        step = float(np.mean([s["seconds_per_step"] for s in part]))
        return [label, analysis.mean_std_text([s["test_accuracy"] for s in part]),
                ", ".join(f"{100 * s['test_accuracy']:.1f}" for s in part),
                "–" if None in rationale else analysis.mean_std_text(rationale),
                "–" if None in rationale else ", ".join(f"{100 * r:.1f}" for r in rationale),
                analysis.mean_std_text([s["valid_accuracy"] for s in part]),
                ", ".join(str(s["best_checkpoint_step"]) for s in part),
                f"{step:.4f}", f"{step / sps[BASELINE]:.2f}", f"{np.mean([s['train_seconds'] for s in part]):.0f}"]

    accuracy_rows = [accuracy_row(analysis.METHOD_NAMES[m], [s for s in main if s["method"] == m]) for m in methods]
    accuracy_rows += [accuracy_row(f"QCRD {label}", part) for tag, label in ABLATION_TAGS.items()
                      if (part := [s for s in students if s.get("tag") == tag and s["method"] == "qcrd"])]
    # QCRD − X for every baseline and ablation, paired by seed (same data order and initialisation)
    relabelled = [{**s, "method": f"qcrd-{s['tag']}", "tag": None} if s.get("tag") in ABLATION_TAGS else s
                  for s in students]
    others = [m for m in methods if m != "qcrd"] + \
        [f"qcrd-{t}" for t in ABLATION_TAGS if any(s["method"] == f"qcrd-{t}" for s in relabelled)]
    diff_rows, diffs = [], {}
    for m in others:
        found = analysis.paired_method_differences(relabelled, predictions, a="qcrd", b=m, resamples=10000, seed=0)
        if not found:
            continue
        d = diffs[m] = found[0]
        name = analysis.METHOD_NAMES.get(m) or "QCRD " + ABLATION_TAGS[m.split("-", 1)[1]]
        diff_rows.append([f"QCRD − {name}", f"{100 * d['difference']:+.1f}", analysis.interval_text(d),
                          analysis.interval_text(d, "t"), "–" if d["p"] is None else f"{d['p']:.2f}",
                          ", ".join(f"{100 * x:+.1f}" for x in d["per_seed"]),
                          "–" if d["seed_std"] is None else f"{100 * d['seed_std']:.1f}",
                          "–" if d["detectable"] is None else f"{100 * d['detectable']:.1f}", d["seeds"]])
    adjusted = analysis.holm([d["p"] if d["p"] is not None else 1.0 for d in diffs.values()])
    for row, p_holm, d in zip(diff_rows, adjusted, diffs.values()):
        row.insert(5, "–" if d["p"] is None else f"{p_holm:.2f}")
    # rationale accuracy: QCRD − X over the per-seed rationale accuracies, for the methods that learn rationales
    rationale_rows, rationale_p = [], []
    by_kind = {}
    for s in relabelled:
        if s.get("test_rationale_accuracy") is not None and not s.get("tag"):
            by_kind.setdefault(s["method"], {})[s["seed"]] = s["test_rationale_accuracy"]
    for m in others:
        if m not in by_kind or "qcrd" not in by_kind:
            continue
        common = sorted(set(by_kind[m]) & set(by_kind["qcrd"]))
        if len(common) < 2:
            continue
        per_seed = [by_kind["qcrd"][k] - by_kind[m][k] for k in common]
        low, high, p = analysis.seed_t_interval(per_seed)
        name = analysis.METHOD_NAMES.get(m) or "QCRD " + ABLATION_TAGS[m.split("-", 1)[1]]
        rationale_p.append(p)
        rationale_rows.append([f"QCRD − {name}", f"{100 * np.mean(per_seed):+.1f}", f"[{100 * low:+.1f}, {100 * high:+.1f}]",
                               f"{p:.3f}", None, ", ".join(f"{100 * x:+.1f}" for x in per_seed), len(common)])
    for row, p_holm in zip(rationale_rows, analysis.holm(rationale_p)):
        row[4] = f"{p_holm:.3f}"
    dss = diffs.get(BASELINE)
    detectable = ("" if not dss or dss["detectable"] is None else
                  f"With {dss['seeds']} seeds and the spread of QCRD − DSS seen here (sd {100 * dss['seed_std']:.1f} "
                  f"points over seeds), a paired t-test at the 5 % level finds a true difference of "
                  f"{100 * dss['detectable']:.1f} points 80 % of the time: smaller differences between these methods "
                  "are beyond what this design can tell.")
    fraction_rows = []
    fraction_diffs = analysis.factor_differences([s for s in students if s["seed"] in FRACTION_SEEDS], predictions,
                                                 field="train_fraction", a="qcrd", b=BASELINE)
    if len({d["value"] for d in fraction_diffs}) < 2:          # a sweep needs two shares at least
        fraction_diffs = []
    for d in fraction_diffs:
        fraction_rows.append([f"{d['value']:g}", f"{100 * d['difference']:+.1f}", analysis.interval_text(d),
                              analysis.interval_text(d, "t"), ", ".join(f"{100 * x:+.1f}" for x in d["per_seed"]),
                              d["seeds"]])
    if figure is not None and fraction_diffs:
        import matplotlib
        matplotlib.use("Agg")
        from qcrdkit.analysis.plots import plot_factor_differences
        plot_factor_differences(fraction_diffs, analysis.METHOD_NAMES, xlabel="share of training questions").savefig(
            figure, dpi=120)
    report = json.loads((run_dir / "report" / "summary.json").read_text()) if (run_dir / "report" / "summary.json").exists() else {}
    judge = json.loads((judge_dir(run_dir) / "metrics.json").read_text())
    teacher = json.loads((run_dir / "teacher" / "config.json").read_text())
    teacher_stats = json.loads((run_dir / "teacher" / "stats.json").read_text())["by_split"]["train"]
    wall = phase_wall(runs)
    cold = all(r.get("cold") for r in runs)
    lines = [
        f"# Method benchmark: QCRD against the baselines on `{task['task']}`",
        "",
        f"Measured {date or datetime.date.today().isoformat()} on {machine or machine_description()}; "
        f"commit {commit or _git_commit()}.",
        "",
        *([f"**Note:** {note}", ""] if note else []),
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
        "every method-specific hyper-parameter is the paper's default except these departures: QCRD's iteration "
        "length S = 50 (paper 100) and j = 3 (paper 5), scaled to the budget; its negatives sampled from the top 20 "
        "tokens (the paper samples untruncated); the judge trained with BCE (paper: eq. 2), from scratch with the "
        "student's encoder architecture (paper: T5-base), updated online on the kit's cadence (see the QCRD config). "
        "How the difficulty and budget were chosen, what the numbers mean and what was investigated: `bench/README.md`.",
        "",
        "## Test accuracy (%), every student kind × seeds",
        "",
        "Label: the answer of the greedy `<Predict>` output; rationale: the answer its greedy `<Explain>` "
        "rationale reaches (– : the method learns no rationale). The ablations (Table 4) are QCRD w/o ED (one "
        "teacher rationale, no self-consistency), w/o NK (no negatives), w/o QJ (no quality judge).",
        "",
        _table(["student", "label test (mean ± std)", "label per seed", "rationale test (mean ± std)",
                "rationale per seed", "label valid (mean ± std)", "selected step per seed",
                "s / step", "× DSS", "train s"], accuracy_rows),
        "",
        "## QCRD against each baseline and ablation (test accuracy points, paired by seed)",
        "",
        "Each seed gives both students the same question order and initialisation, so the unit of evidence is "
        "the seed: a two-level percentile bootstrap (10 000 resamples of seeds, then of test questions within "
        "each drawn seed) and Student's t over the per-seed differences (with 5 seeds the bootstrap over seeds "
        "is the narrower; read the t interval). \"detectable\": the true difference a paired t-test over these "
        "seeds finds with 80 % power, given the per-seed sd.",
        "",
        _table(["comparison", "difference", "95 % CI (bootstrap)", "95 % t-interval", "p", "p (Holm)", "per seed",
                "sd over seeds", "detectable", "seeds"], diff_rows),
        "",
        detectable + " p (Holm): adjusted over the comparisons of this table, the ones a winner would be picked from; "
        "claim a difference only where it is below 0.05.",
        "",
        "## Rationale accuracy: QCRD against each method and ablation that learns rationales (points, paired by seed)",
        "",
        "The answer the greedy `<Explain>` rationale reaches, on the 500 test questions: QCRD minus the other student "
        "of the same seed, Student's t over the per-seed differences, p adjusted by Holm over this table's comparisons. "
        "QCRD learns from the teacher's τ = 0.7 self-consistent samples, QCRD w/o ED from its greedy rationale (the "
        "one DSS, MI and Single-Task learn): QCRD − w/o ED is the effect of the rationale source within QCRD.",
        "",
        _table(["comparison", "difference", "95 % t-interval", "p", "p (Holm)", "per seed", "seeds"], rationale_rows)
        if rationale_rows else "*Fewer than two seeds of QCRD and a method with rationales: no interval over seeds.*",
        "",
        "## Where does QCRD help? QCRD − DSS against the share of training questions (Fig. 4)",
        "",
        "The same seeds' students of both methods on a quarter, a half and all of the training questions "
        "(the same subset for both; `params/sweep-fraction.yaml` on this run; the full set is the table above "
        f"restricted to seeds {', '.join(map(str, FRACTION_SEEDS))}). Plot: `bench/fraction_difference.png`"
        + ("" if not fraction_runs else "; the sweep took " + ", ".join(
            f"`{r['command']}` {r['wall_seconds'] / 60:.1f} min" for r in fraction_runs)
           + " (in parallel, one thread each; not part of the benchmark's wall time)") + ".",
        "",
        _table(["share of training questions", "QCRD − DSS", "95 % CI (bootstrap)", "95 % t-interval", "per seed",
                "seeds"], fraction_rows) if fraction_rows else "*Not run this time (`--no-fraction`).*",
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
    parser.add_argument("--no-fraction", action="store_true", help="skip the training-set-fraction sweep")
    parser.add_argument("--note", help="a sentence on how this measurement was made, shown under the header (kept)")
    args = parser.parse_args()
    out = (REPO / args.out).resolve()
    timings = out / "bench_runs.json"
    command = "python bench/methods.py" + (" --fresh" if args.fresh else "") + \
        (" --no-fraction" if args.no_fraction else "") + ("" if args.out == "outputs/bench" else f" --out {args.out}") \
        + "".join(f" --set {s}" for s in args.set)
    if args.report_only:
        if not timings.exists():
            raise SystemExit(f"{timings} not found: run python bench/methods.py first")
        saved = json.loads(timings.read_text())
    else:
        if args.fresh and out.exists():
            shutil.rmtree(out)
        run_dir = out / "runs" / "bench"
        saved = json.loads(timings.read_text()) if timings.exists() else {}
        saved.update({"date": datetime.date.today().isoformat(), "commit": _git_commit(),
                      "machine": machine_description(), "command": command})
        cold = not run_dir.exists()
        runs = []
        for i, phase in enumerate(PHASES):
            if i == 0 and (judge_dir(run_dir) / "metrics.json").exists():
                print("stages 01-02 finished before: reused", flush=True)
                continue
            if i == len(PHASES) - 1 and not args.no_fraction:      # the sweep's students join the report
                cold_sweep = not any((run_dir / "students").glob("*-f025*"))
                saved["fraction_runs"] = [{**r, "cold": cold_sweep} for r in run_phase(out, FRACTION_PHASE, args.set)]
            runs += [{**r, "cold": cold} for r in run_phase(out, phase, args.set)]
        saved["runs"] = runs
        timings.write_text(json.dumps(saved, indent=1))
    if args.note:
        saved["note"] = args.note
        timings.write_text(json.dumps(saved, indent=1))
    runs = saved["runs"]
    text = results_markdown(out / "runs" / "bench", runs, saved["command"], date=saved.get("date"),
                            commit=saved.get("commit"), machine=saved.get("machine"),
                            fraction_runs=saved.get("fraction_runs", []),
                            figure=None if args.results == "-" else REPO / "bench" / "fraction_difference.png",
                            note=saved.get("note"))
    print(text)
    if args.results != "-":
        path = REPO / args.results
        old = path.read_text() if path.exists() else ""
        if BEGIN_SOURCES in old and END_SOURCES in old:       # the rationale-source section stays
            text = text.rstrip("\n") + "\n\n" + BEGIN_SOURCES + old.split(BEGIN_SOURCES, 1)[1].split(END_SOURCES, 1)[0] \
                + END_SOURCES + "\n"
        path.write_text(text)
        print(f"written to {args.results}")
    wall = phase_wall(runs)
    print(f"wall {wall / 60:.1f} min (target ≤ {TARGET_SECONDS // 60} min)")
    return 0 if wall <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
