# KPI Workbench — the two commands are `make demo` and `make test`; both set everything up.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test venv lab bench chromium clean lint mutate

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

venv: $(STAMP)

# Debian's Chromium for the real-browser tests (never downloaded by a test tool).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium missing: run 'sudo apt-get install chromium' (browser tests will be skipped)"; fi; \
	fi

demo: $(STAMP)
	$(BIN)/kpi demo

test: $(STAMP) chromium
	$(BIN)/python -m pytest -p no:cacheprovider

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# Mutation testing (not in CI: slow on 2 cores): each module of tests/mutation.yaml against its own
# tests, in a scratch copy. `make mutate MODULES="tree formula"` for some; scores in docs/testing.md.
mutate: $(STAMP)
	$(BIN)/python tests/mutate.py $(MODULES)

lint: $(STAMP)
	$(BIN)/ruff check kpi_lib tests
	$(BIN)/lint-imports

clean:
	rm -rf data/raw data/warehouse outputs/* .pytest_cache
