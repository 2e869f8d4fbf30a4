"""Run the dbt project on the hand-made dataset: a warehouse under test and its snapshots.

dbt runs in-process (dbtRunner) so its import cost is paid once. Each warehouse gets
its own target and log folders, so test workers never share state.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import scoring_dataset as ds

from lead_scoring.settings import PROJECT_ROOT, Settings
from lead_scoring.warehouse import open_warehouse

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
MARTS = ("lead_scores", "account_scores", "lead_score_contributions")
ROUTING_MARTS = ("lead_routing", "lead_owners", "lead_follow_ups", "rep_workload")


class DbtFailed(AssertionError):
    pass


@dataclass
class WarehouseUnderTest:
    """One warehouse under test and how dbt reaches it."""

    settings: Settings
    work_dir: Path
    target: str = "duckdb"
    env: dict[str, str] = field(default_factory=dict)
    project_dir: Path = DBT_PROJECT

    def write(self, load_number: int) -> None:
        """Write fixture load `load_number`: CRM and quality rows replaced (dlt merges them;
        the tables stay, as the staging views depend on them), events appended."""
        self.write_load(ds.load(load_number))

    def write_load(self, load: ds.Load) -> None:
        """Write a fixture load (ds.load(n), ds.equality_load(day)) as write() does."""
        with open_warehouse(self.settings) as warehouse:
            for (schema, table), frame in load.tables.items():
                merged = (schema, table) not in load.appended
                if merged and self.settings.warehouse == "spark":  # no delete on Parquet
                    warehouse.write_df(frame, schema, table, mode="replace")
                    continue
                if merged and warehouse.table_exists(schema, table):
                    warehouse.execute(f"delete from {schema}.{table}")
                warehouse.write_df(frame, schema, table, mode="append")

    def dbt(self, command: str, as_of: date, *args: str, extra_vars: dict | None = None):
        """Run a dbt command in-process as of `as_of`; returns dbt's result or raises."""
        from dbt.cli.main import dbtRunner

        env = self._env()
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        try:
            result = dbtRunner().invoke(self._cli_args(command, as_of, args, extra_vars))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        if not result.success:
            failures = [
                f"{r.node.unique_id}: {r.status} {r.message}"
                for r in (result.result or [])
                if str(r.status) in ("error", "fail")
            ]
            raise DbtFailed(f"dbt {command} failed: {result.exception or failures}")
        return result.result

    def start(
        self, command: str, as_of: date, *args: str, extra_vars: dict | None = None
    ) -> subprocess.Popen:
        """Start a dbt command in a child process (runs beside in-process work)."""
        cli_args = self._cli_args(command, as_of, args, extra_vars)
        log = self._child_log().open("w")
        return subprocess.Popen(
            [sys.executable, "-m", "dbt.cli.main", *cli_args],
            env={**os.environ, **self._env()},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait(self, process: subprocess.Popen) -> None:
        """Wait for a started dbt command; raises with the end of its output if it failed."""
        if process.wait() != 0:
            output = self._child_log().read_text()
            raise DbtFailed(f"dbt {' '.join(process.args[3:5])} failed:\n{output[-4000:]}")

    def _child_log(self) -> Path:
        return self.work_dir / "dbt_child.out"

    def _env(self) -> dict[str, str]:
        return {"LEAD_SCORING_HOME": str(self.settings.home), "DO_NOT_TRACK": "1", **self.env}

    def _cli_args(self, command, as_of, args, extra_vars) -> list[str]:
        variables = {"lead_scoring__as_of_date": as_of.isoformat(), **(extra_vars or {})}
        project = str(self.project_dir)
        cli_args = [command, "--project-dir", project, "--profiles-dir", project]
        cli_args += ["--target", self.target, "--vars", str(variables), "--quiet"]
        cli_args += ["--target-path", str(self.work_dir / "target")]
        return [*cli_args, "--log-path", str(self.work_dir / "logs"), *args]

    def table(self, schema: str, name: str, order_by: str = "1") -> pd.DataFrame:
        with open_warehouse(self.settings) as warehouse:
            return warehouse.query_df(f"select * from {schema}.{name} order by {order_by}")

    def marts(self) -> dict[str, pd.DataFrame]:
        return {name: self.table("marts", name, "1, 2") for name in MARTS}

    def all_marts(self) -> dict[str, pd.DataFrame]:
        """Every model of the project's marts folder, by name (unordered rows)."""
        names = sorted(path.stem for path in (self.project_dir / "models" / "marts").glob("*.sql"))
        return {name: self.table("marts", name) for name in names}

    def routing_marts(self) -> dict[str, pd.DataFrame]:
        """The routing and SLA marts; lead_routing holds every as-of date routed so far."""
        orders = {"lead_routing": "as_of_date, lead_id", "lead_follow_ups": "lead_id, assigned_at"}
        return {name: self.table("marts", name, orders.get(name, "1")) for name in ROUTING_MARTS}


def scoring_project(destination: Path) -> Path:
    """A copy of the dbt project whose signal_rules.csv also holds the test rules
    (ds.TEST_SIGNAL_RULES: one per transform and kind, on the fixture's custom
    attributes), as a marketer would add them. Returns the copy's directory."""
    project = destination / "dbt_project"
    shutil.copytree(
        DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    rules = project / "seeds" / "signal_rules.csv"
    text = rules.read_text().rstrip("\n")
    rules.write_text("\n".join([text, *ds.TEST_SIGNAL_RULES]) + "\n")
    return project


@dataclass
class Scenario:
    """Mart snapshots after each run of the DuckDB scenario."""

    warehouse: WarehouseUnderTest
    snapshots: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)


def take_snapshot(scenario: Scenario, label: str) -> None:
    snapshot = {**scenario.warehouse.marts(), **scenario.warehouse.routing_marts()}
    snapshot["state"] = scenario.warehouse.table(
        "intermediate", "int_subject_events_decayed", "1, 2, 3"
    )
    snapshot["profiles"] = scenario.warehouse.table(
        "intermediate", "int_lead_profiles_resolved", "1, 2"
    )
    snapshot["crossings"] = scenario.warehouse.table(
        "intermediate", "int_lead_thresholds_first_crossed", "1"
    )
    snapshot["attributes"] = scenario.warehouse.table(
        "intermediate", "int_lead_attributes_resolved", "1, 2, 3"
    )
    scenario.snapshots[label] = snapshot


def canonical(value) -> str:
    """One spelling per value whatever the engine's Python types (Decimal, numpy, NaT...)."""
    if (
        value is None
        or value is pd.NaT
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    ):
        return "null"
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        return f"{float(value):.6f}"
    if isinstance(value, datetime | date | pd.Timestamp):
        return pd.Timestamp(value).isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return canonical(value.item())
    return str(value)
