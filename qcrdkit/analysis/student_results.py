"""The trained students of one or more runs, as stage 04 (and stage 03's run-level figures) read them: every
current student's ``metrics.json`` and test predictions, its log history, ``<run>/students/summary.json``."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.io import read_json, read_jsonl, write_json
from qcrdkit.training.data import recorded_rationale_source
from qcrdkit.training.run import METHODS, name_tag, summary_fields


def complete_config(method: str, config: dict) -> dict:
    """A ``metrics.json`` config with the fields an older version did not record filled in with
    their defaults, so that students trained before a field existed compare with newer ones."""
    if method not in METHODS:
        return dict(config)
    defaults = {f.name: f.default for f in dataclasses.fields(METHODS[method][0])
                if f.default is not dataclasses.MISSING}
    out = {**{k: defaults[k] for k in summary_fields(METHODS[method][0]) if k in defaults and k not in config},
           **config}
    if out.get("rationale_source") is None and recorded_rationale_source(config):   # recorded as rationale / positives
        out["rationale_source"] = recorded_rationale_source(config)
    return out


UNFINISHED = "unfinished: its training stopped before the end (checkpoints only); run stage 03 again to resume it"


def unfinished_students(run_dir: str | Path) -> list[Path]:
    """The student folders of a run whose training has not finished: no ``metrics.json`` (the run's shared
    ``tokenizer/`` is no student)."""
    folder = Path(run_dir) / "students"
    return sorted(p for p in folder.glob("*") if p.is_dir() and p.name != "tokenizer" and not p.name.startswith(".")
                  and not (p / "metrics.json").exists()) if folder.is_dir() else []


def collect_students(run_dirs, *, left_out: list | None = None) -> tuple[list[dict], dict[tuple[str, str], list[dict]]]:
    """Every trained student under the run directories: its ``metrics.json`` (plus ``run``, the
    run directory's name; ``tag`` and config fields an older file lacks are filled in) and its test predictions,
    keyed ``(run, name)``. A run without students is an error naming it.

    A student whose recorded inputs (``provenance.json``) no longer match its run's files — trained on
    teacher samples or a judge that a later ``replace`` recomputed — is left out, so a table never mixes
    two configurations; ``left_out`` (a list) receives ``(student folder, why)`` for each, and for each student
    folder whose training has not finished (checkpoints, no ``metrics.json``): an interrupted run is analysed
    with its finished students, never a crash."""
    from qcrdkit.core.provenance import read_record, stale_inputs

    students, predictions = [], {}
    for run_dir in [Path(r) for r in run_dirs]:
        paths = sorted((run_dir / "students").glob("*/metrics.json"))
        if not paths:
            raise ConfigError(f"{run_dir / 'students'}: no trained students; run stage 03 for this run_dir first")
        current = [p for p in paths if read_record(p.parent) is None or not stale_inputs(p.parent, run_dir)]
        if not current:
            raise ConfigError(f"{run_dir / 'students'}: every student there was trained on teacher samples or a judge "
                              "that have since been replaced; run stage 03 again for this run_dir")
        if left_out is not None:
            left_out += [(folder, UNFINISHED) for folder in unfinished_students(run_dir)]
        for path in paths:
            stale = [] if path in current else stale_inputs(path.parent, run_dir)
            if stale:
                if left_out is not None:
                    left_out.append((path.parent, f"trained on inputs the run has since replaced ({', '.join(stale)})"))
                continue
            m = read_json(path)
            m = {**m, "run": run_dir.name, "tag": m.get("tag", name_tag(m["name"], m["method"])),
                 "config": complete_config(m["method"], m.get("config", {}))}
            students.append(m)
            pred = path.parent / "test_predictions.jsonl"
            if pred.exists():
                predictions[(run_dir.name, m["name"])] = read_jsonl(pred)
    return students, predictions


def student_histories(run_dir: str | Path) -> dict[str, list[dict]]:
    """``{name: log history}`` of every current student of a run (:func:`collect_students`): what the
    run-level figures of stage 03 are drawn from, whichever invocation trained each student."""
    students, _ = collect_students([run_dir])
    return {s["name"]: read_json(Path(run_dir) / "students" / s["name"] / "history.json") for s in students}


def write_summary(run_dir: str | Path) -> list[dict]:
    """``<run>/students/summary.json``: the ``metrics.json`` of every current student under ``<run>/students/``."""
    current = {s["name"] for s in collect_students([run_dir])[0]}
    folder = Path(run_dir) / "students"
    rows = [read_json(p) for p in sorted(folder.glob("*/metrics.json")) if p.parent.name in current]
    write_json(folder / "summary.json", rows)
    return rows
