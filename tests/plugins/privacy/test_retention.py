"""Raw history retention: superseded versions and old events go, the latest version of a
record and everything within the period stay; unset, nothing is deleted."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from lead_scoring.privacy.retention import apply_raw_retention, event_horizon_days
from lead_scoring.quality.gate import run_quality_gate
from lead_scoring.quality.schema import TABLES
from lead_scoring.warehouse import open_warehouse

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
DAYS = 100
_DTYPES = {"text": "str", "integer": "int64", "timestamp": "datetime64[us]"}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def wire(days: float) -> str:
    return ago(days).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def contact(record_id: str, modified: str) -> dict:
    return {"hs_object_id": record_id, "email": f"p{record_id}@acme-robotics.com",
            "firstname": "Alice", "lastname": "Baker", "phone": "", "country": "US",
            "createdate": wire(500), "lastmodifieddate": modified}  # fmt: skip


def attribute(record_id: str, name: str, valid_from: str) -> dict:
    return {"hs_object_id": record_id, "attribute": name, "value": valid_from[:10] or "first",
            "kind": "fit", "valid_from": valid_from}  # fmt: skip


def event(event_id: int, days: float) -> dict:
    return {"event_id": event_id, "user_id": 1, "event_type": "login", "occurred_at": ago(days)}


def frame(table: str, rows: list[dict]) -> pd.DataFrame:
    columns = TABLES[table]
    data = pd.DataFrame(rows, columns=list(columns)).astype(
        {c: _DTYPES[t] for c, t in columns.items()}
    )
    return data.assign(_dlt_load_id="1", _dlt_id=[f"{table}-{i}" for i in range(len(data))])


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, settings, monkeypatch):
    """Settings on an embedded DuckDB file, or on a fresh PostgreSQL database."""
    if request.param == "duckdb":
        yield settings
        return
    import uuid

    import psycopg2

    name = f"retention_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    yield replace(settings, warehouse="postgres", warehouse_url=url)
    with admin.cursor() as cur:
        cur.execute(f"drop database {name} with (force)")
    admin.close()


@pytest.fixture
def horizon(settings) -> int:
    return event_horizon_days(settings)


@pytest.fixture
def raw(warehouse, horizon):
    settings = warehouse
    tables = {
        "crm_contacts": [
            contact("1", wire(300)), contact("1", wire(150)),  # the first: replaced 150 d ago
            contact("2", wire(300)), contact("2", wire(1)),  # replaced yesterday: kept
            contact("3", wire(400)),  # the only version, however old
            contact("4", "not a date"), contact("4", wire(1)),  # unreadable: record kept
        ],
        "crm_contact_attributes": [
            attribute("1", "plan", ""),  # known from the start, replaced 300 d ago
            attribute("1", "plan", wire(300)),  # replaced 200 d ago
            attribute("1", "plan", wire(200)),  # replaced 10 d ago: in force within the period
            attribute("1", "plan", wire(10)),  # latest
            attribute("1", "seats", wire(900)),  # only version
            attribute("2", "plan", wire(300)),  # replaced by a future-dated row: kept
            attribute("2", "plan", (NOW + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        ],
        "product_events": [
            event(1, DAYS + horizon + 2), event(2, DAYS + horizon - 2), event(3, 1),
        ],
    }  # fmt: skip
    with open_warehouse(settings) as wh:
        for table, rows in tables.items():
            wh.write_df(frame(table, rows), "raw", table, mode="replace")
    return settings


def _left(settings, table: str, columns: str) -> list[tuple]:
    with open_warehouse(settings) as wh:
        rows = wh.query_df(f"select {columns} from raw.{table} order by 1, 2")
    return [tuple(r) for r in rows.itertuples(index=False)]


def test_the_event_horizon_is_where_one_event_is_worth_under_half_a_point(settings, tmp_path):
    seeds = tmp_path / "dbt" / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "event_weights.csv").write_text(
        "event_type,points,half_life_days\nunsubscribe,-20,90\nlogin,3,14\npage_view,0,700\n"
    )
    # 90 * log2(2 * 20) = 479 days, plus the 30 days of the oldest score date
    assert event_horizon_days(replace(settings, dbt_project_dir=tmp_path / "dbt")) == 509


def test_nothing_is_deleted_when_the_setting_is_unset(raw):
    assert raw.raw_retention_days is None
    with open_warehouse(raw) as wh:
        assert apply_raw_retention(wh, raw, NOW) == {}
    assert len(_left(raw, "crm_contact_attributes", "hs_object_id, valid_from")) == 7


def test_superseded_versions_and_old_events_are_deleted(raw):
    settings = replace(raw, raw_retention_days=DAYS)
    with open_warehouse(settings) as wh:
        deleted = apply_raw_retention(wh, settings, NOW)
    assert deleted == {"crm_contacts": 1, "crm_contact_attributes": 2, "product_events": 1}
    assert _left(settings, "crm_contacts", "hs_object_id, lastmodifieddate") == sorted([
        ("1", wire(150)), ("2", wire(1)), ("2", wire(300)), ("3", wire(400)),
        ("4", wire(1)), ("4", "not a date"),
    ])  # fmt: skip
    assert _left(settings, "crm_contact_attributes", "hs_object_id, valid_from") == sorted([
        ("1", wire(200)), ("1", wire(10)), ("1", wire(900)), ("2", wire(300)),
        ("2", (NOW + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")),
    ])  # fmt: skip
    assert [r[0] for r in _left(settings, "product_events", "event_id, user_id")] == [2, 3]
    with open_warehouse(settings) as wh:
        assert not wh.table_exists("raw", "_retention_expired")
        assert apply_raw_retention(wh, settings, NOW) == {}  # nothing more to delete


def test_a_bad_setting_is_refused_with_its_name(monkeypatch):
    from lead_scoring.settings import get_settings

    monkeypatch.setenv("LEAD_SCORING_RAW_RETENTION_DAYS", "a year")
    with pytest.raises(ValueError, match="LEAD_SCORING_RAW_RETENTION_DAYS='a year'"):
        get_settings()
    monkeypatch.setenv("LEAD_SCORING_RAW_RETENTION_DAYS", "365")
    assert get_settings().raw_retention_days == 365


def test_the_gate_applies_retention_and_records_the_counts_after_it(raw, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "1.0")  # events of no user
    settings = replace(raw, raw_retention_days=DAYS)
    with open_warehouse(settings) as wh:  # one row per contact, as the extract merges them
        contacts = [contact("1", wire(1)), contact("2", wire(3))]
        wh.write_df(frame("crm_contacts", contacts), "raw", "crm_contacts", mode="replace")
    as_of = NOW.replace(tzinfo=UTC)
    result = run_quality_gate(settings, "retention-1", as_of)
    assert result.status == "passed"
    assert [r[0] for r in _left(settings, "product_events", "event_id, user_id")] == [2, 3]
    with open_warehouse(settings) as wh:
        counts = wh.query_df(
            "select table_name, row_count from quality.source_volumes where run_id = ?",
            ["retention-1"],
        )
    counts = dict(zip(counts["table_name"], counts["row_count"], strict=True))
    assert counts["product_events"] == 2 and counts["crm_contact_attributes"] == 5
    assert counts["crm_contacts"] == 2
    # the next run's volume gate compares with the counts after the deletion
    assert run_quality_gate(settings, "retention-2", as_of).status == "passed"
