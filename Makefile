# One task runner. `make run` and `make test` set themselves up on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-postgres lint format bench clean distclean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,scale]'
	sh scripts/ensure-fonts.sh
	touch $(STAMP)

run: $(STAMP) ## run the daily job on the sample newsroom
	$(BIN)/distributor run

# Both passes run on pytest-xdist workers (the tests use unique ports, paths and databases).
PYTEST_WORKERS ?= 2

test: $(STAMP) browser ## run the test suite (SQLite as the store)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

test-postgres: $(STAMP) browser ## the same suite with PostgreSQL as the store
	DISTRIBUTOR_TEST_DATABASE=postgresql $(BIN)/python -m pytest -n $(PYTEST_WORKERS)

# The browser tests drive Debian's Chromium through Playwright (never `playwright
# install`). Installed here when missing and apt is usable; otherwise those tests skip
# and say why.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (apt-get) for the browser tests"; \
	    (apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	     (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1)) \
	     || echo "could not install chromium; the browser tests will be skipped"; \
	  else echo "chromium missing and apt-get unusable; the browser tests will be skipped"; fi; \
	fi

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check distributor tests $(wildcard bench)
	$(BIN)/ruff format --check distributor tests $(wildcard bench)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format distributor tests $(wildcard bench)
	$(BIN)/ruff check --fix distributor tests $(wildcard bench)

bench: $(STAMP) ## benchmarks (each ends with one JSON line)
	@for b in $(wildcard bench/*.py); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove outputs of runs (var/) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
