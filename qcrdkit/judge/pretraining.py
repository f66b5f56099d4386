"""Pretraining on the teacher's rationales (stage 02): the Hugging Face ``Trainer`` with the judge's loss."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from transformers import Trainer

from qcrdkit.core.question_batches import question_loader
from qcrdkit.core.errors import ConfigError
from qcrdkit.judge.pairs import PairCollator
from qcrdkit.core.stage_parameters import declared
from qcrdkit.core.stages import JUDGE, JudgeStageConfig
from qcrdkit.core.training_arguments import KitTrainingArguments
from qcrdkit.judge.model import QualityJudge, default_learning_rate
from qcrdkit.judge.objectives import OBJECTIVES, judge_loss
from qcrdkit.judge.scoring import score_metrics


STAGE = JUDGE


@dataclass
class JudgeTrainingConfig(KitTrainingArguments):
    """``TrainingArguments`` with the judge's fields and defaults; the ones stage 02 also has are declared there
    (:class:`qcrdkit.core.stages.JudgeStageConfig`; its ``steps``, ``batch_size``, ``eval_every``,
    ``save_every``, ``lr`` are ``max_steps``, ``per_device_train_batch_size``, ``eval_steps``, ``save_steps``,
    ``learning_rate`` here, mapped by :func:`judge_training_config`).

    ``per_device_train_batch_size`` / ``per_device_eval_batch_size`` count **questions** per
    batch; each brings its rationales (teacher samples and augmented negatives) — all of them, or in
    training at most ``rationales_per_question`` taken in turn from its positives and negatives.
    ``group_by_length`` puts questions of similar length together.
    """

    objective: str = declared(STAGE, "objective")
    rationales_per_question: int | None = declared(STAGE, "rationales_per_question")
    group_by_length: bool = declared(STAGE, "group_by_length")
    max_steps: int = declared(STAGE, "steps")
    per_device_train_batch_size: int = declared(STAGE, "batch_size")
    per_device_eval_batch_size: int = 32
    learning_rate: float = 5e-5          # a pretrained backbone's (stage 02's lr None: default_learning_rate)
    warmup_steps: float = 0.1
    weight_decay: float = 0.01
    eval_steps: float = declared(STAGE, "eval_every")
    save_steps: float = declared(STAGE, "save_every")
    save_total_limit: int | None = 1
    label_names: list[str] | None = field(default_factory=lambda: ["labels"])

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        super().__post_init__()


def judge_training_config(stage: JudgeStageConfig, *, output_dir: str | Path,
                          model: QualityJudge) -> JudgeTrainingConfig:
    """The Trainer's arguments from stage 02's parameters: the one place a stage name meets the Trainer's.
    ``lr`` None: :func:`default_learning_rate` of ``model`` (5e-5 pretrained, 1e-3 built from a config)."""
    return JudgeTrainingConfig(
        output_dir=str(output_dir), objective=stage.objective, max_steps=stage.steps,
        per_device_train_batch_size=stage.batch_size, rationales_per_question=stage.rationales_per_question,
        group_by_length=stage.group_by_length, learning_rate=stage.lr or default_learning_rate(model),
        eval_steps=stage.eval_every, save_steps=stage.save_every, seed=stage.seed, disable_tqdm=not stage.progress)


def auc_metrics(eval_pred) -> dict:
    """``compute_metrics`` for the Trainer: held-out ROC-AUC of the scores."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    return {"auc": score_metrics(np.asarray(labels), 1 / (1 + np.exp(-np.asarray(logits, dtype=np.float64))))["auc"]}


class JudgeTrainer(Trainer):
    """``Trainer`` with the judge's loss and question-grouped batches; nothing else differs."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        model_inputs = {k: v for k, v in inputs.items() if k not in ("labels", "group_ids")}
        logits = model(**model_inputs).logits
        loss = judge_loss(logits, inputs["labels"], inputs["group_ids"], self.args.objective)
        return (loss, {"logits": logits}) if return_outputs else loss

    def get_train_dataloader(self):
        return question_loader(self, self.train_dataset, self._train_batch_size, shuffle=True,
                               per_question=self.args.rationales_per_question,
                               group_by_length=self.args.group_by_length)[0]

    def get_eval_dataloader(self, eval_dataset=None):
        dataset = self.eval_dataset if eval_dataset is None else eval_dataset
        return question_loader(self, dataset, self.args.eval_batch_size, shuffle=False,
                               group_by_length=self.args.group_by_length)[0]


def check_training_items(items: Sequence[dict], objective: str) -> dict:
    """Raise a clear error if ``items`` cannot train the judge; else return their counts."""
    if not items:
        raise ConfigError("no training items for the judge (is the sample file empty?)")
    pos = sum(it["label"] == 1 for it in items)
    neg = len(items) - pos
    if pos == 0 or neg == 0:
        missing = "positive" if pos == 0 else "negative"
        raise ConfigError(f"the judge's training data has no {missing} rationales"
                          + ("; enable augmentation (augment=True) to make negatives from positives" if neg == 0 else ""))
    labels_by_q: dict[str, set] = {}
    for it in items:
        labels_by_q.setdefault(it["id"], set()).add(it["label"])
    both = sum(len(v) == 2 for v in labels_by_q.values())
    if objective == "eq2" and both == 0:
        raise ConfigError("objective 'eq2' needs questions with both positive and negative rationales and none "
                          "has both; enable augmentation or use objective='bce'")
    return {"rationales": len(items), "positives": pos, "negatives": neg, "questions": len(labels_by_q),
            "questions_with_both": both}


def train_judge(model: QualityJudge, tokenizer, train_items: Sequence[dict], eval_items: Sequence[dict] | None,
                args: JudgeTrainingConfig, *, resume: bool = True, callbacks: Sequence = ()) -> JudgeTrainer:
    """Pretrain on teacher (and augmented) rationales; resumes from ``args.output_dir``'s last checkpoint.
    ``callbacks``: more ``TrainerCallback``s (e.g. a learning curve's measurements).

    Returns the trainer: ``trainer.state.log_history`` holds the loss and validation curve.
    """
    from transformers.trainer_utils import get_last_checkpoint

    from qcrdkit.core.progress import progress_callbacks

    check_training_items(train_items, args.objective)
    if not eval_items:
        args.eval_strategy = "no"
    trainer = JudgeTrainer(model=model, args=args, train_dataset=list(train_items),
                           eval_dataset=list(eval_items) if eval_items else None,
                           data_collator=PairCollator(tokenizer, model.config.max_pair_length),
                           processing_class=tokenizer, compute_metrics=auc_metrics,
                           callbacks=progress_callbacks("judge (stage 02) pretraining") + list(callbacks))
    last = get_last_checkpoint(args.output_dir) if resume and Path(args.output_dir).is_dir() else None
    trainer.train(resume_from_checkpoint=last)
    return trainer
