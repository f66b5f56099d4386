"""Student training rows from a run's teacher samples (stage 01) and the task's splits, and the
collator that tokenizes them.

One **row** per question:

=====================  =====================================================================
``id``, ``question``   the example
``label``              the ``<Predict>`` target: the task's label (SVAMP/arith: the equation)
``example``            the :class:`~qcrdkit.tasks.Example` (accuracy is the task's scoring)
``rationales``         what the method learns from, by ``rationale_source`` (:data:`RATIONALE_SOURCES`):
                       ``"greedy"``: the teacher's greedy (τ = 0) rationale, as Distilling
                       Step-by-Step used; ``"one_sample"``: the first τ sample, as a single sampled
                       CoT call gives; ``"self_consistent"``: the self-consistency positives in
                       sample order; ``"greedy_and_samples"``: the greedy one, then the positives
``rationale``          the first of them (the first sample when there are none): what DSS, MI and
                       Single-Task learn in epoch 0; epoch ``e`` learns ``rationales[e % len]``
                       (:func:`rationale_at`), so a one-rationale method goes through a set in turn
``positives``          QCRD's positive set: ``rationales`` (QCRD takes the first ``num_positives``)
``teacher_negatives``  the self-consistency negatives (a negative source for the ablations), for
                       a source with samples only
``teacher_rationales`` every teacher rationale of the question (greedy and samples): the decoding
                       budget, the same for every method and source
``train``              ``True`` for training rows; valid/test rows carry only the label task
=====================  =====================================================================

Input formats (the methods pick one):

* ``"label"`` (Finetune): question → label;
* ``"single"`` (Single-Task): question → ``<rationale> So the answer is <label>.``, one sequence;
* ``"multitask"`` (DSS, MI, QCRD; §3.1): ``<Predict> question`` → label and
  ``<Explain> question`` → rationale.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from qcrdkit.teacher.consistency import group_by_question
from qcrdkit.core.errors import ConfigError
from qcrdkit.students.models import explain_input, predict_input
from qcrdkit.tasks import Example, Task

INPUT_FORMATS = ("label", "single", "multitask")
RATIONALE_SOURCES = ("greedy", "one_sample", "self_consistent", "greedy_and_samples")
#: a source that needs stage 01's greedy rationale
GREEDY_SOURCES = ("greedy", "greedy_and_samples")
ANSWER_SENTENCE = "So the answer is"


def single_task_target(rationale: str, label: str) -> str:
    """Single-Task's one target: the rationale, then the label in an answer sentence."""
    return f"{rationale} {ANSWER_SENTENCE} {label}".strip()


def eval_rows(task: Task, examples: Sequence[Example]) -> list[dict]:
    """Valid / test rows: the label task only."""
    return [{"id": ex.id, "question": ex.input, "label": task.label_target(ex), "example": ex, "train": False}
            for ex in examples]


#: how students trained before ``rationale_source`` recorded it: QCRD's ``positives``, the baselines' ``rationale``
LEGACY_SOURCE_NAMES = {"positives": {"sc": "self_consistent", "greedy": "greedy", "first": "one_sample"},
                       "rationale": {"greedy": "greedy", "first": "one_sample"}}


def recorded_rationale_source(config: dict) -> str | None:
    """The rationale source a student's recorded config says it learnt from (None: it learns no rationale, or
    an older student's ``rationale="first_positive"``, which no source reproduces)."""
    if config.get("rationale_source"):
        return config["rationale_source"]
    for key, names in LEGACY_SOURCE_NAMES.items():
        if key in config:
            return names.get(config[key])
    return None


def check_rationale_source(source: str) -> str:
    if source not in RATIONALE_SOURCES:
        raise ConfigError(f"rationale_source must be one of {RATIONALE_SOURCES} (or None: the method's own), got {source!r}")
    return source


def source_rationales(source: str, greedy: str | None, samples: Sequence[str], positives: Sequence[str]) -> list[str]:
    """The rationales ``source`` teaches for one question: its greedy rationale, its τ samples (in order) and
    their self-consistency positives given."""
    return {"greedy": [greedy], "one_sample": list(samples[:1]), "self_consistent": list(positives),
            "greedy_and_samples": [greedy, *positives]}[check_rationale_source(source)]


def rationale_at(row: dict, epoch: int) -> str:
    """The one rationale a row teaches in ``epoch``: its source's rationales in turn (the first sample when the
    source has none for this question)."""
    rationales = row.get("rationales") or [row["rationale"]]
    return rationales[epoch % len(rationales)]


def train_rows(task: Task, examples: Sequence[Example], records: Sequence[dict], *, rationale_source: str,
               source: str = "samples.jsonl", greedy: Sequence[dict] | None = None,
               greedy_source: str = "greedy.jsonl") -> tuple[list[dict], dict]:
    """Training rows joined with the teacher samples; ``(rows, counts)``.

    Questions without teacher samples are left out (counted in ``counts["no_samples"]``); having
    none at all is an error naming ``source``. ``records`` need the self-consistency split
    (``positive``), as stage 01 writes them. ``greedy``: stage 01's greedy samples, needed for a
    source with the greedy rationale (a question without one is an error naming ``greedy_source``).
    """
    check_rationale_source(rationale_source)
    greedy_by_id = {r["id"]: r["rationale"] for r in greedy or []}
    if rationale_source in GREEDY_SOURCES and greedy is None:
        raise ConfigError(f"{greedy_source}: not found; rationale_source={rationale_source!r} needs stage 01 with "
                          "greedy_rationale=True (an endpoint teacher), or set rationale_source='one_sample' or "
                          "'self_consistent'")
    missing = [r.get("id") for r in records if "positive" not in r][:3]
    if missing:
        raise ConfigError(f"{source}: records {missing} have no self-consistency split ('positive'); rerun stage 01")
    groups = group_by_question(records)
    rows, no_samples, fallback = [], 0, 0
    for ex in examples:
        group = groups.get(ex.id)
        if not group:
            no_samples += 1
            continue
        if rationale_source in GREEDY_SOURCES and ex.id not in greedy_by_id:
            raise ConfigError(f"{greedy_source}: no greedy sample for question {ex.id!r}; rerun stage 01")
        samples = [r["rationale"] for r in group]
        pos = [r["rationale"] for r in group if r["positive"]]
        neg = [r["rationale"] for r in group if not r["positive"]]
        rationales = source_rationales(rationale_source, greedy_by_id.get(ex.id), samples, pos)
        fallback += not rationales
        # stage 01's reading of each teacher rationale (right or wrong): the online judge's outcome labels
        correct = {r["rationale"]: bool(r.get("correct")) for r in group if r.get("rationale")}
        rows.append({"id": ex.id, "question": ex.input, "label": task.label_target(ex), "example": ex, "train": True,
                     "rationales": rationales, "rationale": (rationales or samples)[0], "positives": rationales,
                     "teacher_negatives": neg if rationale_source in ("self_consistent", "greedy_and_samples") else [],
                     "teacher_rationales": ([greedy_by_id[ex.id]] if ex.id in greedy_by_id else []) + samples,
                     "teacher_correct": correct})
    if not rows:
        raise ConfigError(f"{source}: no teacher samples for any of the {len(examples)} training questions; "
                          "run stage 01 on the train split")
    counts = {"questions": len(rows), "no_samples": no_samples, "rationale_source": rationale_source,
              "with_positive": sum(bool(r["positives"]) for r in rows),
              "without_source_rationale": fallback,
              "mean_positives": sum(len(r["positives"]) for r in rows) / len(rows),
              "mean_teacher_negatives": sum(len(r["teacher_negatives"]) for r in rows) / len(rows)}
    return rows, counts


def student_corpus(rows: Sequence[dict]) -> list[str]:
    """The texts a corpus tokenizer is trained on: questions, labels and every rationale."""
    texts = []
    for r in rows:
        texts += [r["question"], r["label"]]
        if r.get("train"):
            texts += r["teacher_rationales"]
    return texts


@dataclass
class StudentCollator:
    """Rows → tensors. Every batch has the model's own keys for the label task (``input_ids``,
    ``attention_mask``, ``labels``); a multitask training batch adds the explain task
    (``expl_input_ids``, ``expl_attention_mask``, ``expl_labels``) and the raw fields the QCRD
    trainer needs (``id``, ``question``, ``positives``, ``teacher_negatives``). A training row's rationale is
    the one of the current epoch (:func:`rationale_at`; the epoch of ``sampler``, which the trainer's loader sets)."""

    tokenizer: object
    input_format: str
    max_input_length: int = 256
    max_target_length: int = 128
    sampler: object | None = None

    def __post_init__(self):
        if self.input_format not in INPUT_FORMATS:
            raise ConfigError(f"input_format must be one of {INPUT_FORMATS}, got {self.input_format!r}")

    def targets(self, texts: Sequence[str]) -> torch.Tensor:
        enc = self.tokenizer(text_target=list(texts), max_length=self.max_target_length, truncation=True,
                             padding=True, return_tensors="pt")
        return enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)

    def inputs(self, texts: Sequence[str]) -> dict:
        return self.tokenizer(list(texts), max_length=self.max_input_length, truncation=True, padding=True,
                              return_tensors="pt")

    def __call__(self, rows: list[dict]) -> dict:
        training = all(r["train"] for r in rows)
        questions = [r["question"] for r in rows]
        if self.input_format == "multitask":
            batch = dict(self.inputs([predict_input(q) for q in questions]))
        else:
            batch = dict(self.inputs(questions))
        epoch = getattr(self.sampler, "epoch", 0)
        rationales = [rationale_at(r, epoch) for r in rows] if training else []
        if self.input_format == "single" and training:
            batch["labels"] = self.targets([single_task_target(t, r["label"]) for t, r in zip(rationales, rows)])
        else:
            batch["labels"] = self.targets([r["label"] for r in rows])
        if self.input_format == "multitask" and training:
            expl = self.inputs([explain_input(q) for q in questions])
            batch["expl_input_ids"], batch["expl_attention_mask"] = expl["input_ids"], expl["attention_mask"]
            batch["expl_labels"] = self.targets(rationales)
            batch["id"] = [r["id"] for r in rows]
            batch["question"] = questions
            batch["positives"] = [r["positives"] for r in rows]
            batch["teacher_negatives"] = [r["teacher_negatives"] for r in rows]
        return batch
