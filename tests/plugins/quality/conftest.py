"""Fixtures: small raw tables in a temporary DuckDB warehouse (LEAD_SCORING_HOME = tmp),
and a PostgreSQL warehouse of its own (a new database on 127.0.0.1:5432)."""

import uuid

import pytest
from quality_rows import (
    company,
    contact,
    deal,
    marketing_event,
    product_event,
    product_user,
    raw_frame,
)

from lead_scoring.warehouse import open_warehouse


@pytest.fixture
def write_raw(settings):
    """write_raw(crm_contacts=[...], ...): replace those raw tables with the given rows."""

    def write(**tables: list[dict]) -> None:
        with open_warehouse(settings) as wh:
            for table, rows in tables.items():
                wh.write_df(raw_frame(table, rows), "raw", table, mode="replace")

    return write


@pytest.fixture
def clean_raw(write_raw):
    """One clean record of every kind, all linked."""
    write_raw(
        crm_contacts=[contact(1), contact(2, email="bob@acme-robotics.com", firstname="Bob")],
        crm_companies=[company(900)],
        crm_deals=[deal(70, 1)],
        product_users=[product_user(1)],
        product_events=[product_event(5, 1)],
        marketing_events=[marketing_event("m1", "1")],
    )
    return write_raw


@pytest.fixture(autouse=True)
def lenient_rate(monkeypatch):
    """Tiny tables: a single bad row is a large share; the rate gate has its own test."""
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "1.0")


@pytest.fixture
def postgres(settings, monkeypatch):
    """Settings on a new PostgreSQL database, dropped afterwards."""
    import psycopg2

    name = f"dq_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE", "postgres")
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_URL", f"postgresql://postgres@127.0.0.1:5432/{name}")
    from lead_scoring.settings import get_settings

    yield get_settings()
    with admin.cursor() as cur:
        cur.execute(f"drop database {name} with (force)")
    admin.close()
