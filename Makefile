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
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver)

DEMO_OPTS = --config examples/demo.yaml --db $(DEMO_DIR)/shop.duckdb
AS_OF ?= 2024-12-31
DEMO_REFRESHES ?= 2024-07-31 2024-08-31 2024-09-30 2024-10-31 2024-11-30

# The whole flow on a synthetic base: generate, load, fit (segmentations, predictive traits), backfill 23 months of
# history (alerts stored, not sent), November's snapshot (its alerts queued), audiences refreshed month by month,
# this month's run (snapshot, alerts queued, audience refresh), validation, transitions, alerts, delivery, report,
# and screenshots of the dashboard and the report (when Chromium is there).
demo: install
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(BIN)/segmento demo-data --customers $(DEMO_CUSTOMERS) --months $(DEMO_MONTHS) --end $(AS_OF) --out $(DEMO_DIR)/data
	$(BIN)/segmento load $(DEMO_DIR)/data $(DEMO_OPTS)
	for s in value rfm behaviour; do $(BIN)/segmento fit $$s --as-of $(AS_OF) $(DEMO_OPTS) || exit 1; done
	for d in 2024-06-30 $(AS_OF); do $(BIN)/segmento predict fit --as-of $$d $(DEMO_OPTS) || exit 1; done
	$(BIN)/segmento campaign launch autumn-promo --at 2024-10-10 $(DEMO_OPTS)
	$(BIN)/segmento campaign launch vip-preview --at 2024-11-05 $(DEMO_OPTS)
	$(BIN)/segmento demo-responses --data $(DEMO_DIR)/data $(DEMO_OPTS)
	$(BIN)/segmento backfill --from 2023-01 --to 2024-10 $(DEMO_OPTS)
	$(BIN)/segmento snapshot --as-of 2024-11-30 $(DEMO_OPTS)
	for m in $(DEMO_REFRESHES); do $(BIN)/segmento refresh --as-of $$m $(DEMO_OPTS) || exit 1; done
	$(BIN)/segmento month --as-of $(AS_OF) $(DEMO_OPTS)
	$(BIN)/segmento guidance --as-of $(AS_OF) $(DEMO_OPTS)
	$(BIN)/segmento portraits behaviour --as-of $(AS_OF) $(DEMO_OPTS)
	$(BIN)/segmento transitions value --from 2024-11 --to 2024-12 $(DEMO_OPTS)
	$(BIN)/segmento predict report --as-of $(AS_OF) $(DEMO_OPTS)
	$(BIN)/segmento predict traits --as-of $(AS_OF) $(DEMO_OPTS)
	$(BIN)/segmento markov value --steps 6 $(DEMO_OPTS)
	$(BIN)/segmento alerts --limit 10 $(DEMO_OPTS)
	$(BIN)/segmento campaign results autumn-promo --segmentation behaviour $(DEMO_OPTS)
	$(BIN)/segmento campaign moves winback $(DEMO_OPTS)
	$(BIN)/segmento deliver $(DEMO_OPTS)
	$(BIN)/segmento report --out $(DEMO_DIR)/report.html $(DEMO_OPTS)
	$(BIN)/python tools/screenshots.py --as-of $(AS_OF) --report $(DEMO_DIR)/report.html --out $(DEMO_DIR)/screenshots $(DEMO_OPTS)
	@echo "demo base: $(DEMO_DIR)/shop.duckdb; alert files: $(DEMO_DIR)/exports; report: $(DEMO_DIR)/report.html; screenshots: $(DEMO_DIR)/screenshots"

test: install-test
	$(BIN)/pytest -q

test-spark: install-test
	$(BIN)/pytest -q -m spark

bench: install-test
	$(BIN)/python -m benchmarks --scale $(BENCH_SCALE)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .hypothesis
