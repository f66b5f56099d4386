"""How the kit reads the answer of a free-form rationale, as a careful reader would — one order of evidence
for every answer type:

1. **An explicit answer statement** (rule ``marker``): ``The answer is …``, ``Answer: …``, ``Final answer: …``,
   ``The correct option is …``, ``#### …``, ``\\boxed{…}``; the last one counts. A statement whose answer cannot be
   read (``The answer is (2 * x).``, a hedge naming two options) leaves the rationale **unread**: it committed to
   nothing readable, and the text before it is not searched.
2. **The closing statement** (rule ``closing``, or ``calculation`` when the number read is a calculation's result):
   the last sentence that states an answer and is not an aside (``Check: …``, ``Note …``, a sentence about what
   does not matter). Within it, the main clause: parentheses, a leading ``Since …,`` / ``If …,`` and a trailing
   ``because …`` are set aside, and after ``so`` / ``therefore`` / ``, which is`` / ``, leaving`` only the
   conclusion counts. Numbers: the last one stated there that is not an operand of a calculation (``8 x 74 = 592
   inches. Hence John needs 8 planks.`` reads 8; ``a total of 15 + 9 = 24 books`` reads 24), preferring one the
   question does not give. Number words (``eleven``, ``sixty-three``) count where no digit does.
3. **Nothing else**: a rationale without either is unread (``None``), counted in stage 01 and, with
   ``answer_reader: llm``, sent to an LLM reader (:mod:`qcrdkit.teacher.answer_reader`).

Per answer type: numbers (:mod:`qcrdkit.tasks.numeric`), choices (:mod:`qcrdkit.tasks.choice`), NLI labels
(:mod:`qcrdkit.tasks.nli`) and free text (the ``jsonl`` task) implement step 2 in :meth:`Task.closing_answer`.

Every pattern here is linear in its input, and the closing rules read only the text's last
:data:`TAIL_CHARACTERS` characters: any text gives an answer or "unread", quickly (``bench/answer_reading.py``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: how each rationale's answer was read, in stage 01's counts (``reading.by_rule``) and the records' ``read_by``
RULES = ("marker", "closing", "calculation", "llm", "unread")
#: the closing rules read at most this many characters from the end of a rationale
TAIL_CHARACTERS = 4000


@dataclass(frozen=True)
class Reading:
    """The answer read from a rationale (``None``: unread) and the rule that read it (:data:`RULES`)."""

    answer: Any = None
    rule: str = "unread"

    @property
    def read(self) -> bool:
        return self.answer is not None


UNREAD = Reading()

# --------------------------------------------------------------------------- explicit answer statements

#: phrases after which a completion states its final answer, most specific first
ANSWER_MARKERS = (
    r"so\s+the\s+(?:final\s+)?answer\s+is",
    r"the\s+(?:final\s+|correct\s+|right\s+|best\s+)?answer\s+(?:is|would\s+be)",
    r"the\s+(?:correct|right|best)\s+(?:option|choice|label)\s+(?:is|would\s+be)",
    r"final\s+answer\s*:",
    r"answer\s*:",
    r"####",
)
_MARKER_RE = re.compile(r"(?:%s)\s*:?" % "|".join(ANSWER_MARKERS), re.IGNORECASE)
_BOXED = "\\boxed{"


def split_answer(text: str) -> tuple[str, str | None]:
    """Split a completion into ``(rationale, answer_text)`` at its last explicit answer statement
    (:data:`ANSWER_MARKERS`, or a LaTeX ``\\boxed{…}`` after the last of them).

    ``answer_text`` is ``None`` when the text states no answer explicitly. The rationale is the text before
    the statement, stripped."""
    last = None
    for last in _MARKER_RE.finditer(text):
        pass
    boxed = text.rfind(_BOXED)
    if boxed >= 0 and (last is None or boxed >= last.end()):
        inner = _braced(text, boxed + len(_BOXED))
        start = last.start() if last is not None and text[last.end():boxed].strip(" *_:$\\[(") == "" else boxed
        return _strip_tail(text[:start]), inner.strip()
    if last is None:
        return text.strip(), None
    return _strip_tail(text[:last.start()]), re.sub(r"^[*_:\s]+", "", text[last.end():]).strip()


def _braced(text: str, start: int) -> str:
    """What stands between ``text[start - 1]`` (an opening brace) and its closing brace (nesting counted; the rest
    of the text when it is never closed)."""
    depth = 1
    for i in range(start, min(len(text), start + 1000)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i]
    return text[start:start + 1000]


def _strip_tail(text: str) -> str:
    """The text before an answer statement without the markdown or LaTeX that opened it (``**Answer:** 8``)."""
    return re.sub(r"[*_#$\s\\\[(]+$", "", text).strip()


# --------------------------------------------------------------------------- sentences

_SENTENCE_END = re.compile(r"(?<!\d)\.(?!\d)|\.(?=\s)|[!?;](?=\s|$)|\n")
_ASIDE_START = re.compile(
    r"^\W*(?:note|check(?:ing)?|verify|verification|double[- ]check|to (?:check|verify)|let'?s (?:check|verify)"
    r"|we can (?:check|verify)|as a check|p\.?s|hope|i hope|let me know|sanity check)\b", re.IGNORECASE)
_ASIDE_ANYWHERE = re.compile(
    r"\b(?:not (?:needed|used|relevant|counted|part of|important|necessary)|irrelevant|distractors?|"
    r"(?:do|does|did)(?: not|n't) (?:matter|affect|change|need)|we (?:do not|don't) need)\b", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    """The non-empty sentences of ``text``'s last :data:`TAIL_CHARACTERS` characters, in order (split at a full
    stop not inside a number, ``!``, ``?``, ``;`` or a line break)."""
    tail = text[-TAIL_CHARACTERS:]
    return [s for s in (p.strip() for p in _SENTENCE_END.split(tail)) if s]


def is_aside(sentence: str) -> bool:
    """A sentence that does not state the answer: a check, a note, a remark on what does not matter."""
    return bool(_ASIDE_START.search(sentence) or _ASIDE_ANYWHERE.search(sentence))


_PARENTHESIS = re.compile(r"\(([^()]*)\)")
_LEADING_CLAUSE = re.compile(r"^\W*(?:since|because|as|if|given that|given|when|after|now that)\b[^,]*,\s*",
                             re.IGNORECASE)
_TRAILING_CLAUSE = re.compile(r",?\s+\b(?:because|since|as)\b(?!\s+(?:many|much|well|a\s+result))", re.IGNORECASE)
_CONCLUSION = re.compile(
    r"(?:^|[,:;]\s*|\s)(?:so|therefore|thus|hence|then|which\s+(?:is|means|gives|makes|leaves|equals)|"
    r"leaving|giving|making|for\s+a\s+total\s+of|that\s+(?:is|means|makes|gives))\b,?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Clause:
    """A sentence's main clause, and what was set aside from it (parentheses, ``since``/``because`` clauses,
    what precedes the conclusion), latest first."""

    main: str
    set_aside: tuple[str, ...]


def main_clause(sentence: str) -> Clause:
    """Split a closing sentence into its main clause and the parts set aside (module docstring, step 2)."""
    aside: list[str] = []

    def keep_arithmetic(match: re.Match) -> str:
        inner = match.group(1)
        if re.fullmatch(r"[\d.\s+\-*/]*", inner):       # "(14 + 21) / 7": part of a calculation
            return match.group(0)
        aside.append(inner)
        return " "

    main = _PARENTHESIS.sub(keep_arithmetic, sentence)
    lead = _LEADING_CLAUSE.match(main)
    if lead and lead.end() < len(main):
        aside.append(main[:lead.end()])
        main = main[lead.end():]
    trail = _TRAILING_CLAUSE.search(main)
    if trail and trail.start() > 0:
        aside.append(main[trail.end():])
        main = main[:trail.start()]
    last = None
    for last in _CONCLUSION.finditer(main):
        pass
    if last is not None and last.end() < len(main) and re.search(r"\d|[a-z]", main[last.end():]):
        aside.append(main[:last.start()])
        main = main[last.end():]
    return Clause(main.strip(), tuple(reversed(aside)))


# --------------------------------------------------------------------------- sampled noise

#: share of garbled words above which a text's closing statement is not read (``bench/answer_reading.py``:
#: 89 % of a scratch student's τ 1.5 samples and 93 % of its τ 2.0 ones lie above it, 0.3 % of its τ 0.7 ones and
#: none of the written rationales of tests/data/free_form or the DSS PaLM SVAMP/CQA completions)
GARBLED_SHARE = 0.05
_ALLOWED_MIXED = re.compile(r"^(?:\d+(?:st|nd|rd|th|s|am|pm|km|kg|cm|mm|ml|min|hrs?|lbs?|oz|ft|mph|[a-zA-Z])|[a-zA-Z]\d?"
                            r"|\d+[a-zA-Z]?/\d*[a-zA-Z]*|\d+-[a-zA-Z]+(?:-[a-zA-Z]+)*|[A-Z][A-Z0-9-]*\d[A-Z0-9-]*(?:'s)?)$")
_LETTER, _DIGIT = re.compile(r"[A-Za-z]"), re.compile(r"\d")
#: a longer "word" is not checked against the patterns above (they would backtrack): letters and digits in it
#: make it garbled
LONGEST_WORD = 64
_ODD = re.compile(r"[A-Za-z0-9][=@#&<>{}\\`~^|_][A-Za-z0-9]|[A-Za-z][=@#&<>{}\\`~^|]|[=@#&<>{}\\`~^|][A-Za-z]")


def garbled_words(text: str) -> tuple[int, int]:
    """``(garbled, all)``: how many of a text's words no writer writes — letters and digits run together (``2os``, ``0.77ma``, not
    ``4th``, ``3km``, ``4p``, ``576-page``, ``A6X``, ``PG-13``) or symbols inside a word (``=Di``, ``@78``)."""
    plain = re.sub(r"\\[A-Za-z]+|[{}$]", " ", text[-TAIL_CHARACTERS:])        # LaTeX commands are not words
    words = [w for w in (t.strip(".,;:!?()\"'*[]") for t in plain.split()) if w]
    return sum(_garbled(w) for w in words), len(words)


def _garbled(word: str) -> bool:
    mixed = bool(_LETTER.search(word) and _DIGIT.search(word))
    if len(word) > LONGEST_WORD:
        return mixed or bool(_ODD.search(word))
    return bool((mixed and not _ALLOWED_MIXED.match(word)) or _ODD.search(word))


def looks_garbled(text: str) -> bool:
    """Sampled noise rather than writing: three or more garbled words, over :data:`GARBLED_SHARE` of them (a
    name such as ``AK47`` or ``PG-13`` in a short rationale is not noise)."""
    odd, words = garbled_words(text)
    return odd >= 3 and odd > GARBLED_SHARE * words


# --------------------------------------------------------------------------- number words

_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
_WORD_NUMBER = re.compile(rf"\b(?:{_WORD})(?:(?:[\s-]+(?:and[\s-]+)?)(?:{_WORD}))*\b", re.IGNORECASE)


def word_numbers(text: str) -> list[tuple[int, float]]:
    """``(position, value)`` of every number written in words (``eleven``, ``sixty-three``, ``two hundred and
    five``) in ``text``."""
    out = []
    for match in _WORD_NUMBER.finditer(text):
        total, current = 0, 0
        for word in re.split(r"[\s-]+", match.group().lower()):
            if word == "and":
                continue
            if word in _UNITS:
                current += _UNITS[word]
            elif word in _TENS:
                current += _TENS[word]
            elif word == "hundred":
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * _SCALES[word]
                current = 0
        out.append((match.start(), float(total + current)))
    return out


# --------------------------------------------------------------------------- the LLM reader's prompt

#: what the LLM reader (``answer_reader: llm``) is asked about a rationale the rules left unread
READER_INSTRUCTION = ("Below is a question and an answer someone wrote to it. What final answer does the written "
                      "answer reach? Reply with that answer only (a number, an option letter, or a label), or NONE if "
                      "it reaches no answer.")


def reader_prompt(question: str, rationale: str) -> str:
    """The LLM reader's message for one rationale (the rationale's last :data:`TAIL_CHARACTERS` characters)."""
    return f"{READER_INSTRUCTION}\n\nQuestion: {question.strip()}\n\nWritten answer: {rationale[-TAIL_CHARACTERS:].strip()}\n\nFinal answer:"


def read_reader_prompt(prompt: str) -> dict | None:
    """``question`` and ``rationale`` of a prompt made by :func:`reader_prompt`; else ``None``."""
    if not prompt.startswith(READER_INSTRUCTION):
        return None
    match = re.search(r"\n\nQuestion: (?P<question>.*?)\n\nWritten answer: (?P<rationale>.*)\n\nFinal answer:$", prompt,
                      re.S)
    return match.groupdict() if match else None


def reply_is_none(reply: str) -> bool:
    """The reader's reply says the rationale reaches no answer."""
    return bool(re.fullmatch(r"\W*(?:none|no answer|n/?a)\W*", reply.strip(), re.IGNORECASE))
