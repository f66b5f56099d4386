"""The judge's data: one item (question, rationale, label) per teacher rationale, split by question."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

from qcrdkit.core.errors import ConfigError, DataFormatError
from qcrdkit.core.stages import JudgeStageConfig


POSITIVE = "teacher positive"
NEGATIVE = "teacher negative"


def judge_items(records: Sequence[dict], splits: Sequence[str] | None = None, *, path: str | Path = "samples") -> list[dict]:
    """Judge items from stage-01 sample records (label 1 = positive of the split).

    Each item: ``key`` (``<id>#<sample_index>``), ``id`` (question), ``split``, ``question``,
    ``rationale``, ``label``, ``source`` (``teacher positive`` / ``teacher negative``).
    """
    items = []
    for r in records:
        if splits is not None and r.get("split") not in splits:
            continue
        if "positive" not in r:
            raise DataFormatError(path, None, f"sample {r.get('id')}#{r.get('sample_index')} has no 'positive' "
                                  "field; run the self-consistency split of stage 01 first")
        label = int(bool(r["positive"]))
        items.append({"key": f"{r['id']}#{r['sample_index']}", "id": r["id"], "split": r.get("split"),
                      "question": r["question"], "rationale": r.get("rationale") or "", "label": label,
                      "source": POSITIVE if label else NEGATIVE})
    if not items:
        where = f" of split(s) {list(splits)}" if splits is not None else ""
        raise DataFormatError(path, None, f"no teacher samples{where}; run stage 01 (teacher sampling) "
                              "on these splits first")
    return items


#: what the judge's answer input carries (:func:`answer_signals`): nothing (eq. 1 as written), whether the kit
#: reads an answer from the rationale, or that answer's agreement with the question's other rationales
ANSWER_INPUTS = ("none", "answered", "agreement")


def answer_input_mode(value) -> str:
    """``answer_input`` as one of :data:`ANSWER_INPUTS` (``True`` / ``False`` / ``None`` from older judges and
    params files: ``answered`` / ``none``)."""
    if value is True:
        return "answered"
    if value in (False, None, ""):
        return "none"
    if value not in ANSWER_INPUTS:
        raise ConfigError(f"answer_input must be one of {ANSWER_INPUTS}, got {value!r}")
    return value


def answer_key(task, rationale: str, example=None):
    """The answer the kit reads from the rationale itself (:meth:`Task.rationale_answer`, the reading every
    student rationale is scored by), as a vote key; ``None`` when it reads none."""
    answer = task.rationale_answer(rationale or "", example)
    return None if answer is None else task.answer_key(answer)


def reads_answer(task, rationale: str, example=None) -> bool:
    """Whether the kit reads an answer from the rationale itself (:func:`answer_key`)."""
    return answer_key(task, rationale, example) is not None


def answer_signals(keys: Sequence, peer_keys: Sequence[Sequence], mode: str) -> list[float]:
    """The judge's answer input, one value in [0, 1] per rationale, from its answer key (``None``: no answer
    read) and the keys of its peers (the question's other rationales of the same kind):

    * ``answered``: 1 when an answer is read, else 0;
    * ``agreement``: 0 when no answer is read; else the share of the peers that read the same answer, or 1
      when there are no peers (then it is the ``answered`` bit).
    """
    mode = answer_input_mode(mode)
    if mode == "none":
        raise ConfigError("answer_signals: this judge has no answer input (answer_input 'none')")
    out = []
    for key, peers in zip(keys, peer_keys):
        if key is None:
            out.append(0.0)
        elif mode == "answered" or not peers:
            out.append(1.0)
        else:
            out.append(sum(p == key for p in peers) / len(peers))
    return out


def grouped_signals(keys: Sequence, groups: Sequence, mode: str) -> list[float]:
    """:func:`answer_signals` where each rationale's peers are the others of its group (its question)."""
    by_group: dict = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    peers = [[keys[j] for j in by_group[g] if j != i] for i, g in enumerate(groups)]
    return answer_signals(keys, peers, mode)


def mark_answer_signals(items: Sequence[dict], task, mode: str, examples: dict | None = None,
                        peers: Sequence[dict] | None = None) -> list[dict]:
    """Set ``answer_signal`` (:func:`answer_signals`) on each item, in place, and return the items. An item's
    peers are the other items of its question in ``peers`` (default: in ``items``) — e.g. augmented negatives
    measured against the teacher's own samples. ``examples`` (``{id: Example}``): for tasks whose reading needs
    the question's options. Mode ``none``: nothing to set."""
    if answer_input_mode(mode) == "none":
        return list(items)
    examples = examples or {}
    pool = list(items) if peers is None else list(peers)
    key_of = {id(it): answer_key(task, it["rationale"], examples.get(it["id"])) for it in list(items) + pool}
    by_question: dict = {}
    for it in pool:
        by_question.setdefault(it["id"], []).append(it)
    keys = [key_of[id(it)] for it in items]
    peer_keys = [[key_of[id(p)] for p in by_question.get(it["id"], []) if p is not it] for it in items]
    for it, value in zip(items, answer_signals(keys, peer_keys, mode)):
        it["answer_signal"] = value
    return list(items)


def split_by_question(items: Sequence[dict], heldout_fraction: float = JudgeStageConfig.heldout_fraction,
                      seed: int = JudgeStageConfig.seed) -> tuple[list[dict], list[dict]]:
    """Split items into train and held-out parts by question: no question is in both."""
    if not 0 <= heldout_fraction < 1:
        raise ConfigError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    questions = list(dict.fromkeys(it["id"] for it in items))
    random.Random(seed).shuffle(questions)
    n_held = min(len(questions) - 1, max(1, round(heldout_fraction * len(questions)))) if heldout_fraction else 0
    held = set(questions[:n_held])
    return [it for it in items if it["id"] not in held], [it for it in items if it["id"] in held]


def subsample_questions(items: Sequence[dict], max_questions: int | None, seed: int = 0) -> list[dict]:
    """At most ``max_questions`` questions with all of their items (for quick evaluation curves)."""
    questions = list(dict.fromkeys(it["id"] for it in items))
    if max_questions is None or len(questions) <= max_questions:
        return list(items)
    keep = set(random.Random(seed).sample(questions, max_questions))
    return [it for it in items if it["id"] in keep]
