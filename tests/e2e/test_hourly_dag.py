"""The hourly DAG, run by Airflow (`airflow dags test`) after the nightly one on small
generated data: a trial signup that arrives after the nightly run reaches the lead's CRM
record with the next hourly run, and that run, started while another process writes the
warehouse, waits for it instead of failing."""

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_nightly_dag import _crm_records, airflow_test_env

from lead_scoring import airflow_runner
from lead_scoring.warehouse import open_warehouse

# Another writer: holds the warehouse lock and the DuckDB file until its stdin closes.
WRITER = textwrap.dedent("""
    import sys
    import duckdb
    from lead_scoring.settings import get_settings
    from lead_scoring.warehouse_lock import warehouse_lock

    settings = get_settings()
    with warehouse_lock(settings, "another writer"):
        con = duckdb.connect(str(settings.warehouse_path))
        print("holding", flush=True)
        sys.stdin.read()
        con.close()
""")
# A product user who is a scored lead (one of each for the e-mail) without a trial signup.
NO_TRIAL_YET = """
select scores.lead_id, min(users.user_id) as user_id, max(scores.lead_score) as lead_score
from marts.lead_scores as scores
join raw.product_users as users on lower(trim(users.email)) = lower(trim(scores.email))
where not exists (
    select 1 from raw.product_events as events
    where events.user_id = users.user_id and events.event_type = 'trial_signup'
)
group by scores.lead_id
having count(*) = 1
order by scores.lead_id
limit 1
"""


def _sign_up_for_a_trial(settings, user_id: int, at: datetime) -> None:
    """A new product event in the product database (SQLite), as the app writes it."""
    with sqlite3.connect(settings.sources_dir / "product.db") as con:
        (last,) = con.execute("select max(event_id) from app_events").fetchone()
        con.execute(
            "insert into app_events (event_id, user_id, event_type, occurred_at)"
            " values (?, ?, 'trial_signup', ?)",
            (last + 1, user_id, at.replace(tzinfo=None).isoformat(sep=" ")),
        )


def test_hourly_run_waits_for_another_writer_and_takes_a_new_signup_to_the_crm(
    sandbox, simulated, tmp_path
):
    env = airflow_test_env(simulated, sandbox, tmp_path)
    nightly_log, hourly_log = tmp_path / "nightly.log", tmp_path / "hourly.log"
    airflow_runner.prepare_airflow(env, nightly_log)
    today = datetime.now(UTC).date()
    pools = subprocess.run(
        [Path(sys.executable).with_name("airflow"), "pools", "get", "lead_scoring_warehouse",
         "-o", "json"], env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(pools.stdout)[0]["slots"] == "1"
    code = airflow_runner.dags_test(env, "lead_scoring_nightly", today.isoformat(), nightly_log)
    assert code == 0, nightly_log.read_text()[-5000:]
    first = json.loads((simulated.reports_dir / "latest.json").read_text())
    assert first["run_kind"] == "full"  # the first run checks and builds everything
    assert first["full_because"] == [
        "the quality gate checked every raw table (no earlier passed run)",
        "dbt built every model from scratch",
    ]
    with open_warehouse(simulated) as wh:
        lead_id, user_id, score_before = wh.query_df(NO_TRIAL_YET).iloc[0]
    assert float(_crm_records(sandbox, "contacts")[lead_id]["ls_lead_score"]) == pytest.approx(
        score_before
    )

    # 10:05 a trial signup, 11:00 the hourly run, while another process writes the warehouse
    run_at = datetime.now(UTC).replace(microsecond=0)
    _sign_up_for_a_trial(simulated, int(user_id), run_at - timedelta(minutes=55))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "holding"
    waiting = threading.Event()

    def watch(line: str) -> None:
        if "waiting for the warehouse lock (held by another writer" in line:
            waiting.set()

    result = {}
    run = threading.Thread(
        target=lambda: result.update(code=airflow_runner.dags_test(
            env, "lead_scoring_hourly", run_at.isoformat(), hourly_log, on_line=watch))
    )  # fmt: skip
    run.start()
    try:
        assert waiting.wait(timeout=600), "the hourly run never waited for the warehouse"
        time.sleep(3)  # the other writer keeps writing a while
        assert run.is_alive(), "the hourly run ended while the other writer held the warehouse"
    finally:
        writer.stdin.close()  # the other writer finishes
        assert writer.wait(timeout=60) == 0
        run.join(timeout=900)
    log = hourly_log.read_text()
    assert result.get("code") == 0, log[-5000:]
    assert "took the warehouse lock after" in log
    assert "Could not set lock on file" not in log

    # the right values: the signup scored, every lead's CRM record equal to its score
    with open_warehouse(simulated) as wh:
        scores = wh.query_df("select lead_id, lead_score from marts.lead_scores")
        history = wh.query_df(
            "select lead_id, as_of_date, count(*) as n from marts.lead_score_history"
            " group by lead_id, as_of_date having count(*) > 1"
        )
        gate = wh.scalar("select status from quality.runs order by started_at desc limit 1")
    assert gate == "passed" and history.empty
    score_after = scores.set_index("lead_id")["lead_score"][lead_id]
    assert score_after > score_before
    contacts = _crm_records(sandbox, "contacts")
    for lead, score in zip(scores["lead_id"], scores["lead_score"], strict=True):
        assert float(contacts[lead]["ls_lead_score"]) == pytest.approx(score), lead
    report = json.loads((simulated.reports_dir / "latest.json").read_text())
    assert report["run_kind"] == "hourly" and report["as_of_date"] == today.isoformat()
    stages = {stage["stage"]: stage for stage in report["stages"]}
    assert list(stages) == ["extract", "quality_gate", "dbt", "crm_sync", "sla_alerts"]
    assert stages["extract"]["waited"] >= 3  # the first stage waited for the other writer
    assert 1 <= stages["crm_sync"]["rows_touched"] < len(scores) / 10  # material changes only
    # as of the nightly run's date: only the leads the hour changed were recomputed
    assert 1 <= report["leads_rescored"] < len(scores) / 10
    assert (simulated.reports_dir / f"run_{today}_{run_at:%H%M}.html").exists()
