"""The sandbox's record store: one SQLite file shared by the server and the simulator."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
create table if not exists objects (
    object_type text not null,          -- HubSpot: contacts/companies/deals; Salesforce: sf:Lead...
    id text not null,
    properties text not null,           -- JSON object of property name -> string value
    created_at text not null,
    updated_at text not null,           -- ISO-8601 UTC, mirrors lastmodifieddate
    archived integer not null default 0,
    primary key (object_type, id)
);
create index if not exists objects_updated on objects (object_type, updated_at, id);
"""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class CrmStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self.con.execute("pragma journal_mode=wal")
        self.con.execute("pragma synchronous=normal")
        self.con.executescript(SCHEMA)

    def close(self) -> None:
        self.con.close()

    def bulk_load(self, object_type: str, records: Iterable[dict[str, str]]) -> int:
        """Insert or replace records; each carries its id as ``hs_object_id``.

        ``createdate``/``lastmodifieddate`` are taken from the record when present.
        """
        stamp = now_iso()

        def rows():
            for record in records:
                created = record.get("createdate") or stamp
                updated = record.get("lastmodifieddate") or created
                yield (
                    object_type,
                    str(record["hs_object_id"]),
                    json.dumps(record, separators=(",", ":")),
                    created,
                    updated,
                )

        with self.con:
            cur = self.con.executemany(
                "insert or replace into objects"
                " (object_type, id, properties, created_at, updated_at) values (?, ?, ?, ?, ?)",
                rows(),
            )
        return cur.rowcount

    def count(self, object_type: str) -> int:
        return self.con.execute(
            "select count(*) from objects where object_type = ? and archived = 0", [object_type]
        ).fetchone()[0]
