"""The warehouse lock, between real processes: a stage waits while another process holds
it (and says who), then runs; the wait times out with a message naming the holder; a killed
holder leaves nothing behind. DuckDB (a file lock beside the warehouse) and PostgreSQL (an
advisory lock). And a run's claim on its extract-to-build turn: another run waits for it,
unless the claiming run is over."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import psycopg2
import pytest

from lead_scoring.nightly import run_stage
from lead_scoring.warehouse import open_warehouse
from lead_scoring.warehouse_lock import (
    WarehouseLockTimeout,
    acquire,
    claim_path,
    claim_warehouse,
    release,
    release_warehouse,
    warehouse_lock,
)

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Advisory locks belong to a database: each test worker gets its own, so a holder on one
# worker is not seen by a test on the other.
PG_DATABASE = f"ls_lock_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DATABASE}"
# Holds the lock as "a nightly stage" (and, on DuckDB, the warehouse file itself, as a
# writer does) until its stdin closes.
HOLDER = textwrap.dedent("""
    import sys
    from lead_scoring.settings import get_settings
    from lead_scoring.warehouse_lock import warehouse_lock

    settings = get_settings()
    with warehouse_lock(settings, "a nightly stage"):
        if settings.warehouse == "duckdb":
            import duckdb
            con = duckdb.connect(str(settings.warehouse_path))
        print("holding", flush=True)
        sys.stdin.read()
""")


@pytest.fixture(scope="module")
def pg_database() -> str:
    """This worker's PostgreSQL database for the lock tests (made once, kept)."""
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", (PG_DATABASE,))
        if cur.fetchone() is None:
            cur.execute(f'create database "{PG_DATABASE}"')
    admin.close()
    return PG_URL


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, settings, monkeypatch):
    """Settings on a DuckDB warehouse file or the PostgreSQL test database."""
    from lead_scoring.settings import get_settings

    if request.param == "postgres":
        monkeypatch.setenv("LEAD_SCORING_WAREHOUSE", "postgres")
        monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_URL", request.getfixturevalue("pg_database"))
    else:
        settings.home.mkdir(parents=True)
        duckdb.connect(str(settings.warehouse_path)).close()
    return get_settings()


@pytest.fixture
def holder(warehouse):
    """Start the holding process; yields it once it holds the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    assert proc.stdout.readline().strip() == "holding"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_stage_waits_while_another_process_holds_the_lock_then_runs(warehouse, holder):
    if warehouse.warehouse == "duckdb":  # what the lock prevents: a second writer fails
        with pytest.raises(duckdb.IOException, match="Could not set lock on file"):
            duckdb.connect(str(warehouse.warehouse_path))
    said = []

    def on_wait(message: str) -> None:
        said.append(message)
        if holder.stdin and not holder.stdin.closed:
            holder.stdin.close()  # the other process finishes its stage

    with warehouse_lock(warehouse, "an hourly stage", timeout=60, on_wait=on_wait):
        with open_warehouse(warehouse) as wh:
            wh.write_df(pd.DataFrame({"n": [1]}), "lock_test", "written", mode="replace")
            assert wh.scalar("select count(*) from lock_test.written") == 1
        if warehouse.warehouse == "postgres":
            with open_warehouse(warehouse) as wh:
                wh.execute("drop schema lock_test cascade")
    assert holder.wait(timeout=30) == 0
    assert said[0].startswith("waiting for the warehouse lock (held by a nightly stage (")
    assert said[-1].startswith("took the warehouse lock after")


def test_the_wait_times_out_naming_the_holder(warehouse, holder):
    with pytest.raises(WarehouseLockTimeout) as raised:
        with warehouse_lock(warehouse, "an hourly stage", timeout=1, on_wait=lambda _: None):
            pass
    message = str(raised.value)
    assert "still held by a nightly stage" in message
    assert "an hourly stage gives up (LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT=1)" in message
    # the holder keeps its lock: the timed-out waiter took nothing from it
    with pytest.raises(WarehouseLockTimeout):
        with warehouse_lock(warehouse, "another stage", timeout=0, on_wait=lambda _: None):
            pass


def test_a_killed_holder_leaves_no_lock_behind(warehouse, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    # the kernel drops the file lock with the process; PostgreSQL ends the session's lock
    # as soon as the server sees the connection gone
    with warehouse_lock(warehouse, "the next stage", timeout=10, on_wait=lambda _: None):
        pass


def test_a_hold_left_behind_by_this_process_is_taken_over(warehouse):
    said = []
    acquire(warehouse, "a stage that raised before releasing", on_wait=said.append)
    try:
        with warehouse_lock(warehouse, "the next stage", timeout=0, on_wait=said.append):
            pass
    finally:
        release(warehouse)
    assert said == [
        "the warehouse lock is held by this process already: the next stage takes it over"
    ]
    with warehouse_lock(warehouse, "then anyone", timeout=0, on_wait=pytest.fail):
        pass


def test_run_stage_holds_the_lock_and_logs_rows_and_seconds(warehouse, caplog, capsys):
    def sync() -> dict:
        # while the stage runs, another process cannot take the lock
        probe = subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, env=os.environ
        )
        assert probe.stdout.strip() == "held by crm_sync", probe.stderr
        return {"rows_considered": 1200, "sent": 37}

    with caplog.at_level(logging.INFO, logger="lead_scoring.nightly"):
        result = run_stage("crm_sync", sync)
    assert result["sent"] == 37
    stage = result["stage"]
    assert (stage["name"], stage["rows_in"], stage["rows_touched"]) == ("crm_sync", 1200, 37)
    assert stage["seconds"] >= 0 and stage["waited"] == 0
    # (once Airflow is imported, its logging prints the record instead)
    logged = caplog.text + capsys.readouterr().out
    assert "stage crm_sync: 1,200 rows in, 37 rows touched" in logged


PROBE = textwrap.dedent("""
    from lead_scoring.settings import get_settings
    from lead_scoring.warehouse_lock import WarehouseLockTimeout, warehouse_lock

    try:
        with warehouse_lock(get_settings(), "a probe", timeout=0, on_wait=lambda _: None):
            print("free")
    except WarehouseLockTimeout as exc:
        print("held by crm_sync" if "held by crm_sync" in str(exc) else exc)
""")


def test_the_postgres_holder_is_named_in_pg_stat_activity(monkeypatch, settings, pg_database):
    """The advisory lock's session carries the holder's name (what waiters are told)."""
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE", "postgres")
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_URL", pg_database)
    from lead_scoring.settings import get_settings

    with warehouse_lock(get_settings(), "lead_scoring_hourly run 1: extract", timeout=5):
        con = psycopg2.connect(PG_URL)
        with con.cursor() as cur:
            cur.execute(
                "select a.application_name from pg_locks as l"
                " join pg_stat_activity as a on a.pid = l.pid"
                " where l.locktype = 'advisory' and l.granted"
            )
            names = [row[0] for row in cur.fetchall()]
        con.close()
    assert "lead_scoring_hourly run 1: extract" in names


def test_a_lock_on_another_database_of_the_server_is_not_named_as_the_holder(
    monkeypatch, settings, pg_database
):
    """Advisory locks are per database: two warehouses on one server do not wait for, or
    name, each other's holders."""
    from lead_scoring.settings import get_settings
    from lead_scoring.warehouse_lock import _AdvisoryLock

    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE", "postgres")
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_URL", PG_ADMIN_URL)
    other = get_settings()
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_URL", pg_database)
    ours = get_settings()
    with warehouse_lock(other, "a stage on another warehouse", timeout=5):
        with warehouse_lock(ours, "this warehouse's stage", timeout=0):
            pass
        probe = _AdvisoryLock(ours)
        try:
            assert probe.holder() == "another session"  # nobody holds ours
        finally:
            probe.close()


def test_a_run_waits_while_another_run_holds_its_extract_to_build_turn(settings):
    import threading

    claim_warehouse(settings, "lead_scoring_nightly", "scheduled__1", is_over=pytest.fail)
    said = []
    release = threading.Timer(1.5, release_warehouse,
                              (settings, "lead_scoring_nightly", "scheduled__1"))  # fmt: skip
    release.start()
    try:
        claim_warehouse(settings, "lead_scoring_hourly", "scheduled__2",
                        is_over=lambda claim: False, timeout=30, on_wait=said.append)  # fmt: skip
    finally:
        release.join()
    assert said[0].startswith(
        "waiting for the warehouse: lead_scoring_nightly scheduled__1 (since "
    ) and said[0].endswith(") is between its extract and its dbt build")
    assert said[-1].startswith("claimed the warehouse after ")
    assert float(said[-1].split()[-2]) >= 1.5  # not before the other run gave it back
    release_warehouse(settings, "lead_scoring_nightly", "scheduled__1")  # not its claim now
    assert json.loads(claim_path(settings).read_text())["run_id"] == "scheduled__2"
    release_warehouse(settings, "lead_scoring_hourly", "scheduled__2")
    assert claim_path(settings).read_text() == ""


def test_a_claim_of_a_run_that_is_over_is_taken_at_once_and_a_live_one_times_out(settings):
    claim_warehouse(settings, "lead_scoring_nightly", "scheduled__1", is_over=pytest.fail)
    claim_warehouse(settings, "lead_scoring_nightly", "scheduled__1", is_over=pytest.fail)  # again
    seen = []
    with pytest.raises(
        WarehouseLockTimeout,
        match="still claimed by lead_scoring_nightly"
        " scheduled__1 .* if that run is not running, delete .*warehouse.claim",
    ):
        claim_warehouse(settings, "lead_scoring_hourly", "scheduled__2",
                        is_over=lambda claim: seen.append(claim) or False, timeout=0.5,
                        on_wait=lambda _: None)  # fmt: skip
    assert seen[0]["dag_id"] == "lead_scoring_nightly" and seen[0]["run_id"] == "scheduled__1"
    claim_warehouse(
        settings,
        "lead_scoring_hourly",
        "scheduled__2",
        is_over=lambda _: True,
        timeout=0,
        on_wait=pytest.fail,
    )  # the nightly run ended: its claim is over
    assert json.loads(claim_path(settings).read_text())["dag_id"] == "lead_scoring_hourly"


def test_the_timeout_comes_from_the_environment(monkeypatch):
    from lead_scoring.warehouse_lock import DEFAULT_TIMEOUT_S, lock_timeout

    monkeypatch.delenv("LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT", raising=False)
    assert lock_timeout() == DEFAULT_TIMEOUT_S == 6 * 3600
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT", "90")
    assert lock_timeout() == 90
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT", "an hour")
    with pytest.raises(ValueError, match="LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT='an hour'"):
        lock_timeout()
