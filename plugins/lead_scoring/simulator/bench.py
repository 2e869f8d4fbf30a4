"""Benchmark: the reference workload (1M leads, 200k accounts, 30M events) into a temp home."""

from __future__ import annotations

import logging
import os
import resource
import tempfile
import time
from pathlib import Path

from lead_scoring.settings import Settings
from lead_scoring.simulator.run import simulate


def bench_simulate(
    leads: int = 1_000_000, accounts: int = 200_000, events: int = 30_000_000
) -> dict[str, float]:
    """Time one full simulation (SQLite product database); prints ``simulate_1m_s=...``."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="simulate-bench-") as home:
        settings = Settings(home=Path(home), product_db_url=None)
        started, cpu = time.perf_counter(), _cpu_seconds()
        summary = simulate(settings, leads=leads, accounts=accounts, events=events)
        seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    result = {
        "simulate_1m_s": round(seconds, 1),
        "simulate_1m_cpu_s": round(cpu, 1),  # this process and the CRM loader, all cores
        "simulate_load_average": round(os.getloadavg()[0], 1),  # other jobs slow the wall time
        "simulate_events": summary.product_events + summary.marketing_events,
    }
    for name, value in result.items():
        print(f"{name}={value}")
    return result


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    bench_simulate()
