# The two commands a new user needs are `make demo` and `make test` (README). Everything else here is
# what those two call, plus a few conveniences.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export SCM_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(SCM_DATA_DIR)/dagster_home
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup browser demo run dashboard test lint bench bench-scale dagster clean

## setup: create .venv and install the locked dependencies (only when pyproject.toml or uv.lock changed)
setup: $(VENV)/.synced
	@# The dbt manifest the Dagster definitions are built from (parsed only when missing or stale).
	@$(BIN)/python -m pipelines.assets.dbt_project

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet uv==$(UV_VERSION); }
	@# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set, every process would otherwise compile
	@# dagster, dbt and statsforecast from source again on import.
	$(BIN)/uv sync --frozen --quiet --compile-bytecode
	@touch $@

## browser: Debian's chromium, for the dashboards' browser test and benchmark (installed only when missing)
browser:
	@command -v chromium >/dev/null || { \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; }

## demo: set up, write the demo feeds if the landing folder is empty, run the whole pipeline, open the dashboards
demo: run dashboard

## run: set up, write the demo feeds if the landing folder is empty, run the whole pipeline once
run: setup
	@mkdir -p $(SCM_DATA_DIR)/landing
	@# Files the generator has just finished need no settle time; files dropped by anything else get it.
	@if [ -z "$$(ls -A $(SCM_DATA_DIR)/landing)" ]; then \
		$(BIN)/scm generate && SCM_SETTLE_SECONDS=0 $(BIN)/scm run; else $(BIN)/scm run; fi

## dashboard: the dashboards on http://127.0.0.1:8501 (Ctrl-C stops)
dashboard: setup
	$(BIN)/scm dashboard

## test: the test suite (what CI runs), after the format and lint checks
# Two pytest workers (pytest-xdist), a test module each at a time: most of the suite's time is `scm run`
# processes that keep one core busy. `setup` has prepared the dbt manifest, once, not both workers at once.
TEST_WORKERS ?= 2
test: setup browser lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

## lint: ruff format --check and ruff check over the whole project
lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

## bench: the benchmarks (slow; they print ratios against baselines measured in the same run)
bench: setup
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/dbt_build.py
	$(BIN)/python benchmarks/forecast.py
	$(BIN)/python benchmarks/dashboard.py

## bench-scale: the whole pipeline at scale 10, full build then a one-day run (about 40 min, 11 GiB to generate)
bench-scale: setup
	$(BIN)/python benchmarks/pipeline.py --scale 10

## dagster: the Dagster UI on http://127.0.0.1:3000 with every asset and the runs `scm run` made
dagster: setup
	@$(BIN)/python -c "from pipelines.settings import ensure_dagster_home; ensure_dagster_home()"
	$(BIN)/dagster dev -m pipelines.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
