"""
### Weekly lead-scoring calibration (closed loop)

Reads the won/lost outcomes and the point-in-time signals of the last nightly dbt build,
measures each signal's lift in close probability, proposes points and an SDR-ready
threshold, backtests current vs proposed rules vs a logistic-regression challenger on a
time split, and writes a proposal with an HTML report to
`<home>/calibration/proposals/<timestamp>/`.

Nothing is applied: a person reviews the report and runs
`lead-scoring calibration-apply <proposal>`. Configuration: `LEAD_SCORING_CALIBRATION_*`
environment variables (see docs/calibration.md); `LEAD_SCORING_CALIBRATION_MODE=challenger`
also writes `calibration.challenger_scores`.

It opens the warehouse, so it runs in the pool `lead_scoring_warehouse` and holds the
warehouse lock, like the scoring runs' tasks: never at the same time as one of them.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from lead_scoring.airflow_runner import WAREHOUSE_POOL


@dag(
    schedule=os.environ.get("LEAD_SCORING_CALIBRATION_SCHEDULE", "@weekly"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10)},
    dagrun_timeout=timedelta(hours=3),
    tags=["lead_scoring", "calibration"],
    doc_md=__doc__,
)
def lead_scoring_calibration():
    @task(pool=WAREHOUSE_POOL)
    def calibrate() -> dict:
        from lead_scoring.calibration.run import calibrate_from_env
        from lead_scoring.nightly import run_stage

        return run_stage("calibrate", calibrate_from_env)

    calibrate()


lead_scoring_calibration()
