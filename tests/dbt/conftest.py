"""Fixtures: build the dbt project on the hand-made dataset, on DuckDB and PostgreSQL.

dbt runs in-process (dbtRunner) so its import cost is paid once. Each scenario gets
its own warehouse, target and log folders, so test workers never share state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import scoring_dataset as ds

from lead_scoring.settings import PROJECT_ROOT, Settings
from lead_scoring.warehouse import open_warehouse

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
MARTS = ("lead_scores", "account_scores", "lead_score_contributions")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

os.environ["DO_NOT_TRACK"] = "1"


class DbtFailed(AssertionError):
    pass


@dataclass
class Warehouse:
    """One warehouse under test and how dbt reaches it."""

    settings: Settings
    work_dir: Path
    target: str = "duckdb"
    env: dict[str, str] = field(default_factory=dict)

    def write(self, load_number: int) -> None:
        """Write fixture load `load_number` (CRM + quality replaced, events appended)."""
        load = ds.load(load_number)
        with open_warehouse(self.settings) as warehouse:
            for (schema, table), frame in load.tables.items():
                mode = "append" if (schema, table) in load.appended else "replace"
                warehouse.write_df(frame, schema, table, mode=mode)

    def dbt(self, command: str, as_of: date, *args: str, extra_vars: dict | None = None):
        """Run a dbt command as of `as_of`; returns dbt's result (raises when it failed)."""
        from dbt.cli.main import dbtRunner

        variables = {"lead_scoring__as_of_date": as_of.isoformat(), **(extra_vars or {})}
        os.environ.update({"LEAD_SCORING_HOME": str(self.settings.home), **self.env})
        result = dbtRunner().invoke([
            command, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target", self.target, "--target-path", str(self.work_dir / "target"),
            "--log-path", str(self.work_dir / "logs"), "--vars", str(variables),
            "--quiet", *args,
        ])
        if not result.success:
            failures = [
                f"{r.node.unique_id}: {r.status} {r.message}"
                for r in (result.result or []) if str(r.status) in ("error", "fail")
            ]
            raise DbtFailed(f"dbt {command} failed: {result.exception or failures}")
        return result.result

    def table(self, schema: str, name: str, order_by: str = "1") -> pd.DataFrame:
        with open_warehouse(self.settings) as warehouse:
            return warehouse.query_df(f"select * from {schema}.{name} order by {order_by}")

    def marts(self) -> dict[str, pd.DataFrame]:
        return {name: self.table("marts", name, "1, 2") for name in MARTS}


@dataclass
class Scenario:
    """Mart snapshots after each run of the DuckDB scenario."""

    warehouse: Warehouse
    snapshots: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)


def _take(scenario: Scenario, label: str) -> None:
    snapshot = scenario.warehouse.marts()
    snapshot["state"] = scenario.warehouse.table(
        "intermediate", "int_subject_events_decayed", "1, 2, 3, 4")
    snapshot["profiles"] = scenario.warehouse.table(
        "intermediate", "int_lead_profiles_resolved", "1, 2")
    scenario.snapshots[label] = snapshot


@pytest.fixture(scope="session")
def duckdb_scenario(tmp_path_factory) -> Scenario:
    """Three nightly loads scored incrementally, then a full rebuild and past-date re-runs.

    Snapshots: d1 (dbt build, load 1), d2, d3 (incremental runs after loads 2 and 3),
    d3_full (--full-refresh), d1_rerun (back to the first date: state newer than the
    as-of date), d3_again (incremental again, carried from the d1 state).
    """
    work = tmp_path_factory.mktemp("dbt_duckdb")
    warehouse = Warehouse(Settings(home=work / "home", warehouse="duckdb"), work)
    scenario = Scenario(warehouse)
    warehouse.write(1)
    warehouse.dbt("build", ds.AS_OF_1)
    _take(scenario, "d1")
    warehouse.write(2)
    warehouse.dbt("run", ds.AS_OF_2)
    _take(scenario, "d2")
    warehouse.write(3)
    warehouse.dbt("run", ds.AS_OF_3)
    _take(scenario, "d3")
    warehouse.dbt("run", ds.AS_OF_3, "--full-refresh")
    _take(scenario, "d3_full")
    warehouse.dbt("run", ds.AS_OF_1)
    _take(scenario, "d1_rerun")
    warehouse.dbt("run", ds.AS_OF_3)
    _take(scenario, "d3_again")
    return scenario


@pytest.fixture(scope="session")
def postgres_warehouse(tmp_path_factory) -> Iterator[Warehouse]:
    """A uniquely named PostgreSQL database holding fixture load 1, dropped afterwards."""
    import psycopg2

    name = f"ls_dbt_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    work = tmp_path_factory.mktemp("dbt_postgres")
    settings = Settings(home=work / "home", warehouse="postgres",
                        warehouse_url=f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        yield Warehouse(settings, work, target="postgres",
                        env={"LEAD_SCORING_PG_DATABASE": name})
    finally:
        with admin.cursor() as cur:
            cur.execute(f"drop database if exists {name} with (force)")
        admin.close()
