"""The schema gate: every raw table the gate reads has the contract's columns and types,
and its text is readable. One message names the table, the column and a sample value.
"""

from __future__ import annotations

import re

from lead_scoring.warehouse import Warehouse

RAW = "raw"
TEXT, INTEGER, TIMESTAMP = "text", "integer", "timestamp"

_CONTACTS = ("hs_object_id", "email", "firstname", "lastname", "jobtitle", "phone", "country",
             "company", "associatedcompanyid", "hs_analytics_source", "bant_budget",
             "bant_authority", "bant_need", "bant_timeline", "createdate",
             "lastmodifieddate")  # fmt: skip
_COMPANIES = ("hs_object_id", "name", "domain", "industry", "numberofemployees", "country",
              "annualrevenue", "ls_target_account", "createdate", "lastmodifieddate")  # fmt: skip
_DEALS = ("hs_object_id", "dealname", "ls_contact_id", "associatedcompanyid", "dealstage",
          "amount", "createdate", "closedate", "lastmodifieddate")  # fmt: skip
_ATTRIBUTES = ("hs_object_id", "attribute", "value", "kind", "valid_from")

# data-contracts.md section 2: table -> column -> type family
TABLES: dict[str, dict[str, str]] = {
    "crm_contacts": dict.fromkeys(_CONTACTS, TEXT),
    "crm_companies": dict.fromkeys(_COMPANIES, TEXT),
    "crm_deals": dict.fromkeys(_DEALS, TEXT),
    "crm_contact_attributes": dict.fromkeys(_ATTRIBUTES, TEXT),
    "crm_company_attributes": dict.fromkeys(_ATTRIBUTES, TEXT),
    "product_users": {"user_id": INTEGER, "email": TEXT, "signed_up_at": TIMESTAMP,
                      "updated_at": TIMESTAMP},
    "product_events": {"event_id": INTEGER, "user_id": INTEGER, "event_type": TEXT,
                       "occurred_at": TIMESTAMP},
    "marketing_events": {"event_id": TEXT, "contact_id": TEXT, "event_type": TEXT,
                         "occurred_at": TIMESTAMP, "url": TEXT},
}  # fmt: skip
# Columns whose values are personal data: a schema message shows a position, not the value.
PERSONAL = frozenset({"email", "firstname", "lastname", "phone"})
# Control characters, the Unicode replacement character, UTF-8 read as Latin-1 ("Ã©").
UNREADABLE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]|[\u00c2\u00c3][\u0080-\u00bf]"


class RawSchemaError(ValueError):
    """A raw table does not match the contract; the message names table, column, value."""


def family(data_type: str) -> str:
    """The type family of an information_schema ``data_type`` (DuckDB or PostgreSQL)."""
    t = data_type.lower()
    if t.startswith("timestamp") or t in ("datetime", "timestamptz"):
        return TIMESTAMP
    if "int" in t or t in ("numeric", "decimal") or t.startswith(("decimal", "numeric")):
        return INTEGER
    if "char" in t or t in ("text", "string", "varchar"):
        return TEXT
    return t


def check_table(wh: Warehouse, table: str) -> None:
    """Raise RawSchemaError when ``raw.<table>`` lacks a column or has one of another type."""
    types = wh.query_df(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ?",
        [RAW, table],
    )
    found = dict(zip(types["column_name"], types["data_type"], strict=True))
    for column, expected in TABLES[table].items():
        if column not in found:
            raise RawSchemaError(
                f"{RAW}.{table} has no column {column!r} (columns: {', '.join(sorted(found))})"
            )
        if family(found[column]) != expected:
            sample = wh.scalar(
                f'select "{column}" from {RAW}.{table} where "{column}" is not null limit 1'
            )
            raise RawSchemaError(
                f"{RAW}.{table}.{column} is {found[column]}, expected {expected};"
                f" sample value: {_show(column, sample)}"
            )


def _unreadable(wh: Warehouse, expression: str) -> tuple[str, str]:
    """A SQL predicate matching unreadable text in ``expression``, and its parameter."""
    if wh.kind == "duckdb":  # RE2
        return (
            f"regexp_matches({expression}, ?)",
            r"[\x01-\x08\x0b\x0c\x0e-\x1f\x{fffd}]|[\x{c2}\x{c3}][\x{80}-\x{bf}]",
        )
    return f"{expression} ~ ?", r"[\x01-\x08\x0b\x0c\x0e-\x1f\uFFFD]|[\u00C2\u00C3][\u0080-\u00BF]"


def check_readable(wh: Warehouse, table: str, key: str, where: str = "true") -> None:
    """Raise RawSchemaError when a text value holds control or mis-decoded characters, in
    the rows ``where`` keeps: an incremental gate run reads only the rows loaded since the
    last passed run, whose earlier rows passed this check."""
    text = [c for c, kind in TABLES[table].items() if kind == TEXT]
    joined = "concat_ws(chr(10), " + ", ".join(f'"{c}"' for c in text) + ")"
    predicate, pattern = _unreadable(wh, joined)
    rows_sql = f"{RAW}.{table} where ({where}) and"
    if not wh.scalar(f"select count(*) from {rows_sql} {predicate}", [pattern]):
        return
    for column in text:
        predicate, pattern = _unreadable(wh, f'"{column}"')
        rows = wh.query_df(f'select "{key}", "{column}" from {rows_sql} {predicate}', [pattern])
        if len(rows):
            raise RawSchemaError(
                f"{RAW}.{table}.{column} has unreadable text (wrong encoding?) in"
                f" {len(rows)} row(s); sample: {key} {rows.iat[0, 0]}:"
                f" {_show(column, rows.iat[0, 1])}"
            )


def _show(column: str, value) -> str:
    if value is None:
        return "null"
    text = str(value)
    if column in PERSONAL:
        match = re.search(UNREADABLE, text)
        where = f", character {match.start() + 1} is {match.group()!a}" if match else ""
        return f"<{len(text)} characters, personal data not shown{where}>"
    return repr(text[:80])
