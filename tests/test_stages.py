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
