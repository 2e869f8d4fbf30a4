"""The column-mapping YAML: which export file feeds which raw table, column by column.

See docs/import.md for the format. Each entry of ``tables`` maps one CSV or Parquet file to
one table kind; ``columns`` maps the raw column names of data-contracts.md section 2 to
the export's column names; ``row_ids`` lists raw columns that take each row's position as
the id; ``attributes`` keeps further export columns as lead / account attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lead_scoring.sources.attributes import name_problem, snake_case
from lead_scoring.sources.crm import PROPERTIES


class ImportMappingError(ValueError):
    """A mapping or an export file that cannot be imported; the message names the file and,
    where there is one, the line (CSV) or row (Parquet), the column and the value."""


@dataclass(frozen=True)
class TableKind:
    table: str  # raw.<table>
    key: str  # merge key (a raw column)
    columns: tuple[str, ...]
    required: tuple[str, ...]
    dates: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()  # typed bigint columns (product tables)
    booleans: tuple[str, ...] = ()
    text: bool = True  # CRM tables: every column text, as on the wire


KINDS = {
    "leads": TableKind(
        "crm_contacts", "hs_object_id", tuple(PROPERTIES["contacts"]),
        ("hs_object_id", "createdate"), dates=("createdate", "lastmodifieddate"),
    ),
    "accounts": TableKind(
        "crm_companies", "hs_object_id", tuple(PROPERTIES["companies"]),
        ("hs_object_id", "createdate"), dates=("createdate", "lastmodifieddate"),
        numbers=("numberofemployees", "annualrevenue"), booleans=("ls_target_account",),
    ),
    "outcomes": TableKind(
        "crm_deals", "hs_object_id", tuple(PROPERTIES["deals"]),
        ("hs_object_id", "ls_contact_id", "dealstage", "createdate"),
        dates=("createdate", "closedate", "lastmodifieddate"), numbers=("amount",),
    ),
    "events": TableKind(
        "marketing_events", "event_id", ("event_id", "contact_id", "event_type", "occurred_at",
                                         "url"),
        ("contact_id", "event_type", "occurred_at"), dates=("occurred_at",), text=False,
    ),
    "product_users": TableKind(
        "product_users", "user_id", ("user_id", "email", "signed_up_at", "updated_at"),
        ("user_id",), dates=("signed_up_at", "updated_at"), integers=("user_id",), text=False,
    ),
    "product_events": TableKind(
        "product_events", "event_id", ("event_id", "user_id", "event_type", "occurred_at"),
        ("event_id", "user_id", "event_type", "occurred_at"), dates=("occurred_at",),
        integers=("event_id", "user_id"), text=False,
    ),
}  # fmt: skip
DEFAULT_PLACEHOLDERS = ("", "n/a", "na", "n.a.", "none", "null", "nil", "-", "--", "?",
                        "select", "--select--", "- select -", "please select", "unknown",
                        "not provided", "#n/a")  # fmt: skip
DEFAULT_DATE_FORMATS = ("iso",)
ATTRIBUTE_KINDS = {"leads": "contacts", "accounts": "companies"}  # kind -> CRM object type


@dataclass(frozen=True)
class TableMapping:
    file: Path
    kind: str
    columns: dict[str, str]  # raw column -> export column
    date_formats: tuple[str, ...]
    values: dict[str, dict[str, str]]  # raw column -> {export value (lower-case): value}
    constants: dict[str, str] = field(default_factory=dict)
    placeholders: frozenset[str] = frozenset(DEFAULT_PLACEHOLDERS)
    timezone: str = "UTC"
    csv: dict = field(default_factory=dict)
    skip_rows_missing: tuple[str, ...] = ()  # required raw columns: rows without one skipped
    row_ids: tuple[str, ...] = ()  # raw columns that take the row's position as the id
    attributes: dict[str, str] = field(default_factory=dict)  # attribute name -> export column
    activity: frozenset[str] = frozenset()  # attributes that are activity aggregates (pain)

    @property
    def spec(self) -> TableKind:
        return KINDS[self.kind]


def _fail(mapping_file: Path, where: str, message: str):
    raise ImportMappingError(f"{mapping_file}: {where}: {message}")


def _strings(value, mapping_file: Path, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(mapping_file, where, f"expected a list of strings, got {value!r}")
    return tuple(value)


def _timezone(value, mapping_file: Path, where: str) -> str:
    from lead_scoring.byod.values import zone

    name = str(value)
    try:
        zone(name)
    except Exception:  # pandas / zoneinfo / pytz each raise their own kind
        _fail(mapping_file, where, f"unknown time zone {name!r} (an IANA name such as"
                                   " 'America/New_York', or 'UTC')")  # fmt: skip
    return name


def _attributes(entry: dict, kind: str, mapping_file: Path, where: str) -> dict[str, str]:
    """Attribute name -> export column, from a list of export columns (named in lower snake
    case) or a mapping of attribute names to export columns."""
    listed = entry.get("attributes") or {}
    if listed and kind not in ATTRIBUTE_KINDS:
        _fail(mapping_file, where, f"only {' and '.join(ATTRIBUTE_KINDS)} take attributes,"
                                   f" not {kind}")  # fmt: skip
    if isinstance(listed, dict):
        pairs = [(str(name), str(column)) for name, column in listed.items()]
    else:
        pairs = [(snake_case(column), column) for column in _strings(listed, mapping_file, where)]
    named: dict[str, str] = {}
    for name, column in pairs:
        problem = name_problem(name)
        if problem:
            _fail(mapping_file, f"{where}.{name}", f"{problem} (column {column!r})")
        if name in named:
            _fail(mapping_file, f"{where}.{name}", f"columns {named[name]!r} and {column!r} both"
                                                   f" give attribute {name!r}")  # fmt: skip
        named[name] = column
    return named


def load_mapping(path: Path) -> list[TableMapping]:
    """Read and check a mapping file; export paths are relative to the mapping file."""
    path = Path(path)
    if not path.exists():
        raise ImportMappingError(f"mapping file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ImportMappingError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("tables"), list) or not doc["tables"]:
        _fail(path, "tables", "expected a non-empty list of tables")
    defaults = doc.get("defaults") or {}
    formats = _strings(defaults.get("date_formats", list(DEFAULT_DATE_FORMATS)), path,
                       "defaults.date_formats")  # fmt: skip
    extra = _strings(defaults.get("placeholders", []), path, "defaults.placeholders")
    placeholders = frozenset(DEFAULT_PLACEHOLDERS) | {p.strip().lower() for p in extra}
    timezone = _timezone(defaults.get("timezone", "UTC"), path, "defaults.timezone")
    tables = []
    for i, entry in enumerate(doc["tables"]):
        where = f"tables[{i}]"
        if not isinstance(entry, dict):
            _fail(path, where, f"expected a mapping, got {entry!r}")
        kind = entry.get("kind")
        if kind not in KINDS:
            _fail(path, f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
        spec = KINDS[kind]
        if not entry.get("file"):
            _fail(path, f"{where}.file", "missing (the CSV or Parquet export to read)")
        columns = entry.get("columns") or {}
        if not isinstance(columns, dict):
            _fail(path, f"{where}.columns", "expected raw column: export column pairs")
        constants = {str(k): str(v) for k, v in (entry.get("constants") or {}).items()}
        row_ids = _strings(entry.get("row_ids", []), path, f"{where}.row_ids")
        for name in row_ids:
            if name in columns:
                _fail(path, f"{where}.row_ids", f"{name!r} is also mapped under columns; a"
                                                " column takes either the row's position or"
                                                " an export column")  # fmt: skip
        for name in [*columns, *constants, *row_ids]:
            if name not in spec.columns:
                known = ", ".join(spec.columns)
                _fail(path, f"{where}.columns.{name}",
                      f"raw.{spec.table} has no column {name!r} (columns: {known})")  # fmt: skip
        missing = [c for c in spec.required if c not in {*columns, *constants, *row_ids}]
        if missing:
            _fail(path, f"{where}.columns", f"{kind} needs a mapping for {', '.join(missing)}"
                  " (a column, or a fixed value under constants:)")  # fmt: skip
        attributes = _attributes(entry, kind, path, f"{where}.attributes")
        activity = _strings(entry.get("activity", []), path, f"{where}.activity")
        for name in activity:
            if name not in attributes:
                listed = ", ".join(attributes) or "none"
                _fail(path, f"{where}.activity",
                      f"{name!r} is not one of the attributes ({listed})")  # fmt: skip
        values = {}
        for name, table in (entry.get("values") or {}).items():
            if name not in {*spec.columns, *attributes} or not isinstance(table, dict):
                _fail(path, f"{where}.values.{name}", "expected a raw column or an attribute"
                                                      " with a value map")  # fmt: skip
            values[name] = {str(k).strip().lower(): str(v) for k, v in table.items()}
        skip = _strings(entry.get("skip_rows_missing", []), path, f"{where}.skip_rows_missing")
        for name in skip:
            if name not in spec.required:
                _fail(path, f"{where}.skip_rows_missing",
                      f"{name!r} is not a required column of {kind} (required:"
                      f" {', '.join(spec.required)})")  # fmt: skip
        tables.append(TableMapping(
            file=(path.parent / str(entry["file"])).resolve(),
            kind=kind,
            columns={str(k): str(v) for k, v in columns.items()},
            date_formats=_strings(entry.get("date_formats", list(formats)), path,
                                  f"{where}.date_formats"),
            values=values,
            constants=constants,
            placeholders=placeholders | {p.strip().lower() for p in _strings(
                entry.get("placeholders", []), path, f"{where}.placeholders")},
            timezone=_timezone(entry.get("timezone", timezone), path, f"{where}.timezone"),
            csv=dict(entry.get("csv") or {}),
            skip_rows_missing=skip,
            row_ids=row_ids,
            attributes=attributes,
            activity=frozenset(activity),
        ))  # fmt: skip
    return tables
