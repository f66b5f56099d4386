"""Rationale-source decomposition: does QCRD's rationale gap come from its loss or from what it learns from?

The paper's DSS learns the teacher's greedy rationale; its QCRD learns the teacher's self-consistent τ samples.
This benchmark crosses the two: DSS and QCRD, each on the greedy rationale and on the self-consistent samples
(stage 03's ``rationale_source``), five seeds, on the method benchmark's run (``params/bench.yaml``: same
teacher, judge, student preset, steps, data order per seed). Beyond the paper (``--no-beyond`` skips it): QCRD
with the greedy rationale among its positives (``greedy_and_samples``).

A cell (method × source) is filled by any student of the run whose recorded config differs from the method's
benchmark config only in its source (``qcrdkit.analysis.tables``' "Rationale source" sweep, one student per
experiment): ``bench/methods.py``'s DSS (greedy), QCRD (samples) and QCRD w/o ED (greedy) are three of the four
cells, so after it (same ``--out``) only the missing cells train. The missing ones run as
``qcrd run --params params/sweep-source.yaml --base params/bench.yaml`` with one variant per source (the
students are ``<method>-greedy``, ``-samples``, ``-both``); the sources go in two parallel lanes (one torch
thread each), a source never in both at once.

Reports per cell label and rationale test accuracy (mean ± std, per seed), and, paired by seed with a 95 % t
interval over seeds and Holm-adjusted p over the comparisons of each table: QCRD − DSS on each source, the
source effect (samples − greedy) within each method, and the beyond-the-paper variant against QCRD and DSS.
The section goes into ``bench/RESULTS.md`` between markers (``bench/methods.py`` keeps it when it rewrites the
file).

Usage::

    python bench/sources.py [--out outputs/bench] [--fresh] [--no-beyond] [--results bench/RESULTS.md]
    python bench/sources.py --report-only

Target: within the method benchmark's 90 minutes on the 2-core CI machine (fresh: stages 01-02 and the four
cells plus the variant; after ``bench/methods.py``: the missing cells only).
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from _monitor import machine_description
from methods import BEGIN_SOURCES, END_SOURCES, PHASES, _git_commit, phase_wall, run_phase

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from qcrdkit.core.rundir import judge_dir  # noqa: E402

#: source → the sweep variant (and student tag) that trains it
TAGS = {"greedy": "greedy", "self_consistent": "samples", "greedy_and_samples": "both"}
CORE = [("dss", "greedy"), ("dss", "self_consistent"), ("qcrd", "greedy"), ("qcrd", "self_consistent")]
BEYOND = [("qcrd", "greedy_and_samples")]
#: a student's training cost relative to DSS (bench/RESULTS.md: QCRD 2.74 x DSS per step, w/o ED 2.25)
COST = {("dss", s): 1.0 for s in TAGS} | {("qcrd", "greedy"): 2.25, ("qcrd", "self_consistent"): 2.74,
                                          ("qcrd", "greedy_and_samples"): 2.74}
SEEDS = [0, 1, 2, 3, 4]
NAMES = {"dss": "DSS", "qcrd": "QCRD", "greedy": "greedy", "self_consistent": "samples",
         "greedy_and_samples": "greedy + samples"}


def cells(students: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """``{(method, source): students}``: per method, the students whose configs agree in everything but the
    source and the seed (on the config fields all its students record: a field added since an older student
    was trained is left out), the largest such group (the benchmark's settings); one student per experiment
    (a seed's second student of the same cell, e.g. w/o ED beside qcrd-greedy, is left out)."""
    from qcrdkit.analysis.tables import SOURCE_FIELDS
    from qcrdkit.training.data import recorded_rationale_source

    out = {}
    for method in ("dss", "qcrd"):
        part = [s for s in students if s["method"] == method and recorded_rationale_source(s.get("config") or {})]
        if not part:
            continue
        shared = set.intersection(*(set(s["config"]) for s in part)) - set(SOURCE_FIELDS) - {"seed"}
        groups: dict[str, dict] = {}
        for s in sorted(part, key=lambda s: (bool(s.get("tag")), s["name"])):
            rest = json.dumps({k: s["config"][k] for k in sorted(shared)}, sort_keys=True)
            groups.setdefault(rest, {}).setdefault((recorded_rationale_source(s["config"]), s["seed"]), s)
        largest = max(groups.values(), key=len)
        for (source, _), s in sorted(largest.items(), key=lambda kv: kv[0][1]):
            out.setdefault((method, source), []).append(s)
    return out


def missing(students: list[dict], wanted: list[tuple[str, str]]) -> dict[str, list[str]]:
    """``{source: methods}``: the cells short of the five seeds."""
    have = cells(students)
    by_source: dict[str, list[str]] = {}
    for method, source in wanted:
        if not set(SEEDS) <= {s["seed"] for s in have.get((method, source), [])}:
            by_source.setdefault(source, []).append(method)
    return by_source


def run_args(source: str, methods: list[str]) -> list[str]:
    """The ``qcrd run`` that trains ``methods`` on ``source`` (five seeds) on the benchmark's run."""
    return ["--params", "params/sweep-source.yaml", "--base", "params/bench.yaml", "--set", "stages=[03_training]",
            "--set", f"03_training.seeds={SEEDS}",
            "--set", f"sweep.variants={{{TAGS[source]}: {{methods: [{', '.join(methods)}], rationale_source: {source}}}}}"]


def lanes(todo: dict[str, list[str]]) -> list[list[str]]:
    """The sources in two lanes of about equal estimated cost (the costliest first); a source in one lane only."""
    cost = {s: sum(COST[(m, s)] for m in ms) for s, ms in todo.items()}
    out: list[list[str]] = [[], []]
    load = [0.0, 0.0]
    for source in sorted(todo, key=cost.get, reverse=True):
        i = int(np.argmin(load))
        out[i].append(source)
        load[i] += cost[source]
    return [lane for lane in out if lane]


def comparisons(have: dict, beyond: bool) -> list[tuple[str, tuple, tuple]]:
    pairs = [("QCRD − DSS, both on the greedy rationale", ("qcrd", "greedy"), ("dss", "greedy")),
             ("QCRD − DSS, both on the self-consistent samples", ("qcrd", "self_consistent"), ("dss", "self_consistent")),
             ("DSS: samples − greedy (the source effect)", ("dss", "self_consistent"), ("dss", "greedy")),
             ("QCRD: samples − greedy (the source effect; QCRD − w/o ED)", ("qcrd", "self_consistent"), ("qcrd", "greedy")),
             ("QCRD (paper's source) − DSS (paper's source)", ("qcrd", "self_consistent"), ("dss", "greedy"))]
    if beyond:
        pairs += [("QCRD greedy + samples − QCRD samples", ("qcrd", "greedy_and_samples"), ("qcrd", "self_consistent")),
                  ("QCRD greedy + samples − DSS greedy", ("qcrd", "greedy_and_samples"), ("dss", "greedy"))]
    return [p for p in pairs if p[1] in have and p[2] in have]


def results_markdown(run_dir: Path, saved: dict, beyond: bool) -> str:
    import pandas as pd

    from qcrdkit import analysis
    from qcrdkit.analysis.report import markdown_table
    from qcrdkit.analysis.student_results import collect_students

    students, _ = collect_students([run_dir])
    have = cells(students)
    lines = [BEGIN_SOURCES, "## Rationale source × method: is QCRD's rationale gap its loss or its source?", "",
             f"`{saved['command']}`, {saved['date']}, commit {saved['commit']}; {saved['machine']}."]
    if saved.get("note"):
        lines += ["", f"**Note:** {saved['note']}"]
    if saved.get("runs"):
        lines += ["", f"Trained here: {phase_wall(saved['runs']) / 60:.1f} min wall; " + "; ".join(
            f"`{r['command']}` {r['wall_seconds'] / 60:.1f} min, peak {r['peak_rss_gb']} GB" for r in saved["runs"]) + "."]
    lines += ["", "Each cell's students (seeds 0-4): the method benchmark's run and settings, only the rationale source "
              "changed; a cell's students may come from `bench/methods.py` (DSS, QCRD, QCRD w/o ED) or from this "
              "script (the student names say which). Label: the answer of the greedy `<Predict>` output; rationale: the "
              "answer its greedy `<Explain>` rationale reaches; 500 test questions, checkpoint selected on valid.", ""]
    rows = []
    for (m, s), part in sorted(have.items(), key=lambda kv: (kv[0][0], list(TAGS).index(kv[0][1]))):
        part = sorted(part, key=lambda x: x["seed"])
        label = [100 * x["test_accuracy"] for x in part]
        rationale = [100 * x["test_rationale_accuracy"] for x in part]
        rows.append([NAMES[m], NAMES[s], f"{np.mean(label):.1f} ± {np.std(label, ddof=1):.1f}",
                     f"{np.mean(rationale):.1f} ± {np.std(rationale, ddof=1):.1f}", ", ".join(f"{x:.1f}" for x in rationale),
                     len(part), ", ".join(x["name"] for x in part[:1]) + (", …" if len(part) > 1 else "")])
    lines += [markdown_table(pd.DataFrame(rows, columns=["method", "learns from", "label test (mean ± std)",
                                                          "rationale test (mean ± std)", "rationale per seed", "seeds",
                                                          "students"])), ""]
    for key, title in (("test_rationale_accuracy", "Rationale accuracy"), ("test_accuracy", "Label accuracy")):
        table, ps = [], []
        for name, a, b in comparisons(have, beyond):
            ka = {x["seed"]: x[key] for x in have[a]}
            kb = {x["seed"]: x[key] for x in have[b]}
            common = sorted(set(ka) & set(kb))
            if len(common) < 2:
                continue
            per_seed = [ka[k] - kb[k] for k in common]
            low, high, p = analysis.seed_t_interval(per_seed)
            ps.append(p)
            table.append([name, f"{100 * np.mean(per_seed):+.1f}", f"[{100 * low:+.1f}, {100 * high:+.1f}]", f"{p:.3f}",
                          None, ", ".join(f"{100 * x:+.1f}" for x in per_seed), len(common)])
        for row, p_holm in zip(table, analysis.holm(ps)):
            row[4] = f"{p_holm:.3f}"
        lines += [f"**{title}, differences in points** (paired by seed; 95 % t interval over seeds; p adjusted by "
                  "Holm over this table's comparisons):", "",
                  markdown_table(pd.DataFrame(table, columns=["comparison", "difference", "95 % t-interval", "p",
                                                               "p (Holm)", "per seed", "seeds"])), ""]
    return "\n".join(lines + [END_SOURCES]) + "\n"


def write_section(path: Path, section: str) -> None:
    """Put the section into ``path`` between its markers (replacing an older one; appended when absent)."""
    text = path.read_text() if path.exists() else ""
    if BEGIN_SOURCES in text and END_SOURCES in text:
        head, rest = text.split(BEGIN_SOURCES, 1)
        text = head + section.rstrip("\n") + rest.split(END_SOURCES, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="outputs/bench", help="outputs folder (runs/bench and caches; bench/methods.py's)")
    parser.add_argument("--fresh", action="store_true", help="delete --out first (a cold, fully measured run)")
    parser.add_argument("--no-beyond", action="store_true", help="skip QCRD on greedy + samples (beyond the paper)")
    parser.add_argument("--results", default="bench/RESULTS.md", help="where the section goes ('-': print only)")
    parser.add_argument("--report-only", action="store_true", help="no training: the tables from a finished --out")
    parser.add_argument("--note", help="a sentence on how this measurement was made (kept)")
    args = parser.parse_args()
    out = (REPO / args.out).resolve()
    run_dir, timings = out / "runs" / "bench", out / "sources_runs.json"
    saved = json.loads(timings.read_text()) if timings.exists() else {}
    wanted = CORE + ([] if args.no_beyond else BEYOND)
    if not args.report_only:
        from qcrdkit.analysis.student_results import collect_students

        if args.fresh and out.exists():
            shutil.rmtree(out)
        saved = {"date": datetime.date.today().isoformat(), "commit": _git_commit(), "machine": machine_description(),
                 "command": "python bench/sources.py" + (" --fresh" if args.fresh else "")
                 + (" --no-beyond" if args.no_beyond else "") + ("" if args.out == "outputs/bench" else f" --out {args.out}"),
                 "runs": []}
        if not (judge_dir(run_dir) / "metrics.json").exists():
            saved["runs"] += run_phase(out, PHASES[0], [])
        todo = missing(collect_students([run_dir])[0] if run_dir.exists() else [], wanted)
        plan = lanes(todo)
        for i in range(max((len(lane) for lane in plan), default=0)):       # the lanes side by side, step by step
            saved["runs"] += run_phase(out, [run_args(lane[i], todo[lane[i]]) for lane in plan if i < len(lane)], [])
        timings.write_text(json.dumps(saved, indent=1))
    elif not saved:
        raise SystemExit(f"{timings} not found: run python bench/sources.py first")
    if args.note:
        saved["note"] = args.note
        timings.write_text(json.dumps(saved, indent=1))
    section = results_markdown(run_dir, saved, not args.no_beyond)
    print(section)
    if args.results != "-":
        write_section(REPO / args.results, section)
        print(f"written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
