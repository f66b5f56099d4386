"""Student training rows from a run's teacher samples (stage 01) and the task's splits, and the
collator that tokenizes them.

One **row** per question:

=====================  =====================================================================
``id``, ``question``   the example
``label``              the ``<Predict>`` target: the task's label (SVAMP/arith: the equation)
``example``            the :class:`~qcrdkit.tasks.Example` (accuracy is the task's scoring)
``rationale``          the one teacher rationale DSS, MI and Single-Task learn, chosen without
                       hindsight: ``"greedy"`` (default): the teacher's greedy (τ = 0) sample,
                       as Distilling Step-by-Step used; ``"first"``: the first τ sample, as a
                       single sampled CoT call would give; ``"first_positive"``: the first
                       self-consistency positive (uses the K samples' vote)
``positives``          QCRD's positive set: the self-consistency positives in sample order
                       (``"sc"``), or the first sample alone (``"first"``: ablation w/o ED)
``teacher_negatives``  the self-consistency negatives (a negative source for the ablations)
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
RATIONALE_CHOICES = ("greedy", "first", "first_positive")
POSITIVE_SOURCES = ("sc", "greedy", "first")
ANSWER_SENTENCE = "So the answer is"


def single_task_target(rationale: str, label: str) -> str:
    """Single-Task's one target: the rationale, then the label in an answer sentence."""
    return f"{rationale} {ANSWER_SENTENCE} {label}".strip()


def eval_rows(task: Task, examples: Sequence[Example]) -> list[dict]:
    """Valid / test rows: the label task only."""
    return [{"id": ex.id, "question": ex.input, "label": task.label_target(ex), "example": ex, "train": False}
            for ex in examples]


def train_rows(task: Task, examples: Sequence[Example], records: Sequence[dict], *, rationale: str = "greedy",
               positives: str = "sc", source: str = "samples.jsonl", greedy: Sequence[dict] | None = None,
               greedy_source: str = "greedy.jsonl") -> tuple[list[dict], dict]:
    """Training rows joined with the teacher samples; ``(rows, counts)``.

    Questions without teacher samples are left out (counted in ``counts["no_samples"]``); having
    none at all is an error naming ``source``. ``records`` need the self-consistency split
    (``positive``), as stage 01 writes them. ``greedy``: stage 01's greedy samples, needed for
    ``rationale="greedy"`` (a question without one is an error naming ``greedy_source``).
    """
    if rationale not in RATIONALE_CHOICES:
        raise ConfigError(f"rationale must be one of {RATIONALE_CHOICES}, got {rationale!r}")
    greedy_by_id = {r["id"]: r["rationale"] for r in greedy or []}
    if "greedy" in (rationale, positives) and greedy is None:
        raise ConfigError(f"{greedy_source}: not found; rationale='greedy' (or positives='greedy') needs stage 01 with greedy_rationale=True "
                          "(an endpoint teacher), or set rationale='first' (the first sampled rationale)")
    if positives not in POSITIVE_SOURCES:
        raise ConfigError(f"positives must be one of {POSITIVE_SOURCES}, got {positives!r}")
    missing = [r.get("id") for r in records if "positive" not in r][:3]
    if missing:
        raise ConfigError(f"{source}: records {missing} have no self-consistency split ('positive'); rerun stage 01")
    groups = group_by_question(records)
    rows, no_samples = [], 0
    for ex in examples:
        group = groups.get(ex.id)
        if not group:
            no_samples += 1
            continue
        pos = [r["rationale"] for r in group if r["positive"]]
        neg = [r["rationale"] for r in group if not r["positive"]]
        if "greedy" in (rationale, positives) and ex.id not in greedy_by_id:
            raise ConfigError(f"{greedy_source}: no greedy sample for question {ex.id!r}; rerun stage 01")
        if rationale == "greedy":
            one = greedy_by_id[ex.id]
        else:
            one = group[0]["rationale"] if rationale == "first" or not pos else pos[0]
        # QCRD's positives: the self-consistency positives, or one rationale (w/o ED: the baselines' greedy one)
        own = {"sc": pos, "greedy": [greedy_by_id.get(ex.id)], "first": [group[0]["rationale"]]}[positives]
        # stage 01's reading of each teacher rationale (right or wrong): the online judge's outcome labels
        correct = {r["rationale"]: bool(r.get("correct")) for r in group if r.get("rationale")}
        rows.append({"id": ex.id, "question": ex.input, "label": task.label_target(ex), "example": ex, "train": True,
                     "rationale": one, "positives": own, "teacher_negatives": neg if positives == "sc" else [],
                     "teacher_correct": correct})
    if not rows:
        raise ConfigError(f"{source}: no teacher samples for any of the {len(examples)} training questions; "
                          "run stage 01 on the train split")
    counts = {"questions": len(rows), "no_samples": no_samples,
              "with_positive": sum(bool(r["positives"]) for r in rows),
              "mean_positives": sum(len(r["positives"]) for r in rows) / len(rows),
              "mean_teacher_negatives": sum(len(r["teacher_negatives"]) for r in rows) / len(rows)}
    return rows, counts


def student_corpus(rows: Sequence[dict]) -> list[str]:
    """The texts a corpus tokenizer is trained on: questions, labels and every rationale."""
    texts = []
    for r in rows:
        texts += [r["question"], r["label"]]
        if r.get("train"):
            texts += r["positives"] + r["teacher_negatives"] + [r["rationale"]]
    return texts


@dataclass
class StudentCollator:
    """Rows → tensors. Every batch has the model's own keys for the label task (``input_ids``,
    ``attention_mask``, ``labels``); a multitask training batch adds the explain task
    (``expl_input_ids``, ``expl_attention_mask``, ``expl_labels``) and the raw fields the QCRD
    trainer needs (``id``, ``question``, ``positives``, ``teacher_negatives``)."""

    tokenizer: object
    input_format: str
    max_input_length: int = 256
    max_target_length: int = 128

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
        if self.input_format == "single" and training:
            batch["labels"] = self.targets([single_task_target(r["rationale"], r["label"]) for r in rows])
        else:
            batch["labels"] = self.targets([r["label"] for r in rows])
        if self.input_format == "multitask" and training:
            expl = self.inputs([explain_input(q) for q in questions])
            batch["expl_input_ids"], batch["expl_attention_mask"] = expl["input_ids"], expl["attention_mask"]
            batch["expl_labels"] = self.targets([r["rationale"] for r in rows])
            batch["id"] = [r["id"] for r in rows]
            batch["question"] = questions
            batch["positives"] = [r["positives"] for r in rows]
            batch["teacher_negatives"] = [r["teacher_negatives"] for r in rows]
        return batch
