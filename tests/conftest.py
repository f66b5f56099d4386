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
