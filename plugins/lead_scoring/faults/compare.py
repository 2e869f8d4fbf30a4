"""Is a killed-then-rerun home the same as a clean run? Marts, CRM records and duplicates.

Marts: every table of the ``marts`` schema, all rows, every column but ``VOLATILE_COLUMNS``,
compared as multisets of rows (order does not matter), doubles rounded to
``FLOAT_DECIMALS`` places. CRM: per object type, the record count, the set of record ids,
each record's score properties (``ls_*`` but ``VOLATILE_PROPERTIES``) by record id, and the
records without a name. Duplicates: records beyond the clean run's count, and records that
share an e-mail (contacts) or a domain (companies) beyond the clean run's.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

# dbt's run_started_at: the wall-clock start of the build that wrote the row. A rerun is a
# later build, so it differs by design (lead_scores and lead_score_history carry it).
VOLATILE_COLUMNS = frozenset({"scored_at"})
# The same time, as the sync writes it to the CRM.
VOLATILE_PROPERTIES = frozenset({"ls_scored_at"})
FLOAT_DECIMALS = 6
OBJECT_TYPES = ("contacts", "companies", "deals")
NAME_PROPERTIES = {  # a record has a name when one of these is set
    "contacts": ("firstname", "lastname", "email"),
    "companies": ("name", "domain"),
    "deals": ("dealname",),
}
UNIQUE_PROPERTIES = {"contacts": "email", "companies": "domain"}
SHOWN = 3  # examples shown per difference


@dataclass
class Table:
    columns: list[str]
    rows: Counter


@dataclass
class State:
    """What a home's run left: the marts' rows and the CRM's records."""

    marts: dict[str, Table]
    crm: dict[str, dict[str, dict]]  # object type -> record id -> properties


@dataclass
class Verdict:
    differences: list[str] = field(default_factory=list)
    duplicates: int = 0

    @property
    def equal(self) -> bool:
        return not self.differences


def _value(value: object) -> object:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, FLOAT_DECIMALS)
    return value


def read_marts(warehouse: Path) -> dict[str, Table]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
            " order by 1").fetchall()]  # fmt: skip
        tables = {}
        for name in names:
            columns = [row[0] for row in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts'"
                " and table_name = ? order by ordinal_position", [name]).fetchall()]  # fmt: skip
            kept = [c for c in columns if c not in VOLATILE_COLUMNS]
            listed = ", ".join(f'"{c}"' for c in kept)
            rows = con.execute(f'select {listed} from marts."{name}"').fetchall()
            tables[name] = Table(kept, Counter(tuple(_value(v) for v in row) for row in rows))
    return tables


def read_crm(store: Path) -> dict[str, dict[str, dict]]:
    records: dict[str, dict[str, dict]] = {t: {} for t in OBJECT_TYPES}
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as con:
        rows = con.execute(
            "select object_type, id, properties from objects where archived = 0"
            f" and object_type in ({', '.join('?' for _ in OBJECT_TYPES)})",
            OBJECT_TYPES,
        ).fetchall()
    for object_type, record_id, properties in rows:
        records[object_type][record_id] = json.loads(properties)
    return records


def read_state(home: Path) -> State:
    return State(read_marts(home / "warehouse.duckdb"),
                 read_crm(home / "crm_sandbox" / "crm.sqlite"))  # fmt: skip


def scores(properties: dict) -> dict:
    """A record's score properties, without the volatile ones."""
    return {k: v for k, v in properties.items()
            if k.startswith("ls_") and k not in VOLATILE_PROPERTIES}  # fmt: skip


def _same(a: object, b: object) -> bool:
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=10**-FLOAT_DECIMALS)
    except (TypeError, ValueError):
        return False


def compare(clean: State, rerun: State) -> Verdict:
    verdict = Verdict()
    verdict.differences += compare_marts(clean.marts, rerun.marts)
    crm_differences, verdict.duplicates = compare_crm(clean.crm, rerun.crm)
    verdict.differences += crm_differences
    return verdict


# -- marts ---------------------------------------------------------------------------------
def compare_marts(clean: dict[str, Table], rerun: dict[str, Table]) -> list[str]:
    differences = []
    for name in sorted(set(clean) | set(rerun)):
        if name not in rerun or name not in clean:
            side = "rerun" if name not in rerun else "clean run"
            differences.append(f"marts.{name}: missing after the {side}")
            continue
        a, b = clean[name], rerun[name]
        if a.columns != b.columns:
            differences.append(f"marts.{name}: columns {a.columns} vs {b.columns}")
        elif a.rows != b.rows:
            differences.append(f"marts.{name}: {_rows_differ(a, b)}")
    return differences


def _rows_differ(clean: Table, rerun: Table) -> str:
    only_clean, only_rerun = clean.rows - rerun.rows, rerun.rows - clean.rows
    text = (f"{sum(clean.rows.values())} rows vs {sum(rerun.rows.values())};"
            f" {sum(only_clean.values())} only in the clean run,"
            f" {sum(only_rerun.values())} only in the rerun")  # fmt: skip
    # Rows of the same key (first column) on both sides: which columns differ.
    by_key = {row[0]: row for row in only_clean}
    columns: Counter = Counter()
    examples = []
    for row in only_rerun:
        before = by_key.get(row[0])
        if before is None:
            continue
        changed = [c for c, x, y in zip(clean.columns, before, row, strict=True) if x != y]
        columns.update(changed)
        if len(examples) < SHOWN:
            examples.append(f"{clean.columns[0]}={row[0]}: " + ", ".join(
                f"{c} {before[clean.columns.index(c)]!r} -> {row[clean.columns.index(c)]!r}"
                for c in changed))  # fmt: skip
    if columns:
        text += f"; columns that differ: {', '.join(c for c, _ in columns.most_common())}"
        text += f" (e.g. {'; '.join(examples)})"
    return text


# -- CRM -----------------------------------------------------------------------------------
def nameless(records: dict[str, dict], object_type: str) -> set[str]:
    names = NAME_PROPERTIES[object_type]
    return {i for i, p in records.items() if not any(str(p.get(n) or "").strip() for n in names)}


def shared_keys(records: dict[str, dict], object_type: str) -> int:
    """Records beyond the first that share the type's unique property (e-mail, domain)."""
    name = UNIQUE_PROPERTIES.get(object_type)
    if name is None:
        return 0
    values = [str(p.get(name) or "").strip().lower() for p in records.values()]
    values = [v for v in values if v]
    return len(values) - len(set(values))


def compare_crm(clean: dict[str, dict[str, dict]], rerun: dict[str, dict[str, dict]]
                ) -> tuple[list[str], int]:  # fmt: skip
    """(differences, duplicates) between the CRM after the clean run and after the rerun."""
    differences, duplicates = [], 0
    for object_type in OBJECT_TYPES:
        a, b = clean[object_type], rerun[object_type]
        extra = max(0, len(b) - len(a))
        shared = max(0, shared_keys(b, object_type) - shared_keys(a, object_type))
        duplicates += max(extra, shared)  # a record created twice shows in both
        if len(a) != len(b):
            differences.append(f"crm {object_type}: {len(a)} records vs {len(b)}")
        if shared:
            key = UNIQUE_PROPERTIES[object_type]
            differences.append(f"crm {object_type}: {shared} more records sharing an {key}")
        missing, added = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        if missing or added:
            differences.append(f"crm {object_type}: {len(missing)} record ids missing"
                               f" {missing[:SHOWN]}, {len(added)} new {added[:SHOWN]}")  # fmt: skip
        if nameless(a, object_type) != nameless(b, object_type):
            differences.append(f"crm {object_type}: {len(nameless(b, object_type))} records"
                               f" without a name vs {len(nameless(a, object_type))}")  # fmt: skip
        changed = _scores_differ(a, b)
        if changed:
            shown = "; ".join(changed[:SHOWN])
            differences.append(f"crm {object_type}: {len(changed)} records' scores differ"
                               f" (e.g. {shown})")  # fmt: skip
    return differences, duplicates


def _scores_differ(clean: dict[str, dict], rerun: dict[str, dict]) -> list[str]:
    changed = []
    for record_id in sorted(set(clean) & set(rerun)):
        a, b = scores(clean[record_id]), scores(rerun[record_id])
        names = [n for n in sorted(set(a) | set(b)) if not _same(a.get(n), b.get(n))]
        if names:
            changed.append(f"{record_id}: " + ", ".join(
                f"{n} {a.get(n)!r} -> {b.get(n)!r}" for n in names))  # fmt: skip
    return changed


def updated_at(store: Path) -> dict[tuple[str, str], str]:
    """When the CRM last wrote each record: (object type, id) -> ISO time."""
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as con:
        rows = con.execute("select object_type, id, updated_at from objects").fetchall()
    return {(object_type, record_id): at for object_type, record_id, at in rows}


def resent(after_kill: dict[str, dict[str, dict]], written_after_kill: dict[tuple[str, str], str],
           final: dict[str, dict[str, dict]], written_final: dict[tuple[str, str], str]) -> int:
    """Records the rerun wrote again although the killed run had already written their final
    scores (sent, written, never confirmed): the CRM took them as updates of the same id."""
    count = 0
    for object_type, records in final.items():
        for record_id, properties in records.items():
            key = (object_type, record_id)
            before = scores(after_kill[object_type].get(record_id, {}))
            if before and before == scores(properties) and (
                written_final.get(key) != written_after_kill.get(key)
            ):
                count += 1
    return count
