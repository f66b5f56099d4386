"""Pinned installs: constraints.txt pins every dependency, the suite runs with those versions, and
`make setup`, CI and environment.yml all install through it."""
import re
import sys
import tomllib
from importlib import metadata

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import REPO


def pins() -> dict[str, str]:
    out = {}
    for number, line in enumerate((REPO / "constraints.txt").read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        assert m, f"constraints.txt:{number}: not a 'name==version' pin: {line!r}"
        out[canonicalize_name(m.group(1))] = m.group(2)
    return out


def test_every_dependency_of_the_kit_is_pinned():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    names = {canonicalize_name(Requirement(d).name) for d in wanted}
    missing = sorted(names - set(pins()))
    assert not missing, f"constraints.txt lacks {missing}: run `make lock`"
    for d in wanted:                                    # and each pin satisfies pyproject's range
        req = Requirement(d)
        assert req.specifier.contains(pins()[canonicalize_name(req.name)], prereleases=True), d


def test_the_suite_runs_with_the_pinned_versions():
    """What is installed here is what constraints.txt says (local labels such as +cpu aside)."""
    wrong = []
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue                                     # pinned for another platform or extra: not installed here
        if Version(installed).public != Version(version).public:
            wrong.append(f"{name} {installed} (pinned {version})")
    assert not wrong, f"installed versions differ from constraints.txt: {wrong}; `make setup` in a fresh .venv"


def test_make_setup_ci_and_conda_install_through_the_pins():
    makefile = (REPO / "Makefile").read_text()
    assert makefile.count("pip install --quiet -c constraints.txt") == 2          # torch, then the kit
    torch_pin = re.search(r"^TORCH\s*\?=\s*torch==(\S+)", makefile, re.M).group(1)
    assert torch_pin == pins()["torch"]
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert ci[-1] == "make test" and all(not line.startswith(("apt", "export", "pip")) for line in ci)   # the README's command only
    assert "make test" in (REPO / "README.md").read_text()
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == f"python={sys.version_info.major}.{sys.version_info.minor}"
    # one Python everywhere: environment.yml's, the Makefile's interpreter check, pyproject's lower bound
    minor = python.split("=")[1]
    assert f"sys.version_info[:2] == ({minor.replace('.', ', ')})" in makefile and f"python{minor}" in makefile
    assert f'requires-python = ">={minor}"' in (REPO / "pyproject.toml").read_text()
    pip_lines = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-c constraints.txt" in pip_lines and f"torch=={torch_pin}" in pip_lines
