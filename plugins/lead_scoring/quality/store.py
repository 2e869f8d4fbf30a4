"""The ``quality`` schema: create its tables, write one run's results, read the last run.

Plain portable SQL through the warehouse handle (DuckDB or PostgreSQL). Tables are
created with explicit types so an empty result still gives the contract's columns.
The record tables hold one row per record and finding; a run replaces the rows of the
records it checked (``delete_records``, then ``append``) and keeps the others.
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
    # per raw table, what the last passed run validated: rows up to dlt load ``load_id``
    # under rules ``suite_version``, as of ``as_of`` (incremental.py)
    "gate_state": {"table_name": "text", "load_id": "text", "suite_version": "text",
                   "as_of": "timestamp", "run_id": "text"},
    # records that left the quarantine (a contact arrived, a date is no longer in the
    # future, ...) without a new raw row: event staging picks these up (event_loads.sql)
    "released": {"record_type": "text", "record_id": "text", "run_id": "text",
                 "released_at": "timestamp"},
}  # fmt: skip
# The tables with a row per record (and finding), by record type and record id.
RECORD_TABLES = ("quarantine", "record_flags", "normalised_values", "duplicate_leads")
# Scratch list of the record ids a run checks in one raw table; lives inside the run's
# transaction only.
CHECKED_TABLE = "_gate_checked"
CHECKED = f"{SCHEMA}.{CHECKED_TABLE}"


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


def delete_records(wh: Warehouse, record_type: str, ids: str | None = None) -> None:
    """The record tables' rows of ``record_type``: all, or those of the record ids the
    query ``ids`` returns."""
    for table in RECORD_TABLES:
        if table == "duplicate_leads" and record_type != "contact":
            continue
        where = ["record_type = ?"] if table != "duplicate_leads" else []
        if ids is not None:
            where.append(f"record_id in ({ids})")
        condition = f" where {' and '.join(where)}" if where else ""
        params = [record_type] if table != "duplicate_leads" else []
        wh.execute(f"delete from {SCHEMA}.{table}{condition}", params)


def append(wh: Warehouse, table: str, rows: pd.DataFrame) -> None:
    if len(rows):
        wh.write_df(rows[list(TABLES[table])], SCHEMA, table, mode="append")


def known_quarantine(wh: Warehouse) -> pd.DataFrame:
    """The quarantine's keys and ``first_seen_at``, read before a run rewrites them."""
    known = wh.query_df(
        f"select record_type, record_id, rule, first_seen_at from {SCHEMA}.quarantine"
    )
    return known.astype({"first_seen_at": "datetime64[us]"})


def record_releases(wh: Warehouse, before: pd.DataFrame, run_id: str, at: datetime) -> int:
    """Add to ``released`` the records quarantined ``before`` the run and no longer now;
    returns how many."""
    now = wh.query_df(f"select distinct record_type, record_id from {SCHEMA}.quarantine")
    keys = before[["record_type", "record_id"]].drop_duplicates()
    gone = keys.merge(now, how="left", indicator=True).query("_merge == 'left_only'")
    rows = gone.drop(columns="_merge").assign(run_id=run_id, released_at=at)
    append(wh, "released", rows.astype({"released_at": "datetime64[us]"}))
    return len(rows)


def seen(
    rows: pd.DataFrame, known: pd.DataFrame, seen_at: datetime, keep_since: datetime | None
) -> pd.DataFrame:
    """Quarantine rows stamped: ``first_seen_at`` survives from ``known``, ``last_seen_at``
    is ``seen_at``. Personal values are kept in full only for rows first seen at or after
    ``keep_since`` (None: none), redacted otherwise (redaction.py)."""
    rows = rows.drop(columns=["first_seen_at", "last_seen_at"], errors="ignore")
    merged = rows.merge(known, on=KEY, how="left")
    first_seen = pd.to_datetime(merged["first_seen_at"]).astype("datetime64[us]")
    merged["first_seen_at"] = first_seen.fillna(pd.Timestamp(seen_at))
    merged["last_seen_at"] = seen_at
    return _redacted(merged, keep_since)


def counts_by_rule(wh: Warehouse) -> dict[str, int]:
    """Records per rule over the record tables (a record counted once per rule)."""
    rows = wh.query_df(
        "select rule, count(*) as n from ("
        f" select record_type, record_id, rule from {SCHEMA}.quarantine"
        f" union select record_type, record_id, rule from {SCHEMA}.record_flags"
        f" union select record_type, record_id, rule from {SCHEMA}.normalised_values"
        f" union select 'contact', record_id, 'duplicate_lead' from {SCHEMA}.duplicate_leads"
        ") as found group by rule order by rule"
    )
    return {str(rule): int(n) for rule, n in zip(rows["rule"], rows["n"], strict=True)}


def quarantined_records(wh: Warehouse) -> int:
    return int(wh.scalar(
        f"select count(*) from (select distinct record_type, record_id from {SCHEMA}.quarantine)"
        " as records"
    ))  # fmt: skip


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


def newest_seen(wh: Warehouse, as_of: datetime) -> dict[str, datetime]:
    """Per raw table, the newest change earlier runs (an earlier try of this run too) saw
    at or before ``as_of``.

    A change seen once stays evidence of freshness: an incremental run reads only what
    changed since the last passed run, and a record the CRM sync wrote back since carries a
    later modification time, so re-reading raw alone would miss it on a re-run of a past
    date.
    """
    rows = wh.query_df(
        f"select table_name, max(newest_at) as newest_at from {SCHEMA}.source_volumes"
        " where newest_at <= ? group by table_name",
        [as_of],
    )
    return {
        table: newest
        for table, newest in zip(rows["table_name"], pd.to_datetime(rows["newest_at"]), strict=True)
        if not pd.isna(newest)
    }
