"""Student models (paper §3.1, §4.1); their tokenizers are :mod:`.tokenizers`.

:func:`build_student` takes either a Hugging Face seq2seq model by hub name or local path
(``t5-small``, ``t5-base``, ``google/flan-t5-base``, a trained student's folder; offline only
what is cached or on disk), or an offline preset that builds a T5 from a config:

=================  ==============================================================
``scratch-tiny``   d_model 64, 2 + 2 layers (tests)
``scratch-small``  d_model 128, 2 + 2 layers (the demo); both without dropout
=================  ==============================================================

A preset's tokenizer needs no download: ``"corpus"`` trains a BPE tokenizer on the task's
texts (digits split one by one, spaces kept by a metaspace, so decoding is exact), saved with the
run; ``"byte"`` is ``ByT5Tokenizer`` (longer sequences, 3–5x slower here).

Multi-task framework (§3.1): the same question goes in twice, with :data:`PREDICT` in front to
target the label and with :data:`EXPLAIN` to target a rationale. Both prefixes are single
special tokens of the tokenizer.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, T5Config, T5ForConditionalGeneration

from qcrdkit.core.errors import ConfigError, model_load_error
from qcrdkit.core.stages import TrainingStageConfig
from qcrdkit.students.tokenizers import EXPLAIN, PREDICT, TOKENIZERS, preset_tokenizer  # noqa: F401

STUDENT_PRESETS = {
    "scratch-tiny": dict(d_model=64, d_ff=256, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=4,
                         dropout_rate=0.0),
    "scratch-small": dict(d_model=128, d_ff=512, d_kv=32, num_layers=2, num_decoder_layers=2, num_heads=4,
                          dropout_rate=0.0),
}


def build_student(name: str, *, corpus: Iterable[str] | None = None, tokenizer=TrainingStageConfig.tokenizer,
                  vocab_size: int = TrainingStageConfig.vocab_size):
    """``(model, tokenizer)`` for a preset (see module doc) or a hub name / local path.

    For a preset, ``tokenizer`` is ``"corpus"``, ``"corpus-numbers"`` (trained on ``corpus``), ``"byte"`` or a
    tokenizer object to reuse (the run's saved one, so every method of a run shares it); defaults: stage 03's.

    >>> model, tokenizer = build_student("scratch-tiny", tokenizer="byte")
    >>> model.config.num_layers, type(tokenizer).__name__
    (2, 'ByT5Tokenizer')"""
    if name in STUDENT_PRESETS:
        tok = tokenizer if not isinstance(tokenizer, str) else preset_tokenizer(corpus, tokenizer, vocab_size, name)
        config = T5Config(vocab_size=len(tok), pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                          decoder_start_token_id=tok.pad_token_id, **STUDENT_PRESETS[name])
        return T5ForConditionalGeneration(config), tok
    try:
        tok = AutoTokenizer.from_pretrained(name)
        model = AutoModelForSeq2SeqLM.from_pretrained(name)
    except OSError as exc:
        raise model_load_error("student", name, exc, f"the presets {sorted(STUDENT_PRESETS)}") from None
    missing = [t for t in (PREDICT, EXPLAIN) if t not in tok.get_vocab()]
    if missing:
        tok.add_special_tokens({"additional_special_tokens": missing}, replace_extra_special_tokens=False)
    # T5 pads its embedding to 32 128 rows for 32 100 pieces: new tokens take unused rows, and the matrix is
    # never shrunk (resizing it to len(tok) would cut the pretrained rows' padding and change the checkpoint's shape)
    if len(tok) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tok))
    return model, tok


def load_or_train_tokenizer(path: str | Path, name: str, corpus: Iterable[str],
                            tokenizer: str = TrainingStageConfig.tokenizer, vocab_size: int = TrainingStageConfig.vocab_size):
    """A preset's tokenizer, trained once per run and kept at ``path`` (reused when present and
    trained on the same corpus; one trained on another corpus — the teacher's samples were replaced — is
    moved to ``<run>/replaced/`` and trained again: every student and judge keeps its own copy).

    For a hub name or local path, ``None``: the model brings its own."""
    if name not in STUDENT_PRESETS:
        return None
    corpus = list(corpus)
    digest = hashlib.sha256("\n".join(corpus).encode()).hexdigest()[:16] if tokenizer != "byte" else None
    path, spec = Path(path), {"tokenizer": tokenizer, "vocab_size": None if tokenizer == "byte" else vocab_size}
    marker = path / "qcrd_tokenizer.json"
    if marker.exists():
        saved = json.loads(marker.read_text())
        if {k: saved.get(k) for k in spec} != spec:
            raise ConfigError(f"{path} holds the run's tokenizer made with {saved}, not {spec}; use the same "
                              "tokenizer settings for every method of a run, or a new run_dir")
        if saved.get("corpus") == digest:
            return AutoTokenizer.from_pretrained(path)
        from qcrdkit.core.provenance import move_aside

        move_aside(path.parent.parent, path)          # trained on other texts: kept aside, trained again
    tok = preset_tokenizer(corpus, tokenizer, vocab_size, name)
    tok.save_pretrained(path)
    marker.write_text(json.dumps({**spec, "corpus": digest}))
    return tok


def decoder_inputs(model, labels):
    """The decoder's input for ``labels`` (shifted right, -100 as pad): what the model builds when it is given
    ``labels``, without the token-mean loss it then also computes. The rationale terms take per-sequence CEs from
    the logits, and that unused loss cost a softmax over T5's 32 128 tokens per pass. ``model`` may be DDP-wrapped."""
    return getattr(model, "module", model).prepare_decoder_input_ids_from_labels(labels=labels)


def predict_input(question: str) -> str:
    return f"{PREDICT} {question}"


def explain_input(question: str) -> str:
    return f"{EXPLAIN} {question}"


def generate_texts(model, tokenizer, inputs: list[str], *, max_new_tokens: int = 128, temperature: float | None = None,
                   num_return_sequences: int = 1, batch_size: int = 64, max_input_length: int = 256) -> list[list[str]]:
    """Decode each input: greedy (``temperature=None``) or sampled at ``temperature``
    (``num_return_sequences`` each); batched, on the model's device. One list of texts per input."""
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    sampling = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if temperature else dict(do_sample=False)
    out: list[list[str]] = []
    with torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            enc = tokenizer(inputs[start:start + batch_size], max_length=max_input_length, truncation=True,
                            padding=True, return_tensors="pt").to(device)
            # a seq2seq decoder starts from one start token: max_length = max_new_tokens + 1 (given as max_length,
            # which also overrides the max_length the Trainer saved in the model's generation config)
            ids = model.generate(**enc, max_length=max_new_tokens + 1, num_return_sequences=num_return_sequences,
                                 **sampling)
            texts = tokenizer.batch_decode(ids, skip_special_tokens=True)
            out += [texts[i:i + num_return_sequences] for i in range(0, len(texts), num_return_sequences)]
    model.train(was_training)
    return out


def student_corpus(examples: dict, records: list[dict], task) -> list[str]:
    """Texts the run's corpus tokenizer is trained on: train questions and labels, teacher rationales."""
    return [t for ex in examples["train"] for t in (ex.input, task.label_target(ex))] + \
           [r["rationale"] for r in records if r.get("rationale")]


def run_student_tokenizer(run_dir: str | Path, student: str = TrainingStageConfig.student,
                          tokenizer: str = TrainingStageConfig.tokenizer, vocab_size: int = TrainingStageConfig.vocab_size,
                          corpus: list[str] | None = None):
    """The run's tokenizer for an offline preset (``<run>/students/tokenizer``, trained on the
    run's corpus the first time; ``corpus`` when the caller has it, else read from the run);
    ``None`` for a hub name or path (the model brings its own)."""
    if student not in STUDENT_PRESETS:
        return None
    if corpus is None:
        from qcrdkit.core.rundir import read_teacher_greedy, read_teacher_samples
        from qcrdkit.tasks import load_task

        task, spec = load_task(run_dir)
        records = [r for r in read_teacher_samples(run_dir) + (read_teacher_greedy(run_dir) or []) if r["split"] == "train"]
        corpus = student_corpus({"train": task.load("train", data_dir=spec.get("data_dir"))}, records, task)
    return load_or_train_tokenizer(Path(run_dir) / "students" / "tokenizer", student, corpus, tokenizer, vocab_size)
