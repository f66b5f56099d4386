"""Numbers in free text: safe evaluation of equations and extraction of a numeric answer.

SVAMP's gold labels are equations such as ``"( 84.0 / 2.0 )"`` and teachers often answer with
an expression (``The answer is (84 / 2).``). We evaluate them with a tiny AST walker that knows
only numbers, + - * / and parentheses: never ``eval``.
"""
from __future__ import annotations

import ast
import math
import operator
import re
from typing import Any

from .base import Example, Task

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def safe_eval(expression: str) -> float:
    """Evaluate an arithmetic expression of numbers, + - * / and parentheses.

    Raises ``ValueError`` for anything else (names, calls, powers, division by zero).
    """
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from None

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                raise ValueError(f"division by zero in {expression!r}")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](walk(node.operand))
        raise ValueError(f"not allowed in an arithmetic expression: {ast.dump(node)[:60]} in {expression!r}")

    return walk(tree)


_EXPRESSION_RUN = re.compile(r"[\d.\s+\-*/()]+")


def _normalise(text: str) -> str:
    text = text.replace("$", " ").replace("×", "*").replace("÷", "/").replace("−", "-")
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)          # 1,200 -> 1200
    text = re.sub(r"(?<=\d)\s*[xX]\s*(?=\d)", " * ", text)        # 7 x 36 -> 7 * 36
    return text


#: a number followed by a parenthesis the prose opens: ``8 (10 - 2)``, ``42 (apples)``
_NUMBER_THEN_ASIDE = re.compile(r"^(-?\d+(?:\.\d+)?)\s*\(")


def parse_number(text: str) -> float | None:
    """The first number or arithmetic expression in ``text``, evaluated; ``None`` if there is none or
    it is malformed.

    Handles ``(84 / 2)``, ``42 apples.``, ``$1,200``, ``7 x 36``, ``-3``, ``12.5.``, ``8 (10 - 2)``.
    A malformed expression — ``(2 * x)``, ``(175, 5)``, ``(some - 8)``, ``((28 - 13) and (28 - 15))`` — is
    unparseable: no number is picked out of it (the student's label parser refuses the same).
    """
    text = _normalise(text)
    for run in _EXPRESSION_RUN.finditer(text):
        candidate = run.group().strip().rstrip(".").strip()
        if not re.search(r"\d", candidate):
            continue
        try:
            return safe_eval(candidate)
        except ValueError:
            aside = _NUMBER_THEN_ASIDE.match(candidate)
            return float(aside.group(1)) if aside else None
    return None


def numbers_equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-4)


def number_key(a: float) -> float:
    """Vote key of a number: rounded so that 42.0000001 and 42 count as one answer."""
    return round(float(a), 4) + 0.0


def format_number(a: float) -> str:
    """42.0 -> '42', 12.5 -> '12.5'."""
    a = float(a)
    return str(int(a)) if a.is_integer() else f"{a:.4f}".rstrip("0").rstrip(".")


_RESULT = re.compile(r"=\s*(-?\d+(?:\.\d+)?)")
_EXPRESSION_CHARS = frozenset("0123456789. ()+-*/")


def _result_matches(value: float, written: str) -> bool:
    """``value`` equals the result as written, to the decimals written (``25 / 3 = 8.33`` checks out)."""
    result = float(written)
    decimals = len(written.split(".")[1]) if "." in written else 0
    return numbers_equal(value, result) or (decimals > 0 and abs(value - result) <= 0.5 * 10 ** -decimals + 1e-9)


def calculations(text: str) -> list[tuple[str | None, float, bool]]:
    """Every ``= N`` of the (normalised) text, in order: ``(expression, N, checks out)``, where
    ``expression`` is the arithmetic expression (with an operator) before the ``=`` that yields N, or
    ``None`` when what precedes is not one (``x = 24 / 8``, ``apples = 7``, ``9 = 9``)."""
    text = _normalise(text)
    found = []
    for match in _RESULT.finditer(text):
        start = match.start()
        while start > max(0, match.start() - 200) and text[start - 1] in _EXPRESSION_CHARS:   # the run before "="
            start -= 1
        run = text[start:match.start()]
        entry = (None, float(match.group(1)), False)
        # the longest tail of the run that is an expression ("apples. 4 + 1" -> "4 + 1"), with an operator
        for begin in [0] + [m.end() for m in re.finditer(r"[\s.)]+", run)]:
            expression = run[begin:].strip()
            if not re.search(r"\d\s*\)*\s*[-+*/]", expression):
                break
            try:
                value = safe_eval(expression)
            except (ValueError, RecursionError):
                continue
            entry = (expression, float(match.group(1)), _result_matches(value, match.group(1)))
            break
        found.append(entry)
    return found


def last_result(text: str) -> float | None:
    """The result of the text's last calculation, when that calculation checks out
    (``... 8 * 4 = 32 more wrappers`` -> 32; ``$4,089 + $4,176 = $8,265`` -> 8265; ``25 / 3 = 8.33`` ->
    8.33); ``None`` when the text has no calculation, or its last ``= N`` does not follow an arithmetic
    expression (with an operator) that evaluates to N.

    This is the reading of a completion without an answer marker, so it must not credit text that is not
    a rationale: a sampled string of numbers and words that happens to end in ``= 7`` reads nothing."""
    found = calculations(text)
    if not found or found[-1][0] is None or not found[-1][2]:
        return None
    return found[-1][1]


_NUMBER = r"(-?\d+(?:\.\d+)?)"
#: a final statement of the answer: a variable's value ("so x = 3", "3 = x") or a total
_STATED = (
    re.compile(r"(?:^|[\s,(])[a-zA-Z]\s*=\s*" + _NUMBER + r"\W*$"),
    re.compile(r"(?:^|[\s,(])" + _NUMBER + r"\s*=\s*[a-zA-Z]\W*$"),
    re.compile(r"\b(?:a\s+total\s+of|total\s+(?:of|is)|total\s*:)\s*" + _NUMBER, re.IGNORECASE),
    re.compile(_NUMBER + r"(?:\s+[a-zA-Z]+){0,3}\s+(?:in\s+total|altogether)\b", re.IGNORECASE),
)


def final_sentence(text: str) -> str:
    """The text's last sentence (split at a full stop not inside a number, or a line break)."""
    parts = [p.strip() for p in re.split(r"(?<!\d)\.(?!\d)|\.(?=\s)|\n", text)]
    return next((p for p in reversed(parts) if p), "")


def stated_answer(text: str) -> float | None:
    """The number the final sentence states as the answer — a variable's value (``Therefore, 3 = x.``,
    ``so x = 3``) or a total (``so he has a total of 8 balloons``, ``12 apples in total``) — when every
    calculation in the text checks out; else ``None``.

    Guard: text whose arithmetic is wrong anywhere, or that has no sentence of this form, reads nothing
    here (student noise rarely ends in such a sentence, and never with all its sums right by chance)."""
    normalised = _normalise(text)
    if any(expression is not None and not ok for expression, _, ok in calculations(normalised)):
        return None
    sentence = final_sentence(normalised)
    for pattern in _STATED:
        match = pattern.search(sentence)
        if match:
            return float(match.group(1))
    return None


def read_unmarked_answer(text: str) -> float | None:
    """The answer of a rationale without an answer marker: what its final sentence states
    (:func:`stated_answer`), else its last calculation when that checks out (:func:`last_result`)."""
    stated = stated_answer(text)
    return stated if stated is not None else last_result(text)


class NumericTask(Task):
    """Shared answer handling for tasks whose answer is a number."""

    numeric = True

    def parse_answer_text(self, answer_text: str, example: Example | None) -> float | None:
        return parse_number(answer_text)

    def answer_key(self, answer: Any):
        return None if answer is None else number_key(answer)

    def is_correct(self, answer: Any, example: Example) -> bool:
        return answer is not None and numbers_equal(float(answer), float(example.answer))

    def answer_to_text(self, answer: Any) -> str:
        return format_number(answer)

    def fallback_answer(self, text: str, example: Example | None = None) -> float | None:
        """What the final sentence states (``... so she has a total of 12 candies``), else the result of the
        text's last calculation when it checks out (``... 8 * 4 = 32 more wrappers`` -> 32); see
        :func:`read_unmarked_answer`."""
        return read_unmarked_answer(text)

    def parse_label(self, text: str, example: Example | None = None) -> float | None:
        """An equation (``( 5.0 + 3.0 )``) or a bare number, evaluated; anything else (a broken
        equation, words) is ``None``: no credit for a number picked out of a malformed label."""
        try:
            return safe_eval(text)
        except (ValueError, RecursionError):
            return None
