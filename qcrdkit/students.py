"""Student models and their tokenizers (paper §3.1, §4.1).

:func:`build_student` takes either a Hugging Face seq2seq model by hub name or local path
(``t5-small``, ``t5-base``, ``google/flan-t5-base``, a trained student's folder; offline only
what is cached or on disk), or an offline preset that builds a T5 from a config:

=================  ==============================================================
``scratch-tiny``   d_model 64, 2 + 2 layers (tests)
``scratch-small``  d_model 128, 2 + 2 layers (the demo)
=================  ==============================================================

A preset's tokenizer needs no download: ``"corpus"`` trains a Unigram tokenizer on the task's
texts (digits split one by one, spaces kept by a metaspace, so decoding is exact), saved with the
run; ``"byte"`` is ``ByT5Tokenizer`` (longer sequences, 3–5x slower here).

Multi-task framework (§3.1): the same question goes in twice, with :data:`PREDICT` in front to
target the label and with :data:`EXPLAIN` to target a rationale. Both prefixes are single
special tokens of the tokenizer.
"""
from __future__ import annotations

import string
from typing import Iterable

from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, ByT5Tokenizer, PreTrainedTokenizerFast, T5Config,
                          T5ForConditionalGeneration)

from .errors import ConfigError, model_load_error

PREDICT = "<Predict>"
EXPLAIN = "<Explain>"
STUDENT_PRESETS = {
    "scratch-tiny": dict(d_model=64, d_ff=256, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=4),
    "scratch-small": dict(d_model=128, d_ff=512, d_kv=32, num_layers=2, num_decoder_layers=2, num_heads=4),
}
TOKENIZERS = ("corpus", "byte")


def train_corpus_tokenizer(texts: Iterable[str], vocab_size: int = 2000) -> PreTrainedTokenizerFast:
    """A Unigram tokenizer trained on ``texts``: exact round trip, digits one token each, ``</s>`` appended.

    Every printable ASCII character is in the vocabulary, so text unseen in ``texts`` still round-trips."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    specials = ["<pad>", "</s>", "<unk>", PREDICT, EXPLAIN]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=specials, unk_token="<unk>",
                                      initial_alphabet=list(string.printable.strip()), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   additional_special_tokens=[PREDICT, EXPLAIN])


def build_student(name: str, *, corpus: Iterable[str] | None = None, tokenizer: str = "corpus",
                  vocab_size: int = 2000):
    """``(model, tokenizer)`` for a preset (see module doc) or a hub name / local path."""
    if name in STUDENT_PRESETS:
        if tokenizer == "corpus":
            if corpus is None:
                raise ConfigError(f"student preset {name!r} with tokenizer 'corpus' needs the task's texts (corpus=...)")
            tok = train_corpus_tokenizer(corpus, vocab_size)
        elif tokenizer == "byte":
            tok = ByT5Tokenizer(extra_ids=0, additional_special_tokens=[PREDICT, EXPLAIN])
        else:
            raise ConfigError(f"student tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
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


def predict_input(question: str) -> str:
    return f"{PREDICT} {question}"


def explain_input(question: str) -> str:
    return f"{EXPLAIN} {question}"
