"""Natural language inference: ANLI round 1 and e-SNLI. Labels 0/1/2 = entailment/neutral/contradiction."""
from __future__ import annotations

import re

from .base import Example, Task, register_task

NLI_LABELS = ("entailment", "neutral", "contradiction")
_LABEL_RE = re.compile(r"\b(entail\w*|neutral|contradict\w*)\b", re.IGNORECASE)


def format_nli(premise: str, hypothesis: str) -> str:
    return f"Premise: {premise}\nHypothesis: {hypothesis}"


class NLITask(Task):
    example_stops = ("\nPremise:", "\nQ:")
    id_field: str | None = None
    hub_id: str = ""
    hub_splits: dict = {}

    def example_from_record(self, record: dict, default_id: str) -> Example:
        label = record["label"]
        if isinstance(label, int) or (isinstance(label, str) and label.isdigit()):
            if int(label) not in (0, 1, 2):
                raise ValueError(f"label must be 0, 1 or 2, got {label!r}")
            label = NLI_LABELS[int(label)]
        if label not in NLI_LABELS:
            raise ValueError(f"unknown label {label!r}")
        rid = record.get(self.id_field) if self.id_field else None
        return Example(id=str(rid or default_id), input=format_nli(record["premise"], record["hypothesis"]),
                       label=label, answer=label,
                       meta={"premise": record["premise"], "hypothesis": record["hypothesis"]})

    def parse_answer_text(self, answer_text: str, example: Example | None) -> str | None:
        m = _LABEL_RE.search(answer_text)
        if not m:
            return None
        word = m.group(1).lower()
        return "entailment" if word.startswith("entail") else "contradiction" if word.startswith("contradict") else "neutral"

    def _load_split_hub(self, split):
        from .hub import load_hub_split
        return load_hub_split(self, self.hub_id, None, self.hub_splits, split)


@register_task("anli1")
class ANLI1(NLITask):
    required_fields = ("premise", "hypothesis", "label")
    id_field = "uid"
    hub_id = "facebook/anli"
    hub_splits = {"train": "train_r1", "valid": "dev_r1", "test": "test_r1"}


@register_task("esnli")
class ESNLI(NLITask):
    required_fields = ("premise", "hypothesis", "label")
    example_stops = ("\nPremise:",)
    hub_id = "esnli"
    hub_splits = {"train": "train", "valid": "validation", "test": "test"}
