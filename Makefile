# Lead scoring: `make demo` runs the nightly job end to end, `make test` runs the suite.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.synced
export DO_NOT_TRACK := 1
export RUNTIME__DLTHUB_TELEMETRY := false
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export UV_PYTHON_DOWNLOADS := never

.PHONY: env tools demo test test-slow test-spark bench bench-incremental faults lint clean

env: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/uv || { python3 -m venv $(VENV) && $(BIN)/pip install --quiet uv==$(UV_VERSION); }
	$(BIN)/uv sync --frozen --compile-bytecode --python $(BIN)/python
	@touch $@

tools:  ## Debian's docker-compose (validates docker-compose.yml offline) and Java 17 (local Spark)
	@command -v docker-compose >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

demo: env  ## generate demo data and run the lead_scoring_nightly DAG with Airflow
	$(BIN)/lead-scoring demo $(DEMO_ARGS)

test: env tools  ## the whole test suite (needs PostgreSQL on 127.0.0.1:5432)
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-slow: env tools  ## tests too slow for the suite (the bench's end-to-end DAG runs)
	LEAD_SCORING_SLOW_TESTS=1 $(BIN)/pytest -n 2 tests/test_bench.py -k end_to_end

test-spark: env tools  ## the dbt project on a local Spark and a Thrift server, and the bench's spark section, against DuckDB (~20 min)
	LEAD_SCORING_SPARK_TESTS=1 $(BIN)/pytest tests/dbt/test_spark.py tests/test_bench.py -k spark $(PYTEST_ARGS)

bench: env  ## long benchmarks: prints name=value lines (sizes overridable, see README)
	$(BIN)/lead-scoring bench

bench-incremental: env  ## the scoring section, then a night and an hour through Airflow (~50 min)
	LEAD_SCORING_BENCH_ONLY=scoring,incremental $(BIN)/lead-scoring bench

security: env  ## the security figures: XSS escaping, secrets in logs, erasure at 1M leads
	$(BIN)/lead-scoring security

faults: env  ## kill the nightly run inside each stage, rerun, compare; then broken input files
	$(BIN)/lead-scoring faults $(FAULTS_ARGS)
	$(BIN)/lead-scoring bad-inputs

lint: env
	$(BIN)/ruff check plugins dags tests

clean:
	rm -rf data .airflow dbt_project/target dbt_project/logs
