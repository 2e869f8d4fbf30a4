"""
### Nightly lead scoring

Extract -> quality gate -> dbt build (Cosmos) -> CRM sync and SLA alerts -> run report,
for every lead, as of the run's logical date (decay refreshed for everyone). The hourly
DAG `lead_scoring_hourly` runs the same stages on what arrived since.

* **extract**: new and changed rows from the CRM (connection `lead_scoring_crm_source`),
  the product database and the marketing event exports land in the `raw` schema (dlt).
* **quality_gate**: Great Expectations suites quarantine bad rows with reasons; a bad
  batch fails this task, so nothing downstream runs and nothing reaches the CRM.
* **dbt**: every scoring model and its tests, as of the run's logical date.
* **crm_preflight / crm_sync**: changed scores only, to the CRM in connection
  `lead_scoring_crm` (HubSpot or Salesforce; not defined: back to the source CRM, updating
  the records read from it).
* **sla_alerts**: follow-up SLA breaches not alerted before, one message per rep, through
  the notifier of connection `lead_scoring_alerts` (not defined: a JSON-lines file under
  the home); after the sync, whatever its outcome.
* **run_report**: the run's kind, what each stage touched, counts and links, per-rep load
  and breaches, written to the reports folder.

One writer at a time: every task that opens the warehouse runs in the pool
`lead_scoring_warehouse` (one slot, shared with the hourly and calibration DAGs) and holds
the warehouse lock, and `claim_warehouse` / `release_warehouse` keep other runs from
loading rows between extract and the end of the dbt build: an overlapping run waits.

With `LEAD_SCORING_NIGHTLY_DEADLINE_HOURS` set (docker-compose: 6), a run that has not
finished that many hours after its scheduled time raises a Deadline Alert through the same
channel (run by the triggerer).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference, dag

from lead_scoring.nightly import scoring_run

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
    scoring_run("nightly")


lead_scoring_nightly()
