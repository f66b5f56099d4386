from qcrdkit.tasks import get_task
from qcrdkit.teacher.prompts import build_messages, load_template
from qcrdkit.teacher.synthetic import NOT_AN_ARITH_QUESTION, SyntheticTeacher

TASK = get_task("arith", n_train=150, max_steps=2)
EXAMPLES = TASK.load("train")
TEMPLATE = load_template("arith")


def accuracy(temperature, k=4):
    teacher = SyntheticTeacher()
    hits = total = 0
    for ex in EXAMPLES:
        prompt = build_messages(TEMPLATE, ex.input)[0]["content"]
        for text in teacher.complete(prompt, n=k, temperature=temperature, seed=1):
            hits += TASK.is_correct(TASK.extract_answer(text), ex)
            total += 1
    return hits / total


def test_mistakes_grow_with_temperature():
    acc = {t: accuracy(t) for t in (0.0, 0.7, 1.5, 2.0)}
    assert acc[0.0] > acc[0.7] > acc[1.5] > acc[2.0]
    assert 0.65 <= acc[0.7] <= 0.9          # near the paper's Table 2 (3.87 of 5 positives)
    assert acc[2.0] < 0.55


def test_samples_are_diverse_but_greedy_is_not():
    prompt = build_messages(TEMPLATE, EXAMPLES[0].input)[0]["content"]
    teacher = SyntheticTeacher()
    assert len(set(teacher.complete(prompt, n=5, temperature=0.0, seed=0))) == 1
    assert len(set(teacher.complete(prompt, n=5, temperature=1.0, seed=0))) >= 3
    assert teacher.complete(prompt, n=3, temperature=1.0, seed=7) == teacher.complete(prompt, n=3, temperature=1.0, seed=7)


def test_natural_format_and_unknown_questions():
    teacher = SyntheticTeacher()
    text = teacher.complete(build_messages(TEMPLATE, EXAMPLES[1].input)[0]["content"], temperature=0.0)[0]
    assert text.endswith(f"The answer is {int(EXAMPLES[1].answer)}.") and " = " in text
    [other] = teacher.complete(build_messages(TEMPLATE, "What is the capital of France?")[0]["content"])
    assert other == NOT_AN_ARITH_QUESTION and TASK.extract_answer(other) is None
