"""Student models and their tokenizers (paper §3.1, §4.1).

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

import string
from pathlib import Path
from typing import Iterable

from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, ByT5Tokenizer, PreTrainedTokenizerFast, T5Config,
                          T5ForConditionalGeneration)

from .errors import ConfigError, model_load_error

PREDICT = "<Predict>"
EXPLAIN = "<Explain>"
# No dropout in the presets: they train briefly from scratch (under-fitting, not over-fitting), and on a
# CPU dropout's random masks cost about a sixth of a step.
STUDENT_PRESETS = {
    "scratch-tiny": dict(d_model=64, d_ff=256, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=4,
                         dropout_rate=0.0),
    "scratch-small": dict(d_model=128, d_ff=512, d_kv=32, num_layers=2, num_decoder_layers=2, num_heads=4,
                          dropout_rate=0.0),
}
TOKENIZERS = ("corpus", "corpus-numbers", "byte")


def train_corpus_tokenizer(texts: Iterable[str], vocab_size: int = 2000, split_digits: bool = True
                           ) -> PreTrainedTokenizerFast:
    """A BPE tokenizer trained on ``texts``: exact round trip, ``</s>`` appended; digits one token
    each (``split_digits``), or numbers merged like words (a frequent number is one token).

    Every printable ASCII character is in the vocabulary, so text unseen in ``texts`` still round-trips.
    BPE rather than Unigram: the ``tokenizers`` Unigram trainer is not deterministic (the same corpus
    gives slightly different scores and ids from run to run), BPE's merges are."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = ["<pad>", "</s>", "<unk>", PREDICT, EXPLAIN]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace()] +
                                                ([pre_tokenizers.Digits(individual_digits=True)] if split_digits else []))
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=list(string.printable.strip()), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   additional_special_tokens=[PREDICT, EXPLAIN])


def preset_tokenizer(corpus: Iterable[str] | None, tokenizer: str = "corpus", vocab_size: int = 2000,
                     name: str = "preset"):
    """The tokenizer of an offline preset: trained on ``corpus`` or byte-level."""
    if tokenizer in ("corpus", "corpus-numbers"):
        if corpus is None:
            raise ConfigError(f"student preset {name!r} with tokenizer {tokenizer!r} needs the task's texts (corpus=...)")
        return train_corpus_tokenizer(corpus, vocab_size, split_digits=tokenizer == "corpus")
    if tokenizer == "byte":
        return ByT5Tokenizer(extra_ids=0, additional_special_tokens=[PREDICT, EXPLAIN])
    raise ConfigError(f"student tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")


def build_student(name: str, *, corpus: Iterable[str] | None = None, tokenizer="corpus", vocab_size: int = 2000):
    """``(model, tokenizer)`` for a preset (see module doc) or a hub name / local path.

    For a preset, ``tokenizer`` is ``"corpus"``, ``"byte"`` or a tokenizer object to reuse (the
    run's saved one, so every method of a run shares it)."""
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
        model.resize_token_embeddings(len(tok))
    return model, tok


def load_or_train_tokenizer(path: str | Path, name: str, corpus: Iterable[str], tokenizer: str = "corpus",
                            vocab_size: int = 2000):
    """A preset's tokenizer, trained once per run and kept at ``path`` (reused when present).

    For a hub name or local path, ``None``: the model brings its own."""
    if name not in STUDENT_PRESETS:
        return None
    import json

    path, spec = Path(path), {"tokenizer": tokenizer, "vocab_size": None if tokenizer == "byte" else vocab_size}
    marker = path / "qcrd_tokenizer.json"
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved != spec:
            raise ConfigError(f"{path} holds the run's tokenizer made with {saved}, not {spec}; use the same "
                              "tokenizer settings for every method of a run, or a new run_dir")
        return AutoTokenizer.from_pretrained(path)
    tok = preset_tokenizer(corpus, tokenizer, vocab_size, name)
    tok.save_pretrained(path)
    marker.write_text(json.dumps(spec))
    return tok


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
