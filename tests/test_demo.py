"""`lead-scoring demo`: a HubSpot or a Salesforce shop; when the nightly DAG fails, the
failed task, its error, its own log.

In the failure test the simulator, the CRM sandbox and Airflow are replaced: `airflow dags
test` "writes" a run whose extract task fails on a missing connection. The last test runs
the real demo as a Salesforce shop on a small funnel.
"""

import json
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

ERROR = (
    "airflow.sdk.exceptions.AirflowFailException: Airflow connection 'lead_scoring_crm_source'"
    " is not defined: create it (see README, 'Connections') or set"
    " AIRFLOW_CONN_LEAD_SCORING_CRM_SOURCE"
)
CAUSE = (
    "airflow.sdk.exceptions.AirflowNotFoundException: The conn_id `lead_scoring_crm_source`"
    " isn't defined"
)
FAILED_RUN = [
    "2026-12-06T14:34:01.1Z [info     ] [DAG TEST] starting task_id=extract map_index=-1 [dag]",
    "2026-12-06T14:34:01.2Z [error    ] Task failed with exception     [task]",
    "Traceback (most recent call last):",
    '  File "/opt/airflow/site-packages/airflow/sdk/definitions/connection.py", line 9, in get',
    '    raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn\'t defined")',
    CAUSE,
    "",
    "The above exception was the direct cause of the following exception:",
    "",
    "Traceback (most recent call last):",
    '  File "/opt/airflow/plugins/lead_scoring/nightly.py", line 26, in _connection',
    "    raise AirflowFailException(",
    ERROR,
    "2026-12-06T14:34:01.3Z [info     ] Task instance state updated new_state=failed [api]",
    "2026-12-06T14:34:01.4Z [info     ] [DAG TEST] end task task_id=extract map_index=-1 [dag]",
    "2026-12-06T14:34:02.1Z [info     ] Marking run <DagRun lead_scoring_nightly> failed [dag]",
    "DagRun failed",
]


@contextmanager
def _no_sandbox(store, **kwargs):
    yield SimpleNamespace(
        hubspot_url="http://127.0.0.1:9", salesforce_url="https://127.0.0.1:8",
        ca_path="/tls/ca.pem", token="sandbox-token",
    )  # fmt: skip


SCORE_FIELDS = {"Lead_Score__c", "Account_Score__c"}


def _failed_dags_test(env, dag_id, logical_date, log_file, on_line=None) -> int:
    with log_file.open("a") as log:
        log.write("\n".join(FAILED_RUN) + "\n")
    return 1


def _demo_app() -> typer.Typer:
    from lead_scoring.demo import demo

    app = typer.Typer()
    app.command()(demo)
    return app


@pytest.fixture
def no_demo_parts(monkeypatch) -> dict:
    """No simulator, sandbox or Airflow; keeps what the demo asked of them last."""
    import lead_scoring.crm_sandbox
    import lead_scoring.simulator
    from lead_scoring import airflow_runner

    asked: dict = {}
    monkeypatch.setattr(lead_scoring.simulator, "simulate", lambda *a, **kw: asked.update(sim=kw))
    monkeypatch.setattr(lead_scoring.crm_sandbox, "start_sandbox", _no_sandbox)
    monkeypatch.setattr(
        airflow_runner, "prepare_airflow", lambda env, log_file: asked.update(env=env)
    )
    monkeypatch.setattr(airflow_runner, "dags_test", _failed_dags_test)
    return asked


def test_a_salesforce_shop_demo_reads_from_and_writes_to_the_sandboxs_salesforce(
    settings, no_demo_parts
):
    run = CliRunner().invoke(_demo_app(), ["--crm", "salesforce"])

    assert run.exit_code == 1  # the DAG "failed": the connections were made all the same
    assert no_demo_parts["sim"]["crm"] == "salesforce"
    env = no_demo_parts["env"]
    source = json.loads(env["AIRFLOW_CONN_LEAD_SCORING_CRM_SOURCE"])
    target = json.loads(env["AIRFLOW_CONN_LEAD_SCORING_CRM"])
    for conn in (source, target):
        assert (conn["conn_type"], conn["schema"], conn["port"]) == ("salesforce", "https", 8)
        assert conn["extra"]["ca_bundle"] == "/tls/ca.pem"
    assert target["extra"]["name"] == "salesforce:crm-sandbox"
    assert env["LEAD_SCORING_CRM_UNASSIGNED_OWNERS"] == "005000000000001AAA"  # integration user
    assert "CRM sandbox (salesforce) at https://127.0.0.1:8" in run.output

    assert CliRunner().invoke(_demo_app(), ["--crm", "pipedrive"]).exit_code == 2


def test_a_failed_demo_names_the_failed_task_its_error_and_a_log_file_per_run(
    settings, no_demo_parts
):
    runs = [CliRunner().invoke(_demo_app(), []) for _ in range(2)]

    logs = sorted((settings.home / "logs").glob("demo_*.log"))
    assert len(logs) == 2, "each run writes a log of its own"
    for run in runs:
        assert run.exit_code == 1
        assert "task extract failed (1 attempt; log line 2):" in run.output
        assert ERROR in run.output
        assert f"caused by {CAUSE}" in run.output
        assert "Traceback" not in run.output and "state updated" not in run.output
    named = {run.output.split("full log of this run: ")[1].split()[0] for run in runs}
    assert named == {str(log) for log in logs}
    assert all(log.read_text().count("[DAG TEST] starting") == 1 for log in logs)


def test_the_demo_runs_the_nightly_dag_end_to_end_as_a_salesforce_shop(settings):
    """The real demo on a small funnel: the scores go back to the sandbox's Salesforce
    records, a converted person's onto their Contact, and no record is created."""
    from lead_scoring.crm_sandbox.store import CrmStore

    run = CliRunner().invoke(
        _demo_app(), ["--crm", "salesforce", "--leads", "300", "--accounts", "60"]
    )

    assert run.exit_code == 0, run.output
    assert "(status success)" in run.output
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    try:
        stored = {obj: store.select(f"sf:{obj}") for obj in ("Lead", "Contact", "Account")}
    finally:
        store.close()
    scored = {
        obj: [r.properties for r in records if SCORE_FIELDS & r.properties.keys()]
        for obj, records in stored.items()
    }
    assert all(scored.values()), "scores missing on Leads, Contacts or Accounts"
    assert not any(lead.get("IsConverted") for lead in scored["Lead"])
    # the simulated org, no record more: every Contact is a converted Lead's
    assert (len(stored["Lead"]), len(stored["Account"])) == (300, 60)
    converted = {r.properties.get("ConvertedContactId") for r in stored["Lead"]} - {None}
    assert {r.id for r in stored["Contact"]} == converted
    report = json.loads((settings.reports_dir / "latest.json").read_text())
    assert report["crm_sync"]["inserted"] == 0
    assert report["crm_sync"]["sent"] == sum(len(records) for records in scored.values())
