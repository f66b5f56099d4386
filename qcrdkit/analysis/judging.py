"""Which quality judge stage 04 evaluates, and does it rank? (the judge QCRD used, beside stage 02's).

A QCRD student trained with the judge keeps its final online judge in ``students/<name>/judge/``
(stage 03); :func:`run_judges` returns it first (``"online"``), then the run's stage-02 judge
(``"stage 02"``). Stage 04 scores with the first — the judge QCRD actually used at the end of training —
and :func:`judge_rankings` reports every judge's ROC-AUC between right and wrong rationales beside the
trivial scorers (shorter first; agreement with the question's other samples) on the same items:

* ``teacher_heldout``: the teacher's rationales of the questions stage 02 held out;
* ``student_samples``: the student's own samples at one temperature on test questions.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..io import read_jsonl
from .tables import ranking_aucs

ONLINE, STAGE02 = "online", "stage 02"


def online_judge_dir(run_dir: str | Path, student: str) -> Path:
    return Path(run_dir) / "students" / student / "judge"


def run_judges(run_dir: str | Path, student: str, device=None) -> dict[str, tuple]:
    """``{"online": (model, tokenizer), "stage 02": (model, tokenizer)}``: the student's final online judge
    when it has one, then the run's stage-02 judge (absent ones left out), in that order."""
    from ..judge import load_discriminator
    from ..rundir import discriminator_dir

    judges = {}
    if (online_judge_dir(run_dir, student) / "config.json").exists():
        judges[ONLINE] = load_discriminator(online_judge_dir(run_dir, student), device=device)
    if (discriminator_dir(run_dir) / "config.json").exists():
        judges[STAGE02] = load_discriminator(discriminator_dir(run_dir), device=device)
    return judges


def teacher_heldout_rows(run_dir: str | Path) -> list[dict]:
    """The teacher's rationales stage 02 did not train on (:func:`~.casestudy.teacher_score_rows`), with their
    question, text, answer and whether it is right (the ranking's label)."""
    from .casestudy import teacher_score_rows

    by_key = {f"{r['id']}#{r['sample_index']}": r for r in read_jsonl(Path(run_dir) / "teacher" / "samples.jsonl")}
    return [{"source": s["source"], "question_id": record["id"], "question": record["question"],
             "rationale": record["rationale"] or "", "answer": record["answer"],
             "label": int(bool(record["correct"])), "stage02_score": s["score"]}
            for s in teacher_score_rows(run_dir) if (record := by_key.get(s["key"])) is not None]


def rescored(judge: tuple, rows: Sequence[dict]) -> list[dict]:
    """``rows`` with ``score`` from ``judge`` (``(model, tokenizer)``) on their (question, rationale)."""
    from ..judge import score_rationales

    scores = score_rationales(judge[0], judge[1], [r["question"] for r in rows], [r["rationale"] for r in rows])
    return [{**r, "score": round(float(s), 4)} for r, s in zip(rows, scores)]


def judge_rankings(judges: dict[str, tuple], teacher_rows: Sequence[dict], student_rows: Sequence[dict],
                   temperature: float) -> dict:
    """Every judge's ranking on both item sets (see module doc). The first judge's numbers are the top-level
    ``teacher_heldout`` and ``student_samples`` (with ``judge_source``); each judge's are also under
    ``by_judge[<name>]``."""
    by_judge = {}
    for name, judge in judges.items():
        by_judge[name] = {
            "teacher_heldout": ranking_aucs(rescored(judge, teacher_rows)) if teacher_rows else None,
            "student_samples": {**ranking_aucs(rescored(judge, student_rows)), "temperature": temperature}
            if student_rows else None}
    if not by_judge:
        return {"teacher_heldout": None, "student_samples": None, "by_judge": {}}
    first = next(iter(by_judge))
    source = "online" if first == ONLINE else "stage02"
    top = {part: None if value is None else {**value, "judge_source": source} for part, value in by_judge[first].items()}
    return {**top, "by_judge": by_judge}
