# Two commands on a fresh machine with python3 and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
PYTEST_WORKERS ?= auto

.PHONY: run test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

## run: set up and run the main job
run: $(VENV)/.installed
	$(BIN)/microgov console scenarios/haigang-2020.toml

## test: set up with the test extra and run lint, type check, import contract and the whole suite
test: $(VENV)/.installed-test lint typecheck
	$(BIN)/lint-imports
	$(BIN)/pytest -n $(PYTEST_WORKERS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check sim console tests benchmarks
	$(BIN)/ruff format --check sim console tests benchmarks

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

## bench: print the benchmark ratios recorded in the README
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
