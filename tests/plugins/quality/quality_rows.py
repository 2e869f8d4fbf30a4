"""Raw rows shaped as the extract stage writes them, and a reader for the quality tables."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd

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


def attribute(record_id: str, name: str, value: str, kind: str = "fit", **values) -> dict:
    row = {"hs_object_id": record_id, "attribute": name, "value": value, "kind": kind,
           "valid_from": RECENT}  # fmt: skip
    return row | values


_DTYPES = {"text": "str", "integer": "int64", "timestamp": "datetime64[us]"}


_LOADS, _ROWS = itertools.count(1), itertools.count(1)


def load_id() -> str:
    """A new dlt load id, later than every one before (as dlt gives each load)."""
    return f"{1730000000 + next(_LOADS)}.0"


def raw_frame(table: str, rows: list[dict], load: str | None = None) -> pd.DataFrame:
    """Rows as one dlt load (a new load id unless ``load`` is given) writes them."""
    columns = TABLES[table]
    frame = pd.DataFrame(rows, columns=list(columns))
    frame = frame.astype({c: _DTYPES[t] for c, t in columns.items()})
    return frame.assign(
        _dlt_load_id=load or load_id(), _dlt_id=[f"d{next(_ROWS)}" for _ in range(len(frame))]
    )


def quality(settings, table: str) -> pd.DataFrame:
    with open_warehouse(settings) as wh:
        return wh.query_df(f"select * from quality.{table}")
