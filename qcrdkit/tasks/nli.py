"""Natural language inference: ANLI round 1 and e-SNLI. Labels 0/1/2 = entailment/neutral/contradiction."""
from __future__ import annotations

import re

from qcrdkit.tasks.base import Example, Task, register_task
from qcrdkit.tasks.reading import UNREAD, Reading, is_aside, sentences

NLI_LABELS = ("entailment", "neutral", "contradiction")
_LABEL_RE = re.compile(r"\b(entail\w*|neutral|contradict\w*)\b", re.IGNORECASE)


#: a label said in other words, tried in this order on the closing statement (neutral first: "not necessarily
#: true" is neutral, not entailment; "cannot be determined" is not "cannot be true")
LABEL_PHRASES = (
    ("neutral", re.compile(
        r"\bneutral\b|not necessarily|not (?:possible|able) to (?:tell|say|know|determine)|"
        r"(?:cannot|can't|can not|unable to) (?:be )?(?:tell|told|say|know|known|determined?|conclude|infer)|"
        r"may or may not|might or might not|could be true|not enough information|no information|"
        r"\b(?:unclear|unknown|undetermined|uncertain)\b|(?:does|do)(?: not|n't) (?:say|mention|tell|specify|confirm|"
        r"state|imply|indicate)", re.IGNORECASE)),
    ("contradiction", re.compile(
        r"contradict\w*|\bconflict\w*|\b(?:is|are) (?:false|wrong|incorrect)\b|\bincorrect\b|"
        r"(?:cannot|can't|can not|could not|couldn't) (?:both )?be (?:true|the case|right)|"
        r"\b(?:is|are)(?: not|n't) (?:true|the case|correct)\b|\bimpossible\b|\bopposite\b", re.IGNORECASE)),
    ("entailment", re.compile(
        r"\bentail\w*|follows from|\b(?:is|are|must be|definitely|certainly) (?:true|correct|the case)\b|"
        r"\bimplie[sd]\b|\bcan (?:be )?infer\w*|\binferred\b|\bsupported\b|\brestatement\b|"
        r"\bconfirms?\b|\bparaphrase\b", re.IGNORECASE)),
)


def closing_label(text: str) -> Reading:
    """The label the closing statement says in words (:data:`LABEL_PHRASES`): the last sentence that is not an
    aside and says one."""
    for sentence in reversed(sentences(text)):
        if is_aside(sentence):
            continue
        for label, phrase in LABEL_PHRASES:
            if phrase.search(sentence):
                return Reading(label, "closing")
    return UNREAD


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

    def closing_answer(self, text: str, example: Example | None = None) -> Reading:
        return closing_label(text)

    def _load_split_hub(self, split):
        from qcrdkit.tasks.hub import load_hub_split
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
