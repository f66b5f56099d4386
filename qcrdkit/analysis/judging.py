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

from qcrdkit.core.io import read_jsonl
from qcrdkit.judge.ranking import ranking_aucs, right_wrong_rows  # noqa: F401  (right_wrong_rows: stage 02's rows)

ONLINE, STAGE02 = "online", "stage 02"


def online_judge_dir(run_dir: str | Path, student: str) -> Path:
    return Path(run_dir) / "students" / student / "judge"


def run_judges(run_dir: str | Path, student: str, device=None) -> dict[str, tuple]:
    """``{"online": (model, tokenizer), "stage 02": (model, tokenizer)}``: the student's final online judge
    when it has one, then the run's stage-02 judge (absent ones left out), in that order."""
    from qcrdkit.judge import load_judge
    from qcrdkit.core.rundir import judge_dir

    judges = {}
    if (online_judge_dir(run_dir, student) / "config.json").exists():
        judges[ONLINE] = load_judge(online_judge_dir(run_dir, student), device=device)
    if (judge_dir(run_dir) / "config.json").exists():
        judges[STAGE02] = load_judge(judge_dir(run_dir), device=device)
    return judges


def teacher_heldout_rows(run_dir: str | Path) -> list[dict]:
    """The teacher's rationales stage 02 did not train on (:func:`~.casestudy.teacher_score_rows`), with their
    question, text, answer, whether it is right (the ranking's label) and the answer the kit reads from the
    rationale itself (``rationale_answer``, a vote key: what the judge's answer input reads)."""
    from qcrdkit.judge import answer_key
    from qcrdkit.tasks import load_examples, load_task
    from qcrdkit.analysis.casestudy import teacher_score_rows

    records = read_jsonl(Path(run_dir) / "teacher" / "samples.jsonl")
    by_key = {f"{r['id']}#{r['sample_index']}": r for r in records}
    task, examples = load_task(run_dir)[0], load_examples(run_dir, sorted({r["split"] for r in records}))
    return [{"source": s["source"], "question_id": record["id"], "question": record["question"],
             "rationale": record["rationale"] or "", "answer": record["answer"],
             "rationale_answer": answer_key(task, record["rationale"], examples.get(record["id"])),
             "label": int(bool(record["correct"])), "stage02_score": s["score"]}
            for s in teacher_score_rows(run_dir) if (record := by_key.get(s["key"])) is not None]


def row_signals(rows: Sequence[dict], mode: str) -> list[float] | None:
    """The judge's answer input of each row (:func:`~qcrdkit.judge.grouped_signals`, mode ``answered`` or
    ``agreement``; ``None`` for ``none``): from its ``rationale_answer``, else its ``answer`` (a student sample's
    answer is the reading of its rationale), its peers the other rows of its ``question_id``."""
    from qcrdkit.judge import answer_input_mode, grouped_signals

    if answer_input_mode(mode) == "none":
        return None
    keys = [r["rationale_answer"] if "rationale_answer" in r else r.get("answer") for r in rows]
    return grouped_signals(keys, [r["question_id"] for r in rows], mode)


def rescored(judge: tuple, rows: Sequence[dict]) -> list[dict]:
    """``rows`` with ``score`` from ``judge`` (``(model, tokenizer)``) on their (question, rationale) (and
    :func:`row_signals`, for a judge with an answer input). Pass the rows of one kind together (one
    temperature's samples, or the teacher's): a row's peers are the others of its question."""
    from qcrdkit.judge import score_rationales

    scores = score_rationales(judge[0], judge[1], [r["question"] for r in rows], [r["rationale"] for r in rows],
                              answer_signal=row_signals(rows, judge[0].config.answer_input))
    return [{**r, "score": round(float(s), 4)} for r, s in zip(rows, scores)]


def judge_rankings(judges: dict[str, tuple], teacher_rows: Sequence[dict], student_rows: Sequence[dict],
                   temperature: float) -> dict:
    """Every judge's ranking on both item sets (see module doc). The first judge's numbers are the top-level
    ``teacher_heldout`` and ``student_samples`` (with ``judge_source``); each judge's are also under
    ``by_judge[<name>]``."""
    by_judge, reads = {}, {}
    for name, judge in judges.items():
        mode = getattr(judge[0].config, "answer_input", "none") or "none"
        reads[name] = "" if mode == "none" else f" (reads {mode})"
        by_judge[name] = {
            "teacher_heldout": ranking_aucs(rescored(judge, teacher_rows)) if teacher_rows else None,
            "student_samples": {**ranking_aucs(rescored(judge, student_rows)), "temperature": temperature}
            if student_rows else None}
    if not by_judge:
        return {"teacher_heldout": None, "student_samples": None, "by_judge": {}, "reads": {}}
    first = next(iter(by_judge))
    source = "online" if first == ONLINE else "stage02"
    top = {part: None if value is None else {**value, "judge_source": source} for part, value in by_judge[first].items()}
    return {**top, "by_judge": by_judge, "reads": reads}


def _auc_text(ranking: dict, key: str) -> str:
    value = ranking.get(key)
    if value is None:
        return "–"
    interval = (ranking.get("intervals") or {}).get(key)
    return f"{value:.3f}" + (f" [{interval[0]:.2f}, {interval[1]:.2f}]" if interval else "")


def lead_text(ranking: dict) -> str:
    """The judge's difference from the best trivial scorer, with its interval: ``+0.031 [-0.01, +0.07], not a
    lead`` (the interval includes 0) or ``… a lead`` / ``… behind``."""
    differences = ranking.get("differences") or {}
    if not differences:
        return "–"
    name = min(differences, key=lambda k: differences[k]["difference"])          # the best baseline
    d = differences[name]
    verdict = "not a lead" if not d["excludes_zero"] else "a lead" if d["difference"] > 0 else "behind"
    return (f"{d['difference']:+.3f} [{d['interval'][0]:+.2f}, {d['interval'][1]:+.2f}] vs {name.replace('_', ' ')}: "
            f"{verdict}")


def ranking_row(ranking: dict | None) -> dict:
    """One row of the ranking table: each scorer's AUC with its interval, the judge's lead, the counts."""
    ranking = ranking or {}
    return {"judge": _auc_text(ranking, "judge"), "shorter first": _auc_text(ranking, "shorter_first"),
            "agreement": _auc_text(ranking, "agreement"),
            "agreement + shorter": _auc_text(ranking, "agreement_then_shorter"), "lead": lead_text(ranking),
            "n_good": str(ranking.get("n_good", "–")), "n_bad": str(ranking.get("n_bad", "–"))}


def ranking_note(ranking: dict, what: str) -> str:
    """One sentence on a :func:`qcrdkit.analysis.ranking_aucs` result: the judge's right/wrong AUC beside the
    trivial scorers, each with its bootstrap interval, and whether the judge's difference from the best of them
    is a lead (its interval excludes 0)."""
    return (f"{what}, right vs wrong answer ({ranking['n_good']} / {ranking['n_bad']}): judge AUC "
            f"**{_auc_text(ranking, 'judge')}**; shorter-first {_auc_text(ranking, 'shorter_first')}, agreement with "
            f"the question's other samples {_auc_text(ranking, 'agreement')}, agreement with ties broken by "
            f"shorter-first {_auc_text(ranking, 'agreement_then_shorter')}; the judge's lead: {lead_text(ranking)}.")
