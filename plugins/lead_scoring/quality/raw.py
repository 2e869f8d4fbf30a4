"""The raw tables as the gate sees them: the schema gate, row counts, the ids other records
refer to, and the rows to check, read in chunks. Everything but the rows to check is SQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import pandas as pd

from lead_scoring.quality.checks import db_time, record_ids, wire_time
from lead_scoring.quality.schema import (
    INTEGER,
    RAW,
    TABLES,
    RawSchemaError,
    check_table,
)
from lead_scoring.warehouse import Warehouse

log = logging.getLogger(__name__)

LEADS = "crm_contacts"
LOAD_ID = "_dlt_load_id"  # dlt's load of the row (a merged record's latest)
NEW = "_is_new"  # column of a read frame: the row was loaded after the watermark
# Salesforce: the record a person is now (a converted Lead's Contact), which marketing
# exports may name instead of the person's key.
RECORD_ID = "crm_record_id"
RECORD_TYPES = {"crm_contacts": "contact", "crm_companies": "company", "crm_deals": "deal",
                "crm_contact_attributes": "contact_attribute",
                "crm_company_attributes": "company_attribute", "product_users": "product_user",
                "product_events": "product_event",
                "marketing_events": "marketing_event"}  # fmt: skip
KEYS = {"crm_contacts": "hs_object_id", "crm_companies": "hs_object_id",
        "crm_deals": "hs_object_id", "product_users": "user_id", "product_events": "event_id",
        "marketing_events": "event_id", "crm_contact_attributes": "hs_object_id",
        "crm_company_attributes": "hs_object_id"}  # fmt: skip
# The column whose newest value says how fresh a source is.
FRESHNESS = {"crm_contacts": "lastmodifieddate", "crm_companies": "lastmodifieddate",
             "crm_deals": "lastmodifieddate", "product_users": "updated_at",
             "product_events": "occurred_at", "marketing_events": "occurred_at",
             "crm_contact_attributes": "valid_from",
             "crm_company_attributes": "valid_from"}  # fmt: skip
# The columns the checks read (all contract columns for tables not listed).
NEEDED = {
    "crm_contacts": ("hs_object_id", "email", "firstname", "lastname", "phone", "country",
                     "createdate", "lastmodifieddate"),
    "crm_companies": ("hs_object_id", "numberofemployees", "country", "createdate",
                      "lastmodifieddate"),
    "marketing_events": ("event_id", "contact_id", "event_type", "occurred_at"),
}  # fmt: skip
# Rows read and validated at a time (tables but raw.crm_contacts, whose duplicates are
# found among all of them): the gate's memory is bounded by a chunk, not by history.
CHUNK_ROWS = 1_000_000


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def read_frame(wh: Warehouse, sql: str, params: list | None = None) -> pd.DataFrame:
    """A query's rows as a DataFrame, through Arrow (4x faster than ``.df()`` for text)."""
    return wh.query_arrow(sql, params).to_pandas()


def present_tables(wh: Warehouse) -> list[str]:
    """The raw tables of the contract that exist, each with the contract's columns and
    types; raw.crm_contacts must exist and have rows. Raises RawSchemaError naming the
    table, the column and a sample value."""
    present = []
    for table in TABLES:
        if not wh.table_exists(RAW, table):
            if table == LEADS:
                raise RawSchemaError(f"{RAW}.{table} does not exist: run the extract first")
            log.warning("%s.%s does not exist: its checks are skipped", RAW, table)
            continue
        check_table(wh, table)
        present.append(table)
    if not wh.scalar(f"select count(*) from {RAW}.{LEADS}"):
        raise RawSchemaError(
            f"{RAW}.{LEADS} is empty: there are no leads to check (did the extract load any?)"
        )
    return present


def row_counts(wh: Warehouse, tables: list[str]) -> dict[str, int]:
    return {t: int(wh.scalar(f"select count(*) from {RAW}.{t}")) for t in tables}


def id_sql(table: str) -> str:
    """SQL for a raw row's record id as text, as ``checks.record_ids`` makes it."""
    if table.endswith("_attributes"):
        parts = ("hs_object_id", "attribute", "valid_from")
        return " || '|' || ".join(f"coalesce({c}, '')" for c in parts)
    return f"coalesce(cast({KEYS[table]} as varchar), '')"


def with_ids(table: str, ids: str) -> str:
    """SQL predicate: the row's record id is one of ``ids`` (a query of text ids).
    Integer keys are compared as numbers, which lets the engine skip the cast per row."""
    key = KEYS[table]
    if not table.endswith("_attributes") and TABLES[table][key] == INTEGER:
        return (
            f"{key} in (select cast(record_id as bigint) from ({ids}) as ids where record_id <> '')"
        )
    return f"{id_sql(table)} in ({ids})"


def columns(wh: Warehouse, table: str) -> list[str]:
    """The columns the checks read."""
    wanted = [c for c in TABLES[table] if c in NEEDED.get(table, TABLES[table])]
    if table == LEADS and RECORD_ID in wh.columns(RAW, table):
        wanted.append(RECORD_ID)
    return wanted


def chunks(wh: Warehouse, table: str, select: str, where: str) -> Iterator[pd.DataFrame]:
    """``select`` over the rows of ``raw.<table>`` that ``where`` keeps, in chunks of about
    ``CHUNK_ROWS`` rows cut at key values, so all rows of a record are in one chunk.
    Contacts come in one piece."""
    key = f'"{KEYS[table]}"'
    source = f"{RAW}.{table} where ({where})"
    parts = 1
    if table != LEADS:
        parts = -(-int(wh.scalar(f"select count(*) from {source}")) // CHUNK_ROWS)
    if parts <= 1:
        yield read_frame(wh, f"select {select} from {source}")
        return
    bounds = wh.query_df(
        f"select max(k) as bound from (select {key} as k, ntile({parts}) over (order by {key})"
        f" as part from {source} and {key} is not null) as parts group by part order by bound"
    )["bound"].tolist()
    lower = None
    for bound in dict.fromkeys(bounds):
        if lower is None:
            cut, params = f"({key} <= ? or {key} is null)", [bound]
        else:
            cut, params = f"{key} > ? and {key} <= ?", [lower, bound]
        yield read_frame(wh, f"select {select} from {source} and {cut}", params)
        lower = bound


def known_ids(wh: Warehouse, tables: list[str]) -> dict[str, pd.Index | pd.Series]:
    """The ids other records refer to, read as id columns only: ``contacts`` (deals name
    one), ``subjects`` (a marketing event names a contact's key or, for Salesforce, the Id
    of the record the person is now) and ``users`` (product events)."""
    extra = f", {RECORD_ID}" if RECORD_ID in wh.columns(RAW, LEADS) else ""
    contacts = read_frame(wh, f"select hs_object_id{extra} from {RAW}.{LEADS}")
    subjects = contacts["hs_object_id"]
    if extra:
        subjects = pd.concat([subjects, contacts[RECORD_ID].dropna()])
    users = pd.Series([], dtype="int64")
    if "product_users" in tables:
        users = read_frame(wh, f"select user_id from {RAW}.product_users")["user_id"]
    return {
        "contacts": record_ids(contacts["hs_object_id"]),
        "subjects": pd.Index(subjects.astype("str").unique()),
        "users": users,
    }


def imported_tables(wh: Warehouse, tables: list[str]) -> list[str]:
    """The raw tables whose newest rows ``lead-scoring import`` loaded: a backfill of past
    data, not a feed whose age says anything. dlt records each load in ``raw._dlt_loads``
    under the schema of its pipeline (``lead_scoring_import`` or the extract's)."""
    from lead_scoring.byod.load import PIPELINE_NAME as IMPORT

    if not wh.table_exists(RAW, "_dlt_loads"):
        return []
    imported = []
    for table in tables:
        if LOAD_ID not in wh.columns(RAW, table):
            continue
        schema = wh.scalar(
            f"select schema_name from {RAW}._dlt_loads"
            f" where load_id = (select max({LOAD_ID}) from {RAW}.{table})"
        )
        if schema == IMPORT:
            imported.append(table)
    return imported


def newest(frame: pd.DataFrame, table: str, as_of: datetime) -> pd.Timestamp | None:
    """The newest change (not after ``as_of``) among ``frame``'s rows of ``raw.<table>``."""
    column = frame[FRESHNESS[table]]
    times = wire_time(column) if table.startswith("crm_") else db_time(column)
    latest = times[times <= pd.Timestamp(as_of)].max()
    return None if pd.isna(latest) else latest
