"""Stage 01 as notebook 01 runs it (qcrdkit/teacher/run.py): questions, samples from the embedded teacher
(through the openai client), the greedy sample for the baselines, the split, reuse and refusal."""
import pytest

from qcrdkit.core.io import read_json, read_jsonl
from qcrdkit.core.provenance import ArtifactConflict
from qcrdkit.core.stages import TeacherSamplingConfig
from qcrdkit.teacher.run import (sample_rationales, sampling_summary, split_and_save, teacher_questions,
                                 with_project_paths)

OPTIONS = {"n_train": 12, "n_valid": 4, "n_test": 4, "min_steps": 1, "max_steps": 1, "seed": 1}


def stage(tmp_path, **changes):
    return with_project_paths(TeacherSamplingConfig(**{"run_dir": str(tmp_path / "run"), "task_options": OPTIONS,
                                                       "k": 3, "cache_dir": str(tmp_path / "cache"), "progress": False,
                                                       **changes}))


def test_sample_split_save_then_reuse_or_refuse(tmp_path):
    s = stage(tmp_path)
    questions = teacher_questions(s)
    assert questions.decision == "new" and len(questions.examples["train"]) == 12 and questions.other is None
    samples = sample_rationales(s, questions)
    assert len(samples.records) == 36 and len(samples.greedy) == 12 and not samples.reused
    assert samples.provenance["greedy"]["samples"] == 12
    assert "36 samples" in sampling_summary(s, samples) and "12 greedy" in sampling_summary(s, samples)
    stats = split_and_save(s, questions, samples)
    assert stats["train"]["questions"] == 12 and all("positive" in r for r in samples.records)
    run = tmp_path / "run"
    assert len(read_jsonl(run / "teacher" / "samples.jsonl")) == 36 and len(read_jsonl(run / "teacher" / "greedy.jsonl")) == 12
    assert read_json(run / "task.json")["task"] == "arith" and (run / "teacher" / "provenance.json").exists()

    again = teacher_questions(s)
    reused = sample_rationales(s, again)
    assert again.decision == "reuse" and reused.reused and split_and_save(s, again, reused) == stats
    assert "**Reused**" in sampling_summary(s, reused)
    with pytest.raises(ArtifactConflict, match="k: 3 → 2"):
        teacher_questions(stage(tmp_path, k=2))


def test_no_greedy_sample_without_greedy_rationale_and_limit(tmp_path):
    s = stage(tmp_path, greedy_rationale=False, limit=5)
    samples = sample_rationales(s, teacher_questions(s))
    assert samples.greedy is None and len(samples.records) == 15 and "greedy" not in samples.provenance
