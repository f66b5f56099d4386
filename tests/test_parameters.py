"""One declaration per parameter: every field of a stage, given a value unlike its default in a params file,
arrives unchanged at the object that uses it — through what `qcrd run` injects into the notebook
(pipeline.stage_parameters), the notebook's accept_parameters, and the library function it calls."""
from pathlib import Path

import pytest
import yaml

from qcrdkit.cli import pipeline
from qcrdkit.core.stage_parameters import accept_parameters
from qcrdkit.core.stages import JudgeStageConfig, defaults

from test_judge_stage import run  # noqa: F401  (fixture: a tiny arith run with teacher samples)

TEACHER = {
    "task": "svamp", "task_options": {"n_train": 7}, "data_dir": "/data/dss", "splits": ["train", "test"], "limit": 3,
    "teacher": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "some-model", "api_key_env": "SOME_KEY", "k": 4,
    "temperature": 0.9, "greedy_rationale": False, "max_tokens": 99, "seed": 5, "concurrency": 3, "timeout": 7.5,
    "split_mode": "ground_truth", "answer_reader": "llm", "reader_base_url": "http://127.0.0.1:8/v1",
    "reader_model": "reader-model", "import_path": "/dumps/a.jsonl", "strict_import": True, "allow_test_overlap": True,
    "prompt_template": "/prompts/t.txt", "cache_dir": "/cache/teacher", "replace": True, "progress": False}
TRAINING = {
    "methods": ["mi", "qcrd"], "student": "scratch-tiny", "tokenizer": "corpus", "vocab_size": 333, "steps": 77,
    "batch_size": 5, "lr": 0.002, "eval_every": 11, "seeds": [3], "tag": "walk", "train_fraction": 0.5, "alpha": 0.3,
    "mi_weight": 0.2, "rationale_source": "one_sample", "alpha_pred": 0.4, "alpha_cl": 0.6, "alpha_judge": 0.7,
    "alpha_judge_decay": 0.8, "beta": 0.25, "delta": 2.5, "scheme": "mean", "num_positives": 3, "num_negatives": 2,
    "negative_source": "fixed", "iterations_back": 4, "steps_per_iteration": 9, "negative_temperature": 1.2,
    "negative_top_k": 7, "negative_top_p": 0.9, "fixed_generator": "/somewhere/a-student",
    "use_judge": False, "judge_update_every": 13, "judge_update_steps": 3, "judge_lr": 0.0003, "judge_labels": "source",
    "extra": {"warmup_steps": 3}, "replace": True, "progress": False, "processes": 3}
JUDGE = {
    "backbone": "scratch-tiny", "tokenizer": "corpus", "vocab_size": 321, "objective": "eq2", "steps": 17, "batch_size": 3,
    "rationales_per_question": 2, "group_by_length": True, "answer_input": "answered", "lr": 0.004, "freeze_layers": 1,
    "max_length": 99, "augment": False, "augment_ops": ["drop"], "augment_rate": 0.3, "splits": ["train", "valid"],
    "heldout_fraction": 0.2, "eval_every": 5, "eval_questions": 7, "test_split": "test", "save_every": 6, "seed": 4,
    "replace": True, "progress": False}


class Stop(Exception):
    """Raised by a recorded call to end a walk once the value it checks has arrived."""


def recorder(seen: dict):
    """``record(name, result)``: a stand-in that keeps its ``(args, kwargs)`` in ``seen[name]`` and then raises
    :class:`Stop` (``result`` Stop), calls ``result`` (a callable: the real function) or returns it."""
    def record(name, result=None):
        def call(*args, **kwargs):
            seen[name] = (args, kwargs)
            if result is Stop:
                raise Stop
            return result(*args, **kwargs) if callable(result) else result
        return call
    return record


def injected(tmp_path, stage: str, values: dict) -> dict:
    """What `qcrd run` injects into the stage's notebook for a params file with ``values`` in its section,
    after the notebook's first cell (accept_parameters): the notebook's namespace and its stage object."""
    path = tmp_path / "walk.yaml"
    path.write_text(yaml.safe_dump({"run_id": "walk", "stages": [stage], stage: values}))
    params = pipeline.load_params(path)
    namespace = pipeline.stage_parameters(params, stage, tmp_path / "run", tmp_path, declared=set(defaults(stage)))
    assert {k: namespace[k] for k in values} == values
    return accept_parameters(stage, {**defaults(stage), **namespace})


@pytest.mark.parametrize("stage,values", [("01_teacher_sampling", TEACHER), ("03_training", TRAINING),
                                          ("02_judge", JUDGE)])
def test_the_walk_sets_every_parameter_to_a_value_unlike_its_default(stage, values):
    assert set(values) | {"run_dir"} == set(defaults(stage))
    assert all(values[k] != defaults(stage)[k] for k in values)


def test_every_stage_03_parameter_arrives_in_the_method_configs(tmp_path):
    from qcrdkit.training import METHODS, method_config, student_folder_name, training_stage
    from qcrdkit.training.run import RUN_LEVEL, TRAINER_NAMES

    stage = training_stage(injected(tmp_path, "03_training", TRAINING))
    arrived = set()
    for method, (cls, _) in METHODS.items():
        config = method_config(method, stage, seed=3)
        own = {f for f in cls.__dataclass_fields__}
        for name, value in TRAINING.items():
            target = TRAINER_NAMES.get(name, name)
            if target in own and name not in RUN_LEVEL:
                assert getattr(config, target) == value, (method, name)
                arrived.add(name)
        assert (config.save_steps, config.disable_tqdm, config.warmup_steps) == (11, True, 3)
    arrived |= {"progress", "extra"}                              # checked just above
    for name in RUN_LEVEL:                                        # read by train_student from the stage object
        if name != "run_dir":
            assert getattr(stage, name) == TRAINING[name]
            arrived.add(name)
    assert student_folder_name("qcrd", stage.seeds[0], tag=stage.tag) == "qcrd-walk-seed3"
    assert arrived == set(TRAINING)


def test_every_stage_02_parameter_arrives_where_stage_02_uses_it(tmp_path, run, monkeypatch):  # noqa: F811
    import qcrdkit.core.rundir
    import qcrdkit.judge.run as R
    import qcrdkit.students.models as S
    from qcrdkit.judge import build_stage_judge, judge_training_config

    stage = injected(tmp_path, "02_judge", JUDGE)
    assert isinstance(stage, JudgeStageConfig)
    seen = {}
    record = recorder(seen)

    # the judge: a student preset's encoder with the run's tokenizer
    monkeypatch.setattr(S, "run_student_tokenizer", record("tokenizer", S.run_student_tokenizer))
    model, tok, trainable = build_stage_judge(run, stage)
    assert seen["tokenizer"][0][1:] == ("scratch-tiny", "corpus", 321)
    assert (model.config.backbone, model.config.max_pair_length, model.config.answer_input) == ("scratch-tiny", 99,
                                                                                                "answered")
    assert trainable < sum(p.numel() for p in model.parameters())          # freeze_layers 1
    args = judge_training_config(stage, output_dir=tmp_path / "ckpt", model=model)
    assert (args.objective, args.max_steps, args.per_device_train_batch_size, args.rationales_per_question,
            args.group_by_length, args.learning_rate, args.eval_steps, args.save_steps, args.seed,
            args.disable_tqdm) == ("eq2", 17, 3, 2, True, 0.004, 5, 6, 4, True)
    # the items: splits, held-out fraction and seed, augmentation, the answer input
    for name in ("judge_items", "split_by_question", "augment_negatives", "mark_answer_signals"):
        monkeypatch.setattr(R, name, record(name, getattr(R, name)))
    data = R.judge_data(run, stage, tok.mask_token)
    assert seen["judge_items"][0][1] == ["train", "valid"] and seen["split_by_question"][0][1:] == (0.2, 4)
    assert seen["mark_answer_signals"][0][2] == "answered" and "augment_negatives" not in seen    # augment False
    R.judge_data(run, JudgeStageConfig(**{**JUDGE, "augment": True, "objective": "bce"}), tok.mask_token)
    assert {k: seen["augment_negatives"][1][k] for k in ("ops", "rate", "seed")} == {"ops": ["drop"], "rate": 0.3,
                                                                                       "seed": 4}
    # pretraining: replace, the held-out questions of the curve, the training arguments
    monkeypatch.setattr(qcrdkit.core.rundir, "claim_judge", record("claim", ("new", run / "judge")))
    monkeypatch.setattr(R, "subsample_questions", record("subsample", R.subsample_questions))
    monkeypatch.setattr(R, "train_judge", record("pretrain", Stop))
    with pytest.raises(Stop):
        R.pretrain_judge(run, stage, model, tok, data)
    assert seen["claim"][1]["replace"] is True and seen["subsample"][0][1:] == (7, 4)
    assert seen["pretrain"][0][4].max_steps == 17
    # evaluation: the held-out items scored (progress), then the test split's (none in this run: an error naming it)
    from qcrdkit.core.errors import DataFormatError

    scored = []
    real_score_items = R.score_items

    def score_items(*args, **kwargs):
        scored.append(kwargs["progress"])
        if len(scored) == 2:
            raise Stop
        return real_score_items(*args, **kwargs)

    monkeypatch.setattr(R, "score_items", score_items)
    with pytest.raises(DataFormatError, match=r"no teacher samples of split\(s\) \['test'\]"):
        R.evaluate_judge(run, stage, R.PretrainedJudge(model, tok, [], 0, 0.0, True, {}), data)
    assert scored == [False] and seen["judge_items"][0][1] == ["test"]


def test_every_stage_01_parameter_arrives_where_stage_01_uses_it(tmp_path, monkeypatch):
    import qcrdkit.teacher.consistency
    import qcrdkit.core.rundir
    import qcrdkit.tasks
    import qcrdkit.teacher.collect as C
    from qcrdkit.tasks import get_task
    from qcrdkit.teacher.run import sample_rationales, split_and_save, teacher_questions, with_project_paths

    stage = with_project_paths(injected(tmp_path, "01_teacher_sampling", TEACHER))
    calls = {}

    def record(name, result):
        def call(*args, **kwargs):
            calls.setdefault(name, []).append((args, kwargs))
            return result(*args, **kwargs) if callable(result) else result
        return call

    arith = get_task("arith", n_train=7, n_valid=2, n_test=2, min_steps=1, max_steps=1)
    monkeypatch.setattr(qcrdkit.tasks, "get_task", record("get_task", lambda *a, **k: arith))
    monkeypatch.setattr(qcrdkit.core.rundir, "claim_teacher", record("claim", "new"))
    questions = teacher_questions(stage)
    assert calls["get_task"][0] == (("svamp",), {"n_train": 7}) and calls["claim"][0][1] == {"replace": True}
    assert {s: len(v) for s, v in questions.examples.items()} == {"train": 3, "test": 2}     # limit 3
    settings = calls["claim"][0][0][1]
    assert settings["data_dir"] == "/data/dss" and settings["import_path"] == "/dumps/a.jsonl"
    monkeypatch.setattr(C, "collect_teacher_samples", record("collect", ([], {"seconds": 0})))
    import qcrdkit.teacher.answer_reader as R
    monkeypatch.setattr(R, "read_unread", record("read_unread", {"sent": 0, "read": 0, "cache_hits": 0}))
    sample_rationales(stage, questions)
    assert len(calls["collect"]) == 1                                       # greedy_rationale False: no greedy call
    reader = calls["read_unread"][0][0][3].config                           # answer_reader llm: its endpoint and model
    assert (reader.base_url, reader.model, reader.api_key_env) == ("http://127.0.0.1:8/v1", "reader-model", "SOME_KEY")
    kwargs = calls["collect"][0][1]
    assert {k: kwargs[k] for k in ("source", "base_url", "model", "api_key_env", "k", "temperature", "max_tokens",
                                   "seed", "concurrency", "timeout", "cache_dir", "prompt_template", "data_dir",
                                   "import_path", "strict_import", "allow_test_overlap", "progress")} == {
        "source": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "some-model", "api_key_env": "SOME_KEY",
        "k": 4, "temperature": 0.9, "max_tokens": 99, "seed": 5, "concurrency": 3, "timeout": 7.5,
        "cache_dir": "/cache/teacher", "prompt_template": "/prompts/t.txt", "data_dir": "/data/dss",
        "import_path": "/dumps/a.jsonl", "strict_import": True, "allow_test_overlap": True, "progress": False}
    monkeypatch.setattr(qcrdkit.teacher.consistency, "apply_split", record("split", None))
    monkeypatch.setattr(qcrdkit.teacher.consistency, "consistency_stats", record("stats", {}))
    monkeypatch.setattr(qcrdkit.core.rundir, "write_teacher_artifacts", record("write", None))
    monkeypatch.setattr(qcrdkit.core.rundir, "record_teacher", record("record", None))
    monkeypatch.setattr(qcrdkit.core.rundir, "save_task_spec", record("spec", None))
    split_and_save(stage, questions, sample_rationales(stage, questions))
    assert calls["split"][0][0][2] == "ground_truth" and calls["spec"][0][0][1:] == ("svamp", "/data/dss", {"n_train": 7})
    assert calls["write"][0][0][0] == stage.run_dir == str(tmp_path / "run")


ANALYSIS = {
    "compare": ["qcrd", "dss"], "student": "dss", "temperatures": [0.5, 1.0], "kde_questions": 2,
    "samples_per_temperature": 1, "case_questions": 5, "case_temperature": 1.1, "llm_judge": "openai",
    "llm_judge_model": "judge-model", "llm_judge_base_url": "http://127.0.0.1:9/v1", "llm_judge_api_key_env": "JUDGE_KEY",
    "llm_judge_questions": 2, "llm_judge_temperatures": [0.3], "llm_judge_cache_dir": "/cache/judge",
    "bootstrap_resamples": 50, "seed": 7, "progress": False}


@pytest.mark.slow                               # reads the smoke run (a pipeline)
def test_every_stage_04_parameter_arrives_where_stage_04_uses_it(tmp_path, smoke_run, monkeypatch):
    import contextlib
    import shutil
    from dataclasses import replace

    import qcrdkit.analysis.casestudy as casestudy
    import qcrdkit.analysis.judging as judging
    import qcrdkit.analysis.llm_judge as llm_judge
    import qcrdkit.analysis.tables as tables
    from qcrdkit.analysis import run as stage_04

    run, other = tmp_path / "smoke", tmp_path / "smoke2"
    shutil.copytree(smoke_run, run)
    shutil.copytree(smoke_run, other)
    values = {**ANALYSIS, "extra_run_dirs": [str(other)]}
    assert set(values) | {"run_dir"} == set(defaults("04_analysis"))
    stage = replace(injected(tmp_path, "04_analysis", values), run_dir=str(run))
    seen = {}
    record = recorder(seen)

    class Study:                                  # the student's samples: record how they are asked for
        def __init__(self, *args, **kwargs):
            seen.setdefault("study", []).append(kwargs)

        def score_rows(self, temperatures, ids):
            seen["temperatures"] = temperatures
            raise Stop

    a = stage_04.open_analysis(stage)             # run_dir, extra_run_dirs
    assert a.run_dir == run and a.runs == [run, other] and len(a.students) == 4
    monkeypatch.setattr(tables, "paired_method_differences", record("paired", []))
    stage_04.accuracy_section(a, stage)           # compare (B - A), bootstrap_resamples, seed
    assert seen["paired"][1] == {"a": "dss", "b": "qcrd", "resamples": 50, "seed": 7}
    monkeypatch.setattr(judging, "run_judges", record("judges", judging.run_judges))
    monkeypatch.setattr(casestudy, "pick_questions", record("pick", casestudy.pick_questions))
    monkeypatch.setattr(casestudy, "TemperatureStudy", Study)
    with pytest.raises(Stop):                     # student, kde/case questions, samples, temperatures
        stage_04.quality_section(a, stage)
    assert seen["judges"][0] == (run, "dss") and seen["pick"][0][1] == 5 and seen["pick"][1]["seed"] == 7
    assert seen["study"][0]["samples_per_temperature"] == 1 and seen["study"][0]["seed"] == 7
    assert seen["temperatures"] == [0.5, 1.0] and stage.case_temperature == 1.1   # the case-study cell's
    monkeypatch.setattr(llm_judge, "judge_client", record("client", contextlib.nullcontext(object())))
    with pytest.raises(Stop):                     # the LLM judge's endpoint, questions and temperatures
        stage_04.llm_judge_section(a, stage)
    assert seen["pick"][0][1] == 2 and seen["pick"][1]["seed"] == 8
    assert seen["client"][0] == ("openai", "arith") and seen["client"][1] == {
        "model": "judge-model", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "JUDGE_KEY",
        "cache_dir": Path("/cache/judge"), "progress": False}
    assert seen["temperatures"] == [0.3]


def test_a_name_papermill_injected_that_the_stage_does_not_declare_stops_it_naming_the_closest():
    from qcrdkit.core.errors import ConfigError

    namespace = {**defaults("01_teacher_sampling"),
                 "In": ["", "# Parameters (literals only)\nk = 5", "# Parameters\ntemprature = 0.3\nk = 3\n", "x = 1"],
                 "temprature": 0.3, "k": 3}
    with pytest.raises(ConfigError, match=r"'temprature' \(did you mean 'temperature'\?\) given to papermill"):
        accept_parameters("01_teacher_sampling", namespace)
    # the same names set by hand in an interactive session (no papermill cell) are the user's own variables
    namespace["In"] = ["", "# Parameters (literals only)\nk = 5", "temprature = 0.3"]
    assert accept_parameters("01_teacher_sampling", namespace).k == 3
