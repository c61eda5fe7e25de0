# labkit: `make report` builds the environment and every report; `make test` runs the test suite.
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
PROFILE ?= default
OUT     ?= reports

.PHONY: install test report lab bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# The CPU build of PyTorch first: a bare `torch` requirement would pull several GB of CUDA.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev]"
	# The worm data packages are installed without their dependencies (cect pins plotly<6, numpy<2.4
	# and pulls pyneuroml); labkit reads their bundled files directly.
	$(PIP) install --quiet --no-deps cect==0.3.5 wormneuroatlas==0.0.7.3
	touch $@

install: $(VENV)/.installed

test: install
	$(VENV)/bin/pytest -n 2

report: install
	$(VENV)/bin/labkit run all --profile $(PROFILE) --out $(OUT)
	@echo "Open $(OUT)/index.html in a browser."

lab: install
	$(VENV)/bin/jupyter lab notebooks/

bench: install
	$(PIP) install --quiet -e ".[bench]"
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(OUT) .pytest_cache build dist *.egg-info workshop sweeps
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
