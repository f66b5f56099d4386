"""The tokenizers of the student presets: a BPE tokenizer trained on the run's texts (``corpus``: digits
one token each; ``corpus-numbers``: frequent numbers one token each) or byte-level (``byte``), with the
multi-task prefixes :data:`PREDICT` and :data:`EXPLAIN` as single special tokens."""
from __future__ import annotations

import string
from typing import Iterable

from transformers import ByT5Tokenizer, PreTrainedTokenizerFast

from qcrdkit.core.errors import ConfigError

PREDICT = "<Predict>"
EXPLAIN = "<Explain>"
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


def preset_tokenizer(corpus: Iterable[str] | None, tokenizer: str, vocab_size: int,
                     name: str = "preset"):
    """The tokenizer of an offline preset: trained on ``corpus`` or byte-level."""
    if tokenizer in ("corpus", "corpus-numbers"):
        if corpus is None:
            raise ConfigError(f"student preset {name!r} with tokenizer {tokenizer!r} needs the task's texts (corpus=...)")
        return train_corpus_tokenizer(corpus, vocab_size, split_digits=tokenizer == "corpus")
    if tokenizer == "byte":
        return ByT5Tokenizer(extra_ids=0, additional_special_tokens=[PREDICT, EXPLAIN])
    raise ConfigError(f"student tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
