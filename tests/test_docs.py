"""Every doc example runs: the docstring examples (doctest) of every module that has one, and the Python
blocks of README.md and docs/*.md (on the smoke run, standing in for the demo run they name)."""
import doctest
import importlib
import re

import pytest

from conftest import REPO

MODULES = sorted(".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
                 for p in (REPO / "qcrdkit").rglob("*.py") if ">>>" in p.read_text())
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCKS = [(path.name, i, block) for path in DOCS
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S))]


def test_the_doc_examples_are_found():
    assert len(MODULES) >= 5 and len(BLOCKS) >= 2


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.slow                               # runs on the smoke run (a pipeline)
@pytest.mark.parametrize("name,index,block", BLOCKS, ids=[f"{n}-{i}" for n, i, _ in BLOCKS])
def test_python_blocks_of_the_docs_run(name, index, block, smoke_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                       # files an example writes land here
    exec(compile(block.replace("outputs/runs/demo", str(smoke_run)), f"{name}[{index}]", "exec"), {})
