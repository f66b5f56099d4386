# Two commands for a newcomer:  `make demo`  and  `make test`.
# Both create .venv on first use: torch's CPU wheel first (so nothing pulls a CUDA build),
# then the kit itself in editable mode with its dev extra, then a Jupyter kernel for papermill.
# The interpreter: Python 3.11, as environment.yml and the pins in constraints.txt (PYTHON=... to name another 3.11).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
KERNEL ?= qcrdkit
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
# The Distilling Step-by-Step data the tests read (never copied into the repo).
export QCRD_DSS_DATA ?= $(abspath ../shared/data/dss)
# T5's own SentencePiece vocabulary and flan-t5-base's config (no weights): the T5-folder student's tests
export QCRD_T5_SHAPE ?= $(abspath ../shared/models/flan-t5-base-shape)

.PHONY: setup lock demo dashboard lab test test-fast browser smoke bench bench-methods clean-venv

# constraints.txt pins every package to the version the suite passed with (`make lock` rewrites it).
$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "Setting up $(VENV) (first run only: about 2-3 minutes)"
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null || \
	  { echo "qcrdkit needs Python 3.11 (environment.yml, constraints.txt); '$(PYTHON)' is not: make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt "$(TORCH)"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(PY) -m ipykernel install --prefix $(VENV) --name $(KERNEL) --display-name "Python (qcrdkit)" >/dev/null
	touch $@

setup: $(VENV)/.installed

# After upgrading packages in .venv (pip install -U ...) and a green `make test`: pin what is installed now.
lock: setup
	{ sed -n '1,2p' constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -iv '^qcrdkit' \
	  | sed -E 's/^(torch==[^+]*)\+.*/\1/'; } > constraints.txt.new && mv constraints.txt.new constraints.txt

demo: setup
	$(VENV)/bin/qcrd run --params params/demo.yaml

# A run's report as a web page (Voilà): tables, figures, the temperature widget and the explorer, read from what
# stage 04 saved. RUN: a run id under outputs/runs or a folder (make dashboard RUN=outputs/runs/sweep-1).
RUN ?= demo
dashboard: setup
	$(VENV)/bin/qcrd dashboard $(RUN)

# JupyterLab on the notebooks (kernel "Python (qcrdkit)"); Run All of 01 -> 04 makes and analyses outputs/runs/interactive
lab: setup
	$(VENV)/bin/jupyter lab notebooks/

smoke: setup
	$(VENV)/bin/qcrd run --params params/smoke.yaml

# The browser tests drive Debian's chromium (the dashboard in a real browser): installed here when missing.
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The whole suite (about 10 minutes on 2 cores): offline, the DSS data from QCRD_DSS_DATA.
test: setup browser
	$(PY) -m pytest -q $(PYTEST_ARGS)

# the unit tests (pure functions, tiny models, no notebook, no training run): under a minute
test-fast: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(PY) bench/teacher_throughput.py

# All five methods and QCRD's three ablations on arith, five seeds each (params/bench.yaml): bench/RESULTS.md;
# the machine alone for about 1.5 hours on 2 cores (bench/README.md)
bench-methods: setup
	$(PY) bench/methods.py --fresh

clean-venv:
	rm -rf $(VENV)
