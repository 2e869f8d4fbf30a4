"""Raw history retention: with ``LEAD_SCORING_RAW_RETENTION_DAYS`` set, the quality gate's
last step (after a passed run) deletes raw rows scoring no longer needs (docs/privacy.md).

* **Superseded versions** of CRM records, product users and attribute rows: a row is
  deleted when a later version of the same record (contacts, companies, deals: the id;
  product users: the user id; attribute rows: the id and the attribute) took its place
  more than the retention period ago. The latest version of a record is never deleted,
  and neither is any version in force at a date within the period, so every as-of date
  within the period is still scored as before. Rows whose time cannot be read, and the
  other versions of their record, are kept.
* **Events** (product and marketing) that occurred more than the retention period plus
  the scoring's event horizon ago. The horizon (``event_horizon_days``) is the age at
  which one event of any type in ``seeds/event_weights.csv`` is worth less than half a
  point after decay (``half_life_days * log2(2 * |points|)``, the largest over the event
  types) plus the 30 days the oldest score date (the 30-day gain) looks back.

Unset (the default), nothing is deleted.
"""

from __future__ import annotations

import csv
import logging
import math
from datetime import datetime, timedelta

import pandas as pd

from lead_scoring.settings import Settings
from lead_scoring.warehouse import Warehouse

log = logging.getLogger(__name__)

RAW = "raw"
ROW_ID = "_dlt_id"
SCRATCH = "_retention_expired"
# table -> (the columns naming a record, the column dating a version)
VERSIONED = {
    "crm_contacts": (("hs_object_id",), "lastmodifieddate"),
    "crm_companies": (("hs_object_id",), "lastmodifieddate"),
    "crm_deals": (("hs_object_id",), "lastmodifieddate"),
    "product_users": (("user_id",), "updated_at"),
    "crm_contact_attributes": (("hs_object_id", "attribute"), "valid_from"),
    "crm_company_attributes": (("hs_object_id", "attribute"), "valid_from"),
}
EVENTS = {"product_events": "occurred_at", "marketing_events": "occurred_at"}
OLDEST_SCORE_DATE_DAYS = 30  # the 30-day gain scores the lead as of 30 days before the as-of


def event_horizon_days(settings: Settings) -> int:
    """Days after which no single event changes a score by half a point or more."""
    path = settings.dbt_project_dir / "seeds" / "event_weights.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    decay = [
        float(row["half_life_days"]) * math.log2(2 * abs(float(row["points"])))
        for row in rows
        if abs(float(row["points"] or 0)) > 0.5
    ]
    return math.ceil(max(decay, default=0.0)) + OLDEST_SCORE_DATE_DAYS


def cutoffs(settings: Settings, now: datetime) -> tuple[datetime, datetime] | None:
    """(versions superseded before, events occurred before), or None when keeping all."""
    days = settings.raw_retention_days
    if days is None:
        return None
    versions = now - timedelta(days=days)
    return versions, versions - timedelta(days=event_horizon_days(settings))


def _times(values: pd.Series) -> pd.Series:
    """Naive UTC; CRM text as on the wire (``''``: known from the start); NaT: unreadable."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True).dt.tz_localize(None)
    text = values.astype("str").fillna("").str.strip()
    times = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601").dt.tz_localize(None)
    return times.mask(text == "", pd.Timestamp.min)


def superseded(frame: pd.DataFrame, keys: list[str], time: str, before: datetime) -> pd.Series:
    """The row ids of versions that a later version of their record replaced before
    ``before``. Records with an unreadable version time are left whole."""
    rows = frame[[*keys, ROW_ID]].astype({k: "str" for k in keys}).assign(at=_times(frame[time]))
    unreadable = rows.loc[rows["at"].isna(), keys].drop_duplicates()
    if len(unreadable):
        rows = rows.merge(unreadable.assign(_skip=True), on=keys, how="left")
        rows = rows[rows["_skip"].isna()].drop(columns="_skip")
    versions = rows[[*keys, "at"]].drop_duplicates().sort_values([*keys, "at"])
    versions["replaced_at"] = versions.groupby(keys)["at"].shift(-1)
    rows = rows.merge(versions, on=[*keys, "at"], how="left")
    return rows.loc[rows["replaced_at"] < pd.Timestamp(before), ROW_ID]


def _delete(wh: Warehouse, table: str, row_ids: pd.Series) -> int:
    if row_ids.empty:
        return 0
    wh.write_df(pd.DataFrame({ROW_ID: row_ids.astype("str")}), RAW, SCRATCH, mode="replace")
    try:
        wh.execute(
            f"delete from {RAW}.{table} where {ROW_ID} in (select {ROW_ID} from {RAW}.{SCRATCH})"
        )
    finally:
        wh.execute(f"drop table if exists {RAW}.{SCRATCH}")
    return len(row_ids)


def _readable(wh: Warehouse, table: str, columns: list[str]) -> bool:
    if not wh.table_exists(RAW, table):
        return False
    missing = set(columns) - set(wh.columns(RAW, table))
    if missing:
        log.warning("raw retention skips %s.%s: no column %s", RAW, table, ", ".join(missing))
    return not missing


def apply_raw_retention(wh: Warehouse, settings: Settings, now: datetime) -> dict[str, int]:
    """Delete what the retention setting lets go; returns rows deleted per raw table."""
    limits = cutoffs(settings, now)
    if limits is None:
        return {}
    versions_before, events_before = limits
    deleted: dict[str, int] = {}
    for table, (keys, time) in VERSIONED.items():
        columns = [*keys, time, ROW_ID]
        if _readable(wh, table, columns):
            listed = ", ".join(f'"{c}"' for c in columns)
            frame = wh.query_arrow(f"select {listed} from {RAW}.{table}").to_pandas()
            expired = superseded(frame, list(keys), time, versions_before)
            deleted[table] = _delete(wh, table, expired)
    for table, time in EVENTS.items():
        if _readable(wh, table, [time, ROW_ID]):
            frame = wh.query_arrow(f'select "{time}", {ROW_ID} from {RAW}.{table}').to_pandas()
            old = _times(frame[time]) < pd.Timestamp(events_before)
            deleted[table] = _delete(wh, table, frame.loc[old.to_numpy(dtype=bool), ROW_ID])
    deleted = {table: n for table, n in deleted.items() if n}
    log.info(
        "raw retention (%d days): versions superseded before %s, events before %s: %s",
        settings.raw_retention_days, versions_before, events_before,
        ", ".join(f"{n} rows from {RAW}.{t}" for t, n in deleted.items()) or "nothing to delete",
    )  # fmt: skip
    return deleted
