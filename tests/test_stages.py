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
