"""The stage config objects (qcrdkit/stages.py) agree with the notebooks' parameter cells, with
params/paper.yaml and with the README's parameter tables."""
import ast
import re

import pytest
import yaml

from conftest import REPO
from qcrdkit.stages import STAGE_CONFIGS, defaults, help_text, paper_values


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


@pytest.mark.parametrize("stage", sorted(STAGE_CONFIGS))
def test_readme_table_lists_every_parameter(stage):
    readme = (REPO / "README.md").read_text()
    section = re.search(rf"### Stage {stage[:2]} parameters.*?(?=\n### |\n## )", readme, re.S).group(0)
    table = section[section.index("| parameter | default | meaning |"):].split("\n\n")[0]    # the parameter table
    listed = set(re.findall(r"^\| ([^|]+) \|", table, re.M)) - {"parameter", "---"}
    names = {n.strip(" `") for cell in listed for n in cell.split(",")}
    assert set(defaults(stage)) <= names, f"not in the README table: {sorted(set(defaults(stage)) - names)}"
    assert names <= set(defaults(stage)), f"in the README table but not a parameter: {sorted(names - set(defaults(stage)))}"


@pytest.mark.parametrize("path", sorted((REPO / "params").glob("*.yaml")), ids=lambda p: p.name)
def test_every_params_file_and_the_defaults_have_the_declared_types(path):
    from qcrdkit.pipeline import load_params
    from qcrdkit.stages import check_types

    params = load_params(path)
    for stage in STAGE_CONFIGS:
        check_types(stage, defaults(stage))
        check_types(stage, {**(params.get("common") or {}), **(params.get(stage) or {})})
        for variant in ((params.get("sweep") or {}).get("variants") or {}).values():
            check_types(stage, variant if params["sweep"]["stage"] == stage else {})


def test_a_wrong_type_names_the_stage_and_parameter():
    from qcrdkit.errors import ConfigError
    from qcrdkit.stages import check_types

    with pytest.raises(ConfigError, match=r"01_teacher_sampling\.k: expected int, got 'five' \(str\)"):
        check_types("01_teacher_sampling", {"k": "five"})
    with pytest.raises(ConfigError, match=r"03_training\.steps: expected int, got True"):
        check_types("03_training", {"steps": True})                  # a bool is not a number
    with pytest.raises(ConfigError, match=r"03_training\.methods: expected list"):
        check_types("03_training", {"methods": "dss"})
    check_types("01_teacher_sampling", {"temperature": 1, "limit": None, "base_url": None})   # int for float, None
