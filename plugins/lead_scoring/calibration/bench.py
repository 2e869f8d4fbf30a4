"""Calibration measured on the simulator, end to end: simulate -> extract (CRM sandbox over
HTTP, product DB, exports) -> quality gate -> dbt -> calibrate. Prints name=value lines."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from lead_scoring.bench import run_dbt
from lead_scoring.settings import Settings, get_settings

log = logging.getLogger(__name__)
END_DATE = date(2026, 6, 1)


def build_simulated_warehouse(settings: Settings, leads: int, days: int = 180, seed: int = 7):
    """Simulate and run the nightly stages (without the CRM sync) as of the simulation end."""
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.quality import run_quality_gate
    from lead_scoring.simulator import simulate
    from lead_scoring.sources.extract import CrmSource, extract

    simulate(settings, leads=leads, accounts=max(leads // 5, 10), days=days, end_date=END_DATE,
             seed=seed)  # fmt: skip
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**6) as sb:
        extract(settings, CrmSource(sb.hubspot_url, sb.token, max_requests_per_second=500))
    as_of = datetime(END_DATE.year, END_DATE.month, END_DATE.day, tzinfo=UTC)
    run_quality_gate(settings, "bench", as_of)
    run_dbt(settings, END_DATE, "build", "--exclude-resource-type", "test")


def bench_calibration(leads: int = 200_000, home: Path | None = None) -> dict:
    from lead_scoring.calibration import CalibrationConfig, run_calibration

    with tempfile.TemporaryDirectory(prefix="calibration-bench-") as tmp:
        settings = replace(get_settings(), home=Path(home or tmp).resolve())
        started = time.monotonic()
        build_simulated_warehouse(settings, leads)
        pipeline_seconds = time.monotonic() - started
        started = time.monotonic()
        # capacity scaled to the simulated intake (a team sized for ~10% of new leads)
        config = CalibrationConfig(sdr_capacity_per_week=max(250.0, leads / 26 * 0.25))
        result = run_calibration(settings, config)
        seconds = time.monotonic() - started
    s = result.summary
    figures = {
        "calib_points_auc": round(s["auc_proposed"], 4),
        "calib_challenger_auc": round(s["auc_challenger"], 4),
        "calib_current_rules_auc": round(s["auc_current"], 4),
        "calib_sdr_ready_close_rate": round(s["proposed_at_threshold"]["close_rate"], 4),
        "calib_threshold": s["proposed_threshold"],
        "calib_threshold_status": s["threshold_status"],
        "calib_decided_leads": s["decided_leads"],
        "calib_factors": s["factors_kept"],
        "calib_seconds": round(seconds, 1),
        "calib_pipeline_seconds": round(pipeline_seconds, 1),
    }
    for name, value in figures.items():
        print(f"{name}={value}")
    return figures


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO)
    bench_calibration(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
