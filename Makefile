# rotaplan — two commands matter: `make demo` and `make test`.
# Each sets up its own virtual environment (.venv) on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup lint typecheck bench bench-mss ui clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install rotaplan with its dev tools

demo: $(STAMP) ## solve the embedded demo scenario and write plans/demo/
	$(BIN)/rotaplan solve instances/demo.yaml --out plans/demo

# The tests outside the browser run TEST_JOBS at a time, a test file per process
# (pytest-xdist; most tests use one core, and on 2 cores the suite took 16.4 min in
# one process). The browser stories then run alone: beside other tests, a 2-core
# machine left a Streamlit toolbar button unclickable for 60 s.
TEST_JOBS ?= 2

test: $(STAMP) ## lint, type-check and run the tests (benchmarks in quick mode)
	$(BIN)/ruff check models solver rotaplan ui tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q --benchmark-disable -n $(TEST_JOBS) --dist loadfile -m "not browser"
	$(BIN)/pytest -q --benchmark-disable -m browser

lint: $(STAMP)
	$(BIN)/ruff check models solver rotaplan ui tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP) ## full benchmarks (about 40 min); writes benchmarks/RESULTS.md
	ROTAPLAN_BENCH=full $(BIN)/pytest benchmarks -q --benchmark-only

bench-mss: $(STAMP) ## the MSS benchmark in ../shared/mss (about 3 h); writes benchmarks/MSS.md
	$(BIN)/python -m benchmarks.mss all

ui: $(STAMP) ## serve the configurator on http://127.0.0.1:8501
	$(BIN)/rotaplan ui

clean:
	rm -rf $(VENV) plans .pytest_cache .mypy_cache .ruff_cache .benchmarks
