"""The judge's data: one item (question, rationale, label) per teacher rationale, split by question."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError, DataFormatError


POSITIVE = "teacher positive"
NEGATIVE = "teacher negative"


def judge_items(records: Sequence[dict], splits: Sequence[str] | None = None, *, path: str | Path = "samples") -> list[dict]:
    """Discriminator items from stage-01 sample records (label 1 = positive of the split).

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


def split_by_question(items: Sequence[dict], heldout_fraction: float = 0.1, seed: int = 0) -> tuple[list[dict], list[dict]]:
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
