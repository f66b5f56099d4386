"""QCRD's configuration (TRL style: ``QCRDConfig`` here, ``QCRDTrainer`` in :mod:`.qcrd`), every field documented.

A field that is also a stage-03 parameter is declared there (:class:`qcrdkit.core.stages.TrainingStageConfig`: its
default, its help, the paper's value) and only named here (``declared``); ``judge_learning_rate`` is stage 03's
``judge_lr``. The defaults are the demo's; ``params/paper.yaml`` sets the paper's (§4.1, appendix A)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from qcrdkit.core.errors import ConfigError
from qcrdkit.judge.objectives import OBJECTIVES
from qcrdkit.training.losses import SCHEMES
from qcrdkit.core.precision import INFERENCE_DTYPES
from qcrdkit.core.stage_parameters import declared
from qcrdkit.training.base import StudentConfig
from qcrdkit.core.stages import TRAINING

STAGE = TRAINING

NEGATIVE_SOURCES = ("self", "fixed", "teacher", "none")


@dataclass
class QCRDConfig(StudentConfig):
    """QCRD's hyper-parameters (§3, §4.1, appendix A); the shared ones declared by stage 03."""

    alpha_pred: float = declared(STAGE, "alpha_pred")
    alpha_cl: float = declared(STAGE, "alpha_cl")
    alpha_judge: float = declared(STAGE, "alpha_judge")
    alpha_judge_decay: float = declared(STAGE, "alpha_judge_decay")
    beta: float = declared(STAGE, "beta")
    delta: float = declared(STAGE, "delta")
    scheme: str = declared(STAGE, "scheme")
    num_positives: int = declared(STAGE, "num_positives")
    num_negatives: int = declared(STAGE, "num_negatives")
    negative_source: str = declared(STAGE, "negative_source")
    iterations_back: int = declared(STAGE, "iterations_back")
    steps_per_iteration: int = declared(STAGE, "steps_per_iteration")
    negative_temperature: float = declared(STAGE, "negative_temperature")
    negative_top_k: int = declared(STAGE, "negative_top_k")
    negative_top_p: float = declared(STAGE, "negative_top_p")
    negative_max_new_tokens: int | None = field(
        default=None, metadata={"help": "cap on a sampled negative's length; always at most the batch's longest "
                                        "positive + 8 tokens (None: max_target_length)"})
    negative_prefetch_steps: int = field(
        default=64, metadata={"help": "negatives of the questions of this many coming steps are sampled together"})
    negative_generation_batch_size: int = field(default=256, metadata={"help": "questions per generate call"})
    fixed_generator: str | None = declared(STAGE, "fixed_generator")
    rationale_source: str | None = declared(STAGE, "rationale_source")
    paper_rationale_source: ClassVar[str] = "self_consistent"     # the paper's positives (w/o ED: "greedy")
    use_judge: bool = declared(STAGE, "use_judge")
    judge_update_every: int | None = declared(STAGE, "judge_update_every")
    judge_update_steps: int = declared(STAGE, "judge_update_steps")
    judge_batch_size: int = field(default=32, metadata={"help": "pairs per judge step, half of each label"})
    judge_buffer_size: int = field(default=512, metadata={"help": "the replay buffer keeps this many latest pairs "
                                                                   "of each label"})
    judge_learning_rate: float = declared(STAGE, "judge_lr")
    judge_labels: str = declared(STAGE, "judge_labels")
    judge_student_temperature: float = field(default=0.7, metadata={
        "help": "outcome labels: the temperature of the student's own samples added before each update"})
    judge_probe_size: int = field(default=64, metadata={"help": "pairs of the fixed probe set whose scores before "
                                                                   "and after each update are logged"})
    judge_objective: str | None = field(default=None, metadata={
        "help": "L_D of the online updates: bce | eq2 (None: the objective stage 02 trained the run's judge with); "
                "under eq2 each update's batch holds whole questions, their rationales of both labels together"})
    chunk_rows: int = field(default=32, metadata={
        "help": "the decoder passes over candidate rationales (the MinMax selection; the picked pairs with gradient) "
                "sort them by length and decode this many at a time, each chunk padded to its own longest (0: all at once)"})
    inference_dtype: str = field(default="auto", metadata={
        "help": "dtype of the passes without gradient — the MinMax selection, the judge's scores, negative sampling: "
                "auto (bfloat16 where the device multiplies it natively: CUDA with bf16, a CPU with AVX512-BF16 or AMX; "
                "else float32) | float32 | bfloat16 (qcrdkit.core.precision)"})

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ConfigError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.negative_source not in NEGATIVE_SOURCES:
            raise ConfigError(f"negative_source must be one of {NEGATIVE_SOURCES}, got {self.negative_source!r}")
        if self.negative_source == "fixed" and not self.fixed_generator:
            raise ConfigError("negative_source='fixed' needs fixed_generator (a trained student's folder)")
        if self.num_positives < 1 or self.num_negatives < 0 or self.steps_per_iteration < 1:
            raise ConfigError("num_positives ≥ 1, num_negatives ≥ 0 and steps_per_iteration ≥ 1 are required")
        if self.negative_temperature < 0:
            raise ConfigError(f"negative_temperature must be >= 0 (0: greedy), got {self.negative_temperature}")
        if self.negative_top_k < 0 or not 0 < self.negative_top_p <= 1:
            raise ConfigError(f"negative_top_k must be >= 0 and negative_top_p in (0, 1], got "
                              f"{self.negative_top_k}, {self.negative_top_p}")
        if self.judge_labels not in ("source", "outcome"):
            raise ConfigError(f"judge_labels must be source or outcome, got {self.judge_labels!r}")
        if self.judge_update_steps < 1 or self.judge_batch_size < 2 or self.judge_buffer_size < 1:
            raise ConfigError("judge_update_steps ≥ 1, judge_batch_size ≥ 2 and judge_buffer_size ≥ 1 are required")
        if self.judge_objective not in (None, *OBJECTIVES):
            raise ConfigError(f"judge_objective must be one of {OBJECTIVES} (or None), got {self.judge_objective!r}")
        if self.inference_dtype not in INFERENCE_DTYPES:
            raise ConfigError(f"inference_dtype must be one of {INFERENCE_DTYPES}, got {self.inference_dtype!r}")
        super().__post_init__()
