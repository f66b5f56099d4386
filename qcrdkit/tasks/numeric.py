"""Numbers in free text: safe evaluation of equations, and the number a rationale states (the number reader of
:mod:`qcrdkit.tasks.reading`).

SVAMP's gold labels are equations such as ``"( 84.0 / 2.0 )"`` and teachers often answer with
an expression (``The answer is (84 / 2).``). We evaluate them with a tiny AST walker that knows
only numbers, + - * / and parentheses: never ``eval``.
"""
from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass
from typing import Any

from qcrdkit.tasks.base import Example, Task
from qcrdkit.tasks.reading import TAIL_CHARACTERS, UNREAD, Reading, is_aside, main_clause, sentences, word_numbers

#: longer expressions are not evaluated (a rationale's calculations are short; this bounds the parser's work)
MAX_EXPRESSION = 200
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def safe_eval(expression: str) -> float:
    """Evaluate an arithmetic expression of numbers, + - * / and parentheses.

    Raises ``ValueError`` for anything else (names, calls, powers, division by zero).
    """
    if len(expression) > MAX_EXPRESSION:
        raise ValueError(f"expression longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        raise ValueError(f"not an arithmetic expression: {expression[:80]!r}") from None

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

    try:
        value = walk(tree)
    except (OverflowError, RecursionError, MemoryError):
        raise ValueError(f"a number out of range in {expression[:80]!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {expression[:80]!r}")
    return value


_EXPRESSION_RUN = re.compile(r"[\d.\s+\-*/()]+")


_LATEX_FRACTION = re.compile(r"\\[dt]?frac\{([^{}]{1,40})\}\{([^{}]{1,40})\}")
_LATEX_WRAPPER = re.compile(r"\\(?:boxed|text|mathrm|mathbf|textbf|operatorname)\{([^{}]{0,200})\}")
_SYMBOLS = str.maketrans({"×": "*", "∗": "*", "·": "*", "⋅": "*", "÷": "/", "∕": "/", "−": "-", "–": "-", "—": "-",
                          "‒": "-", "＝": "=", "$": " ", "€": " ", "£": " ", "¥": " ", "₹": " ", "{": " ", "}": " ",
                          "½": " 0.5", "¼": " 0.25", "¾": " 0.75", "\u00a0": " ", "\u202f": " "})
_TIMES_AFTER_UNIT = re.compile(r"(?<=\d)((?:\s+[a-zA-Z]+){1,2})\s+[xX]\s+(?=\(?\s*\d)")


def _normalise(text: str) -> str:
    """Arithmetic written the ways rationales write it, as plain ASCII: LaTeX (``\\frac{3}{4}``, ``\\times``,
    ``\\boxed{}``), Unicode operators (× ÷ − –), currency, thousands separators, ``7 x 36`` and ``12 boxes x 4``."""
    if "\\" in text:
        text = _LATEX_FRACTION.sub(r"((\1)/(\2))", text)
        text = _LATEX_WRAPPER.sub(r" \1 ", text)
        text = re.sub(r"\\(?:times|cdot|ast)\b", "*", text)
        text = re.sub(r"\\div\b", "/", text)
        text = re.sub(r"\\(?:left|right|[,;!() \[\]]|quad|qquad)", " ", text)
    text = text.translate(_SYMBOLS).replace("**", " ").replace("__", " ")
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)          # 1,200 -> 1200
    text = re.sub(r"(?<=\d)\s*[xX]\s*(?=\(?\s*\d)", " * ", text)        # 7 x 36 -> 7 * 36
    return _TIMES_AFTER_UNIT.sub(r"\1 * ", text)                  # 12 boxes x 4 pens -> 12 boxes * 4 pens


#: a number followed by a parenthesis the prose opens: ``8 (10 - 2)``, ``42 (apples)``
_NUMBER_THEN_ASIDE = re.compile(r"^(-?\d+(?:\.\d+)?)\s*\(")


def parse_number(text: str) -> float | None:
    """The first number or arithmetic expression in ``text``, evaluated; ``None`` if there is none, it is
    malformed, or it is not a finite number.

    Handles ``(84 / 2)``, ``42 apples.``, ``$1,200``, ``7 x 36``, ``-3``, ``12.5.``, ``8 (10 - 2)``, ``\\frac{3}{4}``.
    A malformed expression — ``(2 * x)``, ``(175, 5)``, ``(some - 8)``, ``((28 - 13) and (28 - 15))`` — is
    unparseable: no number is picked out of it (the student's label parser refuses the same).
    """
    text = _normalise(text[:TAIL_CHARACTERS])
    for run in _EXPRESSION_RUN.finditer(text):
        candidate = run.group().strip().rstrip(".").strip()
        if not re.search(r"\d", candidate):
            continue
        try:
            return safe_eval(candidate)
        except ValueError:
            aside = _NUMBER_THEN_ASIDE.match(candidate)
            return _finite(aside.group(1)) if aside else None
    return None


def _finite(written: str) -> float | None:
    value = float(written)
    return value if math.isfinite(value) else None


def _fraction(written: str) -> float | None:
    """``3/4`` -> 0.75; a plain number as :func:`_finite`."""
    if "/" not in written:
        return _finite(written)
    top, bottom = written.split("/")
    return float(top) / float(bottom) if float(bottom) != 0 and len(written) < 40 else None


def numbers_equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-4)


def number_key(a: float) -> float:
    """Vote key of a number: rounded so that 42.0000001 and 42 count as one answer."""
    return round(float(a), 4) + 0.0


def format_number(a: float) -> str:
    """42.0 -> '42', 12.5 -> '12.5'."""
    a = float(a)
    return str(int(a)) if a.is_integer() else f"{a:.4f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- the closing statement's number

#: a number as written (after :func:`_normalise`): a sign only where no word or number precedes it
_NUMBER_TOKEN = re.compile(r"(?<![\w.)/])-?\d+(?:\.\d+)?(?:/\d+(?![\d.]))?%?|(?<=[\w.)])\d+(?:\.\d+)?%?")
#: what may stand between two operands of one calculation: up to two unit words, an operator, parentheses
_OPERATOR_GAP = re.compile(r"[\s)]*(?:[a-zA-Z']+\s+){0,2}[)\s]*[-+*/][\s(]*")
_LIST_MARKER = re.compile(r"^(?:step\s*)?\d+\s*[.):]\s+|^[-*•]\s+", re.IGNORECASE)
_AFTER_THAN = re.compile(r"\bthan\s+(?:the\s+|that\s+of\s+)?\W*$", re.IGNORECASE)
_RESULT_GAP = re.compile(r"[\s)]*(?:[a-zA-Z']+\s+){0,2}(?:=|\bis\b|\bequals\b|\bgives\b|\bmakes\b)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class _Number:
    value: float
    start: int
    operand: bool      # an operand of a calculation (``8`` and ``74`` in ``8 x 74 = 592``)
    result: bool       # what a calculation comes to (``592``)


def _numbers(clause: str) -> list[_Number]:
    tokens = [(m.start(), m.end(), m.group()) for m in _NUMBER_TOKEN.finditer(clause)]
    operand = [False] * len(tokens)
    result = [False] * len(tokens)
    for i in range(1, len(tokens)):
        gap = clause[tokens[i - 1][1]:tokens[i][0]]
        if len(gap) < 40 and _OPERATOR_GAP.fullmatch(gap):
            operand[i - 1] = operand[i] = True
        elif len(gap) < 40 and operand[i - 1] and _RESULT_GAP.fullmatch(gap):
            result[i] = True
    out = []
    for (start, _, written), op, res in zip(tokens, operand, result):
        value = _fraction(written.rstrip("%"))
        if value is not None:
            out.append(_Number(value, start, op and not res, res))
    return out


def _stated(clause: str, given: frozenset) -> Reading | None:
    """The number a clause states: its last number that is not an operand (nor the compared quantity after
    ``than``), preferring one the question does not give; number words where the clause has no digit."""
    found = _numbers(clause)
    numbers = [n for n in found if not n.operand and not _AFTER_THAN.search(clause[max(0, n.start - 60):n.start])]
    if not numbers:
        if re.search(r"\d", clause):
            return _stated_expression(clause, found)
        words = word_numbers(clause)
        return Reading(words[-1][1], "closing") if words else None
    new = [n for n in numbers if number_key(n.value) not in given]
    chosen = (new or numbers)[-1]
    return Reading(chosen.value, "calculation" if chosen.result else "closing")


def _stated_expression(clause: str, found: list[_Number]) -> Reading | None:
    """A clause that states a quantity as a calculation it does not work out (``he made 145 + 72 cakes``): that
    calculation's value, its unit words left out; ``None`` when it does not evaluate."""
    operands = [n for n in found if n.operand]
    if not operands:
        return None
    end = _NUMBER_TOKEN.match(clause, operands[-1].start).end()
    start = operands[0].start
    expression = re.sub(r"[A-Za-z']+", " ", clause[start:end])
    expression = "(" * max(0, expression.count(")") - expression.count("(")) + expression
    try:
        return Reading(safe_eval(expression + ")" * max(0, expression.count("(") - expression.count(")"))),
                       "calculation")
    except ValueError:
        return None


def sentence_answer(sentence: str, given: frozenset = frozenset()) -> Reading | None:
    """The number a closing sentence states (:func:`qcrdkit.tasks.reading.main_clause`: the main clause first,
    then what was set aside from it, latest first); ``None`` when it states none."""
    clause = main_clause(_LIST_MARKER.sub("", sentence))
    for part in (clause.main, *clause.set_aside):
        reading = _stated(part, given)
        if reading is not None:
            return reading
    return None


def closing_number(text: str, given: frozenset = frozenset()) -> Reading:
    """Step 2 of :mod:`qcrdkit.tasks.reading` for numbers: the number stated by the last sentence that states
    one and is not an aside; ``given``: the number keys of the question's own numbers (a restated given loses
    to a new number in the same clause). Noise guard: :func:`looks_written`."""
    normalised = _normalise(text[-TAIL_CHARACTERS:])
    for sentence in reversed(sentences(normalised)):
        if is_aside(sentence):
            continue
        reading = sentence_answer(sentence, given)
        if reading is not None:
            return reading if looks_written(sentence) and _states(sentence) else UNREAD
    return UNREAD


_WORD_TOKEN = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_FUNCTION_WORDS = frozenset("a an the of to in on at for and or so is are was were has have had he she they it "
                            "his her their there that this then with from by each more than".split())


_NOISY_OPERATOR = re.compile(r"[-+*/=]\s*[-+*/=](?!\s*\d)|\b(?:{0})\s*[-+*/=](?![\d(])|[-+*/=]\s*(?:{0})\b".format("|".join(_FUNCTION_WORDS)),
                             re.IGNORECASE)


_DANGLING_END = re.compile(r"(?:\b(?:a|an|the|of|to|and|or|so|with|from|by|than)|[-+*/=(])\W*$",
                           re.IGNORECASE)
_REPEATED_WORD = re.compile(r"\b([a-zA-Z]{2,}) \1\b", re.IGNORECASE)
_BARE_EQUATION = re.compile(r"=\s*(-?\d{1,15}(?:\.\d{1,15})?)\s*=\s*(-?\d{1,15}(?:\.\d{1,15})?)(?![\d.]*\s*[-+*/])")


def looks_written(sentence: str) -> bool:
    """Whether a closing sentence reads as written by a writer rather than sampled noise: no operator or ``=``
    next to a function word or another operator (``3 + the 7 = 12``, ``x boxes the = 7``, ``+ + = 7``), no
    number equated to another (``7 * 2 = 9 = 14``), no number directly followed by a number, no word said twice in
    a row, no parenthesis closed before it opens, and no ending on a function word or an operator."""
    normalised = re.sub(r"\s+", " ", sentence)
    if _NOISY_OPERATOR.search(normalised) or _DANGLING_END.search(normalised) or _REPEATED_WORD.search(normalised):
        return False
    depth = 0
    for ch in normalised:                        # a parenthesis closed before it opens: "56). (80 = cows"
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    for left, right in _BARE_EQUATION.findall(normalised):        # "... = 9 = 14": a number equated to another
        if not numbers_equal(float(left), float(right)):
            return False
    return not re.search(r"(?<![\d.])\d+(?:\.\d+)? \d", normalised)


def mostly_unwritten(text: str) -> bool:
    """More than a third of the text's sentences fail :func:`looks_written` (shuffled or sampled words)."""
    written = sentences(_normalise(text[-TAIL_CHARACTERS:]))
    return 3 * sum(not looks_written(s) for s in written) > len(written)


def _states(sentence: str) -> bool:
    """A sentence that can state an answer: it has a word, or is a calculation (``48 / 6 = 8``); not a bare
    number (``8.``) or a name and a number (``Lucy 1.``)."""
    words = re.findall(r"[A-Za-z]{2,}", sentence)
    if len(words) >= 2:
        return True
    calculation = _CALCULATION.search(sentence)          # then "=", "is" or "equals" after it (linear, no ".*")
    if calculation and _EQUATED.search(sentence, calculation.end()):
        return True
    return bool(_NAMED_EQUATION.search(sentence))


_CALCULATION = re.compile(r"\d\s*[-+*/]\s*\(?\s*\d")
_EQUATED = re.compile(r"=|\bis\b|\bequals\b")
_NAMED_EQUATION = re.compile(r"[A-Za-z]\w{0,40}\s*=\s*-?\d|\d\s*=\s*[A-Za-z]")


def question_numbers(example: Example | None) -> frozenset:
    """The number keys of the numbers a question gives (what a closing clause may restate)."""
    if example is None:
        return frozenset()
    return frozenset(number_key(n.value) for n in _numbers(_normalise(example.input[:TAIL_CHARACTERS])))


class NumericTask(Task):
    """Shared answer handling for tasks whose answer is a number."""

    numeric = True

    def parse_answer_text(self, answer_text: str, example: Example | None) -> float | None:
        """The number or expression after an answer statement; a number in words (``twelve``) when it is the
        statement's first word."""
        number = parse_number(answer_text)
        if number is None:
            words = word_numbers(answer_text[:80])
            if words and not re.search(r"[A-Za-z]", answer_text[:words[0][0]]):
                return words[0][1]
        return number

    def answer_key(self, answer: Any):
        return None if answer is None else number_key(answer)

    def is_correct(self, answer: Any, example: Example) -> bool:
        return answer is not None and numbers_equal(float(answer), float(example.answer))

    def answer_to_text(self, answer: Any) -> str:
        return format_number(answer)

    def is_noise(self, text: str, explicit: bool = False) -> bool:
        """Garbled words, or more than a third of the sentences not written (:func:`mostly_unwritten`)."""
        return super().is_noise(text, explicit) or mostly_unwritten(text)

    def closing_answer(self, text: str, example: Example | None = None) -> Reading:
        """The number the closing statement states (:func:`closing_number`)."""
        return closing_number(text, question_numbers(example))

    def parse_label(self, text: str, example: Example | None = None) -> float | None:
        """An equation (``( 5.0 + 3.0 )``) or a bare number, evaluated; anything else (a broken
        equation, words) is ``None``: no credit for a number picked out of a malformed label."""
        try:
            return safe_eval(text)
        except ValueError:
            return None
