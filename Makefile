# labkit: `make report` builds the environment and every report; `make test` runs the test suite.
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
PROFILE ?= default
OUT     ?= reports

.PHONY: install test test-browser report lab bench clean

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
	$(VENV)/bin/ruff check labkit tests benchmarks
	$(VENV)/bin/pytest -n 2 --dist loadgroup

# Every catalog notebook opened in JupyterLab in headless Chromium, run, drawn, its explorer's slider moved
# (`make test` runs one notebook per track of it). Needs Debian's chromium; Playwright comes with [dev].
test-browser: install
	LABKIT_BROWSER_ALL=1 $(VENV)/bin/pytest -n 0 tests/test_lab_browser.py

report: install
	$(VENV)/bin/labkit run all --profile $(PROFILE) --out $(OUT)
	@echo "Open $(OUT)/index.html in a browser."

# JupyterLab on notebooks/. PORT=N picks the port (default: the first free one from 8888); IP=0.0.0.0 listens
# on every interface, which a container needs for its published port to reach the lab (default: this
# machine only). As root (a container, a fresh cloud machine) JupyterLab refuses to start unless told
# --allow-root; the server keeps its token either way, so a request without it is refused.
PORT ?=
IP ?=
lab: install
	@case "$(PORT)" in "") ;; *[!0-9]*|0*|??????*|6553[6-9]|655[4-9]?|65[6-9]??|6[6-9]???|[7-9]????) \
		echo "make lab: PORT must be a port number (1-65535), got '$(PORT)'." >&2; exit 2;; esac
	@if [ -n "$(IP)" ] && ! $(PY) -c "import socket; socket.socket().bind(('$(IP)', 0))" 2>/dev/null; then \
		echo "make lab: IP must be an IPv4 address of this machine (0.0.0.0 for all of them), got '$(IP)'." >&2; \
		exit 2; fi
	@if [ -n "$(PORT)" ] && ! $(PY) -c "import socket; socket.socket().bind(('$(or $(IP),127.0.0.1)', $(PORT)))" \
		2>/dev/null; then \
		echo "make lab: port $(PORT) is in use or not allowed; pick another with PORT=N." >&2; exit 2; fi
	$(VENV)/bin/jupyter lab notebooks/ $(if $(PORT),--port=$(PORT) --port-retries=0) $(if $(IP),--ip=$(IP)) \
		$(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

# The peers live in their own environment (.venv-bench), so their pins (Brian2 2.9 needs numpy<2.4)
# never touch the lab's; torch is pinned on the same command line so no peer pulls a CUDA build.
BENCH := .venv-bench
$(BENCH)/.installed: pyproject.toml
	test -x $(BENCH)/bin/python || $(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet torch==2.13.0
	$(BENCH)/bin/python -m pip install --quiet -e ".[bench]" torch==2.13.0 "numpy<2.4"
	# Norse pulls torchvision, whose PyPI build does not load beside this torch and breaks transformers'
	# imports (TransformerLens, SAELens); no benchmark needs it.
	$(BENCH)/bin/python -m pip uninstall --quiet --yes torchvision
	$(BENCH)/bin/python -m pip install --quiet --no-deps cect==0.3.5 wormneuroatlas==0.0.7.3
	touch $@

bench: $(BENCH)/.installed
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(BENCH)/bin/python $$f || exit 1; done

clean:
	rm -rf $(OUT) .pytest_cache build dist *.egg-info workshop sweeps $(BENCH)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
