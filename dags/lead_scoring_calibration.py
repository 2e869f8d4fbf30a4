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
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task


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
    @task
    def calibrate() -> dict:
        from lead_scoring.calibration.run import calibrate_from_env

        return calibrate_from_env()

    calibrate()


lead_scoring_calibration()
