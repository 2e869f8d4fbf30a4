"""Bring your own data: CSV / Parquet exports -> the ``raw`` schema, through dlt.

Each mapped file is read as text, cleaned (placeholders, value maps, dates, numbers,
booleans), shaped exactly like the raw table of data-contracts.md section 2 (CRM tables
all text, dates as the CRM writes them; product and marketing tables typed) and merged
on the table's key, so importing the same files again changes nothing. Raw tables the
mapping does not feed are created empty, so the quality gate and dbt run unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lead_scoring.byod import values as clean
from lead_scoring.byod.mapping import KINDS, ImportMappingError, TableMapping, load_mapping
from lead_scoring.settings import Settings
from lead_scoring.sources.extract import RAW_DATASET, pipeline

log = logging.getLogger(__name__)

PIPELINE_NAME = "lead_scoring_import"
ID_COLUMNS = ("hs_object_id", "associatedcompanyid", "ls_contact_id", "contact_id", "event_id")
TYPED = {
    "marketing_events": {"event_id": "text", "contact_id": "text", "event_type": "text",
                         "occurred_at": "timestamp", "url": "text"},
    "product_users": {"user_id": "bigint", "email": "text", "signed_up_at": "timestamp",
                      "updated_at": "timestamp"},
    "product_events": {"event_id": "bigint", "user_id": "bigint", "event_type": "text",
                       "occurred_at": "timestamp"},
}  # fmt: skip
SQL_TYPES = {"text": "text", "bigint": "bigint", "timestamp": "timestamp with time zone"}
FALLBACK_DATES = {"lastmodifieddate": ("closedate", "createdate"), "updated_at": ("signed_up_at",)}


@dataclass
class ImportResult:
    rows: dict[str, int] = field(default_factory=dict)  # raw table -> rows imported
    warnings: list[str] = field(default_factory=list)
    created_empty: list[str] = field(default_factory=list)
    seconds: float = 0.0


def read_export(mapping: TableMapping) -> pd.DataFrame:
    """The export as text cells ('' for empty), CSV or Parquet by file extension."""
    path = mapping.file
    if not path.exists():
        raise ImportMappingError(f"export file {path} does not exist")
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
        return frame.astype("string").fillna("").astype(object)
    options = {"sep": mapping.csv.get("delimiter", ","), "dtype": str, "keep_default_na": False}
    encodings = [mapping.csv["encoding"]] if "encoding" in mapping.csv else ["utf-8-sig", "cp1252"]
    for encoding in encodings:
        try:
            return pd.read_csv(path, encoding=encoding, **options)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, ValueError) as exc:
            raise ImportMappingError(f"{path}: not a readable CSV file: {exc}") from exc
    raise ImportMappingError(f"{path}: cannot decode the file as {' or '.join(encodings)}")


def _required(frame: pd.DataFrame, source: pd.DataFrame, mapping: TableMapping) -> None:
    for column in mapping.spec.required:
        missing = frame[column].isna()
        if missing.any():
            first = missing[missing].index[0]
            export_column = mapping.columns.get(column, column)
            sample = source[export_column].iloc[first] if export_column in source else ""
            raise ImportMappingError(
                f"{mapping.file}: column {export_column!r} (raw {column}): {int(missing.sum())}"
                f" row(s) without a usable value, first at line {first + 2}"
                f" (sample value: {sample!r})"
            )


def shape(source: pd.DataFrame, mapping: TableMapping, warnings: list[str]) -> pd.DataFrame:
    """The raw table's rows from the export's rows."""
    spec, file = mapping.spec, mapping.file
    absent = [c for c in mapping.columns.values() if c not in source.columns]
    if absent:
        raise ImportMappingError(
            f"{file}: column {absent[0]!r} not in the file (columns: {', '.join(source.columns)})"
        )
    mapped_cells = (
        source[list(mapping.columns.values())].astype("string").apply(lambda c: c.str.strip())
    )
    source = source[(mapped_cells.fillna("") != "").any(axis=1)].reset_index(drop=True)
    frame = pd.DataFrame(index=source.index)
    for column in spec.columns:
        if column in mapping.columns:
            text = clean.blank_placeholders(source[mapping.columns[column]], mapping.placeholders)
        elif column in mapping.constants:
            text = pd.Series(mapping.constants[column], index=source.index, dtype="string")
        else:
            text = pd.Series(pd.NA, index=source.index, dtype="string")
        frame[column] = clean.map_values(text, mapping.values.get(column, {}))
    where = lambda c: mapping.columns.get(c, c)  # noqa: E731
    for column in spec.dates:
        frame[column] = clean.parse_dates(frame[column], mapping.date_formats, mapping.timezone,
                                          file, where(column))  # fmt: skip
    for column, fallbacks in FALLBACK_DATES.items():
        if column in spec.dates:
            for fallback in fallbacks:
                if fallback in frame:
                    frame[column] = frame[column].fillna(frame[fallback])
    for column in spec.numbers:
        parsed = clean.parse_numbers(frame[column])
        lost = frame[column].notna() & parsed.isna()
        if lost.any():
            warnings.append(f"{file}: column {where(column)!r}: {int(lost.sum())} value(s) are no"
                            f" single number and were left empty (sample value:"
                            f" {frame[column][lost].iloc[0]!r})")  # fmt: skip
        frame[column] = parsed
    for column in spec.booleans:
        frame[column] = clean.parse_booleans(frame[column], file, where(column))
    for column in spec.integers:
        frame[column] = clean.parse_integers(frame[column], file, where(column))
    for column in ID_COLUMNS:
        if column in frame and column not in spec.integers:
            frame[column] = clean.ids_as_text(frame[column])
    if "dealstage" in frame:
        frame["dealstage"], unknown = clean.normalise_stages(frame["dealstage"])
        if len(unknown):
            warnings.append(f"{file}: column {where('dealstage')!r}: {len(unknown)} deal(s) in"
                            f" stages read as open (sample value: {unknown.iloc[0]!r}); map"
                            " won/lost stages under values: dealstage")  # fmt: skip
    if mapping.kind == "events" and "event_id" not in mapping.columns:
        frame["event_id"] = _derived_event_ids(frame)
    _required(frame, source, mapping)
    if spec.text:
        for column in spec.dates:
            frame[column] = clean.wire_datetimes(frame[column])
    before = len(frame)
    frame = frame.drop_duplicates(subset=[spec.key], keep="last")
    if len(frame) < before:
        warnings.append(f"{file}: {before - len(frame)} row(s) repeat a {where(spec.key)!r}"
                        " already seen; the last one is kept")  # fmt: skip
    return frame


def _derived_event_ids(frame: pd.DataFrame) -> pd.Series:
    """A stable id from who did what when, so re-importing an export without ids merges."""
    keys = (frame["contact_id"].fillna("") + "|" + frame["event_type"].fillna("") + "|"
            + frame["occurred_at"].astype("string").fillna(""))  # fmt: skip
    return keys.map(lambda k: "imp-" + hashlib.sha1(k.encode()).hexdigest()[:20]).astype("string")


def _arrow(frame: pd.DataFrame, table: str, columns: tuple[str, ...]):
    """The rows as an Arrow table with the raw table's column types."""
    import pyarrow as pa

    types = TYPED.get(table) or dict.fromkeys(columns, "text")
    arrays = []
    for name, kind in types.items():
        if kind == "timestamp":
            arrays.append(
                pa.array(frame[name], type=pa.timestamp("us", tz="UTC"), from_pandas=True)
            )
        elif kind == "bigint":
            arrays.append(pa.array(frame[name].astype("Int64"), type=pa.int64(), from_pandas=True))
        else:
            arrays.append(pa.array(frame[name].astype(object), type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(arrays, names=list(types))


def _hints(table: str, columns: tuple[str, ...]) -> dict:
    types = TYPED.get(table) or dict.fromkeys(columns, "text")
    return {name: {"data_type": kind, "nullable": True} for name, kind in types.items()}


def _create_missing_tables(settings: Settings) -> list[str]:
    from lead_scoring.warehouse import open_warehouse

    created = []
    with open_warehouse(settings) as wh:
        wh.execute(f"create schema if not exists {RAW_DATASET}")
        for spec in KINDS.values():
            if wh.table_exists(RAW_DATASET, spec.table):
                continue
            types = TYPED.get(spec.table) or dict.fromkeys(spec.columns, "text")
            columns = ", ".join(f'"{name}" {SQL_TYPES[kind]}' for name, kind in types.items())
            wh.execute(f"create table {RAW_DATASET}.{spec.table} ({columns},"
                       " _dlt_load_id text, _dlt_id text)")  # fmt: skip
            created.append(f"{RAW_DATASET}.{spec.table}")
    return created


def run_import(settings: Settings, mapping_path: Path) -> ImportResult:
    """Import every file of the mapping into ``raw`` (merge on each table's key)."""
    import dlt

    started = time.monotonic()
    result = ImportResult()
    mappings = load_mapping(mapping_path)
    frames: dict[str, list[pd.DataFrame]] = {}
    for mapping in mappings:
        frame = shape(read_export(mapping), mapping, result.warnings)
        log.info(
            "import: %s -> raw.%s (%s rows)", mapping.file.name, mapping.spec.table, len(frame)
        )
        frames.setdefault(mapping.kind, []).append(frame)
    pipe = pipeline(settings, PIPELINE_NAME)
    resources = []
    for kind, parts in frames.items():
        spec = KINDS[kind]
        frame = pd.concat(parts, ignore_index=True).drop_duplicates(subset=[spec.key], keep="last")
        result.rows[spec.table] = len(frame)
        rows = _arrow(frame, spec.table, spec.columns)
        resources.append(dlt.resource(
            rows, name=spec.table, primary_key=spec.key, write_disposition="merge",
            columns=_hints(spec.table, spec.columns),
        ))  # fmt: skip
    pipe.run(resources)
    result.created_empty = _create_missing_tables(settings)
    for warning in result.warnings:
        log.warning("import: %s", warning)
    result.seconds = time.monotonic() - started
    return result
