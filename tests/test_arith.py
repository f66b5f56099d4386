from collections import Counter

import pytest

from qcrdkit.core.errors import ConfigError
from qcrdkit.tasks import get_task
from qcrdkit.tasks.arith import generate_problems, read_problem
from qcrdkit.tasks.numeric import safe_eval


def test_deterministic_by_seed_and_disjoint_splits():
    a, b = get_task("arith", seed=3), get_task("arith", seed=3)
    assert [e.input for e in a.load("train")] == [e.input for e in b.load("train")]
    assert [e.input for e in get_task("arith", seed=4).load("train")][:20] != [e.input for e in a.load("train")][:20]
    texts = [set(e.input for e in a.load(s)) for s in ("train", "valid", "test")]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2]) and not (texts[1] & texts[2])


def test_gold_equation_rationale_and_answer_agree():
    task = get_task("arith", n_train=300, max_steps=3)
    for ex in task.load("train"):
        assert safe_eval(ex.label) == ex.answer
        assert ex.answer.is_integer() and ex.answer > 0
        assert read_problem(ex.input).answer == ex.answer          # the text says what the structure says
        assert ex.rationale.split("=")[-1].strip(" .") == str(int(ex.answer))


def test_label_is_the_answer_or_the_equation():
    answer, equation = (get_task("arith", n_train=20, label=form).load("train") for form in ("answer", "equation"))
    assert [ex.input for ex in answer] == [ex.input for ex in equation]           # the same problems
    assert all(ex.label == str(int(ex.answer)) for ex in answer)                    # the number the student computes
    assert all(ex.label.startswith("(") and safe_eval(ex.label) == ex.answer for ex in equation)
    with pytest.raises(ConfigError, match="label must be one of"):
        get_task("arith", label="sum")


def test_knobs_change_difficulty():
    steps = Counter(len(p.steps) for _, p in generate_problems(300, min_steps=3, max_steps=3))
    assert steps == {3: 300}
    plain = generate_problems(200, distractor_prob=0.0, question_first_prob=0.0)
    assert all(not p.distractors and text.endswith("?") for text, p in plain)
    first = generate_problems(200, question_first_prob=1.0)
    assert all(text.startswith("How many") for text, _ in first)
    only_add = generate_problems(100, ops="+")
    assert all(op == "+" for _, p in only_add for op, _ in p.steps)
    many = generate_problems(500, distractor_prob=1.0)
    assert sum(bool(p.distractors) for _, p in many) == 500


def test_bad_knobs():
    with pytest.raises(ConfigError, match="max_steps"):
        generate_problems(5, min_steps=2, max_steps=1)
    with pytest.raises(ConfigError, match="ops"):
        generate_problems(5, ops="^")
