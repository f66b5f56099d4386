"""Every rationale of a run in one table, to look through, filter and export (the data layer of
:class:`qcrdkit.widgets.RationaleExplorer`; pure functions, no widgets).

A row is one rationale: the teacher's samples (stage 01) with their self-consistency side and the
judge's score (stage 02, ``judge/teacher_scores.jsonl``), and once stage 04 ran the
students' samples per student and temperature (``report/student_samples.jsonl``). Columns:

``source`` ("teacher" or "student <name>"), ``split``, ``question_id``, ``question``,
``temperature``, ``sample_index``, ``rationale``, ``answer``, ``gold``, ``correct`` (the answer vs
gold), ``side`` ("positive" / "negative" by self-consistency; teacher only), ``score`` (the judge's
quality score), ``judge`` (which judge gave it: "stage 02", or "online" — a QCRD student's judge at the end of
its training, which stage 04 scores the student's samples with), ``judge_trained_on`` (the judge was pretrained on this rationale, so its score is
optimistic), ``analysis_only`` (a test-split rationale: never used for training).

The judge's mistakes are where it disagrees with the evidence: :func:`disagreement` is the gap
between its score and 1 for a rationale that reaches the gold answer, 0 for one that does not; sorting
by it puts the most confident mistakes first.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from qcrdkit.core.io import iter_jsonl
from qcrdkit.core.rundir import judge_dir

COLUMNS = ["source", "split", "question_id", "question", "temperature", "sample_index", "rationale", "answer", "gold",
           "correct", "side", "score", "judge", "judge_trained_on", "analysis_only"]
SORTS = {"score (high first)": ("score", False), "score (low first)": ("score", True),
         "judge vs evidence (mistakes first)": ("disagreement", False), "question": ("question_id", True)}


def teacher_rows(records: Sequence[dict], scores: dict[str, dict] | None = None) -> list[dict]:
    """Rows of the teacher's samples (``teacher/samples.jsonl`` records); ``scores``:
    ``"<id>#<sample_index>"`` → ``{"score", "judge_trained_on"}``."""
    scores = scores or {}
    rows = []
    for r in records:
        s = scores.get(f"{r['id']}#{r['sample_index']}", {})
        positive = r.get("positive")
        rows.append({"source": "teacher", "split": r["split"], "question_id": r["id"], "question": r["question"],
                     "temperature": r.get("temperature"), "sample_index": r["sample_index"],
                     "rationale": r.get("rationale") or "", "answer": r.get("answer"), "gold": r.get("gold"),
                     "correct": bool(r.get("correct")),
                     "side": None if positive is None else ("positive" if positive else "negative"),
                     "score": s.get("score"), "judge": "stage 02" if s.get("score") is not None else None,
                     "judge_trained_on": bool(s.get("judge_trained_on", False)),
                     "analysis_only": bool(r.get("analysis_only") or r["split"] == "test")})
    return rows


def student_rows(samples: Sequence[dict]) -> list[dict]:
    """Rows of students' samples (``report/student_samples.jsonl``: ``student``, ``question_id``,
    ``question``, ``temperature``, ``index``, ``rationale``, ``answer``, ``gold``, ``correct``, ``score``)."""
    return [{"source": f"student {s['student']}", "split": s.get("split", "test"), "question_id": s["question_id"],
             "question": s.get("question", ""), "temperature": s.get("temperature"), "sample_index": s.get("index", 0),
             "rationale": s.get("rationale") or "", "answer": s.get("answer"), "gold": s.get("gold"),
             "correct": bool(s.get("correct")), "side": None, "score": s.get("score"),
             "judge": s.get("judge", "stage 02"), "judge_trained_on": False,
             "analysis_only": True} for s in samples]


def rationale_table(rows: Sequence[dict]):
    """The rows as a DataFrame with :data:`COLUMNS` and ``disagreement``."""
    import pandas as pd

    df = pd.DataFrame(list(rows), columns=COLUMNS)
    df["disagreement"] = disagreement(df)
    return df


def load_rationales(run_dir: str | Path):
    """Every rationale a run has so far (:func:`rationale_table` of its teacher and student samples)."""
    run_dir = Path(run_dir)
    records = [r for _, r in iter_jsonl(run_dir / "teacher" / "samples.jsonl")]
    scores_path = judge_dir(run_dir) / "teacher_scores.jsonl"
    scores = {r["key"]: r for _, r in iter_jsonl(scores_path)} if scores_path.exists() else {}
    rows = teacher_rows(records, scores)
    students_path = run_dir / "report" / "student_samples.jsonl"
    if students_path.exists():
        rows += student_rows([r for _, r in iter_jsonl(students_path)])
    return rationale_table(rows)


def disagreement(df) -> "np.ndarray":
    """How far the judge's score is from the evidence: ``|score − 1[the rationale reaches the gold answer]|``;
    NaN unscored. The gold answer, not the self-consistency side: a positive of a wrong majority that the
    judge scores low is the judge being right (on the demo run, 11 of the top 20 rows are real mistakes of the
    judge by the synthetic LLM judge's soundness rule with this target, 1 of 20 with the side as target)."""
    return np.abs(df["score"].astype(float) - df["correct"].astype(bool).astype(float))


def select(df, *, split: str | None = None, source: str | None = None, correct: bool | None = None,
           side: str | None = None, score_range: tuple[float, float] | None = None, text: str | None = None,
           unread: bool | None = None):
    """The rows matching every given filter (``None``: no filter). ``text``: case-insensitive, in
    the rationale or the question. Unscored rows drop out of a ``score_range`` filter. ``unread``: the rows whose
    answer the kit could not read (``True``; they are among the wrong ones) or could (``False``)."""
    mask = np.ones(len(df), dtype=bool)
    if split:
        mask &= df["split"].eq(split).to_numpy()
    if source:
        mask &= df["source"].eq(source).to_numpy()
    if correct is not None:
        mask &= df["correct"].astype(bool).eq(bool(correct)).to_numpy()
    if side:
        mask &= df["side"].eq(side).to_numpy()
    if unread is not None:
        mask &= df["answer"].isna().eq(bool(unread)).to_numpy()
    if score_range is not None:
        low, high = score_range
        mask &= df["score"].astype(float).between(low, high).to_numpy()
    if text:
        needle = text.lower()
        mask &= (df["rationale"].str.lower().str.contains(needle, regex=False)
                 | df["question"].str.lower().str.contains(needle, regex=False)).to_numpy()
    return df[mask]


def sort_rows(df, by: str = "judge vs evidence (mistakes first)"):
    """``df`` sorted by one of :data:`SORTS` (unscored rows last)."""
    if by not in SORTS:
        raise ValueError(f"sort must be one of {list(SORTS)}, got {by!r}")
    column, ascending = SORTS[by]
    keys = [column] + (["sample_index"] if column == "question_id" else [])
    return df.sort_values(keys, ascending=ascending, na_position="last", kind="stable")


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


def highlight_numbers(text: str) -> str:
    """HTML-escaped ``text`` with every number in ``<mark>``."""
    return _NUMBER.sub(lambda m: f"<mark>{m.group()}</mark>", html.escape(str(text)))


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _number_text(value, fmt: str) -> str:
    return "–" if _missing(value) else format(float(value), fmt)


def _answer_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def question_html(df, question_id: str) -> str:
    """One question with all its rationales side by side (teacher samples, then each student's, by
    temperature), numbers highlighted, each with its answer, right/wrong, side and score."""
    part = df[df["question_id"] == question_id]
    if part.empty:
        return f"<p class='qcrd-question'>No rationales for question {html.escape(str(question_id))}.</p>"
    first = part.iloc[0]
    cells = []
    for _, r in part.sort_values(["source", "temperature", "sample_index"], na_position="first").iterrows():
        colour = "#1a7f37" if r["correct"] else "#cf222e"
        score = _number_text(r["score"], ".3f")
        temperature = "" if _missing(r["temperature"]) else f" · τ={_number_text(r['temperature'], 'g')}"
        side = f" · {r['side']}" if isinstance(r["side"], str) else ""
        trained = " · judge trained on it" if r["judge_trained_on"] else ""
        cells.append(f"<div class='qcrd-card' style='border:1px solid #ccc;border-radius:6px;padding:6px;margin:4px;"
                     f"width:30%;min-width:220px;display:inline-block;vertical-align:top'>"
                     f"<div style='font-size:85%;color:#555'>{html.escape(r['source'])}{temperature} · #{int(r['sample_index'])}"
                     f"{side}{trained}</div><div>{highlight_numbers(r['rationale']) or '<i>(empty)</i>'}</div>"
                     f"<div>answer <b>{html.escape(_answer_text(r['answer']))}</b> "
                     f"<span style='color:{colour}'>{'✓' if r['correct'] else '✗'}</span> · score {score}</div></div>")
    return (f"<div class='qcrd-question' data-question='{html.escape(str(question_id))}'>"
            f"<p><b>{html.escape(str(question_id))}</b> ({html.escape(str(first['split']))}): "
            f"{highlight_numbers(first['question'])}<br><b>Gold answer:</b> {html.escape(_answer_text(first['gold']))}"
            f" · {len(part)} rationales</p>" + "".join(cells) + "</div>")


def rows_html(df, limit: int = 20) -> str:
    """The first ``limit`` rows of a selection as an HTML table."""
    head = df.head(limit)
    body = "".join(
        f"<tr><td>{html.escape(str(r['question_id']))}</td><td>{html.escape(r['source'])}</td>"
        f"<td>{_number_text(r['temperature'], 'g')}</td>"
        f"<td style='text-align:left'>{highlight_numbers(r['rationale'][:220])}</td>"
        f"<td>{html.escape(_answer_text(r['answer']))}</td><td>{'✓' if r['correct'] else '✗'}</td>"
        f"<td>{r['side'] if isinstance(r['side'], str) else '–'}</td>"
        f"<td>{_number_text(r['score'], '.3f')}</td></tr>"
        for _, r in head.iterrows())
    return (f"<p class='qcrd-count'>{len(df)} rationales selected (first {len(head)} shown)</p>"
            "<table class='qcrd-rows'><thead><tr><th>question</th><th>source</th><th>τ</th>"
            "<th style='text-align:left'>rationale</th><th>answer</th><th>right</th><th>SC side</th><th>score</th>"
            f"</tr></thead><tbody>{body}</tbody></table>")


def selection_text(df, fmt: str = "jsonl") -> str:
    """A selection as JSON Lines (``fmt="jsonl"``) or CSV text, without the ``disagreement`` helper column."""
    out = df.drop(columns=["disagreement"], errors="ignore")
    if fmt == "csv":
        return out.to_csv(index=False)
    if fmt in ("jsonl", "json"):
        return "".join(json.dumps({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()},
                                  default=str) + "\n" for record in out.to_dict(orient="records"))
    raise ValueError(f"export to .jsonl or .csv, got {fmt!r}")


def export_rows(df, path: str | Path) -> Path:
    """Write a selection to ``.jsonl`` or ``.csv`` (by the file name)."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".jsonl", ".json"):
        raise ValueError(f"{path}: export to .jsonl or .csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(selection_text(df, path.suffix.lower().lstrip(".")), encoding="utf-8")
    return path


def download_link(df, filename: str = "selection.jsonl") -> str:
    """An HTML link that downloads the selection in the browser (a ``data:`` URL: nothing is written on
    the server), as JSON Lines or CSV by the file name."""
    import base64

    fmt = "csv" if filename.lower().endswith(".csv") else "jsonl"
    payload = base64.b64encode(selection_text(df, fmt).encode("utf-8")).decode()
    mime = "text/csv" if fmt == "csv" else "application/jsonl"
    return (f"<a class='qcrd-download' download='{html.escape(filename)}' href='data:{mime};base64,{payload}'>"
            f"⬇ download {len(df)} rows as {html.escape(filename)}</a>")
