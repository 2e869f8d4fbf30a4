"""Helpers of the CRM sync tests: targets, small marts, what the sandbox stored."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd

from lead_scoring.crm_sandbox.server import SandboxHandle
from lead_scoring.crm_sync import CrmTarget, SyncOptions
from lead_scoring.crm_sync.bench import sample_accounts, sample_leads, write_marts
from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

FAST = {
    "max_requests_per_10s": 10_000, "backoff_base_s": 0.02, "backoff_cap_s": 0.2,
    "bulk_poll_s": 0.05,
}  # fmt: skip
STORE_TYPES = {"hubspot": ("contacts", "companies"), "salesforce": ("sf:Lead", "sf:Account")}


def make_target(handle: SandboxHandle, kind: str, **options) -> CrmTarget:
    """A target for an empty sandbox: the sample marts' ids are not CRM ids, and the sync
    creates the records (unless the test says otherwise)."""
    opts = SyncOptions(**{**FAST, "record_ids": "external", "create_records": True, **options})
    if kind == "hubspot":
        return CrmTarget("hubspot", handle.hubspot_url, handle.token, options=opts)
    return CrmTarget(
        "salesforce", handle.salesforce_url, handle.token, ca_bundle=str(handle.ca_path),
        options=opts,
    )  # fmt: skip


def marts(settings: Settings, n: int = 40, **overrides) -> pd.DataFrame:
    """Write ``n`` sample leads (+ their accounts) as the marts; returns the leads."""
    leads = sample_leads(n, accounts=max(1, n // 4))
    for column, values in overrides.items():
        for index, value in values.items():
            leads.loc[index, column] = value
    write_marts(settings, leads, sample_accounts(leads))
    return leads


def rewrite_leads(settings: Settings, leads: pd.DataFrame) -> None:
    with open_warehouse(settings) as wh:
        wh.write_df(leads, "marts", "lead_scores", mode="replace")


def records(handle: SandboxHandle, kind: str, which: int = 0) -> list[dict]:
    """Properties of the stored leads (which=0) or accounts (which=1) in the sandbox."""
    return [r.properties for r in handle.store.select(STORE_TYPES[kind][which])]


def by_key(handle: SandboxHandle, kind: str) -> dict[str, dict]:
    """Stored leads by match key: e-mail (HubSpot) or LS_Lead_Id__c (Salesforce)."""
    key = "email" if kind == "hubspot" else "LS_Lead_Id__c"
    rows = records(handle, kind)
    counts = Counter(r.get(key) for r in rows)
    assert max(counts.values(), default=1) == 1, f"duplicate CRM records: {counts.most_common(3)}"
    return {r[key]: r for r in rows}


def requests_to(handle: SandboxHandle, needle: str, status: str | None = None) -> int:
    """Requests whose endpoint contains ``needle`` (optionally only one status)."""
    total = 0
    for endpoint, by_status in handle.stats()["requests"].items():
        if needle in endpoint:
            total += sum(n for s, n in by_status.items() if status in (None, s))
    return total


def table(settings: Settings, sql: str, params=None) -> pd.DataFrame:
    with open_warehouse(settings, read_only=True) as wh:
        return wh.query_df(sql, params)


LEAD_WRITES = {"hubspot": "POST /crm/v3/objects/{object_type}/batch",
               "salesforce": "/composite/sobjects"}  # fmt: skip


@contextmanager
def faults_after(handle: SandboxHandle, store_type: str, records: int, **faults) -> Iterator[None]:
    """Switch ``faults`` on once the sandbox holds ``records`` of ``store_type`` (mid-run)."""

    def watch() -> None:
        deadline = time.monotonic() + 20
        while handle.store.count(store_type) < records and time.monotonic() < deadline:
            time.sleep(0.002)
        handle.faults.set(**faults)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()
