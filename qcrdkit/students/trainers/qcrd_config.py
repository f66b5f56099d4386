"""QCRD's configuration (TRL style: ``QCRDConfig`` here, ``QCRDTrainer`` in :mod:`.qcrd`): every field
documented, the paper's defaults (§4.1, appendix A) in one place."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import ConfigError
from ...losses import SCHEMES
from ...precision import INFERENCE_DTYPES
from .base import StudentConfig

NEGATIVE_SOURCES = ("self", "fixed", "teacher", "none")


@dataclass
class QCRDConfig(StudentConfig):
    """QCRD's hyper-parameters with the paper's defaults (§4.1, appendix A)."""

    alpha_pred: float = field(default=0.5, metadata={"help": "α1: weight of the label task"})
    alpha_cl: float = field(default=0.5, metadata={"help": "α2: weight of the contrastive loss"})
    alpha_judge: float = field(default=0.5, metadata={"help": "α3: weight of the judge's loss L_D"})
    alpha_judge_decay: float = field(default=0.9, metadata={"help": "α3 is multiplied by this per iteration"})
    beta: float = field(default=0.2, metadata={"help": "β: weight of the negative term"})
    delta: float = field(default=3.0, metadata={"help": "δ: margin; negatives with CE ≥ δ are left alone"})
    scheme: str = field(default="minmax", metadata={"help": "minmax | maxmin | sampling | mean | wmean (§5.1)"})
    num_positives: int = field(default=5, metadata={"help": "m: teacher positives per question (up to K)"})
    num_negatives: int = field(default=1, metadata={"help": "k: negatives per question"})
    negative_source: str = field(default="self", metadata={"help": "self | fixed | teacher | none (w/o NK)"})
    iterations_back: int = field(default=5, metadata={"help": "j: the generator is the snapshot j iterations back"})
    steps_per_iteration: int = field(default=100, metadata={"help": "optimizer steps per iteration"})
    negative_temperature: float = field(default=1.5, metadata={"help": "τ_neg: sampling temperature of negatives "
                                                                       "(0: greedy)"})
    negative_top_k: int = field(default=20, metadata={
        "help": "negatives sample from the top k tokens only (0: all). Not in the paper, whose T5-base stays near its "
                "own distribution at τ 1.5; a small student from scratch sampled untruncated at τ 1.5 writes noise "
                "(CE ≈ 6 ≫ δ: the negative term is off). Measured on the demo: top-k 0 / 20 / 5 put 0.5 / 68 / 95 % "
                "of the negatives inside the margin (bench/README.md)"})
    negative_top_p: float = field(default=1.0, metadata={"help": "negatives sample from the nucleus of mass p (1: all)"})
    negative_max_new_tokens: int | None = field(
        default=None, metadata={"help": "cap on a sampled negative's length; always at most the batch's longest "
                                        "positive + 8 tokens (None: max_target_length)"})
    negative_prefetch_steps: int = field(
        default=64, metadata={"help": "negatives of the questions of this many coming steps are sampled together"})
    negative_generation_batch_size: int = field(default=256, metadata={"help": "questions per generate call"})
    fixed_generator: str | None = field(default=None, metadata={"help": "model folder for negative_source='fixed'"})
    positives: str = field(default="sc", metadata={
        "help": "sc (self-consistency positives) | greedy (w/o ED: the teacher's greedy rationale, the baselines' "
                "one) | first (the first teacher sample only)"})
    use_judge: bool = field(default=True, metadata={"help": "False: unit quality weights (w/o QJ)"})
    judge_update_every: int | None = field(default=None, metadata={
        "help": "optimizer steps between online judge updates (None: at the end of each iteration, when the snapshot "
                "ring advances; 0: never)"})
    judge_update_steps: int = field(default=10, metadata={"help": "the judge's optimizer steps per update"})
    judge_batch_size: int = field(default=32, metadata={"help": "pairs per judge step, half of each label"})
    judge_buffer_size: int = field(default=512, metadata={"help": "the replay buffer keeps this many latest pairs "
                                                                   "of each label"})
    judge_learning_rate: float = field(default=1e-4, metadata={
        "help": "the judge's online learning rate, times 0.9^iteration (α3's decay)"})
    judge_labels: str = field(default="outcome", metadata={
        "help": "source (the paper: teacher positives 1, self-negatives 0) | outcome (each rationale by whether its "
                "answer is the train question's gold answer, plus the student's own samples)"})
    judge_student_temperature: float = field(default=0.7, metadata={
        "help": "outcome labels: the temperature of the student's own samples added before each update"})
    judge_probe_size: int = field(default=64, metadata={"help": "pairs of the fixed probe set whose scores before "
                                                                   "and after each update are logged"})
    judge_objective: str = field(default="bce", metadata={"help": "L_D: bce | eq2 (see qcrdkit.judge)"})
    chunk_rows: int = field(default=32, metadata={
        "help": "the decoder passes over candidate rationales (the MinMax selection; the picked pairs with gradient) "
                "sort them by length and decode this many at a time, each chunk padded to its own longest (0: all at once)"})
    inference_dtype: str = field(default="auto", metadata={
        "help": "dtype of the passes without gradient — the MinMax selection, the judge's scores, negative sampling: "
                "auto (bfloat16 where the device multiplies it natively: CUDA with bf16, a CPU with AVX512-BF16 or AMX; "
                "else float32) | float32 | bfloat16 (qcrdkit.precision)"})

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
        if self.inference_dtype not in INFERENCE_DTYPES:
            raise ConfigError(f"inference_dtype must be one of {INFERENCE_DTYPES}, got {self.inference_dtype!r}")
        super().__post_init__()
