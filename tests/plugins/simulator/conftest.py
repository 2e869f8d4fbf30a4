"""Readers for what the simulator wrote, and one small simulated home shared per test."""

from __future__ import annotations

import sqlite3
from datetime import date

import pandas as pd
import pytest

from lead_scoring.crm_sandbox.store import CrmStore

END = date(2026, 11, 1)
SMALL = {"leads": 1_500, "accounts": 300, "events": 30_000, "days": 60, "end_date": END}


def crm_records(settings, object_type: str) -> pd.DataFrame:
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    try:
        records = [r.properties for r in store.select(object_type)]
    finally:
        store.close()
    return pd.DataFrame(records, dtype=object)


def product_table(settings, table: str) -> pd.DataFrame:
    con = sqlite3.connect(settings.sources_dir / "product.db")
    try:
        return pd.read_sql(f"select * from {table} order by 1", con)
    finally:
        con.close()


def marketing_events(settings) -> pd.DataFrame:
    paths = sorted(settings.marketing_exports_dir.glob("events_*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def truth(settings, name: str) -> pd.DataFrame:
    return pd.read_parquet(settings.truth_dir / f"{name}.parquet")


def sources(settings) -> dict[str, pd.DataFrame]:
    """Everything the simulator wrote to the source systems, and its truth."""
    return {
        "contacts": crm_records(settings, "contacts"),
        "companies": crm_records(settings, "companies"),
        "deals": crm_records(settings, "deals"),
        "app_users": product_table(settings, "app_users"),
        "app_events": product_table(settings, "app_events"),
        "marketing": marketing_events(settings),
        "truth_leads": truth(settings, "leads"),
        "truth_events": truth(settings, "events"),
    }


@pytest.fixture
def small(settings):
    """A small simulated funnel (60 days to 2026-11-01) in this test's home."""
    from lead_scoring.simulator import simulate

    summary = simulate(settings, seed=11, **SMALL)
    return settings, summary
