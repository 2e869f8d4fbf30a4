"""The sandbox's record store: one SQLite file shared by the server and the simulator.

Tables: ``objects`` (every record, HubSpot object types as named by HubSpot,
Salesforce ones as ``sf:<SObject>``: ``updated_at`` is their SystemModstamp, ``archived``
their IsDeleted), ``record_keys`` (unique match keys: a
contact's lower-cased e-mail, properties created with ``hasUniqueValue``,
Salesforce external ids), ``associations`` (HubSpot's, e.g. a call's contact) and
``property_defs`` / ``property_groups`` (HubSpot properties and groups created through the
API).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
create table if not exists objects (
    object_type text not null,          -- HubSpot: contacts/companies/deals; Salesforce: sf:Lead...
    id text not null,
    properties text not null,           -- JSON object of property name -> value
    created_at text not null,
    updated_at text not null,           -- ISO-8601 UTC, mirrors lastmodifieddate
    archived integer not null default 0,
    primary key (object_type, id)
);
-- search pages (lastmodifieddate filter and sort, ties by numeric id) and their counts
drop index if exists objects_updated;
create index if not exists objects_live on objects
    (object_type, archived, updated_at, cast(id as integer));
-- lists by id and the next HubSpot id
create index if not exists objects_number on objects (object_type, cast(id as integer), id);
-- Salesforce queries: SystemModstamp filter and sort, deleted records included (queryAll)
create index if not exists objects_sf_modstamp on objects (object_type, updated_at, id, archived)
    where object_type glob 'sf:*';
-- Salesforce lookup fields queried by value (Salesforce indexes lookup fields): a converted
-- Lead by its Contact or Opportunity, an Opportunity's contact roles
create index if not exists objects_sf_converted_contact on objects
    (object_type, json_extract(properties, '$.ConvertedContactId')) where object_type glob 'sf:*';
create index if not exists objects_sf_converted_opportunity on objects
    (object_type, json_extract(properties, '$.ConvertedOpportunityId'))
    where object_type glob 'sf:*';
create index if not exists objects_sf_opportunity on objects
    (object_type, json_extract(properties, '$.OpportunityId')) where object_type glob 'sf:*';
create table if not exists record_keys (
    object_type text not null,
    name text not null,                 -- e.g. email, ls_account_id, LS_Lead_Id__c
    value text not null,                -- normalised (e-mail lower-cased and trimmed)
    id text not null,
    primary key (object_type, name, value)
);
create index if not exists record_keys_id on record_keys (object_type, id);
-- HubSpot associations, one row per direction (a call's contact, and the contact's call)
create table if not exists associations (
    from_type text not null,
    from_id text not null,
    to_type text not null,
    to_id text not null,
    type_id integer not null,           -- HubSpot's association type id (call -> contact: 194)
    primary key (from_type, from_id, to_type, to_id, type_id)
);
create index if not exists associations_to on associations (to_type, to_id);
create table if not exists property_defs (
    object_type text not null,
    name text not null,
    definition text not null,           -- JSON, HubSpot's Property shape
    primary key (object_type, name)
);
create table if not exists property_groups (
    object_type text not null,
    name text not null,
    definition text not null,
    primary key (object_type, name)
);
"""

# Insert or replace a record; an update in place touches only the indexes whose columns change.
UPSERT_OBJECT = (
    "insert into objects (object_type, id, properties, created_at, updated_at)"
    " values (?, ?, ?, ?, ?) on conflict (object_type, id) do update set"
    " properties = excluded.properties, created_at = excluded.created_at,"
    " updated_at = excluded.updated_at, archived = 0"
)
# Keys every store indexes without a property definition (HubSpot's built-in unique e-mail).
BUILTIN_KEYS = {"contacts": ("email",)}
SALESFORCE_ONLY = "object_type glob 'sf:*'"  # the condition of the objects_sf_modstamp index
_JSON = json.JSONEncoder(separators=(",", ":"))  # json.dumps makes one per call: 1.5x slower
TOTALS_KEPT = 256  # search counts remembered per data version
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def now_iso() -> str:
    return iso_millis(datetime.now(UTC))


def iso_millis(moment: datetime) -> str:
    """HubSpot's wire format for datetimes: ``2026-11-01T10:00:00.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def canonical_datetime(value: str) -> str:
    """An ISO-8601 string or epoch millis in canonical form, so text order is time order."""
    text = value.strip()
    if text.lstrip("-").isdigit():
        return iso_millis(datetime.fromtimestamp(int(text) / 1000, UTC))
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso_millis(moment)


def iso_date(value: str) -> str:
    """A ``YYYY-MM-DD`` date as ``strptime(value, "%Y-%m-%d")`` reads it; ValueError if not."""
    if _ISO_DATE.fullmatch(value):  # the usual shape: fromisoformat is 4x faster than strptime
        return date.fromisoformat(value).strftime("%Y-%m-%d")
    return datetime.strptime(value, "%Y-%m-%d").strftime("%Y-%m-%d")


def normalise_key(name: str, value: Any) -> str:
    text = str(value).strip()
    return text.lower() if name.lower() == "email" else text


@dataclass
class Record:
    object_type: str
    id: str
    properties: dict[str, Any]
    created_at: str
    updated_at: str
    deleted: bool = False


class CrmStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.con = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self.con.execute("pragma journal_mode=wal")
        self.con.execute("pragma synchronous=normal")
        self.con.executescript(SCHEMA)
        self._totals: dict[tuple[str, str, tuple[Any, ...]], int] = {}
        self._totals_version: tuple[int, int] | None = None

    def close(self) -> None:
        with self.lock:
            self.con.close()

    # -- the simulator's interface -------------------------------------------------------
    def bulk_load(
        self, object_type: str, records: Iterable[dict[str, str]], keys: Iterable[str] = ()
    ) -> int:
        """Insert or replace records; each carries its id as ``hs_object_id``.

        ``createdate``/``lastmodifieddate`` are taken from the record when present; ``keys``:
        more unique keys to index (Salesforce external ids). Salesforce records (``sf:``)
        get their SystemModstamp (``updated_at``) in Salesforce's format, ``...+0000``.
        """
        stamp = now_iso()
        key_names = (*self.key_names(object_type), *keys)
        zone = "+0000" if object_type.startswith("sf:") else "Z"
        rows, keys = [], []
        for record in records:
            record = dict(record)
            record_id = str(record["hs_object_id"])
            for name in ("createdate", "lastmodifieddate"):
                if record.get(name):
                    record[name] = canonical_datetime(record[name])
            created = record.get("createdate") or stamp
            updated = record.get("lastmodifieddate") or created
            record.setdefault("createdate", created)
            record.setdefault("lastmodifieddate", updated)
            rows.append(
                (
                    object_type,
                    record_id,
                    _JSON.encode(record),
                    created[:-1] + zone,
                    updated[:-1] + zone,
                )
            )
            keys.extend(
                (object_type, name, normalise_key(name, record[name]), record_id)
                for name in key_names
                if record.get(name) not in (None, "")
            )
        with self.lock, self.con:
            cur = self.con.executemany(UPSERT_OBJECT, rows)
            loaded = cur.rowcount
            self.con.executemany(
                "delete from record_keys where object_type = ? and id = ?",
                [(row[0], row[1]) for row in rows],
            )
            self.con.executemany(
                "insert or replace into record_keys (object_type, name, value, id)"
                " values (?, ?, ?, ?)",
                keys,
            )
        return loaded

    def count(self, object_type: str) -> int:
        with self.lock:
            return self.con.execute(
                "select count(*) from objects where object_type = ? and archived = 0",
                [object_type],
            ).fetchone()[0]

    # -- reads ---------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self.lock:
            rows = self.con.execute(
                "select object_type, count(*) from objects where archived = 0 group by 1"
            ).fetchall()
        return dict(rows)

    def get(self, object_type: str, record_id: str) -> Record | None:
        rows = self.select(object_type, "id = ?", [str(record_id)], limit=1)
        return rows[0] if rows else None

    def get_many(
        self, object_type: str, ids: Iterable[str], deleted: bool = False
    ) -> dict[str, Record]:
        """Records by id; ``deleted``: Salesforce's recycle bin included."""
        ids = [str(i) for i in ids]
        found: dict[str, Record] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            # ordered by the primary key's id, so SQLite looks the ids up instead of scanning
            for record in self.select(
                object_type, f"id in ({marks})", chunk, order="id", deleted=deleted
            ):
                found[record.id] = record
        return found

    def find_ids(self, object_type: str, name: str, values: Iterable[Any]) -> dict[str, str]:
        """Normalised key value -> record id, for the values that match a record."""
        wanted = [normalise_key(name, v) for v in values]
        found: dict[str, str] = {}
        with self.lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    self.con.execute(
                        "select value, id from record_keys where object_type = ? and name = ?"
                        f" and value in ({marks})",
                        [object_type, name, *chunk],
                    ).fetchall()
                )
        return found

    def select(
        self,
        object_type: str,
        where: str = "1 = 1",
        params: list[Any] | None = None,
        order: str = "cast(id as integer), id",
        limit: int = -1,
        offset: int = 0,
        deleted: bool = False,
    ) -> list[Record]:
        live = "" if deleted else " and archived = 0"
        sql = (
            "select id, properties, created_at, updated_at, archived from objects"
            f" where object_type = ?{live} and ({where})"
            f" order by {order} limit ? offset ?"
        )
        with self.lock:
            rows = self.con.execute(sql, [object_type, *(params or []), limit, offset]).fetchall()
        return [Record(object_type, r[0], json.loads(r[1]), r[2], r[3], bool(r[4])) for r in rows]

    def fetch(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of any read-only statement (the Salesforce query engine's)."""
        with self.lock:
            return self.con.execute(sql, list(params)).fetchall()

    def rowids(self, sql: str, params: Iterable[Any] = ()) -> array:
        """The first column of a ``select rowid ...`` statement, compactly."""
        with self.lock:
            return array("q", (row[0] for row in self.con.execute(sql, list(params))))

    def total(self, object_type: str, where: str = "1 = 1", params: list[Any] | None = None) -> int:
        """How many records match; remembered until any connection writes (search paging
        asks for the same count on every page, and counting 1M index entries takes ~0.1 s)."""
        key = (object_type, where, tuple(params or []))
        with self.lock:
            # data_version moves on other connections' commits, total_changes on this one's
            version = (self.con.execute("pragma data_version").fetchone()[0],
                       self.con.total_changes)  # fmt: skip
            if version != self._totals_version or len(self._totals) >= TOTALS_KEPT:
                self._totals, self._totals_version = {}, version
            if key not in self._totals:
                sql = (
                    "select count(*) from objects where object_type = ? and archived = 0"
                    f" and ({where})"
                )
                self._totals[key] = self.con.execute(sql, [object_type, *key[2]]).fetchone()[0]
            return self._totals[key]

    def next_id(self, *object_types: str) -> int:
        """The next numeric id of records of ``object_types`` (types sharing one id space)."""
        with self.lock:
            highest = [
                self.con.execute(
                    "select max(cast(id as integer)) from objects where object_type = ?",
                    [object_type],
                ).fetchone()[0]
                or 0
                for object_type in object_types
            ]
        return max(highest) + 1

    def associated(
        self, from_type: str, ids: Iterable[str], to_type: str
    ) -> dict[str, list[tuple[str, int]]]:
        """Record id -> its associated ``to_type`` records (id, association type id), in id
        order; records without any are left out."""
        ids = [str(i) for i in ids]
        found: dict[str, list[tuple[str, int]]] = {}
        with self.lock:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self.con.execute(
                    "select from_id, to_id, type_id from associations where from_type = ?"
                    f" and to_type = ? and from_id in ({marks}) order by cast(to_id as integer)",
                    [from_type, to_type, *chunk],
                ).fetchall()
                for from_id, to_id, type_id in rows:
                    found.setdefault(from_id, []).append((to_id, type_id))
        return found

    # -- writes --------------------------------------------------------------------------
    def put_many(
        self,
        records: Iterable[tuple[Record, Mapping[str, Any]]],
        associations: Iterable[tuple[str, str, str, str, int]] = (),
    ) -> None:
        """Insert or replace records with their unique keys, and add ``associations``
        (from type, from id, to type, to id, type id), in one transaction."""
        records = list(records)
        if not records:
            return
        rows = [
            (r.object_type, r.id, _JSON.encode(r.properties),
             r.created_at, r.updated_at)
            for r, _ in records
        ]  # fmt: skip
        keys = [
            (record.object_type, name, normalise_key(name, value), record.id)
            for record, values in records
            for name, value in values.items()
            if value not in (None, "")
        ]
        with self.lock, self.con:
            self.con.executemany(UPSERT_OBJECT, rows)
            self.con.executemany(
                "delete from record_keys where object_type = ? and id = ?",
                [(row[0], row[1]) for row in rows],
            )
            self.con.executemany(
                "insert or replace into record_keys (object_type, name, value, id)"
                " values (?, ?, ?, ?)",
                keys,
            )
            self.con.executemany(
                "insert or ignore into associations (from_type, from_id, to_type, to_id,"
                " type_id) values (?, ?, ?, ?, ?)",
                list(associations),
            )

    def delete(self, object_type: str, ids: Iterable[str]) -> int:
        """Delete records, their match keys and associations for good: the freed pages are zeroed
        (``secure_delete``) and the write-ahead log is truncated, so no copy of the
        records stays in the file (a GDPR delete). Returns how many records went."""
        ids = [str(i) for i in ids]
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        with self.lock:
            self.con.execute("pragma secure_delete = on")
            try:
                with self.con:
                    gone = self.con.execute(
                        f"delete from objects where object_type = ? and id in ({marks})",
                        [object_type, *ids],
                    ).rowcount
                    self.con.execute(
                        f"delete from record_keys where object_type = ? and id in ({marks})",
                        [object_type, *ids],
                    )
                    self.con.execute(
                        f"delete from associations where from_type = ? and from_id in ({marks})"
                        f" or to_type = ? and to_id in ({marks})",
                        [object_type, *ids, object_type, *ids],
                    )
                self.con.execute("pragma wal_checkpoint(truncate)")
            finally:
                self.con.execute("pragma secure_delete = off")
        return gone

    def recycle(self, object_type: str, ids: Iterable[str], stamp: str) -> list[str]:
        """Salesforce's delete: the records go to the recycle bin (``archived``, IsDeleted),
        their SystemModstamp and LastModifiedDate become ``stamp`` and their external ids
        are freed. Returns the ids that were live."""
        ids = [str(i) for i in ids]
        live = list(self.get_many(object_type, ids))
        marks = ",".join("?" * len(live))
        with self.lock, self.con:
            self.con.execute(
                "update objects set archived = 1, updated_at = ?,"
                " properties = json_set(properties, '$.LastModifiedDate', ?)"
                f" where object_type = ? and id in ({marks})",
                [stamp, stamp, object_type, *live],
            )
            self.con.execute(
                f"delete from record_keys where object_type = ? and id in ({marks})",
                [object_type, *live],
            )
        return live

    def clear(self) -> None:
        """Remove every record and every property or group created through the API."""
        with self.lock, self.con:
            for table in ("objects", "record_keys", "associations", "property_defs",
                          "property_groups"):  # fmt: skip
                self.con.execute(f"delete from {table}")

    # -- HubSpot property definitions created through the API -----------------------------
    def key_names(self, object_type: str) -> tuple[str, ...]:
        unique = [
            name
            for name, definition in self.property_defs(object_type).items()
            if definition.get("hasUniqueValue")
        ]
        return (*BUILTIN_KEYS.get(object_type, ()), *unique)

    def property_defs(self, object_type: str) -> dict[str, dict[str, Any]]:
        return self._definitions("property_defs", object_type)

    def property_defs_by_type(self, prefix: str) -> dict[str, dict[str, dict[str, Any]]]:
        """Definitions of every object type starting with ``prefix`` (``sf:``), by type."""
        with self.lock:
            rows = self.con.execute(
                "select object_type, name, definition from property_defs"
                " where substr(object_type, 1, length(?)) = ? order by rowid",
                [prefix, prefix],
            ).fetchall()
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for object_type, name, definition in rows:
            found.setdefault(object_type, {})[name] = json.loads(definition)
        return found

    def save_property_def(self, object_type: str, definition: dict[str, Any]) -> None:
        self._save_definition("property_defs", object_type, definition)

    def property_groups(self, object_type: str) -> dict[str, dict[str, Any]]:
        return self._definitions("property_groups", object_type)

    def save_property_group(self, object_type: str, definition: dict[str, Any]) -> None:
        self._save_definition("property_groups", object_type, definition)

    def _definitions(self, table: str, object_type: str) -> dict[str, dict[str, Any]]:
        """Property or group definitions (``table``: property_defs or property_groups)."""
        with self.lock:
            rows = self.con.execute(
                f"select name, definition from {table} where object_type = ? order by rowid",
                [object_type],
            ).fetchall()
        return {name: json.loads(definition) for name, definition in rows}

    def _save_definition(self, table: str, object_type: str, definition: dict[str, Any]) -> None:
        with self.lock, self.con:
            self.con.execute(
                f"insert or replace into {table} (object_type, name, definition) values (?, ?, ?)",
                [object_type, definition["name"], json.dumps(definition)],
            )
