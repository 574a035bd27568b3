# Two commands do everything on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DATE   ?= 2026-11-02
TO     ?= 2026-11-04

.PHONY: install run test test-slow lint bench dev clean

$(BIN)/financeops: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,deploy]'
	touch $(BIN)/financeops

install: $(BIN)/financeops

run: install  ## install, then run the whole graph for the sample days on the embedded Postgres
	$(BIN)/financeops run --date $(DATE) --to $(TO) --data-dir data_samples

test: install  ## install, then run the test suite against a real embedded Postgres and DuckDB
	@.ci/ensure-chromium   # Debian's chromium for the UI test, when missing and apt-get is usable
	$(BIN)/pytest -q

test-slow: install
	$(BIN)/pytest -q -m slow

lint: install
	$(BIN)/ruff check financeops_pipeline tests

bench: install
	$(BIN)/financeops bench

dev: install
	$(BIN)/financeops dev

clean:
	rm -rf .financeops .pytest_cache
