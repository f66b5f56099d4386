"""The four baselines QCRD is compared with (paper §4.1), each a config plus a trainer that
overrides only what differs.

==============  ========================================================================
Finetune        question → gold label; the Trainer's own loss
Single-Task     question → ``rationale So the answer is label`` as one target (Hsieh et al.)
(all)           rationale terms: per-sequence mean CE averaged over the batch (``losses.mean_sequence_cross_entropy``)
DSS             multitask: ``α · L_pred + (1 − α) · L_expl``, α = 0.5 (Hsieh et al. 2023)
MI              DSS + 0.1 · the max-pooled distribution cross-entropy (Chen et al. 2024)
==============  ========================================================================
"""
from __future__ import annotations

from dataclasses import dataclass

from qcrdkit.students.models import decoder_inputs
from qcrdkit.training.losses import dss_loss, mean_sequence_cross_entropy, mi_loss
from qcrdkit.core.stage_parameters import declared
from qcrdkit.training.base import StudentConfig, StudentTrainer
from qcrdkit.core.stages import TRAINING

STAGE = TRAINING      # the fields shared with stage 03 are declared there (default, help)


@dataclass
class FinetuneConfig(StudentConfig):
    """Finetuning on gold labels only."""


class FinetuneTrainer(StudentTrainer):
    input_format = "label"


@dataclass
class SingleTaskConfig(StudentConfig):
    """Rationale and label as one target sequence; the answer is read after "So the answer is"."""

    rationale_source: str | None = declared(STAGE, "rationale_source")


class SingleTaskTrainer(StudentTrainer):
    input_format = "single"

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        """The one target holds the rationale: per-sequence mean CE, like every rationale term."""
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                        decoder_input_ids=decoder_inputs(model, inputs["labels"]))
        loss = mean_sequence_cross_entropy(outputs.logits, inputs["labels"])
        return (loss, outputs) if return_outputs else loss


@dataclass
class DSSConfig(StudentConfig):
    """Distilling step-by-step: one teacher rationale per question, two tasks."""

    alpha: float = declared(STAGE, "alpha")
    rationale_source: str | None = declared(STAGE, "rationale_source")


class DSSTrainer(StudentTrainer):
    input_format = "multitask"

    def task_outputs(self, model, inputs):
        pred = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], labels=inputs["labels"])
        expl = model(input_ids=inputs["expl_input_ids"], attention_mask=inputs["expl_attention_mask"],
                     decoder_input_ids=decoder_inputs(model, inputs["expl_labels"]))
        return pred, expl

    @staticmethod
    def explain_loss(expl, inputs):
        """``L_expl``: per-sequence mean CE of the rationale (the normalisation of every rationale term)."""
        return mean_sequence_cross_entropy(expl.logits, inputs["expl_labels"])

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        pred, expl = self.task_outputs(model, inputs)
        l_expl = self.explain_loss(expl, inputs)
        loss = dss_loss(pred.loss, l_expl, self.args.alpha)
        self.record(loss_pred=pred.loss.detach(), loss_expl=l_expl.detach())
        return (loss, pred) if return_outputs else loss


@dataclass
class MIConfig(DSSConfig):
    """DSS plus the mutual-information term of Chen et al. 2024, as in their code."""

    mi_weight: float = declared(STAGE, "mi_weight")


class MITrainer(DSSTrainer):
    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        pred, expl = self.task_outputs(model, inputs)
        mi = mi_loss(pred.logits, expl.logits, inputs["labels"] != -100, inputs["expl_labels"] != -100)
        l_expl = self.explain_loss(expl, inputs)
        loss = dss_loss(pred.loss, l_expl, self.args.alpha) + self.args.mi_weight * mi
        self.record(loss_pred=pred.loss.detach(), loss_expl=l_expl.detach(), loss_mi=mi.detach())
        return (loss, pred) if return_outputs else loss
