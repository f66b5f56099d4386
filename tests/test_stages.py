"""The stage config objects (qcrdkit/core/stages.py) agree with the notebooks' parameter cells, with
params/paper.yaml and with the generated parameter reference (docs/parameters.md)."""
import ast
import re

import pytest
import yaml

from conftest import REPO
from qcrdkit.core.stages import STAGE_CONFIGS, defaults, help_text, paper_values


@pytest.mark.parametrize("stage", sorted(STAGE_CONFIGS))
def test_notebook_parameters_are_the_config_defaults(stage):
    import papermill as pm

    declared = pm.inspect_notebook(str(REPO / "notebooks" / f"{stage}.ipynb"))
    assert list(declared) == list(defaults(stage))                      # the same parameters, in order
    assert {k: ast.literal_eval(v["default"]) for k, v in declared.items()} == defaults(stage)
    assert all(help_text(stage).values()), "every parameter says what it means"


@pytest.mark.parametrize("stage", sorted(STAGE_CONFIGS))
def test_params_paper_yaml_runs_the_papers_values(stage):
    paper = yaml.safe_load((REPO / "params" / "paper.yaml").read_text())
    run = {**defaults(stage), **{k: v for k, v in (paper.get("common") or {}).items() if k in defaults(stage)},
           **(paper.get(stage) or {})}
    assert {k: run[k] for k in paper_values(stage)} == paper_values(stage)


def test_the_parameter_reference_is_generated_from_the_stage_configs():
    """docs/parameters.md is what `python -m qcrdkit.cli.reference` writes now, and lists every parameter."""
    from qcrdkit.cli.reference import parameter_reference

    text = (REPO / "docs" / "parameters.md").read_text()
    assert text == parameter_reference(), "docs/parameters.md is stale: python -m qcrdkit.cli.reference > docs/parameters.md"
    for stage in STAGE_CONFIGS:
        section = text[text.index(f"`notebooks/{stage}.ipynb`"):]
        assert all(f"| `{name}` |" in section for name in defaults(stage))


@pytest.mark.parametrize("path", sorted((REPO / "params").glob("*.yaml")), ids=lambda p: p.name)
def test_every_params_file_and_the_defaults_have_the_declared_types(path):
    from qcrdkit.cli.pipeline import load_params
    from qcrdkit.core.stage_parameters import check_types

    params = load_params(path)
    for stage in STAGE_CONFIGS:
        check_types(stage, defaults(stage))
        check_types(stage, {**(params.get("common") or {}), **(params.get(stage) or {})})
        for variant in ((params.get("sweep") or {}).get("variants") or {}).values():
            check_types(stage, variant if params["sweep"]["stage"] == stage else {})


def test_a_wrong_type_names_the_stage_and_parameter():
    from qcrdkit.core.errors import ConfigError
    from qcrdkit.core.stage_parameters import check_types

    with pytest.raises(ConfigError, match=r"01_teacher_sampling\.k: expected int, got 'five' \(str\)"):
        check_types("01_teacher_sampling", {"k": "five"})
    with pytest.raises(ConfigError, match=r"03_training\.steps: expected int, got True"):
        check_types("03_training", {"steps": True})                  # a bool is not a number
    with pytest.raises(ConfigError, match=r"03_training\.methods: expected list"):
        check_types("03_training", {"methods": "dss"})
    check_types("01_teacher_sampling", {"temperature": 1, "limit": None, "base_url": None})   # int for float, None


def test_every_value_called_the_papers_cites_the_section_that_states_it():
    from dataclasses import fields

    from qcrdkit.core.stages import STAGE_CONFIGS

    for stage, config in STAGE_CONFIGS.items():
        for f in fields(config):
            if "paper" in f.metadata:
                assert f.metadata.get("cite", "").startswith(("§", "A.")), (stage, f.name)
    # values the paper does not state are the kit's, not "paper"
    unstated = {("02_judge", "heldout_fraction"), ("03_training", "eval_every"), ("03_training", "steps_per_iteration"),
                ("03_training", "negative_top_k"), ("03_training", "judge_labels")}
    for stage, name in unstated:
        assert "paper" not in next(f for f in fields(STAGE_CONFIGS[stage]) if f.name == name).metadata


def test_every_help_string_is_whole():
    """A help ends as a sentence does: not on ``;``, ``|``, ``,`` or ``:`` (a first line cut from a longer comment)."""
    from qcrdkit.core.stages import help_text

    cut = {f"{stage}.{name}": text for stage in STAGE_CONFIGS for name, text in help_text(stage).items()
           if text.rstrip()[-1] in ";|,:"}
    assert not cut


def test_stage_names_are_written_once_in_the_package():
    """Every module names a stage by its constant (``TRAINING``, in ``core/stage_registry.py``): its name is written once."""
    names = re.compile(r"[\"']0[1-9]_[a-z_]+[\"']")
    found = [f"{p.relative_to(REPO)}:{i}" for p in (REPO / "qcrdkit").rglob("*.py") if p.name != "stage_registry.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if names.search(line) and "02_discriminator" not in line]
    assert not found


# a fifth stage, for the test below: its config class and hooks
from dataclasses import dataclass as _dataclass, field as _field  # noqa: E402


@_dataclass
class ExtraStageConfig:
    """Stage 05 (a test's): one path parameter."""

    stage = "05_extra"
    run_dir: str = _field(default="outputs/runs/interactive", metadata={"help": "the run"})
    notes_file: str = _field(default="notes.txt", metadata={"help": "a file of notes."})


CALLS = []


def extra_checks(config, offline, context):
    CALLS.append(("checks", config.notes_file))
    return ["05_extra.notes_file: looked at"]


def extra_tiny(section, tiny_root, context):
    CALLS.append(("tiny", sorted(section)))
    return {**section, "notes_file": "tiny.txt"}


def extra_projection(measured, config, name, wall):
    CALLS.append(("projection", name))
    return 36.0


@pytest.fixture
def fifth_stage():
    from qcrdkit.core import stages

    record = stages.register_stage(stages.Stage("05_extra", "Stage 05 — extra", ExtraStageConfig,
                                                path_parameters=("notes_file",), checks=f"{__name__}:extra_checks",
                                                tiny=f"{__name__}:extra_tiny", projection=f"{__name__}:extra_projection"))
    CALLS.clear()
    yield record
    del stages.STAGES_BY_NAME["05_extra"], stages.STAGE_CONFIGS["05_extra"]


def test_adding_a_stage_is_one_record(fifth_stage, tmp_path):
    """With one registered record, the pipeline orders and resolves the stage, the reference documents it, and
    ``qcrd check``'s quick checks, tiny run and projection call its hooks."""
    from qcrdkit.cli import pipeline, preflight, projection
    from qcrdkit.cli.reference import parameter_reference
    from qcrdkit.core import stages

    with pytest.raises(ValueError, match="registered already"):
        stages.register_stage(fifth_stage)
    assert stages.stage_names()[-1] == "05_extra" and stages.defaults("05_extra")["notes_file"] == "notes.txt"
    assert "## Stage 05 — extra (`notebooks/05_extra.ipynb`)" in parameter_reference()
    injected = pipeline.stage_parameters({"05_extra": {"notes_file": "n.txt"}}, "05_extra", tmp_path / "run", tmp_path)
    assert injected["notes_file"] == str(tmp_path / "n.txt")                    # a path parameter, made absolute
    assert preflight._stage_checks("05_extra", injected, True, {}) == ["05_extra.notes_file: looked at"]
    tiny = preflight.tiny_params({"run_id": "r", "stages": ["05_extra"], "05_extra": {"notes_file": "a"}}, tmp_path)
    assert tiny["stages"] == stages.stage_names() and tiny["05_extra"]["notes_file"] == "tiny.txt"
    measured = projection.Measured(tmp_path, {}, {}, 1, 1.0, {"projected_hours": {}})
    assert stages.STAGES_BY_NAME["05_extra"].hook("projection")(measured, None, "05_extra", 0.0) == 36.0
    assert [c[0] for c in CALLS] == ["checks", "tiny", "projection"]
