"""What each rationale source teaches, beside what the run's students write.

A method learns rationales from one source (stage 03's ``rationale_source``,
:data:`qcrdkit.training.data.RATIONALE_SOURCES`): the teacher's greedy (τ = 0) rationale, its first τ sample,
its self-consistent samples, or the greedy one and the samples. For a few training questions this module
collects what each source would teach (stage 01's reading of each rationale: right or wrong) and the greedy
rationale each student of the run writes for the same question (seed 0, the methods that learn rationales),
so a reader can see where a student's rationale style comes from.

:func:`source_questions` (the teacher side, pure reads), :func:`add_student_rationales` (decodes),
:func:`source_html` (one question as HTML), :func:`source_viewer` (a question dropdown over them). Stage 04
saves the rows to ``report/source_rationales.jsonl``; the dashboard shows them from there.
"""
from __future__ import annotations

import html
import random
from pathlib import Path
from typing import Sequence

from qcrdkit.core.rundir import read_teacher_greedy, read_teacher_samples
from qcrdkit.teacher.consistency import group_by_question
from qcrdkit.training.data import GREEDY_SOURCES, RATIONALE_SOURCES, recorded_rationale_source, source_rationales

SOURCE_TITLES = {"greedy": "greedy (τ = 0)", "one_sample": "one τ sample (the first)",
                 "self_consistent": "self-consistent τ samples", "greedy_and_samples": "greedy + self-consistent samples"}
SAVED = "source_rationales.jsonl"


def source_questions(run_dir: str | Path, n: int, *, seed: int = 0) -> list[dict]:
    """``n`` training questions of the run (a seeded pick) with, per source, the rationales it teaches:
    ``{"id", "question", "gold", "sources": {source: [{"rationale", "correct"}]}}`` (a greedy source only when
    stage 01 took greedy rationales)."""
    records = [r for r in read_teacher_samples(run_dir) if r.get("split", "train") == "train"]
    greedy = {r["id"]: r for r in read_teacher_greedy(run_dir) or []}
    groups = group_by_question(records)
    ids = sorted(groups)
    random.Random(seed).shuffle(ids)
    out = []
    for qid in ids[:n]:
        group = groups[qid]
        correct = {r["rationale"]: r.get("correct") for r in group}
        g = greedy.get(qid)
        if g is not None:
            correct[g["rationale"]] = g.get("correct")
        samples, positives = [r["rationale"] for r in group], [r["rationale"] for r in group if r.get("positive")]
        sources = {s: [{"rationale": t, "correct": correct.get(t)}
                       for t in source_rationales(s, g and g["rationale"], samples, positives)]
                   for s in RATIONALE_SOURCES if g is not None or s not in GREEDY_SOURCES}
        gold = group[0].get("gold", "")
        out.append({"id": qid, "question": group[0].get("question", ""), "sources": sources,
                    "gold": f"{gold:g}" if isinstance(gold, float) else str(gold)})
    return out


def rationale_students(students: Sequence[dict], run_name: str, most: int = 8) -> list[dict]:
    """The run's students of seed 0 that learn rationales (untagged first), at most ``most``."""
    part = [s for s in students if s.get("run") == run_name and s.get("seed", 0) == 0
            and recorded_rationale_source(s.get("config") or {}) is not None]
    return sorted(part, key=lambda s: (bool(s.get("tag")), s["name"]))[:most]


def add_student_rationales(rows: list[dict], run_dir: str | Path, students: Sequence[dict], task, examples: dict,
                           *, max_new_tokens: int = 128) -> list[dict]:
    """Each row gains ``students``: per student name its greedy rationale on the question (``<Explain> x``;
    Single-Task: its output before "So the answer is"), the answer it reaches, whether that is right, and the
    source the student learnt from."""
    from qcrdkit.students import build_student
    from qcrdkit.students.models import explain_input, generate_texts
    from qcrdkit.tasks import split_answer

    for row in rows:
        row.setdefault("students", {})
    for s in students:
        model, tok = build_student(str(Path(run_dir) / "students" / s["name"]))
        single = s["method"] == "single_task"
        inputs = [row["question"] if single else explain_input(row["question"]) for row in rows]
        texts = [t[0] for t in generate_texts(model, tok, inputs, max_new_tokens=max_new_tokens)]
        for row, text in zip(rows, texts):
            text = split_answer(text)[0] if single else text
            answer, correct = task.rationale_outcome(text, examples[row["id"]])
            row["students"][s["name"]] = {"rationale": text, "answer": answer, "correct": bool(correct),
                                          "source": recorded_rationale_source(s.get("config") or {})}
    return rows


def source_summary(rows: Sequence[dict]):
    """Per source and per student: how many of the rows' rationales reach the right answer (a display table)."""
    import pandas as pd

    def right(items):
        read = [i["correct"] for i in items if i["correct"] is not None]
        return f"{sum(read)} / {len(read)}" if read else "–"

    table = [{"what": f"source: {SOURCE_TITLES[s]}", "rationales right": right([i for r in rows for i in r["sources"][s]])}
             for s in RATIONALE_SOURCES if rows and s in rows[0]["sources"]]
    written: dict[str, list[dict]] = {}
    for r in rows:
        for name, s in r.get("students", {}).items():
            written.setdefault(name, []).append(s)
    table += [{"what": f"student {n} (learnt from: {items[0]['source']})", "rationales right": right(items)}
              for n, items in written.items()]
    return pd.DataFrame(table).set_index("what") if table else pd.DataFrame()


def _mark(correct) -> str:
    if correct is None:
        return "<span title='not read'>?</span>"
    return "<span style='color:#1a7f37'>✓</span>" if correct else "<span style='color:#cf222e'>✗</span>"


def source_html(row: dict) -> str:
    """One question: each source's rationales, then each student's (pure; the viewer shows it)."""
    parts = [f"<div class='qcrd-sources'><p><b>Question.</b> {html.escape(row['question'])}<br>"
             f"<b>Gold answer:</b> {html.escape(row['gold'])}</p><table><thead><tr><th style='text-align:left'>"
             "what it is</th><th style='text-align:left'>rationale</th><th>right?</th></tr></thead><tbody>"]
    for source, items in row["sources"].items():
        for i, item in enumerate(items or [{"rationale": "", "correct": None}]):
            head = f"<b>source: {html.escape(SOURCE_TITLES.get(source, source))}</b>" if i == 0 else ""
            text = html.escape(item["rationale"]) or "<i>(none: a one-rationale method takes the first sample)</i>"
            parts.append(f"<tr><td style='text-align:left'>{head}</td><td class='qcrd-rationale' "
                         f"style='text-align:left'>{text}</td><td>{_mark(item['correct'])}</td></tr>")
    for name, s in row.get("students", {}).items():
        learnt = SOURCE_TITLES.get(s.get("source"), s.get("source") or "?")
        parts.append(f"<tr><td style='text-align:left'><b>student {html.escape(name)}</b><br><small>learnt from: "
                     f"{html.escape(learnt)}</small></td><td class='qcrd-rationale' style='text-align:left'>"
                     f"{html.escape(s['rationale']) or '<i>(empty)</i>'}</td><td>{_mark(s['correct'])}</td></tr>")
    return "".join(parts) + "</tbody></table></div>"


def source_viewer(rows: Sequence[dict]):
    """A question dropdown over :func:`source_html` (an ``HTML`` view: its last state is kept in a saved notebook)."""
    import ipywidgets as w

    rows = list(rows)
    by_id = {r["id"]: r for r in rows}
    view = w.HTML(source_html(rows[0]) if rows else "<i>no training question with teacher samples</i>")
    question = w.Dropdown(options=[(f"{r['id']}: {r['question'][:60]}", r["id"]) for r in rows],
                          description="question", layout=w.Layout(width="95%"))
    question.observe(lambda change: setattr(view, "value", source_html(by_id[change["new"]])), names="value")
    box = w.VBox([question, view])
    box.question, box.view = question, view
    return box
