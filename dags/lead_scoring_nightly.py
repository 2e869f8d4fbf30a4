"""
### Nightly lead scoring

Extract -> quality gate -> dbt build (Cosmos) -> CRM sync and SLA alerts -> run report.

* **extract**: new and changed rows from the CRM (connection `lead_scoring_crm_source`),
  the product database and the marketing event exports land in the `raw` schema (dlt).
* **quality_gate**: Great Expectations suites quarantine bad rows with reasons; a bad
  batch fails this task, so nothing downstream runs and nothing reaches the CRM.
* **dbt**: every scoring model and its tests, as of the run's logical date.
* **crm_preflight / crm_sync**: changed scores only, to the CRM in connection
  `lead_scoring_crm` (HubSpot or Salesforce; not defined: back to the source CRM, updating
  the records read from it), through the `crm_api` pool.
* **sla_alerts**: follow-up SLA breaches not alerted before, one message per rep, through
  the notifier of connection `lead_scoring_alerts` (not defined: a JSON-lines file under
  the home); after the sync, whatever its outcome (one DuckDB writer at a time).
* **run_report**: counts and links for the run, per-rep load and breaches, written to the
  reports folder.

With `LEAD_SCORING_NIGHTLY_DEADLINE_HOURS` set (docker-compose: 6), a run that has not
finished that many hours after its scheduled time raises a Deadline Alert through the same
channel (run by the triggerer).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import (
    Asset,
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    dag,
    get_current_context,
    task,
)

from lead_scoring.airflow_runner import CRM_POOL
from lead_scoring.dbt_group import dbt_task_group

SCORES = Asset("lead_scoring://marts/lead_scores")
DEADLINE_HOURS = os.environ.get("LEAD_SCORING_NIGHTLY_DEADLINE_HOURS")


def _deadline() -> DeadlineAlert | None:
    """The run's Deadline Alert, when a deadline is set. Off by default: Airflow 3.3.2's
    `airflow dags test` (and so `make demo`) fails on a DAG that has one."""
    if not DEADLINE_HOURS:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=timedelta(hours=float(DEADLINE_HOURS)),
        callback=AsyncCallback("lead_scoring.alerts.DeadlineNotifier"),
    )


def _run_id() -> str:
    return get_current_context()["run_id"]


@dag(
    schedule=os.environ.get("LEAD_SCORING_SCHEDULE", "@daily"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    dagrun_timeout=timedelta(hours=6),
    tags=["lead_scoring", "nightly"],
    doc_md=__doc__,
    deadline=_deadline(),
)
def lead_scoring_nightly():
    @task
    def extract() -> dict:
        from lead_scoring.nightly import crm_source, extract_sources

        return extract_sources(crm_source())

    @task
    def quality_gate(logical_date=None) -> dict:
        from lead_scoring.nightly import run_gate

        return run_gate(_run_id(), logical_date)

    dbt = dbt_task_group("dbt", {"lead_scoring__as_of_date": "{{ ds }}"})

    @task(outlets=[SCORES])
    def crm_preflight() -> None:
        from lead_scoring.nightly import crm_target, preflight_crm

        preflight_crm(crm_target())

    @task(pool=CRM_POOL, retries=1)
    def crm_sync() -> dict:
        from lead_scoring.nightly import crm_target, sync_crm

        return sync_crm(crm_target(), _run_id())

    @task(trigger_rule="all_done")
    def sla_alerts(logical_date=None) -> dict:
        from lead_scoring.nightly import sla_alerts

        return sla_alerts(_run_id(), logical_date, get_current_context())

    @task
    def run_report(
        extracted: dict, gate: dict, synced: dict, alerted: dict, logical_date=None
    ) -> dict:
        from lead_scoring.nightly import report

        return report(_run_id(), logical_date, extracted, gate, synced, alerted)

    extracted = extract()
    gate = quality_gate()
    synced = crm_sync()
    alerted = sla_alerts()
    extracted >> gate >> dbt >> crm_preflight() >> synced >> alerted
    run_report(extracted, gate, synced, alerted)


lead_scoring_nightly()
