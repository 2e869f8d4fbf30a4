"""CRM records read again with nothing changed but their modification time.

A CRM stamps every write with a new modification time, the CRM sync's own write-back of
the scores included, so the next incremental read returns every record the sync wrote.
Their tracked fields are what raw already holds: loading them again would rewrite the
rows, and the quality gate would check them again, for nothing. Such a record is left out
of the load (its raw row keeps the earlier modification time); the read cursor still
moves past it, since the cursor step runs before this one.

A digest of each raw row's tracked columns (every column but the modification time and
dlt's own) is read once per extract, before anything is read from the CRM. A record whose
digest equals its raw row's is left out; a new record, a deletion, or a raw table that
lacks a tracked column (an older layout) is always loaded.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable

from lead_scoring.settings import Settings

log = logging.getLogger(__name__)

RAW = "raw"
MODIFIED = "lastmodifieddate"
SEPARATOR, MISSING = "\x1f", "\x00"  # between values; a null value
DIGEST_CHARS = 16  # of the MD5's hex digits: a false match is one in 2**64


def digest(values: Iterable[str | None]) -> str:
    """The digest of one row's tracked values (as ``digest_sql`` computes it)."""
    text = SEPARATOR.join(MISSING if value is None else str(value) for value in values)
    return hashlib.md5(text.encode()).hexdigest()[:DIGEST_CHARS]


def digest_sql(columns: list[str]) -> str:
    """SQL for the digest of a raw row's ``columns`` (DuckDB and PostgreSQL)."""
    values = ", ".join(f'coalesce(cast("{c}" as varchar), chr(0))' for c in columns)
    return f"left(md5(concat_ws(chr(31), {values})), {DIGEST_CHARS})"


def after_cursor(keep):
    """A dlt filter step (``keep(row)``: keep the row) placed after the resource's
    incremental cursor, which so still sees every row read: dlt places steps by affinity,
    its cursor at 1 and a plain filter before it."""
    from dlt.extract.items_transform import FilterItem

    class AfterCursor(FilterItem):
        placement_affinity = 1.5

    return AfterCursor(keep)


class UnchangedRecords:
    """The raw rows' digests of ``tables`` (raw table -> its columns, the key first; every
    one but ``lastmodifieddate`` tracked), and the records left out so far, per table."""

    def __init__(self, settings: Settings, tables: dict[str, list[str]]):
        from lead_scoring.warehouse import open_warehouse

        self.keys = {table: columns[0] for table, columns in tables.items()}
        self.tracked = {
            table: [c for c in columns if c != MODIFIED] for table, columns in tables.items()
        }
        self.digests: dict[str, dict[str, str]] = {}
        self.skipped: Counter = Counter()
        with open_warehouse(settings) as wh:
            for table, columns in self.tracked.items():
                if not wh.table_exists(RAW, table):
                    continue
                if set(columns) - set(wh.columns(RAW, table)):  # an older layout
                    continue
                rows = wh.query_df(
                    f'select cast("{self.keys[table]}" as varchar) as k,'
                    f" {digest_sql(columns)} as d from {RAW}.{table}"
                )
                self.digests[table] = dict(zip(rows["k"], rows["d"], strict=True))

    def is_new(self, table: str, row: dict) -> bool:
        """False when ``row`` of ``table`` holds what raw holds of its record."""
        stored = self.digests.get(table, {}).get(row[self.keys[table]])
        if stored is None or stored != digest(row.get(c) for c in self.tracked[table]):
            return True
        self.skipped[table] += 1
        return False

    def drop(self, table: str, rows: list[dict]) -> list[dict]:
        """``rows`` without the records raw holds unchanged (a deletion is always kept)."""
        return [row for row in rows if row.get("is_deleted") or self.is_new(table, row)]

    def log(self) -> None:
        for table, count in sorted(self.skipped.items()):
            log.info("%s records read again unchanged (only %s moved, e.g. the CRM sync's"
                     " write-back): not loaded into %s.%s", f"{count:,}", MODIFIED, RAW,
                     table)  # fmt: skip
