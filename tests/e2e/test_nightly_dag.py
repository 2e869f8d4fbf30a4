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
        crm_source=airflow_runner.http_connection(sandbox.hubspot_url, sandbox.token),
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


def _scored_contacts(sandbox) -> list[dict]:
    from lead_scoring.crm_sandbox.store import CrmStore

    store = CrmStore(sandbox.store_path)
    rows = store.con.execute(
        "select properties from objects where object_type = 'contacts'"
    ).fetchall()
    return [p for (raw,) in rows if "ls_lead_score" in (p := json.loads(raw))]


def test_nightly_dag_scores_leads_and_syncs_them_to_the_crm(sandbox, simulated, tmp_path):
    code, log = _run_nightly(simulated, sandbox, tmp_path)
    assert code == 0, log[-5000:]
    with open_warehouse(simulated) as wh:
        scored = wh.scalar("select count(*) from marts.lead_scores")
        ids = set(wh.query_df("select lead_id from marts.lead_scores")["lead_id"].astype(str))
        synced_rows = wh.scalar("select count(*) from sync.crm_state")
    assert scored > 300
    contacts = _scored_contacts(sandbox)
    assert {c["hs_object_id"] for c in contacts} == ids
    assert synced_rows >= scored
    report = json.loads((simulated.reports_dir / "latest.json").read_text())
    assert report["leads_scored"] == scored
    assert report["crm_sync"]["status"] == "success"
    assert (simulated.reports_dir / f"run_{report['as_of_date']}.html").exists()
