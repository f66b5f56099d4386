"""What trained students write for a few questions: notebook 03's closing look at its students."""
from __future__ import annotations

from pathlib import Path

from qcrdkit.core.io import read_json
from qcrdkit.students.models import build_student, explain_input, generate_texts, predict_input


def student_outputs(run_dir: str | Path, names: list[str], examples: list) -> list[dict]:
    """For each student folder under ``<run>/students/`` and each example: ``question`` (id), ``student``, the
    greedy ``rationale`` (methods that learn one; else ``""``), the greedy ``label`` and the ``gold`` label."""
    from qcrdkit.training import METHODS

    rows = []
    for name in names:
        model, tok = build_student(str(Path(run_dir) / "students" / name))
        method = read_json(Path(run_dir) / "students" / name / "metrics.json")["method"]
        if METHODS[method][1].input_format == "multitask":
            explained = generate_texts(model, tok, [explain_input(ex.input) for ex in examples])
            predicted = generate_texts(model, tok, [predict_input(ex.input) for ex in examples], max_new_tokens=32)
        else:
            explained = [[""]] * len(examples)
            predicted = generate_texts(model, tok, [ex.input for ex in examples])
        rows += [{"question": ex.id, "student": name, "rationale": e[0], "label": p[0], "gold": ex.label}
                 for ex, e, p in zip(examples, explained, predicted)]
    return rows
