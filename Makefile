# stridekeeper: one-command set-up.  `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test test-fast check demo lint format bench clean lab

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "stridekeeper needs Python >= 3.11 (found %s); set PYTHON=python3.x" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	@touch $(STAMP)

# then the package's bytecode, as pip compiles a regular install's: an editable install
# under PYTHONDONTWRITEBYTECODE would compile ~150 modules again at every command
# (about a seventh of a 200-run import); stale files are recompiled, up-to-date ones kept
install: $(STAMP)
	@$(BIN)/python -m compileall -q src

# the checks that need no test run: lint, formatting, types of the public API, the layers
check: lint
	$(BIN)/mypy
	$(BIN)/lint-imports

# the whole suite, as CI runs it (under 5 minutes on 2 cores)
test: check
	$(BIN)/python -m pytest -q

# the inner loop (under 90 s): no slow, real-data or Dask tests (markers set in tests/conftest.py)
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow and not realdata and not dask"

demo: install
	@mkdir -p reports
	$(BIN)/stridekeeper demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	for f in benchmarks/*.py; do echo "== $$f"; STRIDEKEEPER_BENCH_RUNS=$${STRIDEKEEPER_BENCH_RUNS:-50} $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache

lab: install
	$(BIN)/python -m pip install -q -e '.[dev,dask,notebooks]'
	$(BIN)/jupyter lab notebooks/
