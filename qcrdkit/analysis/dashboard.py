"""The dashboard of one run: what stage 04 saved, read back — nothing is re-analysed on a page load.

``qcrd dashboard RUN`` (``make dashboard RUN=...``) serves ``notebooks/dashboard.ipynb`` with Voilà;
its one code cell calls :func:`show_run`, which shows

* the report's tables and figures (``<run>/report/tables.md`` and its PNGs, as stage 04 wrote them);
* the temperature case study over the student stage 04 studied, its saved samples pre-loaded (a new
  temperature or question samples the student then, a few generations);
* the rationale explorer over the run's teacher and student samples, with a download of the selection.

A run that is missing, or that stage 04 has not analysed yet, gets a message in the page saying what is
there and the command that finishes it (:func:`run_status`), not a traceback.
"""
from __future__ import annotations

import re
from pathlib import Path

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.io import read_json, read_jsonl
from qcrdkit.core.rundir import judge_dir
from qcrdkit.analysis.sources import SAVED as SOURCES_SAVED


#: the run the four notebooks default to (their ``run_dir``), and so the dashboard's
DEFAULT_RUN = "interactive"


def locate_run(run: str | Path | None, outputs_dir: str | Path = "outputs") -> Path:
    """A run given as a folder, or as a run id under ``<outputs_dir>/runs``; ``None``: ``$QCRD_RUN_DIR``, else
    :data:`DEFAULT_RUN` — the run the notebooks make by default. A run that does not exist is returned as the path
    it would have, for :func:`run_status` to describe."""
    import os

    from qcrdkit.core.paths import project_path

    run = run if run is not None else os.environ.get("QCRD_RUN_DIR") or DEFAULT_RUN
    path = project_path(run)
    if path.is_dir() or "/" in str(run) or str(run).startswith("."):
        return path
    return project_path(outputs_dir) / "runs" / str(run)


def shown_path(path: str | Path) -> str:
    """A path as the page shows it: relative to the project folder, or only its last two names — never the
    server's absolute paths (the page may be served to a class)."""
    from qcrdkit.core.paths import project_dir

    path = Path(path)
    try:
        return str(path.resolve().relative_to(project_dir()))
    except (ValueError, OSError):
        return str(Path("…", *path.parts[-2:]))


def run_status(run_dir: str | Path) -> tuple[bool, str]:
    """``(ready, message)``: whether stage 04 has written the run's report, and if not, what the run
    has and how to finish it (Markdown); a report stage 04 did not finish is ready with a message saying so."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        runs = sorted(p.name for p in run_dir.parent.glob("*") if p.is_dir()) if run_dir.parent.is_dir() else []
        known = f" Runs under `{shown_path(run_dir.parent)}`: {', '.join(f'`{r}`' for r in runs)}." if runs else ""
        return False, (f"**No run at `{shown_path(run_dir)}`.**{known} Make one with `make demo` (or `qcrd run --params "
                       "params/demo.yaml`), then open the dashboard again.")
    if (run_dir / "report" / "summary.json").exists() and (run_dir / "report" / "tables.md").exists():
        if read_json(run_dir / "report" / "summary.json").get("complete") is False:
            return True, ("**A partial report**: stage 04 stopped before the end of its analysis, so some sections "
                          "below may be missing. Run notebook 04 (or `qcrd run`) on this run again to complete it.")
        return True, ""
    stages = [("01 teacher sampling", (run_dir / "teacher" / "samples.jsonl").exists()),
              ("02 judge", (judge_dir(run_dir) / "metrics.json").exists()),
              ("03 students", any((run_dir / "students").glob("*/metrics.json"))),
              ("04 analysis", False)]
    done = ", ".join(f"{name} {'✓' if ok else '–'}" for name, ok in stages)
    params = run_dir / "params.yaml"
    how = (f"`qcrd run --params {shown_path(params)}` finishes it (finished stages are reused)" if params.exists()
           else f"run notebook 04 with `run_dir = \"{shown_path(run_dir)}\"`")
    return False, f"**The run `{run_dir.name}` has no report yet** ({done}): {how}, then reload this page."


def report_sections(run_dir: str | Path) -> list[tuple[str, str]]:
    """``<run>/report/tables.md`` cut into ``("markdown", text)`` and ``("figure", path)`` parts, in order."""
    folder = Path(run_dir) / "report"
    text = (folder / "tables.md").read_text(encoding="utf-8")
    parts: list[tuple[str, str]] = []
    for block in re.split(r"\n(?=## |!\[)", text):
        image = re.match(r"!\[(.*?)\]\((.*?)\)\s*(.*)", block, re.S)
        if image:
            parts.append(("figure", str(folder / image.group(2))))
            if image.group(3).strip():
                parts.append(("markdown", image.group(3).strip()))
        elif block.strip():
            parts.append(("markdown", block.strip()))
    return parts


def saved_case_study(run_dir: str | Path, task, *, judge=None, judge_tokenizer=None):
    """The temperature study of stage 04's student with its saved samples pre-loaded (``None`` when stage 04
    recorded no case study)."""
    from qcrdkit.students import build_student
    from qcrdkit.analysis.casestudy import TemperatureStudy

    run_dir = Path(run_dir)
    summary = read_json(run_dir / "report" / "summary.json")
    case = summary.get("case_study")
    if not case:
        return None
    spec = read_json(run_dir / "task.json")
    examples = {ex.id: ex for ex in task.load("test", data_dir=spec.get("data_dir"))}
    model, tok = build_student(str(run_dir / "students" / case["student"]))
    study = TemperatureStudy(model, tok, task, [examples[q] for q in case["question_ids"]], judge=judge,
                             judge_tokenizer=judge_tokenizer, samples_per_temperature=case["samples_per_temperature"],
                             seed=case["seed"])
    samples = run_dir / "report" / "student_samples.jsonl"
    if samples.exists():
        study.preload([r for r in read_jsonl(samples) if r.get("student") == case["student"]])
    return study, case


def show_run(run_dir: str | Path | None = None) -> bool:
    """Display the run's dashboard in the notebook (see module doc); ``False`` (after a message) when the run
    is missing or not analysed yet."""
    from IPython.display import Image, Markdown, display

    try:
        run_dir = locate_run(run_dir)
    except ConfigError as exc:
        from qcrdkit.core.paths import project_dir

        display(Markdown(f"**No run to show.** {str(exc).replace(str(project_dir()) + '/', '')}"))
        return False
    ready, message = run_status(run_dir)
    if not ready:
        display(Markdown(message))
        return False
    if message:                                          # a partial report: shown, and said so first
        display(Markdown(message))
    display(Markdown(f"# Run `{run_dir.name}`\n\n`{shown_path(run_dir)}` — the report stage 04 wrote; the widgets "
                     "below read the run's saved samples."))
    for kind, value in report_sections(run_dir):
        if kind == "figure":
            if Path(value).exists():
                display(Image(filename=value))
        else:
            display(Markdown(value))
    from qcrdkit.tasks import load_task
    from qcrdkit.analysis.explorer import load_rationales
    from qcrdkit.analysis.judging import run_judges
    from qcrdkit.analysis.widgets import rationale_explorer, temperature_widget

    task, _ = load_task(run_dir)
    case = read_json(run_dir / "report" / "summary.json").get("case_study") or {}
    judges = run_judges(run_dir, case["student"]) if case else {}
    judge, judge_tok = next(iter(judges.values())) if judges else (None, None)      # the one stage 04 scored with
    saved = saved_case_study(run_dir, task, judge=judge, judge_tokenizer=judge_tok)
    if saved is not None:
        study, case = saved
        display(Markdown(f"## Case study: student `{case['student']}` as the temperature rises"))
        display(temperature_widget(study, temperature=case["temperature"], question_ids=case["question_ids"]))
    sources = run_dir / "report" / SOURCES_SAVED
    if sources.exists():
        from qcrdkit.analysis.sources import source_viewer

        display(Markdown("## What each rationale source teaches, beside what the students wrote"))
        display(source_viewer(read_jsonl(sources)))
    display(Markdown("## Explore every rationale"))
    display(rationale_explorer(load_rationales(run_dir), export_name=f"{run_dir.name}-selection.jsonl"))
    return True
