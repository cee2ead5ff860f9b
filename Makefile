# One task runner. `make run` and `make test` set themselves up on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench clean distclean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	sh scripts/ensure-fonts.sh
	touch $(STAMP)

run: $(STAMP) ## run the daily job on the sample newsroom
	$(BIN)/distributor run

test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check distributor tests bench
	$(BIN)/ruff format --check distributor tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format distributor tests bench
	$(BIN)/ruff check --fix distributor tests bench

bench: $(STAMP) ## benchmarks (each ends with one JSON line)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove outputs of runs (var/) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
