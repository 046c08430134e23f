# Quantify — the two commands a newcomer needs are `make demo` and `make test`.
# Both create or refresh .venv from requirements.lock, so a fresh clone needs nothing else.

PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	command -v $$p >/dev/null 2>&1 && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit bench lock clean browser

## Set up the environment, then run a cloud and a gateway agent on embedded defaults.
## DEMO_ARGS=--fast runs the meters and the gateway's clock 360x real time (docs/demo.md).
demo: $(STAMP)
	$(BIN)/python -m demo $(DEMO_ARGS)

## Set up the environment, then run lint, type checks and the whole test suite.
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

## Fast feedback while working: the pure unit and property tests only.
unit: $(STAMP)
	$(BIN)/pytest tests/unit tests/property -q

## Benchmarks (not tests): measure and record figures in docs/benchmarks.md.
bench: $(STAMP)
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

## Headless Chromium for the web-page tests (Debian's package: browsers cannot be downloaded).
browser:
	@scripts/ensure-chromium

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Quantify needs Python >= 3.11; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

## Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v "^pip==" > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
