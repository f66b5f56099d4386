"""Stage 02 as notebook 02 runs it (qcrdkit/judge/run.py): items, pretraining, reuse, evaluation, the scores
for the explorers — on a tiny hand-made run."""
import pytest

from qcrdkit.core.io import read_json, read_jsonl, write_jsonl
from qcrdkit.judge import build_stage_judge
from qcrdkit.judge.run import evaluate_judge, judge_data, pretrain_judge, score_teacher_rationales
from qcrdkit.core.provenance import ArtifactConflict
from qcrdkit.core.rundir import save_task_spec
from qcrdkit.core.stages import JudgeStageConfig
from qcrdkit.tasks import get_task

from test_trainers import TASK_OPTIONS, make_records


@pytest.fixture
def run(tmp_path):
    save_task_spec(tmp_path, "arith", None, TASK_OPTIONS)
    write_jsonl(tmp_path / "teacher" / "samples.jsonl", make_records(get_task("arith", **TASK_OPTIONS)))
    return tmp_path


def tiny(**changes) -> JudgeStageConfig:
    return JudgeStageConfig(**{"backbone": "scratch-tiny", "vocab_size": 400, "steps": 4, "batch_size": 4,
                                       "eval_every": 2, "save_every": 2, "heldout_fraction": 0.25, "eval_questions": 4,
                                       "progress": False, **changes})


def test_judge_data_splits_by_question_augments_and_marks_answers(run):
    data = judge_data(run, tiny(), "[MASK]")
    train_ids, heldout_ids = {i["id"] for i in data.train}, {i["id"] for i in data.heldout}
    assert train_ids and heldout_ids and not train_ids & heldout_ids and len(heldout_ids) == 6   # 24 questions x 0.25
    assert data.augmented_train and all(i["label"] == 0 for i in data.augmented_train)
    assert not any("answer_signal" in i for i in data.train)          # the paper's judge reads the text alone
    extended = judge_data(run, tiny(answer_input="agreement"), "[MASK]")     # the kit's extension
    assert all("answer_signal" in i for i in extended.train + extended.augmented_train)
    assert data.counts["rationales"] == len(data.train) + len(data.augmented_train)
    assert judge_data(run, tiny(augment=False)).augmented_train == []


def test_pretrain_evaluate_reuse_and_refuse(run):
    stage = tiny()
    model, tok, trainable = build_stage_judge(run, stage)
    assert trainable > 0 and model.config.answer_input == "none"          # stage 02's default: eq. 1
    data = judge_data(run, stage, tok.mask_token)
    judge = pretrain_judge(run, stage, model, tok, data)
    assert (judge.steps, judge.reused) == (4, False)
    metrics, rows = evaluate_judge(run, stage, judge, data)
    assert len(rows) == len(data.heldout) + len(data.augmented_heldout)
    assert set(metrics["ranking"]) >= {"judge", "shorter_first", "agreement", "n_good", "n_bad"}
    assert metrics["sides_differ"] == 0                      # make_records: every positive is right
    folder = run / "judge"
    assert read_json(folder / "metrics.json")["steps"] == 4 and (folder / "provenance.json").exists()
    assert not (folder / "checkpoints").exists()
    scores = score_teacher_rationales(run, stage, judge, data)
    assert len(scores) == len(data.records) == len(read_jsonl(folder / "teacher_scores.jsonl"))
    assert sum(r["judge_trained_on"] for r in scores) == len(data.train)

    again = pretrain_judge(run, stage, *build_stage_judge(run, stage)[:2], data)
    assert again.reused and again.steps == 4
    with pytest.raises(ArtifactConflict, match="steps: 4 → 6"):
        pretrain_judge(run, tiny(steps=6), *build_stage_judge(run, stage)[:2], data)
