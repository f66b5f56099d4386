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


def test_a_hub_layout_t5_folder_is_a_student_with_t5s_own_tokenizer(t5_folder):
    """What a t5-base download looks like on disk (config, safetensors, T5's SentencePiece tokenizer) made offline;
    the student adds <Predict>/<Explain> in T5's unused embedding rows and decodes plain text."""
    from transformers import T5TokenizerFast

    assert {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json"} <= {
        p.name for p in t5_folder.iterdir()}
    model, tok = build_student(str(t5_folder))
    assert isinstance(tok, T5TokenizerFast) and len(tok) == 32102
    assert model.get_input_embeddings().num_embeddings == 32128           # T5's padded matrix, not shrunk
    ids = tok(predict_input("Zoe has 4 stickers."))["input_ids"]
    assert tok.convert_ids_to_tokens(ids)[0] == PREDICT and ids[0] < 32128
    assert (model.config.pad_token_id, model.config.eos_token_id, model.config.decoder_start_token_id) == (0, 1, 0)
    text = "Zoe has 4 stickers. One of 2 equal shares is 4 / 2 = 2 stickers."
    assert tok.decode(tok(text_target=text)["input_ids"], skip_special_tokens=True) == text   # no ▁ pieces, no <unk>
    again, _ = build_student(str(t5_folder))
    assert all((a == b).all() for a, b in zip(model.parameters(), again.parameters()))       # saved weights, loaded


@pytest.mark.slow
def test_qcrd_check_runs_every_stage_on_a_t5_folder_and_its_text_reads_as_t5_detokenised(t5_folder, tmp_path):
    """params/t5-folder.yaml (the researcher's path: a hub-layout T5 folder as student and judge backbone) passes
    `qcrd check`: all four stages tiny. Every rationale the students wrote and the report shows is T5's detokenised
    text: no SentencePiece `▁` pieces, no `<unk>`, no `<pad>`/`</s>`."""
    import json

    from conftest import REPO, run_qcrd

    res = run_qcrd("check", "--params", str(REPO / "params" / "t5-folder.yaml"), "--set", f"outputs_dir={tmp_path}",
                   "--set", f"02_judge.backbone={t5_folder}", "--set", f"03_training.student={t5_folder}", timeout=1200)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    tiny = tmp_path / "preflight" / "t5-folder" / "tiny"
    students = list(tiny.glob("**/students/*/test_predictions.jsonl"))
    assert {p.parent.name for p in students} >= {"dss", "qcrd"}
    texts = [row[key] for p in students for row in map(json.loads, p.read_text().splitlines())
             for key in ("prediction", "rationale") if row.get(key)]

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, (list, dict)):
            for v in (value.values() if isinstance(value, dict) else value):
                yield from strings(v)

    report = [row for p in tiny.glob("**/report/*.jsonl") for row in map(json.loads, p.read_text().splitlines())]
    assert report, "the tiny run's report saved no rationales"
    texts += [text for row in report for text in strings(row)]
    assert len(texts) > 20
    for marker in ("▁", "<unk>", "<pad>", "</s>"):
        assert not [t for t in texts if marker in t], marker
    config = json.loads(next(tiny.glob("**/students/qcrd/config.json")).read_text())
    assert config["vocab_size"] == 32128 and config["model_type"] == "t5"      # T5's padded embedding, kept
