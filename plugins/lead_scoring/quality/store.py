"""The ``quality`` schema: create its tables, write one run's results, read the last run.

Plain portable SQL through the warehouse handle (DuckDB or PostgreSQL). Tables are
created with explicit types so an empty result still gives the contract's columns.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from lead_scoring.quality.redaction import redact_column
from lead_scoring.warehouse import Warehouse

SCHEMA = "quality"
KEY = ["record_type", "record_id", "rule"]
TABLES: dict[str, dict[str, str]] = {
    "quarantine": {"record_type": "text", "record_id": "text", "rule": "text", "field": "text",
                   "value": "text", "run_id": "text", "first_seen_at": "timestamp",
                   "last_seen_at": "timestamp"},
    "normalised_values": {"record_type": "text", "record_id": "text", "field": "text",
                          "original_value": "text", "normalised_value": "text", "rule": "text",
                          "run_id": "text"},
    "record_flags": {"record_type": "text", "record_id": "text", "rule": "text", "field": "text",
                     "value": "text", "run_id": "text"},
    "email_domains": {"domain": "text primary key", "email_domain_type": "text"},
    "duplicate_leads": {"record_id": "text", "survivor_id": "text", "run_id": "text"},
    "runs": {"run_id": "text", "started_at": "timestamp", "finished_at": "timestamp",
             "status": "text", "records_checked": "bigint", "records_quarantined": "bigint",
             "quarantine_rate": "double precision", "message": "text",
             "data_docs_path": "text"},
    "source_volumes": {"run_id": "text", "table_name": "text", "row_count": "bigint",
                       "newest_at": "timestamp"},
}  # fmt: skip


def empty(table: str) -> pd.DataFrame:
    dtypes = {"timestamp": "datetime64[us]", "bigint": "int64", "double precision": "float64"}
    return pd.DataFrame(
        {c: pd.Series(dtype=dtypes.get(t, "str")) for c, t in TABLES[table].items()}
    )


def ensure_tables(wh: Warehouse) -> None:
    wh.execute(f"create schema if not exists {SCHEMA}")
    for table, columns in TABLES.items():
        ddl = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        wh.execute(f"create table if not exists {SCHEMA}.{table} ({ddl})")


def replace_rows(wh: Warehouse, table: str, rows: pd.DataFrame) -> None:
    """The table's content becomes ``rows`` (the current state, not a history)."""
    wh.execute(f"delete from {SCHEMA}.{table}")
    if len(rows):
        wh.write_df(rows[list(TABLES[table])], SCHEMA, table, mode="append")


def _redacted(rows: pd.DataFrame, keep_since: datetime | None) -> pd.DataFrame:
    """Personal values redacted, but those of rows first seen at or after ``keep_since``
    (None: redact every one)."""
    if keep_since is None:
        return redact_column(rows, "value")
    first_seen = pd.to_datetime(rows["first_seen_at"])
    return redact_column(rows, "value", ~(first_seen >= pd.Timestamp(keep_since)))


def upsert_quarantine(
    wh: Warehouse, rows: pd.DataFrame, seen_at: datetime, keep_since: datetime | None = None
) -> None:
    """One row per (record_type, record_id, rule): first_seen_at survives across runs.

    Records that pass every rule again leave the quarantine. Personal values are kept in
    full only for rows first seen at or after ``keep_since`` (None: none), redacted
    otherwise (redaction.py).
    """
    known = wh.query_df(
        f"select record_type, record_id, rule, first_seen_at from {SCHEMA}.quarantine"
    )
    rows = rows.drop(columns=["first_seen_at", "last_seen_at"], errors="ignore")
    merged = rows.merge(known, on=KEY, how="left")
    first_seen = pd.to_datetime(merged["first_seen_at"]).astype("datetime64[us]")
    merged["first_seen_at"] = first_seen.fillna(pd.Timestamp(seen_at))
    merged["last_seen_at"] = seen_at
    replace_rows(wh, "quarantine", _redacted(merged, keep_since))


def redact_quarantine(wh: Warehouse, keep_since: datetime | None) -> None:
    """Redact the quarantine's personal values first seen before ``keep_since`` (None: all),
    for a run that stops before it rewrites the quarantine."""
    rows = wh.query_df(f"select * from {SCHEMA}.quarantine")
    redacted = _redacted(rows, keep_since)
    if not redacted.equals(rows):
        replace_rows(wh, "quarantine", redacted)


def record_run(wh: Warehouse, run: dict, volumes: pd.DataFrame) -> None:
    """The run's row in quality.runs and its source volumes (a re-run replaces both)."""
    for table in ("runs", "source_volumes"):
        wh.execute(f"delete from {SCHEMA}.{table} where run_id = ?", [run["run_id"]])
    wh.write_df(pd.DataFrame([run])[list(TABLES["runs"])], SCHEMA, "runs", mode="append")
    if len(volumes):
        wh.write_df(volumes[list(TABLES["source_volumes"])], SCHEMA, "source_volumes")


def previous_volumes(wh: Warehouse, run_id: str) -> dict[str, int]:
    """Row counts per raw table at the last passed run before this one."""
    last = wh.query_df(
        f"select run_id from {SCHEMA}.runs where status = 'passed' and run_id <> ?"
        " order by finished_at desc limit 1",
        [run_id],
    )
    if last.empty:
        return {}
    rows = wh.query_df(
        f"select table_name, row_count from {SCHEMA}.source_volumes where run_id = ?",
        [last.iat[0, 0]],
    )
    return dict(zip(rows["table_name"], rows["row_count"].astype(int), strict=True))


def newest_seen(wh: Warehouse, run_id: str, as_of: datetime) -> dict[str, datetime]:
    """Per raw table, the newest change earlier runs saw at or before ``as_of``.

    A change seen once stays evidence of freshness: a record the CRM sync wrote back since
    carries a later modification time, so re-reading raw alone would miss it on a re-run of
    a past date.
    """
    rows = wh.query_df(
        f"select table_name, max(newest_at) as newest_at from {SCHEMA}.source_volumes"
        " where run_id <> ? and newest_at <= ? group by table_name",
        [run_id, as_of],
    )
    return {
        table: newest
        for table, newest in zip(rows["table_name"], pd.to_datetime(rows["newest_at"]), strict=True)
        if not pd.isna(newest)
    }
