"""Where a notebook's relative paths go: against the project folder, never through the package.

The notebooks ship inside the package (``qcrdkit/notebooks``; ``notebooks/`` in a checkout links
there), so a path relative to the notebook's folder would land inside the package. Every path
parameter of a notebook (``run_dir = "outputs/runs/interactive"``, ``cache_dir``, …) is instead
resolved by :func:`project_path` against :func:`project_dir`:

1. ``$QCRD_PROJECT_DIR`` when set (``qcrd run`` and ``qcrd dashboard`` set it to the folder they
   start in);
2. else the checkout around the current folder: the nearest folder up from it whose
   ``pyproject.toml`` names the ``qcrdkit`` project (a notebook opened from ``notebooks/`` in
   JupyterLab, or ``cd notebooks && papermill …``);
3. else the current folder.

Nothing resolves inside the installed package: such a path is a :class:`ConfigError`.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from qcrdkit.core.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PROJECT_ENV = "QCRD_PROJECT_DIR"
_PROJECT_NAME = re.compile(r'^name\s*=\s*"qcrdkit"', re.MULTILINE)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def project_dir(start: str | Path | None = None) -> Path:
    """The folder a notebook's relative paths resolve against (see module doc)."""
    env = os.environ.get(PROJECT_ENV)
    if env:
        return Path(env).expanduser().resolve()
    here = Path(start or os.getcwd()).resolve()
    for folder in [here, *here.parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _PROJECT_NAME.search(pyproject.read_text(encoding="utf-8", errors="ignore")):
            return folder
    if _inside(here, PACKAGE_DIR):
        raise ConfigError(f"the current folder {here} is inside the installed qcrdkit package: set {PROJECT_ENV} to "
                          "the folder where outputs/ should go, or pass absolute paths")
    return here


def project_path(path: str | Path | None) -> Path | None:
    """``path`` made absolute: a relative one against :func:`project_dir`; ``None`` stays ``None``.
    A path inside the installed package is a :class:`ConfigError` (nothing is written there)."""
    if path is None:
        return None
    p = Path(path).expanduser()
    p = (p if p.is_absolute() else project_dir() / p).resolve()
    if _inside(p, PACKAGE_DIR):
        raise ConfigError(f"{path} resolves to {p}, inside the qcrdkit package: give a path outside it "
                          f"(relative paths resolve against {project_dir()})")
    return p
