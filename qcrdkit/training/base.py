"""What every student method shares: the training arguments (stage 03's defaults), the trainer
(Hugging Face ``Seq2SeqTrainer``: checkpoints, resume, logging, progress bars, ``accelerate`` /
``torchrun`` come from it) and accuracy on the label task.

Model selection follows the valid split: the trainer evaluates every ``eval_steps`` by greedy
generation of the label, keeps the checkpoint with the best valid accuracy
(``load_best_model_at_end``) and the test split is evaluated once, by the caller, at the end.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback
from transformers.trainer_callback import ExportableState

from qcrdkit.core.processes import gather_list
from qcrdkit.core.stage_parameters import declared
from qcrdkit.core.training_arguments import KitTrainingArguments
from qcrdkit.students.models import explain_input, generate_texts
from qcrdkit.tasks import Example, Task, split_answer
from qcrdkit.training.data import StudentCollator, check_rationale_source, single_task_target
from qcrdkit.core.stages import TRAINING

STAGE = TRAINING
#: learning rate when stage 03's ``lr`` is None: the paper's 1e-5 for a pretrained T5, larger for a student from scratch
PRETRAINED_LR, SCRATCH_LR = 1e-5, 1e-3


def rationale_outcomes(task: Task, texts: list[str], examples: list[Example]) -> list[dict]:
    """Per generated rationale: the answer it reaches (``task.rationale_answer``: a stated answer,
    else for numeric tasks the result of its last calculation) and whether that answer is right."""
    out = []
    for text, ex in zip(texts, examples):
        answer, correct = task.rationale_outcome(text, ex)
        out.append({"rationale": text, "rationale_answer": answer, "rationale_correct": correct})
    return out


def rationale_accuracy(outcomes: list[dict]) -> float:
    """The share of rationales whose own answer is right (0 for none)."""
    return float(np.mean([o["rationale_correct"] for o in outcomes])) if outcomes else 0.0


@dataclass
class StudentConfig(KitTrainingArguments, Seq2SeqTrainingArguments):
    """``Seq2SeqTrainingArguments`` with the students' own fields and defaults. The ones stage 03 also has are
    declared there (:class:`qcrdkit.core.stages.TrainingStageConfig`; its ``steps``, ``batch_size``, ``eval_every``
    are ``max_steps``, ``per_device_train_batch_size``, ``eval_steps`` = ``save_steps`` here, mapped by
    :func:`qcrdkit.training.method_config`); the learning rate is the one of a student built from a
    config (the default preset's). Evaluation and checkpoints every ``eval_steps``; the best valid accuracy is kept."""

    train_fraction: float = declared(STAGE, "train_fraction")
    max_input_length: int = field(default=256, metadata={"help": "question tokens kept (inputs are truncated)"})
    max_target_length: int = field(default=128, metadata={"help": "label / rationale tokens kept"})
    max_steps: int = declared(STAGE, "steps")
    per_device_train_batch_size: int = declared(STAGE, "batch_size")
    per_device_eval_batch_size: int = 64
    learning_rate: float = SCRATCH_LR
    warmup_steps: float = 0.0
    eval_steps: float = declared(STAGE, "eval_every")
    save_steps: float = declared(STAGE, "eval_every")
    save_total_limit: int | None = 2
    load_best_model_at_end: bool = True
    metric_for_best_model: str | None = "accuracy"
    greater_is_better: bool | None = True
    eval_rationales: bool = field(default=True, metadata={
        "help": "methods that learn rationales also decode a greedy rationale per evaluated question and log "
                "rationale_accuracy: the share whose own answer is right"})
    predict_with_generate: bool = True
    generation_max_length: int | None = None
    restore_callback_states_from_checkpoint: bool = True   # the step timer survives a resume
    ddp_find_unused_parameters: bool | None = False        # every method's label pass uses every weight

    #: what a method with a ``rationale_source`` field learns from when it is None (the paper's source for it)
    paper_rationale_source: ClassVar[str] = "greedy"

    def __post_init__(self):
        if not 0 < self.train_fraction <= 1:
            raise ValueError(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        if hasattr(self, "rationale_source"):
            self.rationale_source = check_rationale_source(self.rationale_source or self.paper_rationale_source)
        super().__post_init__()


class StepTimer(TrainerCallback, ExportableState):
    """Wall seconds spent in optimizer steps (evaluation and saving left out); kept in checkpoints.
    ``first``: the first step this process took (warm-up: allocations, kernel selection)."""

    def __init__(self, seconds: float = 0.0, steps: int = 0):
        self.seconds, self.steps, self._start, self.first = seconds, steps, None, None

    @property
    def steady_seconds_per_step(self) -> float | None:
        """Seconds per step without this process's first step (``None`` below two steps)."""
        if self.first is None or self.steps < 2:
            return None
        return (self.seconds - self.first) / (self.steps - 1)

    @staticmethod
    def _sync():
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_step_begin(self, args, state, control, **kwargs):
        self._sync()
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self._sync()
        if self._start is not None:
            took = time.perf_counter() - self._start
            self.seconds += took
            self.steps += 1
            if self.first is None:
                self.first = took

    def state(self) -> dict:
        return {"args": {"seconds": self.seconds, "steps": self.steps}, "attributes": {}}


class StudentTrainer(Seq2SeqTrainer):
    """``Seq2SeqTrainer`` that scores generated labels with the task, and logs named loss parts.

    Subclasses set :attr:`input_format` (see :mod:`qcrdkit.trainers.data`) and override
    ``compute_loss``; this base class trains on the label task alone (Finetune).
    """

    input_format = "label"

    @property
    def learns_rationales(self) -> bool:
        return self.input_format in ("single", "multitask")

    def __init__(self, *, task: Task, processing_class, args: StudentConfig, **kwargs):
        kwargs.setdefault("data_collator", StudentCollator(processing_class, self.input_format, args.max_input_length,
                                                           args.max_target_length))
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), StepTimer()]
        super().__init__(args=args, processing_class=processing_class, compute_metrics=self.accuracy, **kwargs)
        self.task = task
        # our compute_loss returns per-batch means: let the Trainer divide by gradient accumulation
        self.model_accepts_loss_kwargs = False
        self._parts: dict[str, list[float]] = defaultdict(list)
        self._scored_rows: list[dict] = []
        self.last_predictions: list[dict] = []
        self.rationale_max_new_tokens = args.max_target_length

    @property
    def step_timer(self) -> StepTimer:
        """The step timer (a resumed run replaces the instance with the restored one)."""
        return next(cb for cb in self.callback_handler.callbacks if isinstance(cb, StepTimer))

    # ---- data order --------------------------------------------------------------------------
    def get_train_dataloader(self):
        """Batches from a seeded per-epoch question order (:class:`~qcrdkit.core.question_batches.QuestionBatchSampler`,
        ``seed + epoch``): every method trained with the same seed sees the same questions in the same
        order, and QCRD knows the questions of the coming steps (to sample their negatives together)."""
        from qcrdkit.core.question_batches import question_loader

        loader, self.train_sampler = question_loader(self, self.train_dataset, self._train_batch_size, shuffle=True)
        if isinstance(self.data_collator, StudentCollator):
            self.data_collator.sampler = self.train_sampler     # a row's rationale of the epoch (data.rationale_at)
        return loader

    # ---- loss ------------------------------------------------------------------------------
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], labels=inputs["labels"])
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def record(self, **parts) -> None:
        """Loss parts to log (averaged over the steps between two log lines)."""
        for name, value in parts.items():
            if value is not None:
                self._parts[name].append(float(value))

    def log(self, logs: dict, start_time: float | None = None) -> None:
        if "loss" in logs and self._parts:
            logs.update({name: round(float(np.mean(v)), 5) for name, v in self._parts.items()})
            self._parts.clear()
        super().log(logs, start_time)

    # ---- evaluation ------------------------------------------------------------------------
    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval", **gen_kwargs):
        """Label accuracy (the Trainer's generate-and-score loop); for methods that learn
        rationales also ``<prefix>_rationale_accuracy`` (logged, and in the returned metrics)."""
        self._scored_rows = list(self.eval_dataset if eval_dataset is None else eval_dataset)
        metrics = super().evaluate(eval_dataset, ignore_keys=ignore_keys, metric_key_prefix=metric_key_prefix,
                                   **gen_kwargs)
        if self.learns_rationales and self.args.eval_rationales:
            outcomes = self.rationale_predictions(self._scored_rows)
            extra = {f"{metric_key_prefix}_rationale_accuracy": rationale_accuracy(outcomes)}
            by_id = {o["id"]: o for o in outcomes}
            self.last_predictions = [{**p, **{k: v for k, v in by_id[p["id"]].items() if k != "id"}}
                                     for p in self.last_predictions]
            metrics.update(extra)
            self.log(extra)
        return metrics

    @property
    def gather_function(self):
        """How evaluation gathers predictions across processes: ``gather_for_metrics``, which drops the rows
        accelerate repeats to give every process full batches. (``Seq2SeqTrainer.evaluate`` sets the plain
        ``gather``, which keeps them: 8 valid rows came back as 128 predictions on two processes.)"""
        return self.accelerator.gather_for_metrics

    @gather_function.setter
    def gather_function(self, value) -> None:
        pass                # the Trainer's and Seq2SeqTrainer's assignments: the property above wins

    def rationale_predictions(self, rows: list[dict]) -> list[dict]:
        """The greedy rationale of each row's question (``<Explain> x`` for the multitask methods; the
        part of Single-Task's output before "So the answer is"), its answer and correctness."""
        model = self.accelerator.unwrap_model(self.model)
        if self.input_format == "multitask":
            inputs = [explain_input(r["question"]) for r in rows]
            budget = self.rationale_max_new_tokens
        else:
            inputs = [r["question"] for r in rows]
            budget = self.args.generation_max_length or self.args.max_target_length
        with self.accelerator.split_between_processes(inputs) as part:    # several processes: a part each
            texts = [t[0] for t in generate_texts(model, self.processing_class, part, max_new_tokens=budget,
                                                  batch_size=self.args.per_device_eval_batch_size,
                                                  max_input_length=self.args.max_input_length)]
        texts = gather_list(texts)
        if self.input_format == "single":
            texts = [split_answer(t)[0] for t in texts]
        outcomes = rationale_outcomes(self.task, texts, [r["example"] for r in rows])
        return [{"id": r["id"], **o} for r, o in zip(rows, outcomes)]

    def parse_prediction(self, text: str, example):
        if self.input_format == "single":
            text = split_answer(text)[1] or ""
        return self.task.parse_label(text, example)

    def predictions_text(self, token_ids) -> list[str]:
        ids = np.where(np.asarray(token_ids) < 0, self.processing_class.pad_token_id, token_ids)
        return self.processing_class.batch_decode(ids, skip_special_tokens=True)

    def accuracy(self, eval_pred) -> dict:
        """``compute_metrics``: the share of generated labels whose answer the task scores correct."""
        texts = self.predictions_text(eval_pred.predictions)
        rows = self._scored_rows
        if len(texts) != len(rows):
            raise RuntimeError(f"{len(texts)} predictions for {len(rows)} evaluation rows")
        answers = [self.parse_prediction(t, r["example"]) for t, r in zip(texts, rows)]
        correct = [self.task.is_correct(a, r["example"]) for a, r in zip(answers, rows)]
        # per question, for paired comparisons between methods (stage 04)
        self.last_predictions = [{"id": r["id"], "prediction": t, "answer": a, "correct": bool(c)}
                                 for r, t, a, c in zip(rows, texts, answers, correct)]
        return {"accuracy": float(np.mean(correct)) if correct else 0.0}


def generation_length(collator: StudentCollator, rows, input_format: str) -> int:
    """A generation budget for evaluation: the longest label target (in tokens) plus slack."""
    if input_format == "single":
        texts = [single_task_target(t, r["label"]) for r in rows if r.get("train") for t in r.get("rationales") or [r["rationale"]]]
    else:
        texts = [r["label"] for r in rows]
    longest = max(len(collator.tokenizer(text_target=t)["input_ids"]) for t in texts)
    return min(collator.max_target_length, longest + 8)


def rationale_generation_length(tokenizer, rows, max_target_length: int) -> int:
    """A budget for decoding rationales: the longest teacher rationale of the training questions (in tokens) plus
    slack, the same for every method and rationale source."""
    texts = [t for r in rows if r.get("train") for t in r.get("teacher_rationales") or [r["rationale"]]]
    if not texts:
        return max_target_length
    longest = max(len(ids) for ids in tokenizer(text_target=texts)["input_ids"])
    return min(max_target_length, longest + 8)
