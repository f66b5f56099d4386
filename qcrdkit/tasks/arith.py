"""``arith``: the embedded offline task — SVAMP-style arithmetic word problems, made by a generator.

A problem is a small story about one person and one kind of item: a start quantity, then one to
three steps (+ − × ÷, integer results throughout), optional distractor sentences with numbers
that do not matter, and a question, sometimes asked first. Everything is deterministic by seed.

Each sentence comes from a template written once and used both ways: formatted to write a
problem, and compiled to a regex so that :func:`read_problem` can read a problem back from its
text. The synthetic teacher (``qcrdkit.teacher.synthetic``) reads questions that way: it sees only
the prompt text, as a hosted LLM would.

Knobs (``ArithTask(...)`` options, also ``task_options`` in the notebooks):
``n_train``, ``n_valid``, ``n_test`` (sizes), ``min_steps``/``max_steps`` (1–3),
``max_operand`` (largest number drawn), ``ops`` (subset of ``"+-*/"``),
``distractor_prob`` (chance of each of up to two distractor sentences),
``question_first_prob`` (chance the question comes first), ``seed``, ``label`` — what the
student's ``<Predict>`` task outputs: ``"answer"`` (the number, default: the student must compute
it, so a rationale that computes step by step can help) or ``"equation"`` (SVAMP's form, e.g.
``( ( 5.0 + 3.0 ) * 2.0 )``, evaluated when scored: no arithmetic needed).
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from qcrdkit.core.errors import ConfigError
from qcrdkit.tasks.base import Example, register_task
from qcrdkit.tasks.numeric import format_number
from qcrdkit.tasks.numeric import NumericTask

NAMES = ["Tom", "Anna", "Ravi", "Mia", "Leo", "Sara", "Omar", "Lily", "Jack", "Nina", "Paul", "Emma",
         "Ken", "Zoe", "Ivan", "Rosa", "Sam", "Hana", "Ben", "Lucy"]
ITEMS = ["apples", "stickers", "marbles", "books", "coins", "pencils", "cookies", "cards", "shells",
         "stamps", "balloons", "candies", "toys", "flowers", "eggs", "beads"]

# Sentence templates. Placeholders: {name} {friend} {item} {other} (another item) {a} {b} {d}.
START = [
    "{name} has {a} {item}.",
    "{name} had {a} {item} at first.",
    "At the start of the day {name} has {a} {item}.",
]
STEPS = {
    "+": ["Then {name} buys {b} more {item}.", "{friend} gives {name} {b} more {item}.",
          "Later {name} finds {b} more {item}.", "{name} gets {b} more {item} from the shop."],
    "-": ["Then {name} gives {b} {item} to {friend}.", "{name} loses {b} of the {item}.",
          "Later {name} sells {b} {item}.", "{name} uses {b} of the {item}."],
    "*": ["Then the number of {item} {name} has becomes {b} times as large.",
          "{name} ends up with {b} times as many {item} as before."],
    "/": ["{name} splits the {item} equally into {b} groups and keeps one group.",
          "Then {name} shares the {item} equally among {b} friends, keeping only one share."],
}
# How a worked solution describes each step (the gold rationale; the teacher has its own wording).
STEP_WORDS = {"+": "gets {b} more", "-": "gives away {b}", "*": "ends up with {b} times as many",
              "/": "keeps one of {b} equal groups"}
DISTRACTORS = [
    "{friend} has {d} {item}.",
    "{name} also has {d} {other}.",
    "The shop has {d} {item} for sale.",
]
QUESTIONS = ["How many {item} does {name} have now?", "How many {item} does {name} have in the end?"]

_SLOT_PATTERNS = {"name": r"[A-Z][a-z]+", "friend": r"[A-Z][a-z]+", "item": r"[a-z]+", "other": r"[a-z]+",
                  "a": r"\d+", "b": r"\d+", "d": r"\d+"}


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{\w+\})", template)
    out = []
    for part in parts:
        m = re.fullmatch(r"\{(\w+)\}", part)
        out.append(f"(?P<{m.group(1)}>{_SLOT_PATTERNS[m.group(1)]})" if m else re.escape(part))
    return re.compile("^" + "".join(out) + "$")


_START_RE = [_template_regex(t) for t in START]
_STEP_RE = [(op, _template_regex(t)) for op, ts in STEPS.items() for t in ts]
_DISTRACTOR_RE = [_template_regex(t) for t in DISTRACTORS]
_QUESTION_RE = [_template_regex(t) for t in QUESTIONS]


def apply_op(op: str, x: float, y: float) -> float:
    return {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else float("nan")}[op]


@dataclass
class ArithProblem:
    """A problem as structure: what the text says, whatever order it says it in."""

    name: str
    item: str
    start: int
    steps: list[tuple[str, int]]            # (op, operand) in order
    distractors: list[int] = field(default_factory=list)

    def values(self) -> list[float]:
        """The running quantity after the start and after each step."""
        vals = [float(self.start)]
        for op, b in self.steps:
            vals.append(apply_op(op, vals[-1], b))
        return vals

    @property
    def answer(self) -> float:
        return self.values()[-1]

    def equation(self) -> str:
        """SVAMP-style gold equation, e.g. ``( ( 5.0 + 3.0 ) * 2.0 )``."""
        expr = f"{float(self.start)}"
        for op, b in self.steps:
            expr = f"( {expr} {op} {float(b)} )"
        return expr

    def gold_rationale(self) -> str:
        vals = self.values()
        parts = [f"{self.name} starts with {self.start} {self.item}."]
        for (op, b), before, after in zip(self.steps, vals, vals[1:]):
            words = STEP_WORDS[op].format(b=b)
            parts.append(f"{self.name} {words}, so {format_number(before)} {op} {b} = {format_number(after)}.")
        return " ".join(parts)


def read_problem(question: str) -> ArithProblem | None:
    """Read an ``arith`` question back into its structure; ``None`` if it is not one.

    The question sentence names who and what is asked about; the start sentence and steps are
    the sentences about that person and item; every other sentence with a number is a distractor.
    """
    sentences = [s.strip() for s in re.split(r"(?<=[.?])\s+", question.strip()) if s.strip()]
    target = None
    for s in sentences:
        for rx in _QUESTION_RE:
            m = rx.match(s)
            if m:
                target = (m.group("name"), m.group("item"))
    if target is None:
        return None
    name, item = target
    start, steps, distractors = None, [], []
    for s in sentences:
        if any(rx.match(s) for rx in _QUESTION_RE):
            continue
        m = next((m for rx in _START_RE if (m := rx.match(s))), None)
        if m and start is None and m.group("name") == name and m.group("item") == item:
            start = int(m.group("a"))
            continue
        step = next(((op, m) for op, rx in _STEP_RE if (m := rx.match(s))), None)
        if step and step[1].group("name") == name and step[1].group("item") == item:
            steps.append((step[0], int(step[1].group("b"))))
            continue
        distractors += [int(n) for n in re.findall(r"\d+", s)]
    if start is None or not steps:
        return None
    return ArithProblem(name=name, item=item, start=start, steps=steps, distractors=distractors)


def _draw_problem(rng: random.Random, n_steps: int, max_operand: int, ops: str) -> ArithProblem | None:
    name = rng.choice(NAMES)
    item = rng.choice(ITEMS)
    start = rng.randint(2, max_operand)
    value, steps = start, []
    for _ in range(n_steps):
        candidates = []
        for op in ops:
            if op == "+":
                candidates.append(("+", rng.randint(1, max_operand)))
            elif op == "-" and value > 1:
                candidates.append(("-", rng.randint(1, min(value - 1, max_operand))))
            elif op == "*" and value * 2 <= max_operand * 10:
                candidates.append(("*", rng.randint(2, min(5, max(2, max_operand // 2)))))
            elif op == "/":
                divisors = [d for d in range(2, min(value, max_operand) + 1) if value % d == 0 and value // d > 1]
                if divisors:
                    candidates.append(("/", rng.choice(divisors)))
        if not candidates:
            return None
        op, b = rng.choice(candidates)
        value = int(apply_op(op, value, b))
        steps.append((op, b))
    return ArithProblem(name=name, item=item, start=start, steps=steps)


def _render(problem: ArithProblem, rng: random.Random, distractor_prob: float, question_first_prob: float) -> str:
    friend = rng.choice([n for n in NAMES if n != problem.name])
    other = rng.choice([i for i in ITEMS if i != problem.item])
    fill = dict(name=problem.name, friend=friend, item=problem.item, other=other)
    body = [rng.choice(START).format(a=problem.start, **fill)]
    for op, b in problem.steps:
        body.append(rng.choice(STEPS[op]).format(b=b, **fill))
    for _ in range(2):
        if rng.random() < distractor_prob:
            d = rng.randint(2, 30)
            problem.distractors.append(d)
            body.insert(rng.randint(1, len(body)), rng.choice(DISTRACTORS).format(d=d, **fill))
    question = rng.choice(QUESTIONS).format(**fill)
    sentences = [question] + body if rng.random() < question_first_prob else body + [question]
    return " ".join(sentences)


def generate_problems(n: int, *, seed: int = 0, min_steps: int = 1, max_steps: int = 2, max_operand: int = 20,
                      ops: str = "+-*/", distractor_prob: float = 0.3, question_first_prob: float = 0.15,
                      ) -> list[tuple[str, ArithProblem]]:
    """``n`` distinct ``(question_text, problem)`` pairs, deterministic by the arguments."""
    if not 1 <= min_steps <= max_steps <= 3:
        raise ConfigError(f"arith: need 1 <= min_steps <= max_steps <= 3, got {min_steps}, {max_steps}")
    if not ops or set(ops) - set("+-*/"):
        raise ConfigError(f"arith: ops must be a non-empty subset of '+-*/', got {ops!r}")
    if max_operand < 4:
        raise ConfigError(f"arith: max_operand must be at least 4, got {max_operand}")
    rng = random.Random(seed)
    out, seen, attempts = [], set(), 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ConfigError(f"arith: could not make {n} distinct problems with these knobs; "
                              "raise max_operand or max_steps")
        problem = _draw_problem(rng, rng.randint(min_steps, max_steps), max_operand, ops)
        if problem is None:
            continue
        text = _render(problem, rng, distractor_prob, question_first_prob)
        if text in seen:
            continue
        seen.add(text)
        out.append((text, problem))
    return out


@register_task("arith")
class Arith(NumericTask):
    """The embedded task. ``load(split)`` generates; ``data_dir`` is ignored."""

    LABELS = ("answer", "equation")

    def __init__(self, n_train: int = 2000, n_valid: int = 200, n_test: int = 500, min_steps: int = 1,
                 max_steps: int = 2, max_operand: int = 20, ops: str = "+-*/", distractor_prob: float = 0.3,
                 question_first_prob: float = 0.15, seed: int = 0, label: str = "answer"):
        if label not in self.LABELS:
            raise ConfigError(f"arith: label must be one of {self.LABELS}, got {label!r}")
        self.label = label
        self.sizes = {"train": n_train, "valid": n_valid, "test": n_test}
        self.knobs = dict(min_steps=min_steps, max_steps=max_steps, max_operand=max_operand, ops=ops,
                          distractor_prob=distractor_prob, question_first_prob=question_first_prob)
        self.seed = seed
        self._cache: dict[str, list[Example]] | None = None

    def options(self) -> dict:
        return {**{f"n_{k}": v for k, v in self.sizes.items()}, **self.knobs, "seed": self.seed, "label": self.label}

    def load(self, split: str, data_dir=None, source: str = "auto") -> list[Example]:
        if split not in self.sizes:
            raise ConfigError(f"split must be one of {tuple(self.sizes)}, got {split!r}")
        if self._cache is None:
            total = sum(self.sizes.values())
            problems = generate_problems(total, seed=self.seed, **self.knobs)
            self._cache, start = {}, 0
            for name, size in self.sizes.items():
                self._cache[name] = [
                    Example(id=f"arith-{name}-{i}", input=text, label=p.equation() if self.label == "equation" else format_number(p.answer),
                            answer=p.answer,
                            rationale=p.gold_rationale(), meta={"steps": len(p.steps), "distractors": len(p.distractors)})
                    for i, (text, p) in enumerate(problems[start:start + size])]
                start += size
        return list(self._cache[split])
