"""Every declared parameter changes what it says, or is marked as not deciding the artifact.

A parameter that is only recorded (the α3 of an older version: logged, compared on reruns, used nowhere) is
the bug this file catches. For stages 01-03, whose artifacts later stages reuse, each parameter that decides
the artifact (``qcrdkit.core.stages.NOT_DECIDING`` lists the others: where it goes, how fast, what is shown) has a
probe: the stage run tiny with a context, then with one change; the artifact (records, weights, the student
folders a run makes, or the error raised) must differ. A parameter whose effect needs an outside endpoint or
trained students is tested elsewhere: ``ELSEWHERE`` names the test, which must exist and mention it.
"""
import hashlib
import os
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from qcrdkit.core.io import write_jsonl
from qcrdkit.core.rundir import save_task_spec
from qcrdkit.core.stages import NOT_DECIDING, STAGE_CONFIGS
from qcrdkit.tasks import get_task

from conftest import REPO
from test_trainers import TASK_OPTIONS, make_greedy, make_records

#: stage -> parameter -> (context, changes): the stage run with ``context``, then with ``changes`` as well
PROBES = {
    "01_teacher_sampling": {
        "task": ({"teacher": "dss_import", "limit": 3, "task_options": {}, "task": "cqa"},
                 {"task": "svamp"}),
        "task_options": ({}, {"task_options": {**TASK_OPTIONS, "seed": 4}}),
        "data_dir": ({"teacher": "dss_import", "limit": 3, "task_options": {}, "task": "svamp"},
                     {"data_dir": "<subset>"}),
        "splits": ({}, {"splits": ["train", "valid"]}),
        "limit": ({}, {"limit": 5}),
        "teacher": ({"import_path": "<dump>"}, {"teacher": "jsonl_import"}),
        "k": ({}, {"k": 2}),
        "temperature": ({}, {"temperature": 1.5}),
        "greedy_rationale": ({}, {"greedy_rationale": False}),
        "max_tokens": ({}, {"max_tokens": 6}),
        "seed": ({}, {"seed": 5}),
        "split_mode": ({"temperature": 1.5}, {"split_mode": "ground_truth"}),
        "answer_reader": ({"teacher": "jsonl_import", "import_path": "<dump>", "reader_base_url": "synthetic"},
                          {"answer_reader": "llm"}),
        "import_path": ({"teacher": "jsonl_import", "import_path": "<dump>"}, {"import_path": "<dump2>"}),
        "strict_import": ({"teacher": "jsonl_import", "import_path": "<dump>"}, {"strict_import": True}),
        "allow_test_overlap": ({"teacher": "jsonl_import", "import_path": "<dump-test>"},
                               {"allow_test_overlap": True}),
        "prompt_template": ({}, {"prompt_template": "<template>"}),
    },
    "02_judge": {
        "backbone": ({}, {"backbone": "scratch-small"}),
        "tokenizer": ({}, {"tokenizer": "byte"}),
        "vocab_size": ({}, {"vocab_size": 300}),
        "objective": ({}, {"objective": "eq2"}),
        "steps": ({}, {"steps": 3}),
        "batch_size": ({}, {"batch_size": 2}),
        "rationales_per_question": ({}, {"rationales_per_question": 1}),
        "group_by_length": ({"batch_size": 2}, {"group_by_length": True}),
        "answer_input": ({}, {"answer_input": "agreement"}),
        "lr": ({}, {"lr": 1e-4}),
        "freeze_layers": ({}, {"freeze_layers": 1}),
        "max_length": ({}, {"max_length": 12}),
        "augment": ({}, {"augment": False}),
        "augment_ops": ({}, {"augment_ops": ["mask"]}),
        "augment_rate": ({}, {"augment_rate": 0.6}),
        "splits": ({}, {"splits": ["train", "valid"]}),
        "heldout_fraction": ({}, {"heldout_fraction": 0.5}),
        "seed": ({}, {"seed": 1}),
    },
    "03_training": {
        "methods": ({}, {"methods": ["dss"]}),
        "student": ({}, {"student": "scratch-small"}),
        "tokenizer": ({}, {"tokenizer": "byte"}),
        "vocab_size": ({}, {"vocab_size": 300}),
        "steps": ({}, {"steps": 5}),
        "batch_size": ({}, {"batch_size": 2}),
        "lr": ({}, {"lr": 1e-3}),
        "seeds": ({}, {"seeds": [1]}),
        "tag": ({}, {"tag": "other"}),
        "train_fraction": ({}, {"train_fraction": 0.5}),
        "alpha": ({"methods": ["dss"]}, {"alpha": 0.2}),
        "mi_weight": ({"methods": ["mi"]}, {"mi_weight": 0.5}),
        "rationale_source": ({}, {"rationale_source": "greedy_and_samples"}),
        "alpha_pred": ({}, {"alpha_pred": 0.8}),
        "alpha_cl": ({}, {"alpha_cl": 0.8}),
        "alpha_judge": ({}, {"alpha_judge": 0.1}),
        "alpha_judge_decay": ({}, {"alpha_judge_decay": 0.5}),
        "beta": ({"delta": 50.0}, {"beta": 0.9}),
        "delta": ({}, {"delta": 50.0}),
        "scheme": ({}, {"scheme": "mean"}),
        "num_positives": ({}, {"num_positives": 1}),
        "num_negatives": ({"delta": 50.0}, {"num_negatives": 2}),
        "negative_source": ({}, {"negative_source": "none"}),
        "iterations_back": ({"delta": 50.0}, {"iterations_back": 2}),
        "steps_per_iteration": ({}, {"steps_per_iteration": 3}),
        "negative_temperature": ({"delta": 50.0}, {"negative_temperature": 0.7}),
        "negative_top_k": ({"delta": 50.0}, {"negative_top_k": 0}),
        "negative_top_p": ({"delta": 50.0}, {"negative_top_p": 0.3}),
        "fixed_generator": ({"negative_source": "fixed", "delta": 50.0, "fixed_generator": "<dss-0>"},
                            {"fixed_generator": "<dss-1>"}),
        "use_judge": ({}, {"use_judge": False}),
        "judge_update_every": ({}, {"judge_update_every": 0}),
        "judge_update_steps": ({}, {"judge_update_steps": 3}),
        "judge_lr": ({}, {"judge_lr": 1e-2}),
        "judge_labels": ({}, {"judge_labels": "source"}),
        "extra": ({}, {"extra": {"logging_steps": 1, "warmup_steps": 3}}),
    },
}

#: stage -> parameter -> the test that shows it reaching what uses it, for parameters a tiny offline run cannot
#: show: the endpoint and model the client sends requests to (the client's own tests show it sending them), and
#: stage 04's, which decide a report from trained students and make nothing a later stage reuses
STAGE_01_WALK = "tests/test_parameters.py::test_every_stage_01_parameter_arrives_where_stage_01_uses_it"
STAGE_04_WALK = "tests/test_parameters.py::test_every_stage_04_parameter_arrives_where_stage_04_uses_it"
ELSEWHERE = {
    "01_teacher_sampling": {name: STAGE_01_WALK for name in ("base_url", "model", "reader_base_url", "reader_model")},
    "04_analysis": {f.name: STAGE_04_WALK for f in fields(STAGE_CONFIGS["04_analysis"]) if f.name not in NOT_DECIDING},
}


def test_every_parameter_is_probed_tested_elsewhere_or_marked_not_deciding():
    for stage, config in STAGE_CONFIGS.items():
        names = {f.name for f in fields(config)}
        probed, elsewhere = set(PROBES.get(stage, {})), set(ELSEWHERE.get(stage, {}))
        assert names <= probed | elsewhere | NOT_DECIDING, f"{stage}: no probe for {sorted(names - probed - elsewhere - NOT_DECIDING)}"
        assert (probed | elsewhere) <= names, f"{stage}: a probe of no parameter: {sorted((probed | elsewhere) - names)}"
        assert not probed & NOT_DECIDING and not probed & elsewhere
    for stage, where in ELSEWHERE.items():
        for name, test in where.items():
            path, _, function = test.partition("::")
            source = (REPO / path).read_text()
            assert f"def {function}(" in source, test
            assert f'"{name}"' in source, f"{path} never sets {name}"


# ---------------------------------------------------------------------------------------------------------------
# stage 01


def _dumps(folder: Path) -> dict:
    """Free-form JSONL dumps for jsonl_import (one line the rules leave unread, a line of no split; another wording;
    a test question's line that says train) and a prompt template."""
    task = get_task("arith", **TASK_OPTIONS)
    train, test = task.load("train")[:6], task.load("test")[:1]

    def line(ex, text):
        return {"question": ex.input, "rationale": text}
    dump = [line(ex, f"We work it out: {ex.rationale}") for ex in train] + \
        [line(train[0], "Tom keeps counting until he gets seven and")]
    files = {"<dump>": dump + [{"question": "a question of no split", "rationale": "It is 3."}],
             "<dump2>": [line(ex, f"Step by step. {ex.rationale}") for ex in train],
             "<dump-test>": dump + [{**line(test[0], test[0].rationale), "split": "train"}]}
    out = {}
    for name, rows in files.items():
        path = folder / (name.strip("<>") + ".jsonl")
        write_jsonl(path, rows)
        out[name] = str(path)
    template = folder / "template.txt"
    template.write_text("Answer step by step.\n\nQ: {question}\nA:")
    out["<template>"] = str(template)
    return out


def _dss_subset(folder: Path) -> str:
    """A copy of the DSS SVAMP folder whose first train completion is another's."""
    import json

    target = folder / "dss"
    shutil.copytree(Path(os.environ["QCRD_DSS_DATA"]) / "svamp", target / "svamp")
    for path in (target / "svamp" / "llm").glob("train_CoT_*.json"):
        path.chmod(0o644)
        completions = json.loads(path.read_text())
        path.write_text(json.dumps([completions[1]] + completions[1:]))
    return str(target)


#: probes whose one side is a refusal (the error is the effect); every other probe runs through on both sides
REFUSALS = {"strict_import": "changed", "allow_test_overlap": "context"}


def no_effect(stage: str, fingerprint, probes: dict | None = None) -> list:
    """The parameters of ``stage`` whose change leaves ``fingerprint(values, where)`` as it was (each context's
    outcome computed once); a run that fails where it should not is an error here, not an effect."""
    seen, unchanged = {}, []
    for i, (name, (context, changes)) in enumerate((probes or PROBES[stage]).items()):
        key = repr(sorted(context.items()))
        if key not in seen:
            seen[key] = fingerprint(context, f"context{i}")
        before, after = seen[key], fingerprint({**context, **changes}, f"probe{i}")
        for side, outcome in (("context", before), ("changed", after)):
            expected = "error" if REFUSALS.get(name) == side else "ok"
            assert outcome[0] == expected, f"{stage}.{name}, {side}: {outcome}"
        if after == before:
            unchanged.append(name)
    return unchanged


def _outcome(make) -> tuple:
    """What a probe compares: the artifact's fingerprint, or the error it raised (its class and first line)."""
    try:
        return ("ok", make())
    except Exception as error:     # noqa: BLE001 -- an error is an effect a probe may show
        return ("error", type(error).__name__, str(error).splitlines()[0] if str(error) else "")


def _digest(paths) -> str:
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _weights(model) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def teacher_fingerprint(tmp: Path, values: dict, files: dict) -> tuple:
    from qcrdkit.core.stages import TeacherSamplingConfig
    from qcrdkit.teacher.run import sample_rationales, split_and_save, teacher_questions, with_project_paths

    values = {k: files.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
    if values.get("data_dir") == "<subset>":
        values["data_dir"] = _dss_subset(tmp)
    if values.get("teacher") == "dss_import" and "data_dir" not in values:
        values["data_dir"] = os.environ["QCRD_DSS_DATA"]
    run = tmp / "run"

    def make():
        stage = with_project_paths(TeacherSamplingConfig(**{
            "run_dir": str(run), "task_options": TASK_OPTIONS, "k": 3, "cache_dir": None, "progress": False, **values}))
        questions = teacher_questions(stage)
        split_and_save(stage, questions, sample_rationales(stage, questions))
        return _digest([p for p in (run / "teacher").glob("*.jsonl")] + [run / "task.json"])
    return _outcome(make)


@pytest.mark.slow
def test_each_stage_01_parameter_changes_the_teacher_samples(tmp_path, dss_dir):
    files = _dumps(tmp_path)
    assert not no_effect("01_teacher_sampling", lambda values, where: teacher_fingerprint(tmp_path / where, values,
                                                                                           files))


# ---------------------------------------------------------------------------------------------------------------
# stages 02 and 03 on a run made by hand (test_trainers' records: gold rationales as positives, a changed number
# as the negative; a greedy rationale a question)


@pytest.fixture(scope="module")
def hand_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("hand")
    task = get_task("arith", **TASK_OPTIONS)
    save_task_spec(run, "arith", None, TASK_OPTIONS)
    records = make_records(task)
    valid = [{**r, "id": r["id"].replace("train", "valid"), "split": "valid"} for r in records[:12]]
    write_jsonl(run / "teacher" / "samples.jsonl", records + valid)
    write_jsonl(run / "teacher" / "greedy.jsonl", make_greedy(task))
    return run


@pytest.fixture(scope="module")
def judged_run(hand_run, tmp_path_factory):
    """The hand-made run with stage 02's judge (scratch-tiny, untrained) for QCRD."""
    from qcrdkit.judge import preset_judge, save_judge

    run = _fresh_copy(hand_run, tmp_path_factory.mktemp("judged") / "run")
    judge, tok = preset_judge(run, "scratch-tiny", vocab_size=400, answer_input="none")
    save_judge(judge, tok, run / "judge")
    shutil.rmtree(run / "students")          # the students' tokenizer follows each probe's settings
    return run


def _fresh_copy(run: Path, target: Path) -> Path:
    shutil.copytree(run, target)
    return target


JUDGE_TINY = {"backbone": "scratch-tiny", "vocab_size": 400, "steps": 4, "batch_size": 4, "eval_every": 100,
              "save_every": 100, "heldout_fraction": 0.25, "eval_questions": 4, "progress": False}


def judge_fingerprint(run: Path, values: dict) -> tuple:
    from qcrdkit.judge import build_stage_judge
    from qcrdkit.judge.run import judge_data, pretrain_judge
    from qcrdkit.core.stages import JudgeStageConfig

    def make():
        stage = JudgeStageConfig(**{**JUDGE_TINY, **values})
        model, tok, _ = build_stage_judge(run, stage)
        judge = pretrain_judge(run, stage, model, tok, judge_data(run, stage, tok.mask_token))
        return _weights(judge.model)
    return _outcome(make)


@pytest.mark.slow
def test_each_stage_02_parameter_changes_the_judge(hand_run, tmp_path):
    assert not no_effect("02_judge", lambda values, where: judge_fingerprint(
        _fresh_copy(hand_run, tmp_path / where), values))


STUDENT_TINY = {"methods": ["qcrd"], "student": "scratch-tiny", "vocab_size": 400, "progress": False, "batch_size": 4,
                "lr": 3e-3, "eval_every": 100, "extra": {"logging_steps": 1}, "steps": 8, "steps_per_iteration": 2,
                "iterations_back": 1, "judge_update_every": 2, "judge_update_steps": 1, "num_positives": 2}


def student_fingerprint(run: Path, values: dict, generators: dict) -> tuple:
    """The students stage 03 would make (their folder names) and the first one's weights, judge included."""
    from qcrdkit.training import check_students, train_student, training_stage

    values = {k: generators.get(v, v) if isinstance(v, str) else v for k, v in values.items()}

    def make():
        stage = training_stage(**{**STUDENT_TINY, **values})
        names = sorted(check_students(run, stage))
        train_student(stage.methods[0], run, stage, seed=stage.seeds[0])
        folder = run / "students" / names[0]
        return names, _digest(list(folder.rglob("*.safetensors")) + [folder / "test_predictions.jsonl"])
    return _outcome(make)


@pytest.mark.slow
def test_each_stage_03_parameter_changes_the_student(judged_run, tmp_path):
    from qcrdkit.training import train_student

    generators = {}
    for seed in (0, 1):
        generators[f"<dss-{seed}>"] = str(tmp_path / f"dss-{seed}")
        train_student("dss", _fresh_copy(judged_run, tmp_path / f"gen{seed}"), out_dir=tmp_path / f"dss-{seed}",
                      seed=seed, **{k: v for k, v in STUDENT_TINY.items() if k in ("student", "vocab_size", "progress",
                                                                                 "batch_size", "lr", "eval_every")},
                      steps=3)
    assert not no_effect("03_training", lambda values, where: student_fingerprint(
        _fresh_copy(judged_run, tmp_path / where), values, generators))
