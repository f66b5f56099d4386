"""The quality judge: eq. 2 and BCE against hand-computed values, batching, training that learns,
save/load, resume, online updates, backbones, and bad input."""
import json
import math

import numpy as np
import pytest
import torch
from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration, TrainerCallback, set_seed

from qcrdkit import judge as D
from qcrdkit.tasks import get_task
from qcrdkit.core.errors import ConfigError, DataFormatError
from qcrdkit.core.rundir import read_teacher_samples

# ---- objective --------------------------------------------------------------------------------


def test_eq2_matches_hand_computation():
    # question 0: positives 0.9, 0.6 / negative 0.2;  question 1: positive 0.5 / negatives 0.1, 0.3;
    # question 2: only a positive -> not part of eq. 2
    scores = torch.tensor([0.9, 0.6, 0.2, 0.5, 0.1, 0.3, 0.7])
    labels = torch.tensor([1, 1, 0, 1, 0, 0, 1.0])
    groups = torch.tensor([0, 0, 0, 1, 1, 1, 2])
    q0 = -math.log((math.exp(0.9) + math.exp(0.6)) / math.exp(0.2))
    q1 = -math.log(math.exp(0.5) / (math.exp(0.1) + math.exp(0.3)))
    assert D.eq2_loss(scores, labels, groups).item() == pytest.approx((q0 + q1) / 2, abs=1e-6)


def test_eq2_optimum_depends_on_the_counts():
    one_one = D.eq2_loss(torch.tensor([1.0, 0.0]), torch.tensor([1, 0.0]), torch.tensor([0, 0]))
    assert one_one.item() == pytest.approx(-1.0, abs=1e-6)                       # -log(e / 1)
    two_one = D.eq2_loss(torch.tensor([1.0, 1.0, 0.0]), torch.tensor([1, 1, 0.0]), torch.tensor([0, 0, 0]))
    assert two_one.item() == pytest.approx(math.log(1 / 2) - 1, abs=1e-6)       # -log(2e / 1)


def test_eq2_gradient_is_a_softmax_over_each_side():
    scores = torch.tensor([0.9, 0.6, 0.2], requires_grad=True)
    D.eq2_loss(scores, torch.tensor([1, 1, 0.0]), torch.tensor([0, 0, 0])).backward()
    z = math.exp(0.9) + math.exp(0.6)
    assert scores.grad.tolist() == pytest.approx([-math.exp(0.9) / z, -math.exp(0.6) / z, 1.0], abs=1e-6)


def test_eq2_without_usable_questions_is_a_zero_that_keeps_the_graph():
    scores = torch.tensor([0.4, 0.8], requires_grad=True)
    loss = D.eq2_loss(scores, torch.tensor([1, 1.0]), torch.tensor([0, 1]))    # only positives
    assert loss.item() == 0.0
    loss.backward()
    assert scores.grad.tolist() == [0.0, 0.0]


def test_bce_and_objective_dispatch():
    logits, labels = torch.tensor([0.0, 2.0]), torch.tensor([1, 0.0])
    expected = (math.log(2) + math.log(1 + math.exp(2))) / 2
    assert D.bce_loss(logits, labels).item() == pytest.approx(expected, abs=1e-6)
    assert D.judge_loss(logits, labels, None, "bce").item() == pytest.approx(expected, abs=1e-6)
    # eq2 reads sigmoid scores: sigmoid(0) = 0.5 positive, sigmoid(2) negative
    eq2 = D.judge_loss(logits, labels, torch.tensor([0, 0]), "eq2").item()
    assert eq2 == pytest.approx(1 / (1 + math.exp(-2)) - 0.5, abs=1e-6)
    with pytest.raises(ConfigError, match="group id"):
        D.judge_loss(logits, labels, None, "eq2")
    with pytest.raises(ConfigError, match="objective"):
        D.judge_loss(logits, labels, None, "hinge")
    with pytest.raises(ConfigError, match="objective"):
        D.JudgeTrainingConfig(output_dir="x", objective="hinge")


# ---- items, splits, batches ---------------------------------------------------------------------


def toy_items(n_questions=60, seed=0):
    """Separable by content: a positive shows a correct sum, a negative a wrong one spelled out."""
    rng = np.random.default_rng(seed)
    items = []
    for q in range(n_questions):
        a, b = int(rng.integers(2, 50)), int(rng.integers(2, 50))
        for j in range(4):
            label = int(j < 2)
            text = (f"We add them: {a} + {b} = {a + b}. The total is right." if label
                    else f"We guess: the total is {a * b + 7}?? not sure, wrong wrong.")
            items.append({"key": f"q{q}#{j}", "id": f"q{q}", "split": "train", "question": f"What is {a} plus {b}?",
                          "rationale": text, "label": label, "source": D.POSITIVE if label else D.NEGATIVE})
    return items


def test_split_by_question_keeps_questions_whole():
    items = toy_items(50)
    train, held = D.split_by_question(items, 0.2, seed=1)
    assert {i["id"] for i in train}.isdisjoint({i["id"] for i in held})
    assert len({i["id"] for i in held}) == 10 and len(train) + len(held) == len(items)
    assert D.split_by_question(items, 0.2, seed=1) == (train, held)
    with pytest.raises(ConfigError, match="heldout_fraction"):
        D.split_by_question(items, 1.0)


def test_question_batches_hold_whole_questions_and_are_deterministic():
    items = toy_items(10)
    sampler = D.QuestionBatchSampler(items, 3, shuffle=True, seed=5)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 4
    assert sorted(i for b in batches for i in b) == list(range(len(items)))
    for b in batches:
        qs = {items[i]["id"] for i in b}
        assert all(sum(it["id"] == q for it in (items[i] for i in b)) == 4 for q in qs)
    assert list(sampler) == batches
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_question_batches_can_cap_rationales_per_question_and_group_by_length():
    items = toy_items(10)                     # 4 rationales a question: 2 positives, 2 negatives
    for i, it in enumerate(items):
        it["rationale"] += " padding" * (int(it["id"][1:]) * 3)   # question qN is longer the larger N
    capped = D.QuestionBatchSampler(items, 3, shuffle=True, seed=5, per_question=2)
    for b in capped:
        by_q = {}
        for i in b:
            by_q.setdefault(items[i]["id"], []).append(items[i]["label"])
        assert all(sorted(labels) == [0, 1] for labels in by_q.values())      # one of each side, not all four
    first = list(capped)
    capped.set_epoch(1)
    assert list(capped) != first and sum(len(b) for b in first) == 20
    grouped = D.QuestionBatchSampler(items, 2, shuffle=True, seed=5, group_by_length=True)
    spans = [sorted(int(items[i]["id"][1:]) for i in b) for b in grouped]
    assert all(s[-1] - s[0] <= 1 for s in spans)                                # neighbours in length together
    assert sorted(i for b in grouped for i in b) == list(range(len(items)))
    with pytest.raises(ConfigError, match="rationales_per_question"):
        D.QuestionBatchSampler(items, 2, per_question=0)


def test_a_judge_with_the_answer_input_needs_the_bits_and_learns_to_use_them(tmp_path):
    """Text that says nothing of quality; only the answer signal separates the labels."""
    task = get_task("arith", n_train=5)
    assert D.reads_answer(task, "3 + 4 = 7") and not D.reads_answer(task, "3 + 4 = 9 the")
    items = [{"key": f"q{q}#{j}", "id": f"q{q}", "question": "How many?", "rationale": "some words", "label": j % 2,
              "answer_signal": float(j % 2), "source": D.POSITIVE if j % 2 else D.NEGATIVE} for q in range(24) for j in range(2)]
    set_seed(0)
    model, tok = D.build_judge("t5-tiny", answer_input="answered")
    with pytest.raises(ValueError, match="answer_signal="):
        D.score_rationales(model, tok, ["How many?"], ["some words"])
    args = D.JudgeTrainingConfig(output_dir=str(tmp_path / "c"), max_steps=30, learning_rate=1e-2,
                                 per_device_train_batch_size=8, eval_strategy="no", save_strategy="no",
                                 disable_tqdm=True)
    class Steps(TrainerCallback):          # more callbacks (bench/judge_real.py's learning curve) see every step
        seen = []

        def on_step_end(self, args, state, control, **kwargs):
            self.seen.append(state.global_step)

    D.train_judge(model, tok, items, None, args, resume=False, callbacks=[Steps()])
    assert Steps.seen == list(range(1, 31))
    yes, no = D.score_rationales(model, tok, ["How many?"] * 2, ["some words"] * 2, answer_signal=[1.0, 0.0])
    assert yes - no > 0.5 and float(model.answer_weight.detach()) > 0
    assert D.build_judge("t5-tiny", answer_input=True)[0].config.answer_input == "answered"   # older judges
    with pytest.raises(ConfigError, match="answer_input must be one of"):
        D.build_judge("t5-tiny", answer_input="sometimes")
    items = [{"id": "q", "rationale": t} for t in ("1 + 2 = 3", "2 + 1 = 3", "1 + 1 = 2")]
    D.mark_answer_signals(items, task, "agreement", peers=items + [{"id": "q", "rationale": "nothing"}])
    assert [it["answer_signal"] for it in items] == pytest.approx([1 / 3, 1 / 3, 0.0])   # peers: the 3 others
    D.save_judge(model, tok, tmp_path / "j")
    loaded, _ = D.load_judge(tmp_path / "j")
    assert loaded.config.answer_input == "answered" and float(loaded.answer_weight.detach()) == pytest.approx(float(model.answer_weight.detach()))


def test_collator_groups_and_labels():
    tok = ByT5Tokenizer()
    batch = D.PairCollator(tok, 64)(toy_items(2)[:6])
    assert batch["group_ids"].tolist() == [0, 0, 0, 0, 1, 1]
    assert batch["labels"].tolist() == [1, 1, 0, 0, 1, 1]
    assert batch["input_ids"].shape[1] <= 64


def test_judge_items_from_samples_and_bad_input(tmp_path):
    records = [{"id": "a", "split": "train", "question": "q", "sample_index": i, "rationale": "r", "positive": i < 2}
               for i in range(3)]
    items = D.judge_items(records, ["train"])
    assert [i["label"] for i in items] == [1, 1, 0] and items[2]["source"] == D.NEGATIVE
    assert items[0]["key"] == "a#0"
    # an empty sample file: the error names it
    run = tmp_path / "run"
    (run / "teacher").mkdir(parents=True)
    (run / "teacher" / "samples.jsonl").write_text("")
    with pytest.raises(DataFormatError, match=r"samples\.jsonl: no teacher samples"):
        D.judge_items(read_teacher_samples(run), ["train"], path=run / "teacher" / "samples.jsonl")
    with pytest.raises(DataFormatError, match="split\\(s\\) \\['test'\\]"):
        D.judge_items(records, ["test"])
    with pytest.raises(DataFormatError, match="no 'positive' field"):
        D.judge_items([{k: v for k, v in records[0].items() if k != "positive"}])


def test_training_items_checked_with_clear_errors():
    only_pos = [{"id": "a", "label": 1}, {"id": "b", "label": 1}]
    with pytest.raises(ConfigError, match="no negative rationales; enable augmentation"):
        D.check_training_items(only_pos, "bce")
    with pytest.raises(ConfigError, match="no training items"):
        D.check_training_items([], "bce")
    # questions with only positives plus other questions with only negatives: bce uses them, eq2 cannot
    split = [{"id": "a", "label": 1}, {"id": "b", "label": 0}]
    assert D.check_training_items(split, "bce")["questions_with_both"] == 0
    with pytest.raises(ConfigError, match="eq2' needs questions with both"):
        D.check_training_items(split, "eq2")


# ---- model, training, save/load ----------------------------------------------------------------


def train_tiny(tmp_path, items, steps=40, objective="bce", out="ckpt", seed=0):
    set_seed(seed)
    model, tok = D.build_judge("t5-tiny")
    args = D.JudgeTrainingConfig(output_dir=str(tmp_path / out), max_steps=steps, learning_rate=1e-3,
                                 objective=objective, per_device_train_batch_size=6, eval_steps=20,
                                 save_steps=20, logging_steps=10, disable_tqdm=True, seed=seed)
    train, held = D.split_by_question(items, 0.25, seed=0)
    trainer = D.train_judge(model, tok, train, held, args)
    return model, tok, trainer, held


def random_scorer_auc_bound(n_pos, n_neg, z=4.0):
    """0.5 + z standard deviations of the AUC of a scorer that ignores its input (Mann-Whitney null)."""
    return 0.5 + z * math.sqrt((n_pos + n_neg + 1) / (12 * n_pos * n_neg))


@pytest.mark.parametrize("objective", ["bce", "eq2"])
@pytest.mark.slow
def test_training_on_a_separable_set_beats_any_random_scorer(tmp_path, objective):
    model, tok, trainer, held = train_tiny(tmp_path, toy_items(60), objective=objective)
    rows = D.score_items(model, tok, held)
    report = D.evaluation_report(rows)
    assert report["n_pos"] == report["n_neg"] == 30
    assert report["auc"] > random_scorer_auc_bound(30, 30)        # 0.5 + 4 sd ≈ 0.80
    assert report["mean_score_pos"] > report["mean_score_neg"]
    curve = [h for h in trainer.state.log_history if "eval_auc" in h]
    assert [h["step"] for h in curve] == [20, 40]


def test_save_load_round_trip_gives_the_same_scores(tmp_path):
    model, tok, _, held = train_tiny(tmp_path, toy_items(12), steps=4)
    qs, rs = [i["question"] for i in held], [i["rationale"] for i in held]
    before = D.score_rationales(model, tok, qs, rs)
    D.save_judge(model, tok, tmp_path / "judge")
    loaded, tok2 = D.load_judge(tmp_path / "judge")
    assert np.array_equal(before, D.score_rationales(loaded, tok2, qs, rs))
    assert loaded.config.max_pair_length == model.config.max_pair_length and loaded.config.backbone == "t5-tiny"
    # scores do not depend on batch composition or order (padding is masked out of the max-pool)
    one_by_one = np.array([D.score_rationales(loaded, tok2, [q], [r])[0] for q, r in zip(qs, rs)])
    assert np.allclose(before, one_by_one, atol=1e-5)
    with pytest.raises(ConfigError, match="no saved judge"):
        D.load_judge(tmp_path / "nowhere")


class StopAt(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kw):
        if state.global_step == self.step:
            control.should_training_stop = True


@pytest.mark.slow
def test_pretraining_resumes_from_its_last_checkpoint(tmp_path):
    items = toy_items(24)
    full, _, _, _ = train_tiny(tmp_path, items, steps=8, out="full")
    # the same run stopped after step 4 (checkpoint-4 written), then started again: it resumes
    set_seed(0)
    model, tok = D.build_judge("t5-tiny")
    args = D.JudgeTrainingConfig(output_dir=str(tmp_path / "cut"), max_steps=8, learning_rate=1e-3,
                                 per_device_train_batch_size=6, eval_strategy="no", save_steps=4,
                                 disable_tqdm=True, seed=0)
    train, _ = D.split_by_question(items, 0.25, seed=0)
    first = D.JudgeTrainer(model=model, args=args, train_dataset=train,
                           data_collator=D.PairCollator(tok, model.config.max_pair_length),
                           callbacks=[StopAt(4)])
    first.train()
    assert (tmp_path / "cut" / "checkpoint-4").is_dir()
    set_seed(123)                                         # a fresh process would start from another state
    again, tok = D.build_judge("t5-tiny")
    resumed = D.train_judge(again, tok, train, None, args)
    assert resumed.state.global_step == 8
    for (name, a), b in zip(full.state_dict().items(), again.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), name


@pytest.mark.slow
def test_online_update_lowers_the_loss_and_state_round_trips(tmp_path):
    set_seed(0)
    model, tok = D.build_judge("t5-tiny")
    judge = D.OnlineJudge(model, tok, objective="eq2", learning_rate=3e-3)
    batch = toy_items(4)
    qs, rs = [i["question"] for i in batch], [i["rationale"] for i in batch]
    labels, groups = [i["label"] for i in batch], [i["id"] for i in batch]
    with torch.no_grad():
        before = judge.loss(qs, rs, labels, groups).item()
    judge.update(qs, rs, labels, groups, steps=15)
    with torch.no_grad():
        after = judge.loss(qs, rs, labels, groups).item()
    assert after < before - 0.05
    assert judge.updates == 15 and judge.score(qs, rs).shape == (16,)
    state = judge.state_dict()
    set_seed(1)
    other = D.OnlineJudge(*D.build_judge("t5-tiny"), objective="eq2")
    other.load_state_dict(state)
    assert torch.allclose(other.score(qs, rs), judge.score(qs, rs)) and other.updates == 15


def test_scoring_copy_in_bfloat16_follows_the_judge_through_updates_and_loads():
    """Scores of the bf16 copy stay within 0.02 of the float32 judge's, before and after updates
    (the copy is refreshed after each) and after load_state_dict."""
    set_seed(0)
    model, tok = D.build_judge("t5-tiny")
    judge = D.OnlineJudge(model, tok, learning_rate=3e-3)
    batch = toy_items(4)
    qs, rs, labels = [i["question"] for i in batch], [i["rationale"] for i in batch], [i["label"] for i in batch]

    def fp32_scores():
        return torch.from_numpy(D.score_rationales(judge.model, tok, qs, rs)).float()
    judge.set_inference_dtype(torch.bfloat16)
    first = judge.score(qs, rs)
    assert judge.scorer() is not judge.model and next(judge.scorer().parameters()).dtype == torch.bfloat16
    assert (first - fp32_scores()).abs().max() < 0.02
    judge.update(qs, rs, labels, steps=10)
    moved = fp32_scores()
    assert (moved - first).abs().max() > 0.05                            # the judge changed ...
    assert (judge.score(qs, rs) - moved).abs().max() < 0.02              # ... and the copy with it
    other = D.OnlineJudge(*D.build_judge("t5-tiny"))
    other.set_inference_dtype(torch.bfloat16)
    other.score(qs, rs)
    other.load_state_dict(judge.state_dict())
    assert (other.score(qs, rs) - moved).abs().max() < 0.02


def test_inference_dtype_settings():
    from qcrdkit.core.precision import has_fast_bf16, inference_dtype

    assert inference_dtype("auto", "cpu") == (torch.bfloat16 if has_fast_bf16("cpu") else torch.float32)
    assert inference_dtype("float32", "cpu") == torch.float32
    with pytest.raises(ConfigError, match="inference_dtype must be one of"):
        inference_dtype("fp8", "cpu")


def test_freezing_layers_keeps_them_fixed(tmp_path):
    set_seed(0)
    model, tok = D.build_judge("t5-tiny")
    total = sum(p.numel() for p in model.parameters())
    trainable = D.freeze_bottom_layers(model, 1)
    assert 0 < trainable < total
    frozen = model.encoder.encoder.block[0].layer[0].SelfAttention.q.weight.clone()
    judge = D.OnlineJudge(model, tok)
    batch = toy_items(2)
    judge.update([i["question"] for i in batch], [i["rationale"] for i in batch], [i["label"] for i in batch], steps=2)
    assert torch.equal(frozen, model.encoder.encoder.block[0].layer[0].SelfAttention.q.weight)
    with pytest.raises(ConfigError, match="freeze_layers=5"):
        D.freeze_bottom_layers(model, 5)


# ---- backbones ---------------------------------------------------------------------------------


def test_minilm_backbone_loads_offline_from_the_package():
    import os
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model, tok = D.build_judge("minilm")
    assert model.config.encoder_config.hidden_size == 384 and model.config.pretrained_backbone
    assert D.minilm_path().name == "model" and (D.minilm_path() / "model.safetensors").exists()
    scores = D.score_rationales(model, tok, ["What is 2 + 3?"] * 2, ["2 + 3 = 5.", "2 + 3 = 6."])
    assert scores.shape == (2,) and np.all((scores > 0) & (scores < 1))
    assert D.default_learning_rate(model) == 5e-5


def test_t5_checkpoint_backbone_uses_its_encoder_weights(tmp_path):
    """The paper's choice: the encoder of a T5 checkpoint (e.g. a trained student)."""
    tok = ByT5Tokenizer()
    student = T5ForConditionalGeneration(T5Config(vocab_size=len(tok), d_model=32, d_ff=64, d_kv=8, num_layers=1,
                                                  num_heads=4, decoder_start_token_id=0))
    student.save_pretrained(tmp_path / "student")
    tok.save_pretrained(tmp_path / "student")
    model, tok2 = D.build_judge(str(tmp_path / "student"))
    assert type(model.encoder).__name__ == "T5EncoderModel"
    assert torch.equal(model.encoder.encoder.block[0].layer[0].SelfAttention.q.weight,
                       student.encoder.block[0].layer[0].SelfAttention.q.weight)
    assert model.config.max_pair_length == 512           # byte-level tokenizer reads more tokens
    D.save_judge(model, tok2, tmp_path / "judge")
    loaded, _ = D.load_judge(tmp_path / "judge")
    assert type(loaded.encoder).__name__ == "T5EncoderModel"


def test_judge_from_an_in_memory_student_copies_its_encoder():
    tok = ByT5Tokenizer()
    student = T5ForConditionalGeneration(T5Config(vocab_size=len(tok), d_model=32, d_ff=64, d_kv=8, num_layers=1,
                                                  num_heads=4, decoder_start_token_id=0))
    model, _ = D.judge_from_student(student, tok)
    q = model.encoder.encoder.block[0].layer[0].SelfAttention.q.weight
    assert torch.equal(q, student.encoder.block[0].layer[0].SelfAttention.q.weight)
    assert q.data_ptr() != student.encoder.block[0].layer[0].SelfAttention.q.weight.data_ptr()   # a copy
    assert D.score_rationales(model, tok, ["q"], ["r"]).shape == (1,)


def test_unknown_backbone_offline_is_a_clear_error():
    with pytest.raises(ConfigError, match="'no-such-org/no-such-model' could not be loaded.*HF_HUB_OFFLINE"):
        D.build_judge("no-such-org/no-such-model")


def test_metrics_of_known_scores():
    m = D.score_metrics([1, 1, 0, 0], [0.9, 0.4, 0.6, 0.1])
    assert m["auc"] == pytest.approx(0.75) and m["accuracy"] == pytest.approx(0.5)
    assert m["mean_score_pos"] == pytest.approx(0.65) and m["mean_score_neg"] == pytest.approx(0.35)
    assert (m["n_pos"], m["n_neg"]) == (2, 2)
    assert D.roc_auc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)       # ties count half
    assert D.score_metrics([1, 1], [0.2, 0.3])["auc"] is None
    json.dumps(m)
