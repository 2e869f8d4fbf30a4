"""Every DAG imports cleanly, is tagged, retries and cannot overlap itself."""

import pytest

pytestmark = pytest.mark.xdist_group("airflow")

# The one `dbt build` is not retried: a failed build fails the run (see dbt_group.py).
NOT_RETRIED = {"dbt.dbt_producer_watcher"}


@pytest.fixture(scope="module")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    from lead_scoring.settings import PROJECT_ROOT

    # Without a manifest (a clean clone) Cosmos renders the dbt group from a cold `dbt ls`,
    # which can pass Airflow's 30 s import timeout on a loaded 2-core machine; deployments
    # run `dbt parse` first (docs/airflow.md). This test is about imports, not parse time.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "180")
        return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "lead_scoring_nightly" in dagbag.dags


def test_dags_are_tagged_retry_and_run_one_at_a_time(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert not dag.catchup, dag_id
        for task in dag.tasks:
            if task.task_id not in NOT_RETRIED:
                assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_nightly_stage_order(dagbag):
    dag = dagbag.dags["lead_scoring_nightly"]
    gate = dag.get_task("quality_gate")
    assert gate.upstream_task_ids == {"extract"}
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert dbt_tasks, "the dbt models render as Cosmos tasks"
    first_dbt = {
        t.task_id for t in dbt_tasks if not (t.upstream_task_ids & {d.task_id for d in dbt_tasks})
    }
    for task_id in first_dbt:
        assert "quality_gate" in dag.get_task(task_id).upstream_task_ids
    sync = dag.get_task("crm_sync")
    assert sync.upstream_task_ids == {"crm_preflight"}
    assert sync.pool == "crm_api"
    assert dag.get_task("crm_preflight").upstream_task_ids <= {t.task_id for t in dbt_tasks}


def test_sla_alerts_after_the_sync_whatever_its_outcome_and_before_the_report(dagbag):
    dag = dagbag.dags["lead_scoring_nightly"]
    alerts = dag.get_task("sla_alerts")
    # one DuckDB writer at a time: the alerts read the marts once the sync let go of them
    assert alerts.upstream_task_ids == {"crm_sync"}
    assert alerts.trigger_rule == "all_done"  # a CRM outage does not hold back the alerts
    assert {"sla_alerts", "crm_sync"} <= dag.get_task("run_report").upstream_task_ids


def test_nightly_deadline_alert_only_when_set(dagbag, monkeypatch):
    import importlib
    import sys

    from airflow.sdk import DeadlineReference

    from lead_scoring.settings import PROJECT_ROOT

    assert not dagbag.dags["lead_scoring_nightly"].deadline
    monkeypatch.setenv("LEAD_SCORING_NIGHTLY_DEADLINE_HOURS", "6")
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "dags"))
    sys.modules.pop("lead_scoring_nightly", None)
    module = importlib.import_module("lead_scoring_nightly")
    (deadline,) = module.lead_scoring_nightly().deadline
    assert deadline.reference == DeadlineReference.DAGRUN_LOGICAL_DATE
    assert deadline.interval.total_seconds() == 6 * 3600
    assert deadline.callback.path == "lead_scoring.alerts.DeadlineNotifier"
