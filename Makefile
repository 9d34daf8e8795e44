# Two commands on a fresh clone: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

export CUSTOMS_VAR_DIR ?= $(CURDIR)/var
export DAGSTER_HOME ?= $(CUSTOMS_VAR_DIR)/dagster_home
export UV_PYTHON_DOWNLOADS := never
# install compiled bytecode: where PYTHONDONTWRITEBYTECODE is set (as on this machine) every process
# would otherwise compile GX, Dagster and dbt from source again (18 s to import GX here, 6 s compiled)
export UV_COMPILE_BYTECODE := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false

.PHONY: run test test-fast ui spark-server demo clean setup bench bench-large bench-xl bench-spark bench-spark-large

DBT_DIR := dbt_project
MANIFEST := $(DBT_DIR)/target/manifest.json
DBT_SOURCES := $(shell find $(DBT_DIR)/models $(DBT_DIR)/macros $(DBT_DIR)/seeds $(DBT_DIR)/tests -type f) \
	$(DBT_DIR)/dbt_project.yml $(DBT_DIR)/profiles.yml

setup: $(VENV)/.synced $(DAGSTER_HOME)/dagster.yaml $(MANIFEST)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

# The Spark engine's extra (pyspark, dbt-spark) for its test; `make run` and the DuckDB engine need none of it.
$(VENV)/.spark: $(VENV)/.synced
	$(UV) sync --frozen --inexact --extra spark --python $(PYTHON)
	@touch $@

# The code location reads the manifest and never parses on load: parse here, whenever a dbt file changed.
$(MANIFEST): $(DBT_SOURCES) $(VENV)/.synced
	$(VENV)/bin/dbt parse --quiet --project-dir $(DBT_DIR) --profiles-dir $(DBT_DIR)
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

# CUSTOMS_ENGINE=spark make run: the same, with the models built by local Spark (the extra installed first)
run: setup $(if $(filter spark,$(CUSTOMS_ENGINE)),$(VENV)/.spark)  ## generate the demo (first time), materialize every asset, print where the marts are
	$(PY) -m orchestration.cli run

# then, in another shell: CUSTOMS_ENGINE=spark CUSTOMS_SPARK_THRIFT=127.0.0.1:10000 make run
spark-server: setup $(VENV)/.spark  ## a local Spark Thrift server on the Spark warehouse: one Spark for every dbt step (Ctrl-C stops it)
	$(PY) -m orchestration.engines.spark_server --port 10000

demo: setup  ## regenerate the demo dataset (ITEMS=... MONTHS=...)
	$(PY) -m orchestration.cli demo --force $(if $(ITEMS),--items $(ITEMS)) $(if $(MONTHS),--months $(MONTHS))

test-fast: setup  ## about a minute: lint, the pure-function and small-load tests, dbt's unit tests on an empty warehouse
	$(VENV)/bin/ruff check orchestration tests benchmarks
	$(PY) -m pytest -m fast -q

# pytest-xdist workers (TEST_WORKERS=0: serial, in this process). Each xdist group (tests/conftest.py) runs
# whole on one worker, the costliest first: --no-loadscope-reorder keeps that order (xdist would put the
# groups with the most tests first).
TEST_WORKERS ?= 2
test: setup $(VENV)/.spark  ## lint (Python and SQL), then the test suite, Spark's included (scale runs are in the benchmark)
	$(VENV)/bin/ruff check orchestration tests benchmarks
	@mkdir -p $(CUSTOMS_VAR_DIR)  # the dbt templater connects to a warehouse: a throwaway one
	cd $(DBT_DIR) && CUSTOMS_DUCKDB_PATH=$(CUSTOMS_VAR_DIR)/sqlfluff.duckdb ../$(VENV)/bin/sqlfluff lint models macros tests
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

ui: setup  ## the Dagster UI on http://127.0.0.1:3000
	$(VENV)/bin/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

clean:  ## remove the warehouse, landing area, Dagster history and build output (not the environment)
	rm -rf var dbt_project/target dbt_project/logs .pytest_cache

BENCH_REPEATS ?= 3
bench: setup  ## S (100k) and M (1M) items: warehouse vs bare DuckDB SQL vs pandas -> benchmarks/results.md
	$(PY) benchmarks/bench.py --scales S M --repeats $(BENCH_REPEATS)

bench-large: setup  ## L (10M items), once: about 40 minutes here
	$(PY) benchmarks/bench.py --scales L --repeats 1

bench-spark: setup $(VENV)/.spark  ## M (1M items) on the DuckDB and the Spark engine side by side, once
	$(PY) benchmarks/bench.py --scales M --repeats 1 --spark

bench-spark-large: setup $(VENV)/.spark  ## L (10M items) on both engines, once, without pandas: hours here; run it again to go on after an interruption
	$(PY) benchmarks/bench.py --scales L --repeats 1 --spark --no-pandas --resume

bench-xl: setup  ## XL (50M items), the full refresh once, without pandas (it cannot fit in memory)
	$(PY) benchmarks/bench.py --scales XL --repeats 1 --no-pandas --full-only
