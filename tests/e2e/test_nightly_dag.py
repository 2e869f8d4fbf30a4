"""The real nightly DAG, run by Airflow (`airflow dags test`) on small generated data."""

import json
from datetime import UTC, datetime

import pytest

from lead_scoring import airflow_runner
from lead_scoring.warehouse import open_warehouse

pytestmark = pytest.mark.xdist_group("airflow")


def _run_nightly(settings, sandbox, tmp_path) -> tuple[int, str]:
    env = airflow_runner.airflow_env(
        settings,
        crm_source=airflow_runner.http_connection(
            sandbox.hubspot_url, sandbox.token, max_requests_per_second=15
        ),
        crm_target=airflow_runner.http_connection(
            sandbox.hubspot_url, sandbox.token, kind="hubspot"
        ),
        airflow_home=tmp_path / "airflow",
    )
    log_file = tmp_path / "airflow.log"
    airflow_runner.prepare_airflow(env, log_file)
    today = datetime.now(UTC).date().isoformat()
    code = airflow_runner.dags_test(env, "lead_scoring_nightly", today, log_file)
    return code, log_file.read_text()


def _crm_contacts(sandbox) -> list[dict]:
    from lead_scoring.crm_sandbox.store import CrmStore

    store = CrmStore(sandbox.store_path)
    rows = store.con.execute(
        "select properties from objects where object_type = 'contacts'"
    ).fetchall()
    store.close()
    return [json.loads(raw) for (raw,) in rows]


def _email(value) -> str:
    return str(value).strip().lower()


def test_nightly_dag_scores_leads_and_syncs_them_to_the_crm(sandbox, simulated, tmp_path):
    contacts_before = len(_crm_contacts(sandbox))
    code, log = _run_nightly(simulated, sandbox, tmp_path)
    assert code == 0, log[-5000:]
    with open_warehouse(simulated) as wh:
        scores = wh.query_df("select email, lead_score from marts.lead_scores")
    assert len(scores) > 300
    contacts = _crm_contacts(sandbox)
    assert len(contacts) == contacts_before, "the sync updates contacts, it creates none"
    in_crm = {
        _email(c["email"]): float(c["ls_lead_score"]) for c in contacts if "ls_lead_score" in c
    }
    expected = {
        _email(e): float(score)
        for e, score in zip(scores["email"], scores["lead_score"], strict=True)
    }
    assert in_crm == pytest.approx(expected)
    report = json.loads((simulated.reports_dir / "latest.json").read_text())
    assert report["leads_scored"] == len(scores)
    assert report["crm_sync"]["status"] == "success"
    assert (simulated.reports_dir / f"run_{report['as_of_date']}.html").exists()


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
