"""``bench_sync``: sync n changed leads to a rate-limited CRM sandbox, then sync again.

Prints ``sync_records_per_s=``, ``sync_vs_ceiling_ratio=`` (against the CRM's ceiling of
rate/10 requests/s x 100 records per batch: 1,900 records/s at 190 per 10 s) and, after a
rerun of unchanged marts, ``sync_resend_rows=`` (must be 0). Also the sample marts the
tests build on (columns of docs/data-contracts.md section 4).

``bench_salesforce``: a Salesforce shop's round trip (``salesforce_round_trip_records_created=``,
must be 0) and the Salesforce extract beside the HubSpot one of the same size
(``salesforce_extract_s=``, ``hubspot_extract_s=``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from lead_scoring.settings import Settings

log = logging.getLogger(__name__)

STAGES = np.array(["iql", "mql", "sql", "customer"])
QUADRANTS = np.array(["yes", "maybe", "no"])
TRACKS = np.array(["sdr_follow_up", "product_engagement", "education", "drip"])
AS_OF = date(2026, 11, 1)
SCORED_AT = datetime(2026, 11, 1, 2, 30, tzinfo=UTC).replace(tzinfo=None)


def sample_leads(n: int, accounts: int = 0, seed: int = 7, prefix: str = "") -> pd.DataFrame:
    """``n`` scored leads shaped like ``marts.lead_scores`` (ids ``<prefix>1..n``)."""
    rng = np.random.default_rng(seed)
    accounts = accounts or max(1, n // 5)
    ids = [f"{prefix}{i}" for i in range(1, n + 1)]
    fit = rng.integers(0, 60, n).astype(float)
    pain = np.round(rng.uniform(0, 60, n), 2)
    score = fit + pain
    ready = score >= 70
    fit_grade = np.select([fit >= 45, fit >= 30, fit >= 15], ["A", "B", "C"], "D")
    activity = np.select([pain >= 45, pain >= 30, pain >= 15], [4, 3, 2], 1)
    ready_at = pd.Series(
        [SCORED_AT - timedelta(days=int(d), hours=int(h)) if r else None
         for r, d, h in zip(ready, rng.integers(0, 30, n), rng.integers(0, 24, n), strict=True)],
        dtype="datetime64[us]",
    )  # fmt: skip
    return pd.DataFrame(
        {
            "lead_id": ids,
            "email": [f"{p}@example{k % 97}.com" for k, p in enumerate(ids)],
            "account_id": [f"{prefix}a{(k % accounts) + 1}" for k in range(n)],
            "fit_score": fit,
            "pain_score": pain,
            "lead_score": score,
            "score_gain_7d": np.round(rng.uniform(0, 10, n), 2),
            "score_gain_30d": np.round(rng.uniform(0, 30, n), 2),
            "is_sdr_ready": ready,
            "sdr_ready_at": ready_at,
            "is_sdr_ready_on_profile": ready & (fit >= 50),
            "days_to_sdr_ready": np.where(ready, rng.integers(0, 60, n), -1),
            "is_cold": rng.uniform(0, 1, n) < 0.2,
            "fit_grade": fit_grade,
            "activity_grade": activity,
            "grade": [f"{g}{a}" for g, a in zip(fit_grade, activity, strict=True)],
            "quadrant": QUADRANTS[rng.integers(0, 3, n)],
            "nurture_track": TRACKS[rng.integers(0, 4, n)],
            "lifecycle_stage": STAGES[rng.integers(0, 3, n)],
            "score_reasons": ["pricing page visits (+12); trial signup (+25); VP title (+15)"] * n,
            "model_version": "v1.0.0",
            "as_of_date": AS_OF,
            "scored_at": SCORED_AT,
        }
    )


def sample_accounts(leads: pd.DataFrame) -> pd.DataFrame:
    """One ``marts.account_scores`` row per account of ``leads``."""
    grouped = leads.groupby("account_id", sort=True)
    df = pd.DataFrame(
        {
            "account_score": grouped["lead_score"].max(),
            "lead_count": grouped.size(),
            "sdr_ready_lead_count": grouped["is_sdr_ready"].sum(),
        }
    ).reset_index()
    df["domain"] = [f"{a}.example.com" for a in df["account_id"]]
    df["has_decision_maker"] = df["lead_count"] >= 2
    df["has_influencer"] = True
    df["has_end_user"] = df["lead_count"] >= 3
    df["persona_coverage"] = np.round(
        (df["has_decision_maker"].astype(int) + 1 + df["has_end_user"].astype(int)) / 3, 4
    )
    df["is_sdr_ready"] = df["sdr_ready_lead_count"] > 0
    df["model_version"] = "v1.0.0"
    df["as_of_date"] = AS_OF
    return df[["account_id", "domain", "account_score", "lead_count", "sdr_ready_lead_count",
               "has_decision_maker", "has_influencer", "has_end_user", "persona_coverage",
               "is_sdr_ready", "model_version", "as_of_date"]]  # fmt: skip


def write_marts(settings: Settings, leads: pd.DataFrame, accounts: pd.DataFrame) -> None:
    from lead_scoring.warehouse import open_warehouse

    with open_warehouse(settings) as wh:
        wh.write_df(leads, "marts", "lead_scores", mode="replace")
        wh.write_df(accounts, "marts", "account_scores", mode="replace")


def _serve_sandbox(store_path: str, rate_per_10s: int, pipe) -> None:
    """Child process: run the sandbox (its own interpreter, so its own GIL) until told."""
    from lead_scoring.crm_sandbox.server import start_sandbox

    with start_sandbox(store_path, rate_limit_per_10s=rate_per_10s,
                       daily_limit=10_000_000) as sandbox:  # fmt: skip
        pipe.send((sandbox.hubspot_url, sandbox.token))
        pipe.recv()


def bench_sync(n: int = 100_000, rate_per_10s: int = 190) -> dict:
    """Score ``n`` leads the CRM holds (read from it: updated by id) through a sandbox
    limited to ``rate_per_10s``; then rerun."""
    import multiprocessing

    import requests

    from lead_scoring.crm_sandbox.store import CrmStore
    from lead_scoring.crm_sync import CrmTarget, SyncOptions, preflight, run_sync

    home = Path(tempfile.mkdtemp(prefix="crm-sync-bench-"))
    settings = replace(Settings(), home=home, warehouse="duckdb")
    leads = sample_leads(n)
    write_marts(settings, leads, sample_accounts(leads))
    store_path = home / "crm_sandbox" / "crm.sqlite"
    store_path.parent.mkdir(parents=True)
    store = CrmStore(store_path)
    pairs = zip(leads["lead_id"], leads["email"], strict=True)
    store.bulk_load("contacts", ({"hs_object_id": i, "email": e} for i, e in pairs))
    store.close()
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve_sandbox, args=(str(store_path), rate_per_10s, child)
    )
    server.start()
    try:
        url, token = parent.recv()
        target = CrmTarget(
            kind="hubspot", base_url=url, token=token, source_url=url,
            options=SyncOptions(max_requests_per_10s=rate_per_10s, sync_accounts=False,
                                concurrency=6),
        )  # fmt: skip
        preflight(target, settings)
        time.sleep(10.5)  # let the preflight's requests leave the rolling window
        started = time.monotonic()
        first = run_sync(settings, target, "bench-1")
        seconds = time.monotonic() - started
        second = run_sync(settings, target, "bench-2")
        stats = requests.get(
            f"{url}/home_sandbox/stats", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
    finally:
        parent.send("stop")
        server.join(timeout=30)
    confirmed = first.inserted + first.updated
    ceiling = rate_per_10s / 10 * 100
    figures = {
        "sync_rows": n,
        "sync_seconds": round(seconds, 2),
        "sync_records_per_s": round(confirmed / seconds, 1),
        "sync_vs_ceiling_ratio": round(confirmed / seconds / ceiling, 3),
        "sync_resend_rows": second.sent,
        "sync_requests": first.requests,
        "sync_error_responses": first.error_responses,
        "sync_status": first.status,
        "sandbox_429": sum(v for k, v in stats["by_status"].items() if k.endswith(" 429")),
    }
    for name, value in figures.items():
        print(f"{name}={value}", flush=True)
    return figures


def _simulated_sandbox(home: Path, crm: str, leads: int, accounts: int, events: int):
    """Settings of a new home whose CRM sandbox store holds a simulated ``crm`` funnel,
    and a running sandbox (a context manager) serving it."""
    from lead_scoring.bench import END_DATE, bench_settings
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.simulator import simulate

    settings = bench_settings(home)
    started = time.monotonic()
    simulate(settings, leads=leads, accounts=accounts, events=events, end_date=END_DATE,
             seed=7, crm=crm)  # fmt: skip
    log.info("bench: simulated %s leads as a %s shop in %.0f s", f"{leads:,}", crm,
             time.monotonic() - started)  # fmt: skip
    sandbox = start_sandbox(
        settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**7, daily_limit=10**9
    )
    return settings, sandbox


def _source(sandbox, crm: str):
    from lead_scoring.sources.extract import CrmSource

    if crm == "hubspot":
        return CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=10_000)
    return CrmSource(sandbox.salesforce_url, sandbox.token, max_requests_per_second=10_000,
                     kind="salesforce", ca_bundle=str(sandbox.ca_path))  # fmt: skip


def bench_salesforce_round_trip(leads: int, accounts: int, runs: int = 3) -> int:
    """Extract, gate, dbt build and sync ``runs`` times as a Salesforce shop whose scores go
    back to the org they came from; prints and returns how many records the org gained."""
    from lead_scoring.bench import END_DATE, emit, run_dbt, timed_gate
    from lead_scoring.crm_sync import CrmTarget, SyncOptions, preflight, run_sync
    from lead_scoring.sources.extract import extract

    home = Path(tempfile.mkdtemp(prefix="salesforce-round-trip-"))
    settings, sandbox = _simulated_sandbox(home, "salesforce", leads, accounts, leads * 10)
    with sandbox:
        before = sum(sandbox.store.counts().values())
        url = sandbox.salesforce_url
        target = CrmTarget(
            "salesforce", url, sandbox.token, ca_bundle=str(sandbox.ca_path), source_url=url,
            source_kind="salesforce", options=SyncOptions(max_requests_per_10s=10**6),
        )  # fmt: skip
        for run in range(1, runs + 1):
            started = time.monotonic()
            extract(settings, _source(sandbox, "salesforce"))
            timed_gate(settings, END_DATE, f"bench-salesforce-{run}", f"salesforce_gate_{run}_s")
            run_dbt(settings, END_DATE, "build", "--exclude-resource-type", "test")
            preflight(target, settings)
            result = run_sync(settings, target, f"bench-salesforce-{run}")
            emit(f"salesforce_run_{run}_s", round(time.monotonic() - started, 1))
            emit(f"salesforce_run_{run}_sync", f"{result.status}/sent={result.sent}")
        created = sum(sandbox.store.counts().values()) - before
    emit("salesforce_round_trip_records_created", created)
    return created


def bench_salesforce_extract(leads: int, accounts: int) -> dict[str, float]:
    """The whole extract of a simulated HubSpot shop and of a Salesforce shop of the same
    size (one event per lead: the CRM's share of the extract dominates)."""
    from lead_scoring.bench import emit
    from lead_scoring.sources.extract import extract

    seconds = {}
    for crm in ("hubspot", "salesforce"):
        home = Path(tempfile.mkdtemp(prefix=f"{crm}-extract-"))
        settings, sandbox = _simulated_sandbox(home, crm, leads, accounts, leads)
        with sandbox:
            started = time.monotonic()
            extract(settings, _source(sandbox, crm))
            seconds[crm] = round(time.monotonic() - started, 1)
        emit(f"{crm}_extract_s", seconds[crm])
    emit(
        "salesforce_vs_hubspot_extract_ratio", round(seconds["salesforce"] / seconds["hubspot"], 2)
    )
    return seconds


def bench_salesforce(leads: int, accounts: int, round_trip_leads: int) -> None:
    """The ``salesforce`` bench section: the round trip, then both extracts."""
    bench_salesforce_round_trip(round_trip_leads, max(1, round_trip_leads // 5))
    bench_salesforce_extract(leads, accounts)


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    bench_sync(*(int(a) for a in sys.argv[1:3]))
