"""
### Hourly lead scoring (micro-batches)

The nightly DAG's stages on what arrived since the last run, every hour: extract (the
new and changed source rows) -> quality gate (those rows) -> dbt build (the new events
into the incremental models; scores as of the day the run's data interval ends) -> CRM
sync (material changes only) -> SLA alerts -> run report. A trial signup at 10:05 is in
the 11:00 run and in the CRM a few minutes later; the nightly run keeps refreshing decay
for every lead.

Schedule: `LEAD_SCORING_HOURLY_SCHEDULE` (default `@hourly`). One writer at a time: every
task that opens the warehouse runs in the pool `lead_scoring_warehouse` (one slot, shared
with the nightly and calibration DAGs) and holds the warehouse lock, and
`claim_warehouse` / `release_warehouse` keep other runs from loading rows between extract
and the end of the dbt build: a run that overlaps the nightly one waits for it instead of
failing. docs/airflow.md ("Nightly and hourly runs") tells how the two interleave.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag

from lead_scoring.nightly import scoring_run


@dag(
    schedule=os.environ.get("LEAD_SCORING_HOURLY_SCHEDULE", "@hourly"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    # it may wait for a nightly run (6 h at most) before its own few minutes
    dagrun_timeout=timedelta(hours=6),
    tags=["lead_scoring", "hourly"],
    doc_md=__doc__,
)
def lead_scoring_hourly():
    scoring_run("hourly")


lead_scoring_hourly()
