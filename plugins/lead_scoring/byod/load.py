"""Bring your own data: CSV / Parquet exports -> the ``raw`` schema, through dlt.

Each mapped file is read as text, cleaned (placeholders, value maps, dates, numbers,
booleans), shaped exactly like the raw table of data-contracts.md section 2 (CRM tables
all text, dates as the CRM writes them; product and marketing tables typed) and merged
on the table's key, so importing the same files again changes nothing. Extra columns of
leads and accounts go to the long attribute tables. Raw tables the mapping does not feed
are created empty, so the quality gate and dbt run unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lead_scoring.byod import values as clean
from lead_scoring.byod.mapping import (
    ATTRIBUTE_KINDS,
    KINDS,
    ImportMappingError,
    TableMapping,
    load_mapping,
)
from lead_scoring.settings import Settings
from lead_scoring.sources import attributes
from lead_scoring.sources.extract import ATTRIBUTE_TABLES, create_missing_tables, pipeline

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
REQUIRED_KINDS = ("leads",)  # scoring needs leads; any other table may be empty
FALLBACK_DATES = {"lastmodifieddate": ("closedate", "createdate"), "updated_at": ("signed_up_at",)}


@dataclass
class ImportResult:
    rows: dict[str, int] = field(default_factory=dict)  # raw table -> rows imported
    warnings: list[str] = field(default_factory=list)
    created_empty: list[str] = field(default_factory=list)
    seconds: float = 0.0
    forgotten_skipped: int = 0  # rows of forgotten people left out (privacy tombstones)


def read_export(mapping: TableMapping, warnings: list[str]) -> pd.DataFrame:
    """The export as text cells ('' for empty), CSV or Parquet by file extension, indexed by
    where each row is in the file (see ``values.position``)."""
    path = mapping.file
    if not path.exists():
        raise ImportMappingError(f"export file {path} does not exist")
    if path.suffix.lower() in clean.PARQUET:
        return _read_parquet(path)
    text = _decode(path, mapping.csv.get("encoding"), warnings)
    return _read_csv(path, text, mapping.csv.get("delimiter", ","))


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa

    from lead_scoring.sources.marketing import parquet_problem

    try:
        frame = pd.read_parquet(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportMappingError(
            f"{path}: not a readable Parquet file, truncated or corrupt ({parquet_problem(exc)})"
        ) from exc
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # row numbers
    return frame.astype("string").fillna("").astype(object)


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(path: Path, encoding: str | None, warnings: list[str]) -> str:
    """The file's text: in the mapping's encoding, else UTF-8, else cp1252 (with a warning)."""
    data = path.read_bytes()
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError as exc:
            raise ImportMappingError(
                f"{path}: unknown encoding {encoding!r} (csv: encoding)"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ImportMappingError(
                f"{path}: line {_line(data, exc.start)}: byte 0x{data[exc.start]:02x} cannot be"
                f" read as {encoding} (the encoding set under csv: in the mapping)"
            ) from exc
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        utf8_line, utf8_byte = _line(data, exc.start), data[exc.start]
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = _line(data, exc.start)
        also = f" (and line {utf8_line} is not UTF-8)" if line != utf8_line else ""
        raise ImportMappingError(
            f"{path}: line {line}: byte 0x{data[exc.start]:02x} is neither UTF-8 nor cp1252{also};"
            " save the file as UTF-8 or name its encoding under csv: encoding"
        ) from exc
    warnings.append(f"read {path} as cp1252 (not valid UTF-8); the first byte that is not"
                    f" UTF-8 (0x{utf8_byte:02x}) is on line {utf8_line}")  # fmt: skip
    return text


def _read_csv(path: Path, text: str, delimiter: str) -> pd.DataFrame:
    """The CSV's rows indexed by the line each starts on (the header is line 1); blank lines
    are skipped, a row with more or fewer fields than the header stops the import."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows, lines, start = [], [], 1
    try:
        for record in reader:
            if record and (len(record) > 1 or record[0].strip()):
                if header is None:
                    header = record
                elif len(record) != len(header):
                    last = _at_end(reader)
                    raise ImportMappingError(_ragged(path, start, record, header, delimiter, last))
                else:
                    rows.append(record)
                    lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ImportMappingError(
                f"{path}: line {start}: a quoted value starting on this line is never closed;"
                " the file looks truncated"
            ) from exc
        raise ImportMappingError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from exc
    if header is None:
        raise ImportMappingError(f"{path}: the file is empty (not even a header)")
    return pd.DataFrame(rows, columns=_unique(header), index=lines, dtype=object)


def _at_end(reader) -> bool:
    try:
        return next(reader, None) is None
    except csv.Error:
        return False


def _ragged(path: Path, line: int, record: list[str], header: list[str], delimiter: str,
            last: bool) -> str:  # fmt: skip
    message = f"{path}: line {line}: {len(record)} fields where the header has {len(header)}"
    if len(record) > len(header):
        return f"{message}; a value holding {delimiter!r} needs quotes"
    if last:
        return f"{message}; the file ends inside this row: it looks truncated"
    return f"{message}; a line break inside a value needs quotes"


def _unique(header: list[str]) -> list[str]:
    """Repeated column names as pandas names them: Email, Email.1, ..."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        names.append(f"{name}.{seen[name]}" if name in seen else name)
        seen[name] = seen.get(name, 0) + 1
    return names


def _required(frame: pd.DataFrame, source: pd.DataFrame, mapping: TableMapping) -> None:
    for column in mapping.spec.required:
        missing = frame[column].isna()
        if missing.any():
            export_column = mapping.columns.get(column, column)
            if export_column in source:
                bad = source.loc[missing, export_column]
            else:
                bad = pd.Series("", index=missing[missing].index)
            message = f"no usable value for raw {column}, which is required"
            raise ImportMappingError(clean.cell_message(mapping.file, export_column, bad, message))


def shape(source: pd.DataFrame, mapping: TableMapping, warnings: list[str]) -> pd.DataFrame:
    """The raw table's rows from the export's rows."""
    spec, file = mapping.spec, mapping.file
    mapped = [*mapping.columns.values(), *mapping.attributes.values()]
    absent = [c for c in mapped if c not in source.columns]
    if absent:
        raise ImportMappingError(
            f"{file}: column {absent[0]!r} not in the file (columns: {', '.join(source.columns)})"
        )
    if mapped:  # rows whose mapped cells are all empty are skipped
        mapped_cells = source[mapped].astype("string").apply(lambda c: c.str.strip())
        source = source[(mapped_cells.fillna("") != "").any(axis=1)]
    frame = pd.DataFrame(index=source.index)
    for column in spec.columns:
        if column in mapping.columns:
            text = clean.blank_placeholders(source[mapping.columns[column]], mapping.placeholders)
        elif column in mapping.constants:
            text = pd.Series(mapping.constants[column], index=source.index, dtype="string")
        elif column in mapping.row_ids:
            text = pd.Series(source.index.astype(str), index=source.index, dtype="string")
        else:
            text = pd.Series(pd.NA, index=source.index, dtype="string")
        frame[column] = clean.map_values(text, mapping.values.get(column, {}))
    where = lambda c: mapping.columns.get(c, c)  # noqa: E731
    for column in mapping.skip_rows_missing:
        missing = frame[column].isna()
        if missing.any():
            first = clean.position(file, missing[missing].index[0])
            warnings.append(f"{file}: column {where(column)!r}: {missing.sum()} row(s) without"
                            f" a value for raw {column} skipped (skip_rows_missing), the first"
                            f" on {first}")  # fmt: skip
            frame, source = frame[~missing], source[~missing]
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
            warnings.append(clean.cell_message(file, where(column), frame[column][lost],
                                               "no single number, left empty"))  # fmt: skip
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
            warnings.append(clean.cell_message(file, where("dealstage"), unknown,
                                               "a stage read as open; map won/lost stages under"
                                               " values: dealstage"))  # fmt: skip
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


def attribute_rows(
    source: pd.DataFrame, frame: pd.DataFrame, mapping: TableMapping, warnings: list[str]
) -> pd.DataFrame:
    """The attribute columns of the rows ``shape`` kept (``frame``), cleaned as the raw
    columns are (placeholders, value maps), as long rows (sources/attributes.py)."""
    rows = source.loc[frame.index]
    values = pd.DataFrame(index=frame.index)
    for name, column in mapping.attributes.items():
        text = clean.blank_placeholders(rows[column], mapping.placeholders)
        values[name] = clean.map_values(text, mapping.values.get(name, {}))
        if len(rows) and values[name].isna().all():
            warnings.append(f"{mapping.file}: column {column!r}: empty in every row; attribute"
                            f" {name} gets no values")  # fmt: skip
    return attributes.long_rows(
        frame["hs_object_id"], frame["lastmodifieddate"], values, mapping.activity
    )


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
    tables = {
        spec.table: {
            name: SQL_TYPES[kind]
            for name, kind in (TYPED.get(spec.table) or dict.fromkeys(spec.columns, "text")).items()
        }
        for spec in KINDS.values()
    }
    return create_missing_tables(settings, tables | ATTRIBUTE_TABLES)


def _remember_files(settings: Settings, files: list[Path]) -> None:
    """Add the imported export files to ``<home>/imported_files.json``, so an erasure
    (``lead-scoring forget``) can warn about the copies of a person kept outside the home."""
    import json

    from lead_scoring.privacy.forget import IMPORTS_FILE

    path = settings.home / IMPORTS_FILE
    known = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    paths = list(dict.fromkeys([*known, *(str(f.resolve()) for f in files)]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(paths, indent=1), encoding="utf-8")


def run_import(settings: Settings, mapping_path: Path) -> ImportResult:
    """Import every file of the mapping into ``raw`` (merge on each table's key)."""
    import dlt

    from lead_scoring.privacy.tombstones import load_tombstones

    started = time.monotonic()
    result = ImportResult()
    mappings = load_mapping(mapping_path)
    forgotten = load_tombstones(settings)  # rows of forgotten people never reach raw
    frames: dict[str, list[pd.DataFrame]] = {}
    attribute_frames: dict[str, list[pd.DataFrame]] = {}  # raw table -> long rows
    empty: dict[str, str] = {}  # kind -> the first of its files without data rows
    for mapping in mappings:
        source = read_export(mapping, result.warnings)
        frame = forgotten.drop(mapping.spec.table, shape(source, mapping, result.warnings))
        log.info(
            "import: %s -> raw.%s (%s rows)", mapping.file.name, mapping.spec.table, len(frame)
        )
        if frame.empty:
            skipped = " or skipped" if mapping.skip_rows_missing else ""
            why = "only a header" if source.empty else f"every row is empty{skipped}"
            empty.setdefault(mapping.kind, f"{mapping.file}: no data rows ({why})")
            result.warnings.append(f"{empty[mapping.kind]}; raw.{mapping.spec.table} gets no"
                                   " rows from it")  # fmt: skip
        frames.setdefault(mapping.kind, []).append(frame)
        if mapping.attributes:
            table = attributes.TABLES[ATTRIBUTE_KINDS[mapping.kind]]
            rows = attribute_rows(source, frame, mapping, result.warnings)
            attribute_frames.setdefault(table, []).append(rows)
    for kind in REQUIRED_KINDS:
        if kind in frames and not sum(len(frame) for frame in frames[kind]):
            raise ImportMappingError(f"{empty[kind]}; the {kind} export is required, so nothing"
                                     " was imported")  # fmt: skip
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
    for table, parts in attribute_frames.items():
        rows = pd.concat(parts, ignore_index=True)
        rows = rows.drop_duplicates(subset=list(attributes.KEY), keep="last")
        result.rows[table] = len(rows)
        resources.append(dlt.resource(
            _arrow(rows, table, attributes.COLUMNS), name=table, primary_key=list(attributes.KEY),
            write_disposition="merge", columns=attributes.column_hints(),
        ))  # fmt: skip
    pipe.run(resources)
    result.created_empty = _create_missing_tables(settings)
    result.forgotten_skipped = forgotten.skipped_total
    _remember_files(settings, [m.file for m in mappings])
    for warning in result.warnings:
        log.warning("import: %s", warning)
    result.seconds = time.monotonic() - started
    return result
