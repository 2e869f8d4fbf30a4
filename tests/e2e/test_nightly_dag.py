"""The real nightly DAG, run by Airflow (`airflow dags test`) on small generated data."""

import json
import secrets
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from lead_scoring import airflow_runner
from lead_scoring.warehouse import open_warehouse


def airflow_test_env(settings, sandbox, tmp_path) -> dict[str, str]:
    """A DAG run's environment: the sandbox as source and target, Airflow under tmp_path."""
    return airflow_runner.airflow_env(
        settings,
        crm_source=airflow_runner.http_connection(
            sandbox.hubspot_url, sandbox.token, max_requests_per_second=15
        ),
        crm_target=airflow_runner.http_connection(
            sandbox.hubspot_url, sandbox.token, kind="hubspot"
        ),
        airflow_home=tmp_path / "airflow",
    )


def _run_nightly(settings, sandbox, tmp_path, day: date | None = None) -> tuple[int, str]:
    env = airflow_test_env(settings, sandbox, tmp_path)
    log_file = tmp_path / f"airflow_{len(list(tmp_path.glob('airflow_*.log')))}.log"
    if not (tmp_path / "airflow" / "airflow.db").exists():
        # Once per Airflow home: a rerun finds the database migrated, the pool set and the
        # manifest parsed (three CLI processes, 10-15 s, saved on each later run).
        airflow_runner.prepare_airflow(env, log_file)
    day = day or datetime.now(UTC).date()
    code = airflow_runner.dags_test(env, "lead_scoring_nightly", day.isoformat(), log_file)
    return code, log_file.read_text()


def _crm_records(sandbox, object_type: str) -> dict[str, dict]:
    from lead_scoring.crm_sandbox.store import CrmStore

    store = CrmStore(sandbox.store_path)
    rows = store.con.execute(
        "select id, properties from objects where object_type = ?", [object_type]
    ).fetchall()
    store.close()
    return {record_id: json.loads(raw) for record_id, raw in rows}


def _crm_contacts(sandbox) -> list[dict]:
    return list(_crm_records(sandbox, "contacts").values())


def _email(value) -> str:
    return str(value).strip().lower()


# Marts rows of one as-of date; scored_at is the wall-clock start of the dbt run.
MARTS = {
    "lead_scores": "lead_id", "account_scores": "account_id",
    "lead_score_contributions": "lead_id", "lead_score_history": "lead_id",
}  # fmt: skip


def _marts_of(settings, day: date) -> dict[str, pd.DataFrame]:
    frames = {}
    with open_warehouse(settings, read_only=True) as wh:
        for table, key in MARTS.items():
            df = wh.query_df(
                f"select * from marts.{table} where cast(as_of_date as date) = ?", [day]
            )
            df = df.drop(columns=[c for c in ("scored_at",) if c in df])
            frames[table] = df.sort_values(list(df.columns)).reset_index(drop=True)
            assert key in df and len(df), f"marts.{table} has no rows for {day}"
    return frames


def _gate_status(settings) -> str:
    with open_warehouse(settings, read_only=True) as wh:
        return wh.scalar("select status from quality.runs order by started_at desc limit 1")


@pytest.fixture
def secret_sandbox(simulated):
    """The CRM sandbox with a token of its own, to look for in logs and tables."""
    from lead_scoring.crm_sandbox import start_sandbox

    with start_sandbox(
        simulated.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10_000,
        token="tok-" + secrets.token_hex(16),
    ) as handle:  # fmt: skip
        yield handle


def _places_holding(secret: str, settings, folder) -> list[str]:
    """Log files under ``folder`` and warehouse tables whose text contains ``secret``."""
    places = [
        str(path)
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix in (".log", ".txt", ".json", ".html")
        and secret in path.read_text(errors="ignore")
    ]
    with open_warehouse(settings, read_only=True) as wh:
        tables = wh.query_df(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE'"
        )
        for schema, table in tables.itertuples(index=False):
            hits = wh.scalar(
                f'select count(*) from "{schema}"."{table}" as t'
                " where contains(cast(t as varchar), ?)",
                [secret],
            )
            places += [f"{schema}.{table}"] * bool(hits)
    return places


def test_nightly_dag_reruns_converge_and_never_duplicate_crm_records(
    secret_sandbox, simulated, tmp_path
):
    """Day D, D again, D+1, then D again: the CRM holds the same records (updated, never
    re-created), every rerun of D gives the same marts, and the gate passes each time; the
    CRM token is in no log, report or warehouse table."""
    sandbox = secret_sandbox
    day = datetime.now(UTC).date()
    before = {kind: _crm_records(sandbox, kind) for kind in ("contacts", "companies", "deals")}
    assert all(before.values())
    marts_of_d = None
    for step, run_day in enumerate((day, day, day + timedelta(days=1), day)):
        code, log = _run_nightly(simulated, sandbox, tmp_path, run_day)
        assert code == 0, f"run {step} ({run_day}): " + log[-5000:]
        assert _gate_status(simulated) == "passed", f"run {step}: the gate did not pass"
        after = {kind: _crm_records(sandbox, kind) for kind in before}
        for kind, records in after.items():
            assert records.keys() == before[kind].keys(), f"run {step}: {kind} created/removed"
        assert all(c.get("name") for c in after["companies"].values()), "nameless company"
        assert sum("ls_account_score" in c for c in after["companies"].values()) > 0
        if run_day == day:
            marts = _marts_of(simulated, day)
            if marts_of_d is None:
                marts_of_d = marts
            for table, frame in marts.items():
                pd.testing.assert_frame_equal(frame, marts_of_d[table], obj=f"marts.{table}")

    with open_warehouse(simulated, read_only=True) as wh:
        scores = wh.query_df("select lead_id, email, lead_score from marts.lead_scores")
        accounts = wh.query_df("select account_id, account_score from marts.account_scores")
    assert len(scores) > 300
    contacts = _crm_records(sandbox, "contacts")
    for lead_id, score in zip(scores["lead_id"], scores["lead_score"], strict=True):
        assert float(contacts[lead_id]["ls_lead_score"]) == pytest.approx(score)
    companies = _crm_records(sandbox, "companies")
    for account_id, score in zip(accounts["account_id"], accounts["account_score"], strict=True):
        assert float(companies[account_id]["ls_account_score"]) == pytest.approx(score)
    report = json.loads((simulated.reports_dir / "latest.json").read_text())
    assert report["leads_scored"] == len(scores)
    assert report["crm_sync"]["status"] == "success"
    assert (simulated.reports_dir / f"run_{report['as_of_date']}.html").exists()
    assert _places_holding(sandbox.token, simulated, tmp_path) == []


@pytest.fixture
def bad_batch(settings):
    """A funnel where a quarter of the leads carry placeholder names: over the gate's limit."""
    from lead_scoring.simulator import simulate

    simulate(
        settings,
        leads=400,
        accounts=80,
        events=8_000,
        days=60,
        seed=11,
        error_rates={"placeholder_name": 0.25},
    )
    return settings


def test_a_bad_batch_stops_the_run_before_anything_reaches_the_crm(bad_batch, tmp_path):
    from lead_scoring.crm_sandbox import start_sandbox

    with start_sandbox(
        bad_batch.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10_000
    ) as sandbox:
        code, log = _run_nightly(bad_batch, sandbox, tmp_path)
        contacts = _crm_contacts(sandbox)
        writes = [
            endpoint
            for endpoint in sandbox.stats()["requests"]
            if endpoint.split()[1] in ("POST", "PATCH", "PUT", "DELETE")
            and not endpoint.endswith("/search")
        ]
    assert code != 0
    assert "quality gate failed" in log and "quarantine" in log
    assert not any("ls_lead_score" in c for c in contacts)
    assert writes == []
    with open_warehouse(bad_batch) as wh:
        assert not wh.table_exists("marts", "lead_scores")
        quarantined = wh.scalar(
            "select count(*) from quality.quarantine where rule = 'placeholder_name'"
        )
    assert quarantined >= 80
