"""Negative augmentation for the judge (paper appendix A.3).

The teacher's samples are mostly positives (at T = 0.7 about four of five agree), so the
judge would see few negatives. As in the paper, negatives are made from positives:

* ``mask``     — a fraction of the words is replaced by a mask token,
* ``replace``  — a fraction of the words is replaced by random words of the task's rationales
  (the paper picks replacements with StanfordNLP; a corpus word is the offline stand-in),
* ``repeat``   — one sentence is written twice (a small student's loops),
* ``drop``     — one sentence other than the first is left out (a skipped step),
* ``number``   — arithmetic tasks only: one number in the rationale is changed,
* ``operator`` — arithmetic tasks only: one arithmetic operator (+ - * / × ÷) is swapped,
* ``result``   — arithmetic tasks only: the result of one calculation (``x op y = z``) is changed.

The arithmetic ones make the hard negatives an arithmetic judge needs: text that reads like a good
rationale with one wrong step; ``repeat`` and ``drop`` the structural failures of a student's own
samples, which a judge trained only on the teacher's mistakes scores as good. Each augmented negative applies one operation picked at random
among those that change its source text.

Per question, as many negatives are added as it lacks to match its positives
(``max(0, positives - negatives)``), each from one of its positives in turn. The random stream
is seeded by ``(seed, question id)``: the same question gets the same augmentation whatever else
is in the data or in which order.

Items are the dicts of :mod:`qcrdkit.judge` (``key``, ``id``, ``question``,
``rationale``, ``label``, ``source``); augmented ones have ``source = "augmented negative"``,
``label = 0`` and ``augment`` naming the operation.
"""
from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from typing import Sequence

AUGMENTED = "augmented negative"
TEXT_OPS = ("mask", "replace", "repeat", "drop")
ARITHMETIC_OPS = ("number", "operator", "result")
ALL_OPS = TEXT_OPS + ARITHMETIC_OPS
#: the default: the structural ops and ``result`` did not raise the demo judge's AUC (docs/guide.md, stage 02)
DEFAULT_OPS = ("mask", "replace", "number", "operator")

_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]\d)")
_OPERATOR = re.compile(r"(?<=[\d)])(\s*)([+\-*/×÷])(\s*)(?=[\d(])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_RESULT = re.compile(r"(=\s*)(-?\d+(?:\.\d+)?)")
_OPERATOR_SWAPS = {"+": "-*/", "-": "+*/", "*": "+-/", "/": "+-*", "×": "+-÷", "÷": "+-×"}


def _rewrite_words(text: str, rng: random.Random, rate: float, new_word) -> str:
    words = list(_WORD.finditer(text))
    if not words:
        return text
    chosen = sorted(rng.sample(range(len(words)), max(1, round(rate * len(words)))))
    pieces, last = [], 0
    for i in chosen:
        m = words[i]
        pieces += [text[last:m.start()], new_word(m.group())]
        last = m.end()
    return "".join(pieces) + text[last:]


def mask_token_for(tokenizer) -> str:
    """The word that stands for a masked one: the tokenizer's mask token, else T5's first sentinel
    (``<extra_id_0>``, what T5 was pretrained to fill in), else ``[MASK]``."""
    if getattr(tokenizer, "mask_token", None):
        return tokenizer.mask_token
    return "<extra_id_0>" if "<extra_id_0>" in tokenizer.get_vocab() else "[MASK]"


def mask_words(text: str, rng: random.Random, rate: float = 0.2, mask_token: str = "[MASK]") -> str:
    """Replace ``rate`` of the words (at least one) with ``mask_token``."""
    return _rewrite_words(text, rng, rate, lambda _: mask_token)


def replace_words(text: str, rng: random.Random, vocabulary: Sequence[str], rate: float = 0.2) -> str:
    """Replace ``rate`` of the words (at least one) with other words drawn from ``vocabulary``."""
    if not vocabulary:
        return text

    def new_word(old: str) -> str:
        for _ in range(10):
            word = rng.choice(vocabulary)
            if word.lower() != old.lower():
                return word
        return old
    return _rewrite_words(text, rng, rate, new_word)


def perturb_number(text: str, rng: random.Random) -> str:
    """Change one number of the text to a different non-negative number of similar size."""
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return text
    m = rng.choice(numbers)
    value = float(m.group())
    step = rng.randint(1, max(1, int(abs(value) * 0.5)))
    new = value + step if (value - step < 0 or rng.random() < 0.5) else value - step
    if "." in m.group():
        decimals = len(m.group().split(".")[1])
        new_text = f"{new:.{decimals}f}"
    else:
        new_text = str(int(new))
    return text[:m.start()] + new_text + text[m.end():]


def swap_operator(text: str, rng: random.Random) -> str:
    """Swap one arithmetic operator between numbers (``3 + 4`` → ``3 * 4``)."""
    ops = list(_OPERATOR.finditer(text))
    if not ops:
        return text
    m = rng.choice(ops)
    new_op = rng.choice(_OPERATOR_SWAPS[m.group(2)])
    return text[:m.start(2)] + new_op + text[m.end(2):]


def _sentences(text: str) -> list[str]:
    """Sentences split at ``. `` / ``! `` / ``? `` (a decimal point is not followed by a space)."""
    return [p for p in _SENTENCE_END.split(text.strip()) if p]


def repeat_sentence(text: str, rng: random.Random) -> str:
    """Write one sentence twice in a row."""
    parts = _sentences(text)
    if not parts:
        return text
    i = rng.randrange(len(parts))
    return " ".join(parts[:i + 1] + parts[i:])


def drop_sentence(text: str, rng: random.Random) -> str:
    """Leave out one sentence other than the first (unchanged when there is only one)."""
    parts = _sentences(text)
    if len(parts) < 2:
        return text
    i = rng.randrange(1, len(parts))
    return " ".join(parts[:i] + parts[i + 1:])


def change_result(text: str, rng: random.Random) -> str:
    """Change the result ``z`` of one calculation ``... = z`` by a small step."""
    results = list(_RESULT.finditer(text))
    if not results:
        return text
    m = rng.choice(results)
    value = float(m.group(2))
    new = value + rng.choice([-2, -1, 1, 2, 10]) if value >= 2 else value + rng.choice([1, 2, 10])
    new_text = str(int(new)) if "." not in m.group(2) else f"{new:.{len(m.group(2).split('.')[1])}f}"
    return text[:m.start(2)] + new_text + text[m.end(2):]


def corpus_vocabulary(texts: Sequence[str]) -> list[str]:
    """Sorted distinct words of ``texts`` (the replacement pool for ``replace``)."""
    return sorted({w for t in texts for w in _WORD.findall(t)})


def augment_text(text: str, op: str, rng: random.Random, *, vocabulary: Sequence[str] = (),
                 mask_token: str = "[MASK]", rate: float = 0.2) -> str:
    if op == "mask":
        return mask_words(text, rng, rate, mask_token)
    if op == "replace":
        return replace_words(text, rng, vocabulary, rate)
    if op == "number":
        return perturb_number(text, rng)
    if op == "operator":
        return swap_operator(text, rng)
    if op == "repeat":
        return repeat_sentence(text, rng)
    if op == "drop":
        return drop_sentence(text, rng)
    if op == "result":
        return change_result(text, rng)
    raise ValueError(f"unknown augmentation {op!r}; known: {ALL_OPS}")


def augment_negatives(items: Sequence[dict], *, seed: int = 0, ops: Sequence[str] = DEFAULT_OPS,
                      arithmetic: bool = False, mask_token: str = "[MASK]", rate: float = 0.2,
                      vocabulary: Sequence[str] | None = None) -> list[dict]:
    """New negative items that balance each question's positives and negatives (see module doc).

    ``ops`` lists the allowed operations; ``number``, ``operator`` and ``result`` are used only
    when ``arithmetic`` is true. Returns only the new items.
    """
    unknown = [op for op in ops if op not in ALL_OPS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; known: {ALL_OPS}")
    usable = [op for op in ops if op in TEXT_OPS or arithmetic]
    if not usable:
        return []
    if vocabulary is None:
        vocabulary = corpus_vocabulary([it["rationale"] for it in items])
    by_question: dict[str, list[dict]] = defaultdict(list)
    for it in items:
        by_question[it["id"]].append(it)
    out = []
    for qid, group in by_question.items():
        positives = sorted((it for it in group if it["label"] == 1 and it["rationale"].strip()), key=lambda it: it["key"])
        n_neg = sum(it["label"] == 0 for it in group)
        need = max(0, len(positives) - n_neg)
        rng = random.Random(f"{seed}|{qid}")
        for j in range(need):
            source = positives[j % len(positives)]
            for op in rng.sample(usable, len(usable)):
                text = augment_text(source["rationale"], op, rng, vocabulary=vocabulary,
                                    mask_token=mask_token, rate=rate)
                if text != source["rationale"]:
                    break
            else:
                continue
            out.append({**source, "key": f"{source['key']}+aug{j}", "rationale": text, "label": 0,
                        "source": AUGMENTED, "augment": op})
    return out


def augmentation_summary(items: Sequence[dict], augmented: Sequence[dict]) -> dict:
    """Counts for the report: how many negatives are augmented, and by which operation."""
    negatives = sum(it["label"] == 0 for it in items) + len(augmented)
    return {"augmented": len(augmented), "negatives_total": negatives,
            "fraction_of_negatives": round(len(augmented) / negatives, 4) if negatives else 0.0,
            "by_operation": dict(Counter(it["augment"] for it in augmented))}
