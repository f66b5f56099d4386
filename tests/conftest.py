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
