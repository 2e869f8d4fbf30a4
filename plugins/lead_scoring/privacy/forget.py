"""Erasure on request (GDPR Art. 17, CCPA): ``forget_people`` and ``traces``.

A person is found by normalised e-mail (lower case, trimmed) or CRM contact id, then
widened to every identifier of theirs: the contact ids holding that e-mail (merged
duplicates are the same person), their product user ids (same e-mail), their deals
(``ls_contact_id``), their marketing and product event ids and the CRM ids the sync wrote
to. Then:

1. CRM (optional): the target CRM deletes the record (HubSpot GDPR delete, Salesforce
   Lead/Contact delete), through the CRM sync's writers.
2. Warehouse: every base table of every schema whose columns identify a person (the rule
   in ``person_conditions``; tables are discovered in information_schema, so a new table
   is covered without a list to update) loses the person's rows. Nothing is recomputed:
   the next nightly run rebuilds the marts from raw, which no longer has them.
3. Files under the home: the loaded dlt job files are deleted (all of them: the rows are
   in the warehouse); CSV and Parquet files lose the person's rows; SQLite files written
   by the product (the simulated product database) lose them too; any other file that
   mentions the e-mail, phone or full name is deleted. The CRM sandbox's store is the
   CRM: it changes only through step 1. Imported export files outside the home are not
   the product's: a warning names those that hold the e-mail.
4. A tombstone (keyed hashes, ``privacy/tombstones.py``) keeps the next extract or
   import from bringing the person back.

Output never shows the e-mail: a person is named by a prefix of its keyed hash.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lead_scoring.privacy.tombstones import (
    CONTACT,
    EMAIL,
    KEY_FILE,
    PRODUCT_USER,
    SCHEMA,
    digest,
    normalise_email,
    normalise_id,
    privacy_key,
    record_tombstones,
)
from lead_scoring.settings import Settings
from lead_scoring.warehouse import Warehouse, WarehouseError, open_warehouse

log = logging.getLogger(__name__)

SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast", SCHEMA)
# Columns that hold a CRM contact (lead) id, whatever the table.
CONTACT_COLUMNS = ("lead_id", "contact_id", "ls_contact_id", "survivor_id",
                   "survivor_contact_id")  # fmt: skip
# Values of ``object_type`` (sync tables) that name a contact / lead record.
CONTACT_OBJECTS = ("contacts", "contact", "0-1", "lead", "leads", "Lead", "Contact",
                   "sf:Lead", "sf:Contact")  # fmt: skip
# ``record_type`` (quality tables) -> which of a person's identifiers its record_id holds.
RECORD_TYPES = {"contact": "contact_ids", "deal": "deal_ids", "product_user": "user_ids",
                "product_event": "product_event_ids",
                "marketing_event": "marketing_event_ids"}  # fmt: skip
# ``event_source`` -> what ``subject_id`` holds (dbt's unioned events).
SUBJECTS = {"marketing": "contact_ids", "product": "user_ids"}
TEXT_SUFFIXES = (".html", ".htm", ".json", ".txt", ".md", ".log", ".yml", ".yaml", ".xml")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
IMPORTS_FILE = "imported_files.json"  # written by `lead-scoring import` (byod/load.py)


@dataclass
class Person:
    """Every identifier of one person found in the warehouse."""

    label: str  # a prefix of the keyed hash of the e-mail (or id) asked for
    emails: set[str] = field(default_factory=set)
    contact_ids: set[str] = field(default_factory=set)
    user_ids: set[str] = field(default_factory=set)
    deal_ids: set[str] = field(default_factory=set)
    marketing_event_ids: set[str] = field(default_factory=set)
    product_event_ids: set[str] = field(default_factory=set)
    crm_ids: dict[str, set[str]] = field(default_factory=dict)  # sync target -> CRM ids
    names: set[str] = field(default_factory=set)  # "first last"
    phones: set[str] = field(default_factory=set)

    @property
    def text_needles(self) -> list[str]:
        """What marks a free-text file as mentioning the person."""
        return sorted(n for n in {*self.emails, *self.names, *self.phones} if len(n) >= 5)

    def identifiers(self) -> Iterator[tuple[str, str]]:
        yield from ((EMAIL, e) for e in self.emails)
        yield from ((CONTACT, c) for c in self.contact_ids)
        yield from ((PRODUCT_USER, u) for u in self.user_ids)


@dataclass
class PersonResult:
    label: str
    rows: int = 0
    tables: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # rewritten or deleted
    crm: str = "not asked"  # deleted / not found / not asked / failed: ...
    crm_records: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"forgot {self.label}: {self.rows} rows in {len(self.tables)} tables,"
                f" {len(self.files)} files; CRM: {self.crm}")  # fmt: skip


@dataclass
class ForgetResult:
    people: list[PersonResult] = field(default_factory=list)
    dlt_files_deleted: int = 0
    notes: list[str] = field(default_factory=list)  # files deleted whole, kept outside
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.people)

    @property
    def tables(self) -> list[str]:
        return sorted({t for p in self.people for t in p.tables})

    @property
    def files(self) -> list[str]:
        return sorted({f for p in self.people for f in p.files})

    @property
    def crm_failed(self) -> bool:
        return any(p.crm.startswith("failed") for p in self.people)


# -- the warehouse ----------------------------------------------------------------------------
def base_tables(
    wh: Warehouse, exclude: Sequence[str] = SYSTEM_SCHEMAS
) -> dict[tuple[str, str], list[str]]:
    """(schema, table) -> column names of every base table outside the ``exclude``d schemas
    (by default the system ones and ``privacy``, which holds hashes only)."""
    marks = ", ".join("?" * len(exclude))
    frame = wh.query_df(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns c"
        " join information_schema.tables t on t.table_schema = c.table_schema"
        " and t.table_name = c.table_name"
        f" where t.table_type = 'BASE TABLE' and c.table_schema not in ({marks})"
        " order by c.table_schema, c.table_name, c.ordinal_position",
        list(exclude),
    )
    tables: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in frame.itertuples(index=False):
        tables.setdefault((schema, table), []).append(column)
    return tables


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(column: str) -> str:
    return f"cast({_ident(column)} as varchar)"


def _in(expr: str, values: Iterable[str], params: list) -> str | None:
    values = sorted(values)
    if not values:
        return None
    params.extend(values)
    return f"{expr} in ({', '.join('?' * len(values))})"


def person_conditions(table: str, columns: Sequence[str], person: Person) -> tuple[str, list]:
    """The SQL condition (and its parameters) matching the person's rows in ``table``, or
    ("", []) when no column of the table identifies a person. The rule, by column name:

    * ``email``, ``*_email``: the person's e-mails (compared lower-cased and trimmed);
      ``match_key``: those e-mails or their contact ids;
    * ``lead_id``, ``contact_id``, ``ls_contact_id``, ``survivor_id``,
      ``survivor_contact_id``: their contact ids; ``user_id``: their product user ids;
      ``deal_id``: their deals; ``crm_id``: the CRM ids the sync wrote to;
    * ``hs_object_id``: a contact id in a table named like ``*contact*``, a deal id in one
      named like ``*deal*`` (company ids are not personal);
    * ``record_id``: typed by ``record_type`` where there is one (quality tables: contact,
      deal, product_user, product_event, marketing_event; contact_attribute ids start
      with ``<contact id>|``), else a contact id;
    * ``subject_id``: typed by ``event_source`` (marketing: contact id, product: user id);
    * a table with an ``object_type`` column (the sync tables) matches only its contact
      rows (``contacts``, Lead, Contact), since ids of other object types may collide.
    """
    cols = {c.lower(): c for c in columns}
    params: list = []
    parts: list[str | None] = []
    emails = {normalise_email(e) for e in person.emails}
    crm_ids = {i for ids in person.crm_ids.values() for i in ids}
    for low, col in cols.items():
        value = _text(col)
        if low == "email" or low.endswith("_email"):
            parts.append(_in(f"lower(trim({value}))", emails, params))
        elif low == "match_key":
            parts.append(_in(f"lower(trim({value}))", emails | person.contact_ids, params))
        elif low in CONTACT_COLUMNS:
            parts.append(_in(value, person.contact_ids, params))
        elif low == "user_id":
            parts.append(_in(value, person.user_ids, params))
        elif low == "deal_id":
            parts.append(_in(value, person.deal_ids, params))
        elif low == "crm_id":
            parts.append(_in(value, crm_ids, params))
        elif low == "hs_object_id" and "contact" in table.lower():
            parts.append(_in(value, person.contact_ids, params))
        elif low == "hs_object_id" and "deal" in table.lower():
            parts.append(_in(value, person.deal_ids, params))
        elif low == "subject_id" and "event_source" in cols:
            for source, which in SUBJECTS.items():
                ids = getattr(person, which)
                if ids:
                    params.append(source)
                    cond = _in(value, ids, params)
                    parts.append(f"({_text(cols['event_source'])} = ? and {cond})")
        elif low == "subject_id":
            parts.append(_in(value, person.contact_ids, params))
        elif low == "record_id" and "record_type" in cols:
            kind = _text(cols["record_type"])
            for record_type, which in RECORD_TYPES.items():
                ids = getattr(person, which)
                if ids:
                    params.append(record_type)
                    cond = _in(value, ids, params)
                    parts.append(f"({kind} = ? and {cond})")
            if person.contact_ids:
                likes = []
                params.append("contact_attribute")
                for contact_id in sorted(person.contact_ids):
                    likes.append(f"{value} like ?")
                    params.append(f"{contact_id}|%")
                parts.append(f"({kind} = ? and ({' or '.join(likes)}))")
        elif low == "record_id":
            parts.append(_in(value, person.contact_ids, params))
    found = [p for p in parts if p]
    if not found:
        return "", []
    condition = "(" + " or ".join(found) + ")"
    if "object_type" in cols:
        marks = ", ".join("?" * len(CONTACT_OBJECTS))
        condition = f"{_text(cols['object_type'])} in ({marks}) and {condition}"
        params = [*CONTACT_OBJECTS, *params]
    return condition, params


def _values(wh: Warehouse, tables, schema: str, table: str, select: str, where: str,
            params: list) -> set[str]:  # fmt: skip
    """Distinct non-empty values of ``select`` in ``schema.table`` (empty when absent)."""
    if (schema, table) not in tables or not params:
        return set()
    frame = wh.query_df(f"select distinct {select} as v from {schema}.{table} where {where}",
                        params)  # fmt: skip
    return {normalise_id(v) for v in frame["v"].dropna() if str(v).strip()}


def find_person(wh: Warehouse, tables, label: str, emails=(), contact_ids=()) -> Person:
    """The person holding ``emails`` / ``contact_ids``, with every identifier of theirs."""
    person = Person(label, {normalise_email(e) for e in emails},
                    {normalise_id(i) for i in contact_ids})  # fmt: skip
    for _ in range(3):  # e-mail -> contact ids -> their other e-mails -> ...
        before = (len(person.emails), len(person.contact_ids))
        for schema, table, id_col in (("raw", "crm_contacts", "hs_object_id"),
                                      ("marts", "lead_scores", "lead_id")):  # fmt: skip
            params: list = []
            where = " or ".join(filter(None, (
                _in("lower(trim(cast(email as varchar)))", person.emails, params),
                _in(f"cast({id_col} as varchar)", person.contact_ids, params),
            )))  # fmt: skip
            person.contact_ids |= _values(wh, tables, schema, table, f"cast({id_col} as varchar)",
                                          where, params)  # fmt: skip
            emails = _values(wh, tables, schema, table, "lower(trim(cast(email as varchar)))",
                             where, params)  # fmt: skip
            person.emails |= emails
        if (len(person.emails), len(person.contact_ids)) == before:
            break
    if ("raw", "crm_contacts") in tables and "crm_record_id" in wh.columns("raw", "crm_contacts"):
        params = []  # Salesforce: the Contact a converted person is now (events may name it)
        where = _in("cast(hs_object_id as varchar)", person.contact_ids, params)
        select = "cast(crm_record_id as varchar)"
        person.contact_ids |= _values(wh, tables, "raw", "crm_contacts", select, where or "",
                                      params)  # fmt: skip
    params = []
    where = _in("lower(trim(cast(email as varchar)))", person.emails, params)
    person.user_ids = _values(wh, tables, "raw", "product_users", "cast(user_id as varchar)",
                              where or "", params)  # fmt: skip
    params = []
    where = _in("cast(ls_contact_id as varchar)", person.contact_ids, params)
    person.deal_ids = _values(wh, tables, "raw", "crm_deals", "cast(hs_object_id as varchar)",
                              where or "", params)  # fmt: skip
    params = []
    where = _in("cast(contact_id as varchar)", person.contact_ids, params)
    person.marketing_event_ids = _values(
        wh, tables, "raw", "marketing_events", "cast(event_id as varchar)", where or "", params
    )
    params = []
    where = _in("cast(user_id as varchar)", person.user_ids, params)
    person.product_event_ids = _values(
        wh, tables, "raw", "product_events", "cast(event_id as varchar)", where or "", params
    )
    if ("sync", "crm_state") in tables and (person.contact_ids or person.emails):
        params = list(CONTACT_OBJECTS)
        where = " or ".join(filter(None, (
            _in("record_id", person.contact_ids, params),
            _in("lower(trim(match_key))", person.emails, params),
        )))  # fmt: skip
        frame = wh.query_df(
            "select target, crm_id from sync.crm_state where object_type in"
            f" ({', '.join('?' * len(CONTACT_OBJECTS))}) and ({where})", params,
        )  # fmt: skip
        for target, crm_id in frame.itertuples(index=False):
            if crm_id:
                person.crm_ids.setdefault(str(target), set()).add(str(crm_id))
    if ("raw", "crm_contacts") in tables and person.contact_ids:
        params = []
        where = _in("cast(hs_object_id as varchar)", person.contact_ids, params)
        frame = wh.query_df(
            f"select firstname, lastname, phone from raw.crm_contacts where {where}", params
        )
        for first, last, phone in frame.itertuples(index=False):
            name = " ".join(str(p).strip() for p in (first, last) if p and str(p).strip())
            if " " in name:
                person.names.add(name.lower())
            if phone and str(phone).strip():
                person.phones.add(str(phone).strip().lower())
    return person


def erase_rows(wh: Warehouse, tables, person: Person) -> dict[str, int]:
    """Delete the person's rows from every table; ``schema.table`` -> rows deleted."""
    deleted: dict[str, int] = {}
    for (schema, table), columns in tables.items():
        condition, params = person_conditions(table, columns, person)
        if not condition:
            continue
        name = f"{_ident(schema)}.{_ident(table)}"
        rows = int(wh.scalar(f"select count(*) from {name} where {condition}", params) or 0)
        if rows:
            wh.execute(f"delete from {name} where {condition}", params)
            deleted[f"{schema}.{table}"] = rows
    return deleted


# -- files ------------------------------------------------------------------------------------
def _pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    """Any needle as a whole token (not inside a longer word or number), any case."""
    alternatives = sorted({re.escape(n.lower()) for n in needles if n}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<![0-9a-z])(?:" + "|".join(alternatives) + r")(?![0-9a-z])")


def _row_keys(person: Person) -> dict[str, set[str]]:
    """Column name -> values marking a row of a CSV / Parquet / SQLite table as the
    person's (the warehouse rule, applied to files)."""
    ids = {c: person.contact_ids for c in (*CONTACT_COLUMNS, "hs_object_id", "record_id",
                                           "subject_id")}  # fmt: skip
    return ids | {
        "user_id": person.user_ids,
        "deal_id": person.deal_ids,
        "event_id": person.marketing_event_ids | person.product_event_ids,
    }


def _row_is_person(row: dict[str, str], keys: dict[str, set[str]], cells: set[str]) -> bool:
    for column, value in row.items():
        text = normalise_id(value).lower() if value is not None else ""
        if not text:
            continue
        if text in cells or text in keys.get(str(column).lower(), ()):
            return True
    return False


def _scrub_csv(path: Path, person: Person) -> bool:
    text = path.read_text(encoding="utf-8", errors="replace")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return False
    header, keys = rows[0], _row_keys(person)
    cells = {*person.emails, *person.phones, *person.names}
    kept = [r for r in rows[1:]
            if not _row_is_person(dict(zip(header, r, strict=False)), keys, cells)]  # fmt: skip
    if len(kept) == len(rows) - 1:
        return False
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *kept])
    path.write_text(out.getvalue(), encoding="utf-8")
    return True


def _parquet_mask(table, person: Person):
    """True for the rows of an Arrow table that are the person's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys, mask = _row_keys(person), None
    cells = sorted({*person.emails, *person.phones, *person.names})
    for name in table.schema.names:
        column = table.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                or pa.types.is_integer(column.type)):  # fmt: skip
            continue
        text = pc.utf8_lower(pc.utf8_trim_whitespace(column.cast(pa.string())))
        wanted = [*cells, *keys.get(name.lower(), ())]
        if wanted:
            hit = pc.fill_null(pc.is_in(text, value_set=pa.array(wanted, pa.string())), False)
            mask = hit if mask is None else pc.or_(mask, hit)
    return mask


def _scrub_parquet(path: Path, person: Person) -> bool:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    mask = _parquet_mask(table, person)
    if mask is None or not pc.any(mask).as_py():
        return False
    pq.write_table(table.filter(pc.invert(mask)), path)
    return True


def _scrub_sqlite(path: Path, person: Person) -> bool:
    """Delete the person's rows from every table of a SQLite file (the warehouse rule),
    zeroing freed pages and truncating the write-ahead log."""
    con = sqlite3.connect(path)
    changed = 0
    try:
        con.execute("pragma secure_delete = on")
        names = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'"
                                           " and name not like 'sqlite_%'")]  # fmt: skip
        with con:
            for table in names:
                columns = [r[1] for r in con.execute(f"pragma table_info({_ident(table)})")]
                condition, params = person_conditions(table, columns, person)
                if condition:
                    condition = condition.replace(" as varchar)", " as text)")
                    changed += con.execute(
                        f"delete from {_ident(table)} where {condition}", params
                    ).rowcount
        if changed:
            con.execute("vacuum")
        con.execute("pragma wal_checkpoint(truncate)")
    finally:
        con.close()
    return changed > 0


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            pass
    return data.decode("utf-8", errors="replace").lower()


def _product_files(settings: Settings) -> Iterator[Path]:
    """Files under the home the product wrote and may hold personal data: everything but
    the warehouse (erased as tables), the privacy key and the CRM sandbox's store (the
    CRM: changed only by a CRM delete)."""
    skip_dirs = {settings.crm_sandbox_dir.resolve()}
    warehouse = settings.warehouse_path.resolve()
    for root, dirs, files in os.walk(settings.home):
        here = Path(root).resolve()
        dirs[:] = [d for d in dirs if (here / d).resolve() not in skip_dirs]
        for name in files:
            path = here / name
            if name == KEY_FILE or path == warehouse or name.startswith(warehouse.name + "."):
                continue
            yield path


def delete_loaded_dlt_jobs(settings: Settings) -> int:
    """Delete the job files of every loaded dlt package under ``<home>/.dlt`` (their rows
    are in the warehouse; a pipeline keeps no copy, see ``sources.extract.pipeline``)."""
    deleted = 0
    for folder in (settings.home / ".dlt").glob("*/load/loaded/*/completed_jobs"):
        for path in folder.iterdir():
            if path.is_file():
                path.unlink()
                deleted += 1
            elif path.is_dir():
                shutil.rmtree(path)
                deleted += 1
    return deleted


def scrub_files(settings: Settings, person: Person, notes: list[str]) -> list[str]:
    """Remove the person from the product's files; the files changed or deleted."""
    touched: list[str] = []
    pattern = _pattern(person.text_needles)
    for path in _product_files(settings):
        relative = str(path.relative_to(settings.home.resolve()))
        suffix = path.suffix.lower()
        stat = path.stat()
        try:
            if suffix == ".csv":
                changed = _scrub_csv(path, person)
            elif suffix == ".parquet":
                changed = _scrub_parquet(path, person)
            elif suffix in SQLITE_SUFFIXES:
                changed = _scrub_sqlite(path, person)
            elif pattern is not None and pattern.search(_read_text(path)):
                path.unlink()
                notes.append(f"deleted {relative}: it mentioned a forgotten person and cannot"
                             " be rewritten row by row")  # fmt: skip
                changed = True
            else:
                changed = False
        except (OSError, sqlite3.Error, ValueError) as exc:
            raise WarehouseError(f"could not erase from {path}: {exc}") from exc
        if changed:
            touched.append(relative)
            if path.exists():  # same modification time: a rewritten export is not "new"
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return touched


def imported_files(settings: Settings) -> list[Path]:
    """Export files `lead-scoring import` read (byod/load.py records them)."""
    path = settings.home / IMPORTS_FILE
    if not path.exists():
        return []
    try:
        return [Path(p) for p in json.loads(path.read_text(encoding="utf-8"))]
    except ValueError:
        return []


def _outside_warnings(settings: Settings, person: Person) -> list[str]:
    """Imported files outside the home that still hold the person's e-mail."""
    home = settings.home.resolve()
    warnings = []
    for path in imported_files(settings):
        if not path.exists() or path.resolve().is_relative_to(home):
            continue
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            mask = _parquet_mask(pq.read_table(path), Person(person.label, person.emails))
            found = mask is not None and bool(mask.to_numpy(zero_copy_only=False).any())
        else:
            pattern = _pattern(person.emails)
            found = pattern is not None and bool(pattern.search(_read_text(path)))
        if found:
            warnings.append(f"{person.label}: {path} (imported, not the product's file) still"
                            " holds the person's e-mail: remove it there, or the person is"
                            " only kept out by the tombstone")  # fmt: skip
    return warnings


# -- the CRM ----------------------------------------------------------------------------------
def crm_delete(person: Person) -> tuple[str, list[str]]:
    """Ask the target CRM (``LEAD_SCORING_CRM_*``) to delete the person: (status, records)."""
    from lead_scoring.crm_sync import CrmPreflightError, CrmSyncError, target_from_env
    from lead_scoring.crm_sync.preflight import make_writer
    from lead_scoring.crm_sync.throttle import Throttle

    try:
        target = target_from_env()
        writer = make_writer(target, Throttle(target.options, target.max_requests_per_10s))
        crm_ids = sorted(person.crm_ids.get(target.name, set()))
        emails = sorted(person.emails)
        if target.kind == "hubspot":
            ids = set(crm_ids) | (person.contact_ids if target.uses_crm_ids else set())
            deleted = writer.gdpr_delete(emails, sorted(ids))
        else:
            deleted = writer.delete_people(emails, sorted(person.contact_ids), crm_ids)
    except (CrmPreflightError, CrmSyncError) as exc:
        return f"failed: {exc}", []
    return ("deleted" if deleted else "not found"), deleted


# -- the whole request ------------------------------------------------------------------------
def _check_warehouse(settings: Settings) -> None:
    if settings.warehouse == "duckdb" and not settings.warehouse_path.exists():
        raise WarehouseError(
            f"warehouse file {settings.warehouse_path} does not exist: nothing to forget from"
            " (check LEAD_SCORING_HOME)"
        )


def forget_people(
    settings: Settings, emails: Sequence[str] = (), ids: Sequence[str] = (), crm: bool = False
) -> ForgetResult:
    """Erase each person (one per e-mail, one per contact id) from the warehouse and the
    product's files, record their tombstones and, with ``crm``, delete them in the CRM."""
    started = time.monotonic()
    _check_warehouse(settings)
    key = privacy_key(settings)
    asked = [(EMAIL, normalise_email(e)) for e in emails if str(e).strip()]
    asked += [(CONTACT, normalise_id(i)) for i in ids if str(i).strip()]
    result = ForgetResult()
    result.dlt_files_deleted = delete_loaded_dlt_jobs(settings)
    people: list[Person] = []
    with open_warehouse(settings) as wh:
        tables = base_tables(wh)
        for kind, value in dict.fromkeys(asked):
            label = digest(key, kind, value)[:12]
            person = find_person(wh, tables, label, *(([value], []) if kind == EMAIL
                                                      else ([], [value])))  # fmt: skip
            outcome = PersonResult(label)
            if crm:
                outcome.crm, outcome.crm_records = crm_delete(person)
            deleted = erase_rows(wh, tables, person)
            outcome.rows, outcome.tables = sum(deleted.values()), sorted(deleted)
            record_tombstones(wh, key, person.identifiers())
            people.append(person)
            result.people.append(outcome)
        if wh.kind == "postgres":
            _vacuum(wh, tables, {t for p in result.people for t in p.tables})
    # The DuckDB file is rewritten while the files are scrubbed: neither reads the other.
    with ThreadPoolExecutor(max_workers=1) as pool:
        compacted = (pool.submit(compact_duckdb, settings.warehouse_path)
                     if settings.warehouse == "duckdb" and result.rows else None)  # fmt: skip
        for person, outcome in zip(people, result.people, strict=True):
            outcome.files = scrub_files(settings, person, result.notes)
            result.warnings += _outside_warnings(settings, person)
            log.info("%s", outcome.line())
        if compacted is not None:
            compacted.result()
    result.seconds = time.monotonic() - started
    return result


def _vacuum(wh: Warehouse, tables, touched: set[str]) -> None:
    """PostgreSQL: vacuum the tables rows were deleted from (their space is reused)."""
    for name in sorted(touched):
        schema, table = name.split(".", 1)
        if (schema, table) in tables:
            wh.execute(f"vacuum {_ident(schema)}.{_ident(table)}")


def compact_duckdb(path: Path) -> None:
    """Rewrite the DuckDB file without its free blocks: DuckDB keeps the bytes of deleted
    rows in the file until their blocks are reused, so the warehouse is copied into a
    fresh file (``COPY FROM DATABASE``: tables, views, constraints) that replaces it."""
    import duckdb

    fresh = path.with_name(path.name + ".forget")
    fresh.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("attach ? as erase_source (read_only)", [str(path)])
        con.execute(f"attach ? as {_ident(path.stem)}", [str(fresh)])
        con.execute(f"copy from database erase_source to {_ident(path.stem)}")
    except duckdb.Error as exc:
        fresh.unlink(missing_ok=True)
        raise WarehouseError(
            f"could not rewrite {path} without the erased rows (is a pipeline run using it?): {exc}"
        ) from exc
    finally:
        con.close()
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


# -- finding traces ---------------------------------------------------------------------------
def traces(settings: Settings, needles: list[str]) -> list[str]:
    """Where any of ``needles`` (an e-mail, name, phone, id; any case, as a whole token)
    still appears: ``table <schema>.<table>.<column>`` for every warehouse table and column
    (cast to text) and ``file <path under the home>`` for every file under the home
    (``.dlt`` included; Parquet read as tables, gzip decompressed, anything else as
    bytes). The warehouse file itself is searched as tables."""
    needles = [n.strip().lower() for n in needles if n and n.strip()]
    pattern = _pattern(needles)
    if pattern is None:
        return []
    found: list[str] = []
    if settings.warehouse != "duckdb" or settings.warehouse_path.exists():
        with open_warehouse(settings) as wh:
            found += _table_traces(wh, needles, pattern)
    warehouse = settings.warehouse_path.resolve()
    for root, _dirs, files in os.walk(settings.home):
        for name in files:
            path = Path(root, name).resolve()
            if path == warehouse or name.startswith(warehouse.name + "."):
                continue
            if _file_mentions(path, pattern):
                found.append(f"file {path.relative_to(settings.home.resolve())}")
    return found


def _table_traces(wh: Warehouse, needles: list[str], pattern: re.Pattern[str]) -> list[str]:
    found = []
    for (schema, table), columns in sorted(base_tables(wh, SYSTEM_SCHEMAS[:3]).items()):
        texts = [f"lower({_text(c)})" for c in columns]
        where = " or ".join(f"{t} like ?" for t in texts for _ in needles)
        params = [f"%{n}%" for _ in texts for n in needles]
        select = ", ".join(f"{t} as c{i}" for i, t in enumerate(texts))
        rows = wh.query_df(
            f"select {select} from {_ident(schema)}.{_ident(table)} where {where}", params
        )
        for i, column in enumerate(columns):
            if any(pattern.search(str(v)) for v in rows[f"c{i}"].dropna()):
                found.append(f"table {schema}.{table}.{column}")
    return found


def _file_mentions(path: Path, pattern: re.Pattern[str]) -> bool:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception:  # noqa: BLE001 - an unreadable file is searched as bytes
            pass
        else:
            return any(
                pattern.search(str(v).lower())
                for column in table.columns
                for v in column.to_pylist()
                if v is not None
            )
    try:
        return bool(pattern.search(_read_text(path)))
    except OSError:
        return False
