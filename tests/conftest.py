import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def dss_dir() -> Path:
    """The Distilling Step-by-Step data (QCRD_DSS_DATA; `make test` and .ci/run set it).

    Missing data is a failure, not a skip: these tests are part of the contract."""
    value = os.environ.get("QCRD_DSS_DATA")
    if not value:
        pytest.fail("QCRD_DSS_DATA is not set: point it at the DSS data folder (e.g. ../shared/data/dss)")
    path = Path(value)
    if not (path / "svamp").is_dir():
        pytest.fail(f"QCRD_DSS_DATA={value} has no svamp/ folder")
    return path


@pytest.fixture(scope="session")
def t5_shape() -> Path:
    """T5's vocabulary and flan-t5-base's config, no weights (QCRD_T5_SHAPE; `make test` and .ci/run set it).
    Missing is a failure, not a skip."""
    value = os.environ.get("QCRD_T5_SHAPE")
    if not value:
        pytest.fail("QCRD_T5_SHAPE is not set: point it at ../shared/models/flan-t5-base-shape")
    path = Path(value)
    if not (path / "spiece.model").exists():
        pytest.fail(f"QCRD_T5_SHAPE={value} has no spiece.model")
    return path


@pytest.fixture(scope="session")
def t5_folder(t5_shape, tmp_path_factory) -> Path:
    """A hub-layout T5 student folder (flan-t5-base's config shrunk, random weights, T5's tokenizer)."""
    from qcrdkit.students.t5_folder import make_t5_folder

    return make_t5_folder(t5_shape, tmp_path_factory.mktemp("models") / "t5-shrunk")


SMOKE_SECRET = "sk-test-NEVER-WRITTEN-42"


def run_qcrd(*args, env=None, cwd=REPO, timeout=900):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "qcrdkit.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """`qcrd run --params params/smoke.yaml` (all four stages) once per session, with an API key
    in the environment that must never be written anywhere. Tests that add to a run copy it first."""
    out = tmp_path_factory.mktemp("smoke")
    res = run_qcrd("run", "--params", "params/smoke.yaml", "--set", f"outputs_dir={out}",
                   env={**os.environ, "OPENAI_API_KEY": SMOKE_SECRET})
    assert res.returncode == 0, res.stderr[-3000:]
    return out / "runs" / "smoke"


def stand_in_stage(tmp_path: Path, cells: list[str], run_id: str, marker: Path) -> tuple[Path, Path]:
    """``(notebook folder, params file)``: a stand-in notebook 01 (a ``marker`` parameter, then ``cells``) and a
    params file that runs it alone as run ``run_id`` under ``tmp_path / "out"``, with ``marker`` injected."""
    import nbformat
    import yaml

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    parameters = nbformat.v4.new_code_cell("marker = ''")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(notebooks / "01_teacher_sampling.ipynb"))
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"run_id": run_id, "outputs_dir": str(tmp_path / "out"),
                                      "stages": ["01_teacher_sampling"], "01_teacher_sampling": {"marker": str(marker)}}))
    return notebooks, params
