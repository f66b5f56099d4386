"""Student factory: offline presets with a corpus tokenizer, hub names and local folders."""
import pytest
import torch

from qcrdkit.core.errors import ConfigError
from qcrdkit.students import (EXPLAIN, PREDICT, build_student, explain_input, predict_input,
                              train_corpus_tokenizer)
from qcrdkit.tasks import get_task

CORPUS = [ex.input for ex in get_task("arith", n_train=200, n_valid=1, n_test=1).load("train")]


def test_corpus_tokenizer_round_trips_and_splits_digits():
    tok = train_corpus_tokenizer(CORPUS, vocab_size=500)
    text = "Sam has 128 apples. He gets 37 more, so 128 + 37 = 165."
    ids = tok(text)["input_ids"]
    assert ids[-1] == tok.eos_token_id
    assert tok.decode(ids, skip_special_tokens=True) == text
    pieces = tok.convert_ids_to_tokens(ids)
    assert all(len(p.strip("▁")) <= 1 for p in pieces if any(c.isdigit() for c in p))
    q = tok(predict_input("What is 2 + 3?"))["input_ids"]
    assert tok.convert_ids_to_tokens(q)[0] == PREDICT
    assert tok.convert_ids_to_tokens(tok(explain_input("x"))["input_ids"])[0] == EXPLAIN


def test_corpus_numbers_tokenizer_keeps_frequent_numbers_whole():
    tok = train_corpus_tokenizer(CORPUS + ["12 + 3 = 15"] * 50, vocab_size=500, split_digits=False)
    text = "Sam has 12 apples. He gets 3 more, so 12 + 3 = 15. Then 987 left."
    ids = tok(text)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text                     # still an exact round trip
    pieces = tok.convert_ids_to_tokens(ids)
    assert "▁12" in pieces and "▁15" in pieces                                  # one token per frequent number
    assert "▁987" not in pieces                                                 # an unseen number falls back to pieces


@pytest.mark.parametrize("tokenizer", ["corpus", "corpus-numbers", "byte"])
def test_presets_build_a_t5_that_trains_and_saves(tmp_path, tokenizer):
    model, tok = build_student("scratch-tiny", corpus=CORPUS, tokenizer=tokenizer, vocab_size=500)
    batch = tok([predict_input(CORPUS[0])], return_tensors="pt")
    labels = tok(["12"], return_tensors="pt")["input_ids"]
    loss = model(**batch, labels=labels).loss
    loss.backward()
    assert torch.isfinite(loss) and model.config.d_model == 64
    model.save_pretrained(tmp_path / "s")
    tok.save_pretrained(tmp_path / "s")
    again, tok2 = build_student(str(tmp_path / "s"))
    assert tok2(predict_input("q"))["input_ids"] == tok(predict_input("q"))["input_ids"]
    assert torch.equal(again.shared.weight, model.shared.weight)


def test_bad_student_names_are_clear():
    with pytest.raises(ConfigError, match="needs the task's texts"):
        build_student("scratch-tiny")
    with pytest.raises(ConfigError, match="tokenizer must be one of"):
        build_student("scratch-tiny", corpus=CORPUS, tokenizer="words")
    with pytest.raises(ConfigError, match="'t5-nonexistent-xyz' could not be loaded.*HF_HUB_OFFLINE"):
        build_student("t5-nonexistent-xyz")
