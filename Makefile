# The two commands: `make run` (serve the app) and `make test` (run the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run demo test chaos lint bench clean

run: $(VENV)/.runtime  ## start PostgreSQL, Redis, the web app and a worker
	$(BIN)/python -m webapp.standalone

demo: $(VENV)/.demo  ## the same, with the Tableau stand-in, a single sign-on provider and demo accounts
	$(BIN)/python -m webapp.standalone --demo

test: $(VENV)/.dev  ## the whole suite: unit, integration (real PostgreSQL/Redis/RQ), browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

chaos: $(VENV)/.dev  ## only the chaos suite (part of `make test`): workers, Redis, PostgreSQL killed mid-job
	$(BIN)/python -m pytest tests/chaos $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

bench: $(VENV)/.dev  ## benchmarks: figures and ratios (ingest, worker RSS, undo cost; emissions; poll latency; organisation; institution sync; spreadsheets)
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)
	$(BIN)/python bench/emissions.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/organisation.py
	$(BIN)/python bench/feeds.py
	$(BIN)/python bench/spreadsheets.py

$(VENV)/.python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.runtime: $(VENV)/.python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# `make demo` needs its sign-on provider too; `make run` stays on the runtime's.
$(VENV)/.demo: $(VENV)/.runtime requirements-demo.txt
	$(BIN)/pip install --quiet -r requirements-demo.txt
	touch $@

$(VENV)/.dev: $(VENV)/.demo requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV)
