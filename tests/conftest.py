"""Shared fixtures: an isolated LEAD_SCORING_HOME, Airflow home, a CRM sandbox, small data."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# Airflow reads its home when first imported, so each test process gets its own one now,
# before any test module imports Airflow.
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="lead-scoring-airflow-"))
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ.setdefault("LEAD_SCORING_HOME", tempfile.mkdtemp(prefix="lead-scoring-home-"))
# dbt and airflow executables of this environment, as Cosmos and the runner expect on PATH.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture(scope="session")
def airflow_home():
    """This worker's Airflow home with a migrated SQLite metadata database (for DagBag loads)."""
    import subprocess

    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ,
    )
    return AIRFLOW_HOME


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings on an empty home folder of this test's own."""
    from lead_scoring.settings import get_settings

    monkeypatch.setenv("LEAD_SCORING_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LEAD_SCORING_PRODUCT_DB_URL", raising=False)
    monkeypatch.delenv("LEAD_SCORING_WAREHOUSE", raising=False)
    return get_settings()


@pytest.fixture
def simulated(settings):
    """A small simulated funnel in this test's home: CRM store, product DB, exports, truth."""
    from lead_scoring.simulator import simulate

    simulate(settings, leads=400, accounts=80, events=8_000, days=60, seed=7)
    return settings


@pytest.fixture
def sandbox(simulated):
    """The CRM sandbox serving the simulated CRM records, without rate limiting to speak of."""
    from lead_scoring.crm_sandbox import start_sandbox

    with start_sandbox(
        simulated.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10_000
    ) as handle:
        yield handle
