# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo
DEMO_CUSTOMERS ?= 50000
DEMO_MONTHS ?= 24
BENCH_SCALE ?= 0.1

.PHONY: install install-test demo test test-spark bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,spark]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test
	@command -v java >/dev/null || (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless)

demo: install
	$(BIN)/segmento demo-data --customers $(DEMO_CUSTOMERS) --months $(DEMO_MONTHS) --out $(DEMO_DIR)/data
	$(BIN)/segmento load $(DEMO_DIR)/data --db $(DEMO_DIR)/shop.duckdb

test: install-test
	$(BIN)/pytest -q

test-spark: install-test
	$(BIN)/pytest -q -m spark

bench: install-test
	$(BIN)/python -m benchmarks --scale $(BENCH_SCALE)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .hypothesis
