"""False credit of the fallback answer reading on a run's student samples (stage 04's
``report/student_samples.jsonl``): how many rationales are marked right, per temperature, under the
reading before (the last ``= N`` anywhere in the text) and now (the last calculation, only when it checks
out), and how many of those are not sound rationales — no calculation, or a wrong one — by the synthetic
LLM judge's rule (``teacher.synthetic.explanation_is_sound``: every calculation right, the last one the gold).

    python bench/fallback_credit.py outputs/runs/demo

Prints a table and, as its last line, JSON ``{temperature: {n, credited_before, credited_now,
unsound_before, unsound_now}}``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qcrdkit.core.io import read_jsonl  # noqa: E402
from qcrdkit.tasks import load_task
from qcrdkit.tasks.base import split_answer  # noqa: E402
from qcrdkit.teacher.synthetic import explanation_is_sound  # noqa: E402


def reading_before(text: str) -> float | None:
    """The fallback as it was: the number after the text's last "=", whatever precedes it."""
    results = re.findall(r"=\s*(-?\d+(?:\.\d+)?)", text.replace(",", ""))
    return float(results[-1]) if results else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a run whose stage 04 wrote report/student_samples.jsonl")
    args = parser.parse_args()
    run = Path(args.run_dir)
    task, spec = load_task(run)
    examples = {ex.id: ex for ex in task.load("test", data_dir=spec.get("data_dir"))}
    counts: dict[float, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in read_jsonl(run / "report" / "student_samples.jsonl"):
        ex, text = examples[row["question_id"]], row["rationale"] or ""
        c = counts[float(row["temperature"])]
        c["n"] += 1
        marked = split_answer(text)[1] is not None
        now = task.rationale_outcome(text, ex)[1]
        before = now if marked else (lambda a: a is not None and task.is_correct(a, ex))(reading_before(text))
        sound = explanation_is_sound(text, float(ex.answer))
        c["credited_before"] += before
        c["credited_now"] += now
        c["unsound_before"] += before and not sound
        c["unsound_now"] += now and not sound
    print(f"{'τ':>5} {'samples':>8} {'credited before':>16} {'of them unsound':>16} {'credited now':>13} "
          f"{'of them unsound':>16}")
    for t in sorted(counts):
        c = counts[t]
        print(f"{t:>5g} {c['n']:>8} {c['credited_before']:>16} {c['unsound_before']:>16} {c['credited_now']:>13} "
              f"{c['unsound_now']:>16}")
    print(json.dumps({f"{t:g}": dict(c) for t, c in sorted(counts.items())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
