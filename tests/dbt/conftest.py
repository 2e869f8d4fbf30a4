"""Fixtures: the dbt project built on the hand-made dataset, on DuckDB and PostgreSQL.

The PostgreSQL build runs in a child process while the DuckDB scenario runs in this
one, so the two engines use both cores.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import scoring_dataset as ds
from scoring_harness import Scenario, WarehouseUnderTest, scoring_project, take_snapshot

from lead_scoring.settings import Settings

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class PostgresBuild:
    """A `dbt build --target postgres` on fixture load 1, started but maybe not finished."""

    warehouse: WarehouseUnderTest | None
    process: subprocess.Popen | None
    error: Exception | None = None


@pytest.fixture(scope="session")
def project_dir(tmp_path_factory) -> Path:
    """The dbt project both engines build: the real one plus the test signal rules."""
    return scoring_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="session")
def postgres_build(tmp_path_factory, project_dir) -> Iterator[PostgresBuild]:
    """A uniquely named database with fixture load 1 and its dbt build under way.

    Dropped at the end of the session. A database that cannot be created is reported by
    the PostgreSQL tests, not by the DuckDB ones.
    """
    import psycopg2

    name = f"ls_dbt_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(PG_ADMIN_URL)
    except psycopg2.OperationalError as exc:
        yield PostgresBuild(None, None, exc)
        return
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    work = tmp_path_factory.mktemp("dbt_postgres")
    settings = Settings(
        home=work / "home",
        warehouse="postgres",
        warehouse_url=f"postgresql://postgres@127.0.0.1:5432/{name}",
    )
    warehouse = WarehouseUnderTest(
        settings,
        work,
        target="postgres",
        env={"LEAD_SCORING_PG_DATABASE": name},
        project_dir=project_dir,
    )
    process = None
    try:
        warehouse.write(1)
        process = warehouse.start("build", ds.AS_OF_1)  # seeds, models, data and unit tests
        yield PostgresBuild(warehouse, process)
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture(scope="session")
def duckdb_scenario(tmp_path_factory, postgres_build, project_dir) -> Scenario:
    """Three nightly loads scored incrementally, then a full rebuild and past-date re-runs.

    Snapshots: d1 (dbt build, load 1), d2, d3 (incremental runs after loads 2 and 3),
    d3_full (--full-refresh), d1_rerun (back to the first date: state newer than the
    as-of date), d3_again (incremental again, carried from the d1 state).
    Asks for postgres_build only to start it first, so both engines build at once.
    """
    work = tmp_path_factory.mktemp("dbt_duckdb")
    warehouse = WarehouseUnderTest(
        Settings(home=work / "home", warehouse="duckdb"), work, project_dir=project_dir
    )
    scenario = Scenario(warehouse)
    warehouse.write(1)
    warehouse.dbt("build", ds.AS_OF_1)
    take_snapshot(scenario, "d1")
    warehouse.write(2)
    warehouse.dbt("run", ds.AS_OF_2)
    take_snapshot(scenario, "d2")
    warehouse.write(3)
    warehouse.dbt("run", ds.AS_OF_3)
    take_snapshot(scenario, "d3")
    warehouse.dbt("run", ds.AS_OF_3, "--full-refresh")
    take_snapshot(scenario, "d3_full")
    warehouse.dbt("run", ds.AS_OF_1)
    take_snapshot(scenario, "d1_rerun")
    warehouse.dbt("run", ds.AS_OF_3)
    take_snapshot(scenario, "d3_again")
    return scenario


@pytest.fixture(scope="session")
def postgres_warehouse(postgres_build) -> WarehouseUnderTest:
    """The PostgreSQL warehouse once its dbt build has finished and passed."""
    if postgres_build.error is not None:
        raise postgres_build.error
    postgres_build.warehouse.wait(postgres_build.process)
    return postgres_build.warehouse
