"""Student trainers: data rows and collation, each method's loss going down, QCRD's pieces
(negatives, judge, snapshot ring), resume, selection on valid, and a 2-process torchrun run."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from qcrdkit.core.errors import ConfigError
from qcrdkit.core.provenance import ArtifactConflict
from qcrdkit.core.io import read_json, write_jsonl
from qcrdkit.core.rundir import save_task_spec
from qcrdkit.tasks import get_task
from qcrdkit.training import METHODS, method_config, student_folder_name, train_student
from qcrdkit.training.data import StudentCollator, eval_rows, single_task_target, train_rows
from qcrdkit.training.qcrd_candidates import generated_labels, scatter_rows

from conftest import REPO

TASK_OPTIONS = {"n_train": 24, "n_valid": 8, "n_test": 8, "min_steps": 1, "max_steps": 1, "seed": 3}


def wrong(rationale: str) -> str:
    """A negative: the last number of a gold rationale changed."""
    head, _, last = rationale.rstrip(".").rpartition(" ")
    return f"{head} {int(float(last)) + 7}."


def make_records(task) -> list[dict]:
    records = []
    for ex in task.load("train"):
        samples = [(ex.rationale, True), (ex.rationale.replace(" so ", " then "), True), (wrong(ex.rationale), False)]
        for i, (rationale, positive) in enumerate(samples):
            records.append({"id": ex.id, "split": "train", "question": ex.input, "sample_index": i, "rationale": rationale,
                            "answer": ex.answer if positive else ex.answer + 7, "gold": ex.answer, "correct": positive,
                            "positive": positive})
    return records


def make_greedy(task) -> list[dict]:
    """Stage 01's greedy samples: the gold rationale reworded, one per question."""
    return [{"id": ex.id, "split": "train", "question": ex.input, "sample_index": 0, "temperature": 0.0,
             "rationale": "Greedy: " + ex.rationale, "answer": ex.answer, "gold": ex.answer, "correct": True}
            for ex in task.load("train")]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run of stages 01-02 made by hand: gold rationales as positives, a changed number as the
    negative, and a judge with the scratch-tiny encoder (untrained head: scores near 0.5)."""
    from qcrdkit.judge import save_judge
    from qcrdkit.judge import preset_judge

    run = tmp_path_factory.mktemp("run")
    save_task_spec(run, "arith", None, TASK_OPTIONS)
    write_jsonl(run / "teacher" / "samples.jsonl", make_records(get_task("arith", **TASK_OPTIONS)))
    write_jsonl(run / "teacher" / "greedy.jsonl", make_greedy(get_task("arith", **TASK_OPTIONS)))
    judge, tok = preset_judge(run, "scratch-tiny", vocab_size=400, answer_input="none")
    save_judge(judge, tok, run / "judge")
    return run


FAST = dict(student="scratch-tiny", vocab_size=400, progress=False, batch_size=4, lr=3e-3, eval_every=100,
            extra={"logging_steps": 1})
QCRD_FAST = dict(steps_per_iteration=2, iterations_back=2, judge_update_every=2, judge_update_steps=1, num_positives=2)


def test_train_rows_and_their_errors():
    task = get_task("arith", **TASK_OPTIONS)
    examples, records, greedy = task.load("train"), make_records(task), make_greedy(task)
    rows, counts = train_rows(task, examples, records, rationale_source="self_consistent")
    assert counts == {"questions": 24, "no_samples": 0, "rationale_source": "self_consistent", "with_positive": 24,
                      "without_source_rationale": 0, "mean_positives": 2.0, "mean_teacher_negatives": 1.0}
    assert rows[0]["positives"] == rows[0]["rationales"] == [records[0]["rationale"], records[1]["rationale"]]
    assert rows[0]["rationale"] == records[0]["rationale"] and rows[0]["label"] == examples[0].label
    assert rows[0]["teacher_negatives"] == [records[2]["rationale"]]
    one, _ = train_rows(task, examples, records, rationale_source="one_sample")
    assert one[0]["rationales"] == [records[0]["rationale"]] and one[0]["teacher_negatives"] == []
    # w/o ED changes one thing: QCRD's positives become the baselines' one greedy rationale
    wo_ed, _ = train_rows(task, examples, records, rationale_source="greedy", greedy=greedy)
    assert wo_ed[0]["positives"] == ["Greedy: " + examples[0].rationale] and wo_ed[0]["teacher_negatives"] == []
    both, _ = train_rows(task, examples, records, rationale_source="greedy_and_samples", greedy=greedy)
    assert both[0]["rationales"] == ["Greedy: " + examples[0].rationale, *rows[0]["rationales"]]
    assert both[0]["teacher_negatives"] == rows[0]["teacher_negatives"]
    # the decoding budget reads every teacher rationale, whatever the source
    assert wo_ed[0]["teacher_rationales"] == both[0]["teacher_rationales"] == ["Greedy: " + examples[0].rationale] + [
        r["rationale"] for r in records[:3]]
    # a question without a positive learns its first sample (counted)
    shuffled = [dict(r, positive=r["sample_index"] == 2 and r["id"] != examples[0].id) for r in records]
    picked, counts = train_rows(task, examples, shuffled, rationale_source="self_consistent")
    assert picked[0]["rationales"] == [] and picked[0]["rationale"] == records[0]["rationale"]
    assert picked[1]["rationale"] == records[5]["rationale"] and counts["without_source_rationale"] == 1
    with pytest.raises(ConfigError, match=r"greedy.jsonl: not found; rationale_source='greedy' needs stage 01"):
        train_rows(task, examples, records, rationale_source="greedy")
    with pytest.raises(ConfigError, match="greedy.jsonl: not found"):
        train_rows(task, examples, records, rationale_source="greedy_and_samples")
    with pytest.raises(ConfigError, match="no greedy sample for question 'arith-train-0'"):
        train_rows(task, examples, records, rationale_source="greedy", greedy=greedy[1:])
    some, counts = train_rows(task, examples, records[:3], rationale_source="one_sample")
    assert len(some) == 1 and counts["no_samples"] == 23
    with pytest.raises(ConfigError, match="samples.jsonl: no teacher samples"):
        train_rows(task, examples, [dict(r, id="other") for r in records], source="samples.jsonl",
                   rationale_source="one_sample")
    with pytest.raises(ConfigError, match="no self-consistency split"):
        train_rows(task, examples, [{k: v for k, v in r.items() if k != "positive"} for r in records],
                   rationale_source="one_sample")
    with pytest.raises(ConfigError, match="rationale_source must be one of"):
        train_rows(task, examples, records, rationale_source="best")


def test_a_one_rationale_method_learns_its_sources_rationales_in_turn_by_epoch():
    from qcrdkit.students import train_corpus_tokenizer
    from qcrdkit.core.question_batches import QuestionBatchSampler

    task = get_task("arith", **TASK_OPTIONS)
    rows, _ = train_rows(task, task.load("train"), make_records(task), rationale_source="greedy_and_samples",
                         greedy=make_greedy(task))
    tok = train_corpus_tokenizer([r["question"] for r in rows] + [t for r in rows for t in r["teacher_rationales"]], 300)
    sampler = QuestionBatchSampler(rows, 4)
    collator = StudentCollator(tok, "multitask", sampler=sampler)
    taught = []
    for epoch in range(4):
        sampler.set_epoch(epoch)
        labels = collator(rows[:1])["expl_labels"][0]
        taught.append(tok.decode(labels[labels != -100], skip_special_tokens=True))
    assert taught == [rows[0]["rationales"][e % 3] for e in range(4)]
    assert len(set(taught)) == 3


def test_collator_formats():
    from qcrdkit.students import train_corpus_tokenizer

    task = get_task("arith", **TASK_OPTIONS)
    rows, _ = train_rows(task, task.load("train"), make_records(task), rationale_source="one_sample")
    tok = train_corpus_tokenizer([r["question"] for r in rows] + [r["rationale"] for r in rows], 300)
    multi = StudentCollator(tok, "multitask")(rows[:3])
    assert {"input_ids", "attention_mask", "labels", "expl_input_ids", "expl_labels", "id", "positives"} <= set(multi)
    assert tok.convert_ids_to_tokens(multi["input_ids"][0].tolist())[0] == "<Predict>"
    assert tok.convert_ids_to_tokens(multi["expl_input_ids"][0].tolist())[0] == "<Explain>"
    labels = multi["expl_labels"][0]
    assert tok.decode(labels[labels != -100], skip_special_tokens=True) == rows[0]["rationale"]
    single = StudentCollator(tok, "single")(rows[:2])
    target = single["labels"][0]
    assert tok.decode(target[target != -100], skip_special_tokens=True) == single_task_target(rows[0]["rationale"],
                                                                                             rows[0]["label"])
    evaluation = StudentCollator(tok, "multitask")(eval_rows(task, task.load("valid"))[:2])
    assert set(evaluation) == {"input_ids", "attention_mask", "labels"}      # what Seq2SeqTrainer generation needs
    assert task.parse_label(single_task_target("x", "( 2.0 + 3.0 )").split("So the answer is")[1]) == 5.0


def test_method_configs_take_stage_03s_parameters_and_reject_unknown_ones(tmp_path):
    from qcrdkit.core.stages import TrainingStageConfig

    q = method_config("qcrd", output_dir=str(tmp_path), alpha=0.3)           # alpha is DSS's: ignored here
    assert (q.alpha_pred, q.alpha_cl, q.alpha_judge, q.alpha_judge_decay, q.beta, q.delta) == (0.5, 0.5, 0.5, 0.9, 0.2, 3.0)
    assert (q.scheme, q.num_negatives, q.iterations_back, q.negative_temperature) == ("minmax", 1, 3, 1.5)
    assert (q.negative_top_k, q.negative_top_p) == (20, 1.0)       # top-k: the kit's choice (bench/README.md)
    assert (q.per_device_train_batch_size, q.learning_rate, q.max_steps, q.eval_steps, q.save_steps) == (32, 1e-3, 600, 150, 150)
    assert method_config("qcrd", student="t5-small").learning_rate == 1e-5      # lr None: by the student's kind
    paper = method_config("qcrd", TrainingStageConfig(steps=10000, batch_size=8, lr=1e-5, eval_every=250), alpha_cl=0.4)
    assert (paper.max_steps, paper.per_device_train_batch_size, paper.learning_rate, paper.eval_steps,
            paper.alpha_cl) == (10000, 8, 1e-5, 250, 0.4)
    assert method_config("dss", extra={"warmup_steps": 0.05}).warmup_steps == 0.05
    with pytest.raises(ConfigError, match=r"03_training.extra: unknown training argument\(s\) \['warmup'\]"):
        method_config("dss", extra={"warmup": 0.05})
    assert method_config("dss", output_dir=str(tmp_path), alpha=0.3).alpha == 0.3
    assert method_config("mi", output_dir=str(tmp_path)).mi_weight == 0.1
    with pytest.raises(ConfigError, match=r"03_training: unknown parameter\(s\) \['alpah'\]"):
        method_config("dss", output_dir=str(tmp_path), alpah=0.3)
    with pytest.raises(ConfigError, match="scheme must be one of"):
        method_config("qcrd", output_dir=str(tmp_path), scheme="best")
    with pytest.raises(ConfigError, match="needs fixed_generator"):
        method_config("qcrd", output_dir=str(tmp_path), negative_source="fixed")
    with pytest.raises(ConfigError, match="unknown method"):
        method_config("distill", output_dir=str(tmp_path))
    assert student_folder_name("qcrd", 2, tag="woNK") == "qcrd-woNK-seed2" and student_folder_name("dss", 0) == "dss"
    from qcrdkit.training.run import student_label
    assert student_label("out/students/qcrd-seed1/checkpoints") == "qcrd-seed1" == student_label("x/qcrd-seed1")
    assert method_config("dss", output_dir=str(tmp_path)).train_fraction == 1.0
    with pytest.raises(ValueError, match="train_fraction must be in"):
        method_config("dss", output_dir=str(tmp_path), train_fraction=0)


def test_train_fraction_takes_the_same_subset_for_every_method(run_dir, tmp_path):
    from qcrdkit.training.run import build_trainer, name_tag

    setups = {m: build_trainer(m, run_dir, output_dir=tmp_path / m, train_fraction=0.5, **FAST) for m in ("dss", "qcrd")}
    ids = {m: sorted({row["id"] for row in s.trainer.train_dataset}) for m, s in setups.items()}
    assert len(ids["dss"]) == 12 == setups["dss"].counts["questions"] and ids["dss"] == ids["qcrd"]
    assert name_tag("qcrd-woNK-seed2", "qcrd") == "woNK" and name_tag("qcrd-seed2", "qcrd") is None


def test_generated_labels_stop_at_the_first_eos_and_scatter_keeps_gradient():
    ids = torch.tensor([[5, 6, 1, 0, 0], [7, 1, 9, 1, 0], [4, 4, 4, 4, 4]])
    assert [t.tolist() for t in generated_labels(ids, eos_token_id=1)] == [[5, 6, 1], [7, 1], [4, 4, 4, 4, 4]]
    values = torch.tensor([2.0, 3.0], requires_grad=True)
    mat = scatter_rows(values, [1, 4], 3, 2)
    assert mat.tolist() == [[0, 2], [0, 0], [3, 0]]
    mat.sum().backward()
    assert values.grad.tolist() == [1.0, 1.0]


def losses(history, key="loss"):
    return [h[key] for h in history if key in h and "step" in h]


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.slow
def test_a_few_steps_of_each_method_reduce_its_loss(run_dir, tmp_path, method):
    metrics = train_student(method, run_dir, out_dir=tmp_path / method, steps=24, **FAST,
                            **(QCRD_FAST if method == "qcrd" else {}))
    history = read_json(tmp_path / method / "history.json")
    curve = losses(history)
    assert len(curve) == 24
    assert sum(curve[-4:]) / 4 < 0.85 * sum(curve[:4]) / 4, curve
    assert metrics["steps"] == 24 and 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["seconds_per_step"] > 0 and metrics["n_test"] == 8
    assert (tmp_path / method / "model.safetensors").exists() and not (tmp_path / method / "checkpoints").exists()
    predictions = [json.loads(x) for x in (tmp_path / method / "test_predictions.jsonl").read_text().splitlines()]
    assert [p["id"] for p in predictions] == [f"arith-test-{i}" for i in range(8)]
    assert sum(p["correct"] for p in predictions) / 8 == pytest.approx(metrics["test_accuracy"])
    if method == "qcrd":
        assert {"loss_pred", "loss_cl", "ce_pos", "ce_neg", "score_pos", "loss_judge"} <= set().union(*history)
        assert max(h.get("generator_iteration", 0) for h in history) >= 1     # the generator moved on
        assert isinstance(metrics["judge_updates_skipped"], int)            # counted, not lost on the way


@pytest.mark.slow
def test_qcrd_samples_negatives_ahead_and_uses_each_once(run_dir, tmp_path, monkeypatch):
    """With an iteration longer than the prefetch window, every question's negatives are sampled
    in one generate call per window and none is wasted (the sampler's order is predicted)."""
    from qcrdkit.training.qcrd import QCRDTrainer

    made, original = {}, QCRDTrainer.__init__

    def keep(self, *a, **kw):
        original(self, *a, **kw)
        made["trainer"] = self
    monkeypatch.setattr(QCRDTrainer, "__init__", keep)
    train_student("qcrd", run_dir, out_dir=tmp_path / "q", steps=18, **{**FAST, "extra": {**FAST["extra"],
                  "negative_prefetch_steps": 3}}, use_judge=False, steps_per_iteration=6, iterations_back=5,
                  num_negatives=2)
    trainer = made["trainer"]
    # steps 0-5: no snapshot yet, no negatives; steps 6-17: the snapshot of iteration 1, in windows of 3 steps
    assert trainer.negative_fills == 4
    assert trainer.negatives_sampled == 12 * 4              # 12 steps x 4 questions, nothing sampled twice
    assert not trainer.negative_cache


@pytest.mark.slow
def test_qcrd_ablation_switches(run_dir, tmp_path):
    """w/o NK trains without negatives, w/o QJ without a judge, teacher negatives come from the
    self-consistency split, and a missing judge is a clear error."""
    none = train_student("qcrd", run_dir, out_dir=tmp_path / "nk", steps=4, **FAST, **QCRD_FAST,
                         negative_source="none")
    history = read_json(tmp_path / "nk" / "history.json")
    assert not any("ce_neg" in h for h in history) and none["steps"] == 4
    # the online updates' objective, resolved from stage 02's judge, is what the student records
    assert none["config"]["judge_objective"] == "bce"
    assert read_json(tmp_path / "nk" / "provenance.json")["settings"]["config"]["judge_objective"] == "bce"
    train_student("qcrd", run_dir, out_dir=tmp_path / "qj", steps=4, **FAST, **QCRD_FAST, use_judge=False,
                  negative_source="teacher")
    history = read_json(tmp_path / "qj" / "history.json")
    # score_neg: logged over the negatives inside the margin (an untrained student has none here)
    assert all(h["score_pos"] == 1.0 and h.get("score_neg", 0.0) == 0.0 for h in history if "score_pos" in h)
    assert not any("loss_judge" in h for h in history)
    bare = tmp_path / "bare"
    shutil.copytree(run_dir / "teacher", bare / "teacher")
    shutil.copy(run_dir / "task.json", bare / "task.json")
    with pytest.raises(ConfigError, match="no judge; run stage 02"):
        train_student("qcrd", bare, out_dir=tmp_path / "x", steps=2, **FAST)


@pytest.mark.slow
def test_fixed_generator_from_a_trained_student(run_dir, tmp_path):
    train_student("dss", run_dir, out_dir=tmp_path / "dss", steps=2, **FAST)
    metrics = train_student("qcrd", run_dir, out_dir=tmp_path / "fixed", steps=3, **FAST, **QCRD_FAST,
                            negative_source="fixed", fixed_generator=str(tmp_path / "dss"))
    assert metrics["steps"] == 3 and metrics["config"]["negative_source"] == "fixed"


@pytest.mark.slow
def test_dss_resume_continues_where_it_stopped(run_dir, tmp_path):
    """Stopped after step 4 (checkpoint-4 kept, later ones lost), a rerun resumes there and ends
    with the same weights as an uninterrupted run."""
    common = dict(steps=8, **{**FAST, "eval_every": 4}, keep_checkpoints=True)
    train_student("dss", run_dir, out_dir=tmp_path / "full", **common)
    shutil.copytree(tmp_path / "full" / "checkpoints" / "checkpoint-4", tmp_path / "cut" / "checkpoints" / "checkpoint-4")
    shutil.copy(tmp_path / "full" / "checkpoints" / "provenance.json", tmp_path / "cut" / "checkpoints")
    resumed = train_student("dss", run_dir, out_dir=tmp_path / "cut", **common)
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["steps"] == 8
    a = torch.load(tmp_path / "full" / "checkpoints" / "checkpoint-8" / "optimizer.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "checkpoints" / "checkpoint-8" / "optimizer.pt", weights_only=True)
    for key in a["state"]:
        assert torch.allclose(a["state"][key]["exp_avg"], b["state"][key]["exp_avg"], atol=1e-6)


@pytest.mark.slow
def test_qcrd_resume_restores_the_snapshot_ring_and_the_judge(run_dir, tmp_path):
    from qcrdkit.training.qcrd import STATE_FILE

    common = dict(steps=8, **{**FAST, "eval_every": 4}, **QCRD_FAST, judge_labels="source",
                  keep_checkpoints=True)
    train_student("qcrd", run_dir, out_dir=tmp_path / "full", **common)
    saved = torch.load(tmp_path / "full" / "checkpoints" / "checkpoint-4" / STATE_FILE, weights_only=True)
    assert [i for i, _ in saved["ring"]["snapshots"]] == [1, 2]               # steps 2, 4 (never the initial model)
    assert saved["judge"]["updates"] == 1            # step 4 (every 2; at step 2 no negatives yet: nothing to contrast)
    shutil.copytree(tmp_path / "full" / "checkpoints" / "checkpoint-4", tmp_path / "cut" / "checkpoints" / "checkpoint-4")
    shutil.copy(tmp_path / "full" / "checkpoints" / "provenance.json", tmp_path / "cut" / "checkpoints")
    resumed = train_student("qcrd", run_dir, out_dir=tmp_path / "cut", **common)
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["steps"] == 8
    final = torch.load(tmp_path / "cut" / "checkpoints" / "checkpoint-8" / STATE_FILE, weights_only=True)
    assert [i for i, _ in final["ring"]["snapshots"]] == [2, 3, 4]
    assert final["judge"]["updates"] == 3                                     # continued from 1, not from 0
    assert final["judge_training"]["updates"] == 3 and final["judge_training"]["probe"]     # buffer, probe restored
    assert (tmp_path / "full" / "judge" / "model.safetensors").exists()      # the online judge kept beside the student
    history = read_json(tmp_path / "cut" / "history.json")
    assert [h["step"] for h in history if "loss" in h] == list(range(1, 9))   # steps 1-4 restored, not redone
    os.remove(tmp_path / "cut" / "checkpoints" / "checkpoint-8" / STATE_FILE)
    shutil.rmtree(tmp_path / "cut" / "checkpoints" / "checkpoint-4")
    (tmp_path / "cut" / "metrics.json").unlink()                              # unfinished: it resumes from step 8
    with pytest.raises(ConfigError, match="qcrd_state.pt: missing"):
        train_student("qcrd", run_dir, out_dir=tmp_path / "cut", **common)
    with pytest.raises(ArtifactConflict, match="unfinished student's checkpoints.*steps: 8 → 10"):
        train_student("qcrd", run_dir, out_dir=tmp_path / "cut", **{**common, "steps": 10})


@pytest.mark.slow
def test_model_selection_uses_valid_and_test_is_reported(run_dir, tmp_path):
    metrics = train_student("finetune", run_dir, out_dir=tmp_path / "ft", steps=6,
                            **{**FAST, "eval_every": 2})
    history = read_json(tmp_path / "ft" / "history.json")
    evals = {h["step"]: h["eval_accuracy"] for h in history if "eval_accuracy" in h}
    assert sorted(evals) == [2, 4, 6]
    best = max(evals.values())
    assert metrics["valid_accuracy"] == pytest.approx(best)
    assert evals[metrics["best_checkpoint_step"]] == pytest.approx(best)
    assert not any(k.startswith("test_") for h in history[:-2] for k in h)    # test only at the very end
    again = train_student("finetune", run_dir, out_dir=tmp_path / "ft", steps=6,
                          **{**FAST, "eval_every": 2})
    assert again == {**metrics, "reused": True}                               # a finished student is kept
    with pytest.raises(ArtifactConflict, match=r"the finished student ft .*\(steps: 6 → 4\)"):
        train_student("finetune", run_dir, out_dir=tmp_path / "ft", steps=4, **{**FAST, "eval_every": 2})
    assert read_json(tmp_path / "ft" / "metrics.json") == metrics             # another config never overwrites it
    other = train_student("finetune", run_dir, out_dir=tmp_path / "ft", steps=4, replace=True,
                          **{**FAST, "eval_every": 2})
    assert other["steps"] == 4 and "reused" not in other                      # asked to replace: trains again
    assert read_json(next((tmp_path / "replaced").glob("*/ft/metrics.json"))) == metrics   # the old one kept aside


def train_in_processes(run_dir, out, processes: int, port: int, method: str = "qcrd") -> subprocess.CompletedProcess:
    """``qcrd train`` of a tiny student: one plain process, or ``accelerate launch --num_processes N`` on the CPUs."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    sets = ["steps=8", "batch_size=4", "eval_every=4", "student=scratch-tiny", "vocab_size=400", "lr=0.003",
            *(f"{k}={v}" for k, v in QCRD_FAST.items()), "extra={logging_steps: 1}"]
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
                "--main_process_port", str(port), "-m"] if processes > 1 else [sys.executable, "-m"]
    cmd = [*launcher, "qcrdkit.cli", "train", "--run-dir", str(run_dir), "--method", method, "--out", str(out),
           "--no-progress", *(x for s in sets for x in ("--set", s))]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=900)


@pytest.mark.slow
def test_two_processes_train_one_student_like_one_process_with_the_same_global_batch(run_dir, tmp_path):
    """`accelerate launch --num_processes 2` on CPUs (gloo): one QCRD student, each step's 4 questions split 2 + 2.
    Against one process with the same batch and seed: the same optimizer steps, per-step losses within 5 % (each
    process draws its own dropout masks, and the label loss is a token mean per half; measured: at most 1.9 %), the
    same valid accuracy and best checkpoint, one student folder written, and no process left behind."""
    one = train_in_processes(run_dir, tmp_path / "one", 1, 29521)
    two = train_in_processes(run_dir, tmp_path / "two", 2, 29523)
    assert one.returncode == 0, one.stderr[-3000:]
    assert two.returncode == 0, two.stderr[-3000:]
    m1, m2 = read_json(tmp_path / "one" / "metrics.json"), read_json(tmp_path / "two" / "metrics.json")
    assert m1["steps"] == m2["steps"] == 8
    assert abs(m1["valid_accuracy"] - m2["valid_accuracy"]) <= 0.01
    assert m1["best_checkpoint_step"] == m2["best_checkpoint_step"]
    losses = [{h["step"]: h["loss"] for h in read_json(tmp_path / d / "history.json") if "loss" in h} for d in ("one", "two")]
    assert sorted(losses[0]) == sorted(losses[1]) == list(range(1, 9))
    for step, value in losses[0].items():
        assert losses[1][step] == pytest.approx(value, rel=0.05), (step, losses)
    # the judge's updates (steps 2, 4, 6, 8) reached the student folder; the negatives were counted on both processes
    assert m2["judge_updates"] == m1["judge_updates"] == 4
    assert m2["negatives_inside_margin"] is not None
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    assert not list(tmp_path.glob("two/checkpoints*")) and not (tmp_path / "replaced").exists()
    assert (m1["processes"], m2["processes"]) == (1, 2)                       # really distributed
    summaries = [json.loads(line) for line in two.stdout.splitlines() if line.startswith('{"name"')]
    assert [s["processes"] for s in summaries] == [2]                          # printed once, by the main process
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "two")], capture_output=True, text=True)
    assert left.stdout == "", "a training process outlived the launcher"
    assert "destroy_process_group" not in two.stderr and "Traceback" not in two.stderr


@pytest.mark.slow
def test_processes_in_stage_03_launch_torchrun_for_one_student(run_dir, tmp_path, capfd):
    """``processes: 2`` (what notebook 03 and ``qcrd run`` pass): train_student launches torchrun itself, shows the
    processes' output, and returns the one student's metrics; a second call reuses it."""
    metrics = train_student("dss", run_dir, out_dir=tmp_path / "dss", steps=4, processes=2, **{**FAST, "eval_every": 4})
    assert metrics["processes"] == 2 and metrics["steps"] == 4 and (tmp_path / "dss" / "model.safetensors").exists()
    assert "'loss'" in capfd.readouterr().out                     # the launched processes' log lines, shown here
    assert train_student("dss", run_dir, out_dir=tmp_path / "dss", steps=4, processes=2,
                         **{**FAST, "eval_every": 4})["reused"] is True


@pytest.mark.slow
def test_an_interrupted_launch_leaves_no_training_process(run_dir, tmp_path):
    """Ctrl-C (a notebook's interrupt) while stage 03's processes train: nothing is left running, no student written.
    (The launcher terminates torchrun; closing the processes' output pipe alone also ends them at their next line.)"""
    import signal
    import time

    script = (f"from qcrdkit.training import train_student\n"
              f"train_student('dss', {str(run_dir)!r}, out_dir={str(tmp_path / 'dss')!r}, steps=5000, processes=2, "
              f"student='scratch-tiny', vocab_size=400, batch_size=4, eval_every=5000, progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(120):                               # until the processes train (a log line of the Trainer)
        if (tmp_path / "dss" / "checkpoints").exists():
            break
        time.sleep(0.5)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    time.sleep(2)
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "dss")], capture_output=True, text=True)
    assert left.stdout == "", "a training process outlived the interrupted launch"
    assert not (tmp_path / "dss" / "metrics.json").exists()


def test_complete_config_fills_fields_an_older_version_did_not_record():
    from qcrdkit.analysis.student_results import complete_config

    old = {"scheme": "mean", "seed": 0}
    config = complete_config("qcrd", old)
    assert config["scheme"] == "mean" and config["train_fraction"] == 1.0 and config["negative_temperature"] == 1.5
    assert "alpha" not in config and complete_config("dss", {})["alpha"] == 0.5
    assert complete_config("nosuch", old) == old
    # students trained before rationale_source recorded it as positives (QCRD) or rationale (the baselines)
    assert complete_config("qcrd", {"positives": "greedy"})["rationale_source"] == "greedy"
    assert complete_config("dss", {"rationale": "greedy"})["rationale_source"] == "greedy"
    assert complete_config("qcrd", {"rationale_source": "greedy_and_samples"})["rationale_source"] == "greedy_and_samples"


def test_every_method_sees_the_same_question_order_per_seed(run_dir, tmp_path):
    """Finetune, Single-Task, DSS, MI and QCRD draw their batches from one seeded question order."""
    from qcrdkit.training.run import build_trainer

    def order(method, seed):
        trainer = build_trainer(method, run_dir, output_dir=tmp_path / f"{method}{seed}", seed=seed, **FAST).trainer
        loader = trainer.get_train_dataloader()                        # batches come from trainer.train_sampler
        first = next(iter(loader))["input_ids"].shape[0]
        return first, [[trainer.train_dataset[i]["id"] for i in b] for b in list(trainer.train_sampler)[:4]]

    orders = {m: order(m, 0) for m in METHODS}
    assert all(o == orders["dss"] for o in orders.values()), orders
    assert orders["dss"][0] == 4 and order("dss", 1)[1] != orders["dss"][1]      # another seed, another order


def test_rationale_accuracy_on_hand_made_outputs():
    from qcrdkit.training.base import rationale_accuracy, rationale_outcomes

    task = get_task("arith", **TASK_OPTIONS)
    ex = task.load("test")[:4]
    texts = [ex[0].rationale,                                            # gold: its last result is the answer
             ex[1].rationale + f" The answer is {ex[1].answer + 1:g}.",   # a stated answer wins over the last result
             "Tom starts with many apples.",                             # no calculation, no answer
             f"So {ex[3].answer:g} - 0 = {ex[3].answer:g}."]
    outcomes = rationale_outcomes(task, texts, ex)
    assert [o["rationale_correct"] for o in outcomes] == [True, False, False, True]
    assert outcomes[1]["rationale_answer"] == ex[1].answer + 1 and outcomes[2]["rationale_answer"] is None
    assert rationale_accuracy(outcomes) == 0.5 and rationale_accuracy([]) == 0.0


@pytest.mark.slow
def test_rationale_accuracy_is_reported_for_methods_that_learn_rationales(run_dir, tmp_path):
    for method in ("finetune", "single_task", "dss"):
        metrics = train_student(method, run_dir, out_dir=tmp_path / method, steps=2, **FAST)
        predictions = [json.loads(x) for x in (tmp_path / method / "test_predictions.jsonl").read_text().splitlines()]
        if method == "finetune":
            assert metrics["test_rationale_accuracy"] is None and "rationale" not in predictions[0]
            continue
        assert metrics["test_rationale_accuracy"] == pytest.approx(
            sum(p["rationale_correct"] for p in predictions) / len(predictions))
        assert metrics["valid_rationale_accuracy"] is not None
        assert {"rationale", "rationale_answer", "rationale_correct"} <= set(predictions[0])


def qcrd_trainer_and_batch(run_dir, tmp_path, extra=None, **params):
    from qcrdkit.training.run import build_trainer

    trainer = build_trainer("qcrd", run_dir, output_dir=tmp_path / "q", **{**FAST, **QCRD_FAST, "judge_update_every": 0,
                                                                         "negative_source": "teacher", **params,
                                                                         "extra": {**FAST["extra"], **(extra or {})}}).trainer
    batch = next(iter(trainer.get_train_dataloader()))
    return trainer, batch


@pytest.mark.parametrize("scheme,margin", [("minmax", "default"), ("mean", "default"), ("minmax", "median"),
                                           ("mean", "median")])
def test_qcrd_compute_loss_equals_the_loss_functions_on_the_same_ces(run_dir, tmp_path, scheme, margin):
    """compute_loss end to end = α1 · L_pred + α2 · contrastive_loss on CEs and judge scores computed
    here independently (full decoder passes, one per rationale; the judge reads every rationale).
    With δ at the negatives' median CE, half of them lie outside the margin and the trainer does not
    score those: the loss is the same. Float32 throughout, chunked decoder passes (2 rows a chunk)."""
    from qcrdkit.training.losses import contrastive_loss, sequence_cross_entropy
    from qcrdkit.training.qcrd_candidates import pad_labels

    trainer, batch = qcrd_trainer_and_batch(run_dir, tmp_path, scheme=scheme, num_positives=2,
                                            extra={"inference_dtype": "float32", "chunk_rows": 2})
    model, a = trainer.model, trainer.args
    pos = [p[:a.num_positives] for p in batch["positives"]]
    neg = [t[:a.num_negatives] for t in batch["teacher_negatives"]]

    def ce(i, text):
        labels = pad_labels(trainer.target_ids([text]), "cpu")
        out = model(input_ids=batch["expl_input_ids"][i:i + 1], attention_mask=batch["expl_attention_mask"][i:i + 1],
                    labels=labels)
        return sequence_cross_entropy(out.logits, labels)[0]

    read = []
    original = trainer.judge.score
    trainer.judge.score = lambda q, r, **kw: (read.extend(r), original(q, r, **kw))[1]
    with torch.no_grad():
        pos_ce = torch.stack([torch.stack([ce(i, t) for t in p]) for i, p in enumerate(pos)])
        neg_ce = torch.stack([torch.stack([ce(i, t) for t in n]) for i, n in enumerate(neg)])
        if margin == "median":
            a.delta = float(neg_ce.median())
        q = batch["question"]
        pos_s = torch.stack([original([q[i]] * len(p), p) for i, p in enumerate(pos)])
        neg_s = torch.stack([original([q[i]] * len(n), n) for i, n in enumerate(neg)])
        pred = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
        expected = a.alpha_pred * pred + a.alpha_cl * contrastive_loss(pos_ce, neg_ce, pos_s, neg_s, scheme=scheme,
                                                                       beta=a.beta, delta=a.delta)
        got = trainer.compute_loss(model, batch)
    assert got.item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-5)
    inside = sum(int(c < a.delta) for c in neg_ce.flatten())
    if margin == "median":
        assert 0 < inside < neg_ce.numel()
    # the judge read the negatives inside the margin only
    assert sum(r in {t for n in neg for t in n} for r in read) == inside


def test_chunked_decoder_passes_give_the_same_ces_and_gradients(run_dir, tmp_path):
    """rationale_ce sorted by length in chunks = one padded pass: values and gradients."""
    trainer, batch = qcrd_trainer_and_batch(run_dir, tmp_path, num_positives=2)
    model = trainer.model
    rows = [i for i, p in enumerate(batch["positives"]) for _ in p[:2]]
    labels = [t for p in batch["positives"] for t in trainer.target_ids(p[:2])]
    assert len({len(t) for t in labels}) > 1                       # lengths differ: padding matters
    results = []
    for chunk in (0, 3):
        model.zero_grad()
        hidden = model.get_encoder()(input_ids=batch["expl_input_ids"],
                                     attention_mask=batch["expl_attention_mask"]).last_hidden_state
        ce = trainer.rationale_ce(model, hidden, batch["expl_attention_mask"], rows, labels, chunk_rows=chunk)
        (ce * torch.arange(1, len(ce) + 1)).sum().backward()
        results.append((ce.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    (ce0, g0), (ce3, g3) = results
    assert torch.allclose(ce0, ce3, atol=1e-5)
    assert len(g0) == len(g3) and all(torch.allclose(x, y, atol=1e-5) for x, y in zip(g0, g3))


def test_bfloat16_selection_picks_as_float32_except_near_ties(run_dir, tmp_path):
    """The MinMax selection in bfloat16 picks the float32 pick wherever the two best positives' CEs
    are more than 0.05 apart (bf16 keeps ~3 significant digits)."""
    trainer, batch = qcrd_trainer_and_batch(run_dir, tmp_path, num_positives=2, extra={"inference_dtype": "bfloat16"})
    model = trainer.model
    hidden = model.get_encoder()(input_ids=batch["expl_input_ids"],
                                 attention_mask=batch["expl_attention_mask"]).last_hidden_state
    c = trainer.candidates(batch)
    picks = {}
    for dtype in (torch.float32, torch.bfloat16):
        trainer.fast_dtype = dtype
        picks[dtype] = trainer.select(model, hidden, batch["expl_attention_mask"], c)
    with torch.no_grad():
        rows = [i for i, p in enumerate(c.pos_ids) for _ in p]
        ce = trainer.rationale_ce(model, hidden, batch["expl_attention_mask"], rows, [t for p in c.pos_ids for t in p])
    gaps, start = [], 0
    for p in c.pos_ids:
        values = sorted(ce[start:start + len(p)].tolist())
        gaps.append(values[1] - values[0] if len(values) > 1 else float("inf"))
        start += len(p)
    same = [s32 == s16 for s32, s16 in zip(picks[torch.float32], picks[torch.bfloat16])]
    assert len(picks[torch.float32]) == len(picks[torch.bfloat16])
    assert all(ok for ok, (i, kind, _) in zip(same, picks[torch.float32]) if kind == "neg" or gaps[i] > 0.05)


def test_the_judge_reads_question_and_rationale_inside_the_trainer(run_dir, tmp_path):
    trainer, batch = qcrd_trainer_and_batch(run_dir, tmp_path, delta=100.0)      # every negative inside the margin
    seen = []
    original = trainer.judge.score

    def spy(questions, rationales, **kw):
        seen.extend(zip(questions, rationales))
        return original(questions, rationales, **kw)
    trainer.judge.score = spy
    with torch.no_grad():
        trainer.compute_loss(trainer.model, batch)
    by_question = {q: set(p[:2]) | set(n[:1]) for q, p, n in zip(batch["question"], batch["positives"],
                                                                  batch["teacher_negatives"])}
    assert len(seen) == 2 * len(batch["question"])                 # the picked positive and negative of each question
    assert all(r in by_question[q] for q, r in seen), seen           # each rationale with its own question
