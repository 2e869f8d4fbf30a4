"""Small raw tables in a temporary DuckDB warehouse, shaped as the extract stage writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from lead_scoring.quality.schema import TABLES
from lead_scoring.warehouse import open_warehouse

AS_OF = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
RECENT = "2026-10-31T10:00:00.000Z"
CREATED = "2026-10-01T09:30:00.000Z"


def contact(record_id: int, **values) -> dict:
    row = {
        "hs_object_id": str(record_id), "email": f"person{record_id}@acme-robotics.com",
        "firstname": "Alice", "lastname": "Baker", "jobtitle": "VP Sales",
        "phone": "+14155552671", "country": "US", "company": "Acme Robotics",
        "associatedcompanyid": "900", "hs_analytics_source": "ORGANIC_SEARCH",
        "bant_budget": "", "bant_authority": "", "bant_need": "", "bant_timeline": "",
        "createdate": CREATED, "lastmodifieddate": RECENT,
    }  # fmt: skip
    return row | values


def company(record_id: int, **values) -> dict:
    row = {
        "hs_object_id": str(record_id), "name": "Acme Robotics", "domain": "acme-robotics.com",
        "industry": "Software", "numberofemployees": "250", "country": "DE",
        "annualrevenue": "1000000", "ls_target_account": "false", "createdate": CREATED,
        "lastmodifieddate": RECENT,
    }  # fmt: skip
    return row | values


def deal(record_id: int, contact_id: int = 1, **values) -> dict:
    row = {
        "hs_object_id": str(record_id), "dealname": "Acme - New Business",
        "ls_contact_id": str(contact_id), "associatedcompanyid": "900",
        "dealstage": "qualifiedtobuy", "amount": "12000", "createdate": CREATED,
        "closedate": "", "lastmodifieddate": RECENT,
    }  # fmt: skip
    return row | values


def product_user(user_id: int, **values) -> dict:
    at = AS_OF.replace(tzinfo=None) - timedelta(days=3)
    row = {"user_id": user_id, "email": f"person{user_id}@acme-robotics.com",
           "signed_up_at": at, "updated_at": at}  # fmt: skip
    return row | values


def product_event(event_id: int, user_id: int = 1, **values) -> dict:
    at = AS_OF.replace(tzinfo=None) - timedelta(hours=5)
    row = {"event_id": event_id, "user_id": user_id, "event_type": "login", "occurred_at": at}
    return row | values


def marketing_event(event_id: str, contact_id: str = "1", **values) -> dict:
    at = AS_OF.replace(tzinfo=None) - timedelta(hours=7)
    row = {"event_id": event_id, "contact_id": contact_id, "event_type": "pricing_page_view",
           "occurred_at": at, "url": "https://www.leadflow.example/pricing"}  # fmt: skip
    return row | values


_DTYPES = {"text": "str", "integer": "int64", "timestamp": "datetime64[us]"}


def raw_frame(table: str, rows: list[dict]) -> pd.DataFrame:
    columns = TABLES[table]
    frame = pd.DataFrame(rows, columns=list(columns))
    frame = frame.astype({c: _DTYPES[t] for c, t in columns.items()})
    return frame.assign(_dlt_load_id="1730000000.0", _dlt_id=[f"d{i}" for i in range(len(frame))])


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


def quality(settings, table: str) -> pd.DataFrame:
    with open_warehouse(settings) as wh:
        return wh.query_df(f"select * from quality.{table}")
