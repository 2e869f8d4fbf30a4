"""Every DAG imports cleanly, is tagged, retries and cannot overlap itself; the nightly
and hourly DAGs run the same stages; every task that opens the warehouse is in the
warehouse pool."""

import pytest

pytestmark = pytest.mark.xdist_group("dagbag")

SCORING_DAGS = ("lead_scoring_nightly", "lead_scoring_hourly")
WAREHOUSE_POOL = "lead_scoring_warehouse"
PRODUCER = "dbt.dbt_producer_watcher"

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
    assert {*SCORING_DAGS, "lead_scoring_calibration"} <= set(dagbag.dags)


def test_dags_are_tagged_retry_and_run_one_at_a_time(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.max_active_runs == 1, dag_id
        assert not dag.catchup, dag_id
        for task in dag.tasks:
            if task.task_id not in NOT_RETRIED:
                assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


@pytest.mark.parametrize("dag_id", SCORING_DAGS)
def test_stage_order(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
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
    assert dag.get_task("crm_preflight").upstream_task_ids <= {t.task_id for t in dbt_tasks}


@pytest.mark.parametrize("dag_id", SCORING_DAGS)
def test_sla_alerts_after_the_sync_whatever_its_outcome_and_before_the_report(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
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


def test_hourly_runs_the_nightly_stages_every_hour_as_of_its_interval_end(dagbag):
    nightly, hourly = (dagbag.dags[dag_id] for dag_id in SCORING_DAGS)
    assert {t.task_id for t in hourly.tasks} == {t.task_id for t in nightly.tasks}
    assert (nightly.schedule, hourly.schedule) == ("@daily", "@hourly")
    assert {"lead_scoring", "hourly"} <= set(hourly.tags)
    as_of = {dag.dag_id: dag.get_task(PRODUCER).vars["lead_scoring__as_of_date"]
             for dag in (nightly, hourly)}  # fmt: skip
    assert as_of == {"lead_scoring_nightly": "{{ ds }}",
                     "lead_scoring_hourly": "{{ data_interval_end | ds }}"}  # fmt: skip


@pytest.mark.parametrize("dag_id", [*SCORING_DAGS, "lead_scoring_calibration"])
def test_every_task_that_opens_the_warehouse_is_in_the_warehouse_pool(dagbag, dag_id):
    """All but the dbt node tasks, which only report the build's result, and the claim on
    the warehouse, which may wait for another run (in the pool it would hold the slot that
    run needs)."""
    from lead_scoring.nightly import dbt_build_finished, dbt_build_started

    dag = dagbag.dags[dag_id]
    for task in dag.tasks:
        claim = task.task_id in ("claim_warehouse", "release_warehouse")
        writes = not (task.task_id.startswith("dbt.") or claim) or task.task_id == PRODUCER
        assert (task.pool == WAREHOUSE_POOL) == writes, f"{dag_id}.{task.task_id}: {task.pool}"
    if dag_id in SCORING_DAGS:  # the build holds the warehouse lock too (dbt_group.py)
        producer = dag.get_task(PRODUCER)
        assert producer.interceptors == [dbt_build_started]
        assert producer.callback is dbt_build_finished


@pytest.mark.parametrize("dag_id", SCORING_DAGS)
def test_a_run_claims_the_warehouse_from_its_extract_to_the_end_of_its_dbt_build(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    claim, release = dag.get_task("claim_warehouse"), dag.get_task("release_warehouse")
    assert claim.is_setup and release.is_teardown
    assert dag.get_task("extract").upstream_task_ids == {"claim_warehouse"}
    dbt_leaves = {t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")
                  and not t.downstream_task_ids & {d.task_id for d in dag.tasks
                                                  if d.task_id.startswith("dbt.")}}  # fmt: skip
    assert release.upstream_task_ids == dbt_leaves | {"claim_warehouse"}
    # the CRM stages are not in the claim: another run may load while this one syncs
    assert "release_warehouse" not in dag.get_task("crm_preflight").upstream_task_ids
