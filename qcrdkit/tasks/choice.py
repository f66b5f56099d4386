"""Reading a multiple-choice answer as a reader would: a letter, an option's text — or a hedge, which
names no single option and is unparseable. Shared by ``cqa`` and the ``jsonl`` task's ``choice`` answers.

Rules, in order, on the answer's first sentence:

1. **A hedge** naming two or more option letters — ``(d) soccer game or (e) hockey game.``,
   ``either (c) giggling or (d) laughing.`` — is unparseable, whatever its first word.
2. **A leading letter** — ``(c)``, ``c)``, ``c``, ``(c) train station`` — picks its option, unless the
   text written after it names a different option and not its own (``(e) wait for orders`` where (e)
   is "follow instructions" and "wait for orders" is another option): unparseable.
3. **No letter**: the option the text equals; else the one option whose text it contains; none or
   several: unparseable.

Without an explicit answer statement, :func:`closing_choice` reads the closing statement (step 2 of
:mod:`qcrdkit.tasks.reading`): the last sentence that names an option — by its letter (``(c)``, ``option c``,
``C. salt``) or by its text (``… only a library has many books``) — when it names exactly one.
"""
from __future__ import annotations

import re
import string
from typing import Callable, Sequence

from qcrdkit.tasks.reading import UNREAD, Reading, is_aside, sentences

LETTERS = string.ascii_lowercase
_OPTION_LETTER = re.compile(r"\(([a-zA-Z])\)")
_LEADING_LETTER = re.compile(r"^\(?([a-zA-Z])(?:\)|[.:](?=\s|$))(?:[\s.,;:!]|$)(.*)$")
_BARE_LETTER = re.compile(r"^([a-zA-Z])[.)]?$")


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0]


def named_options(text: str, options: Sequence[str], normalise: Callable[[str], str]) -> list[str]:
    """The options whose (normalised) text appears in ``text`` as whole words (a plural ``s`` allowed)."""
    return [o for o in options if normalise(o) and re.search(rf"\b{re.escape(normalise(o))}(?:s|es)?\b", text)]


def is_hedge(sentence: str) -> bool:
    """Rule 1: two or more different option letters in one answer."""
    return len({letter.lower() for letter in _OPTION_LETTER.findall(sentence)}) > 1


def leading_letter(sentence: str) -> tuple[str, str] | None:
    """``(letter, text after it)`` of an answer that starts with an option letter."""
    m = _LEADING_LETTER.match(sentence)
    if m:
        return m.group(1).lower(), m.group(2)
    m = _BARE_LETTER.match(sentence)
    return (m.group(1).lower(), "") if m else None


def committed_sentence(answer_text: str) -> tuple[str, tuple[str, str] | None] | None:
    """``(first sentence, its leading letter)`` of an answer, or ``None`` for a hedge."""
    sentence = first_sentence(answer_text)
    if is_hedge(sentence):
        return None
    return sentence, leading_letter(sentence)


def parse_unlisted_choice(answer_text: str, normalise: Callable[[str], str], letters: str = LETTERS) -> str | None:
    """Without the question's options: the text after a leading letter of ``letters`` (or the letter), else the
    sentence; ``None`` for a hedge."""
    committed = committed_sentence(answer_text)
    if committed is None:
        return None
    sentence, lead = committed
    if lead and lead[0] in letters:
        return normalise(lead[1]) or lead[0]
    return normalise(sentence) or None


def parse_choice(answer_text: str, options: Sequence[str], normalise: Callable[[str], str]) -> str | None:
    """The option ``answer_text`` commits to under the module's rules, or ``None``."""
    committed = committed_sentence(answer_text)
    if committed is None:
        return None
    sentence, lead = committed
    if lead and lead[0] in LETTERS[:len(options)]:
        option = options[LETTERS.index(lead[0])]
        rest = normalise(lead[1])
        named = named_options(rest, options, normalise) if rest else []
        return None if named and option not in named else option
    text = normalise(sentence)
    if not text:
        return None
    exact = [o for o in options if normalise(o) == text]
    if exact:
        return exact[0]
    contained = named_options(text, options, normalise)
    return contained[0] if len(contained) == 1 else None


_NAMED_LETTER = re.compile(r"\(([a-zA-Z])\)|\b(?:option|choice|answer)\s+\(?([a-zA-Z])\b\)?", re.IGNORECASE)


def closing_choice(text: str, options: Sequence[str], normalise: Callable[[str], str]) -> Reading:
    """The option the closing statement names (module docstring); unread when the last sentence naming options
    names several (a hedge) or none does."""
    if not options:
        return UNREAD
    letters = LETTERS[:len(options)]
    for sentence in reversed(sentences(text)):
        if is_aside(sentence):
            continue
        named_letters = {(a or b).lower() for a, b in _NAMED_LETTER.findall(sentence)} & set(letters)
        lead = leading_letter(sentence.strip())                     # "C. salt", "(C)"
        if lead and lead[0] in letters:
            named_letters.add(lead[0])
        if len(named_letters) > 1:
            return UNREAD
        if named_letters:
            return Reading(options[letters.index(named_letters.pop())], "closing")
        named = named_options(normalise(sentence), options, normalise)
        if len(named) == 1:
            return Reading(named[0], "closing")
        if named:
            return UNREAD
    return UNREAD
