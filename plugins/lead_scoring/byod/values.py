"""Cleaning messy export values: placeholders, mixed date formats, numbers stored as text.

Every function takes a pandas Series of text and returns it cleaned; what cannot be read
raises ``ImportMappingError`` naming the file, the line (CSV) or row (Parquet), the column and
the value. The Series are indexed by where each row is in its file (``position``).
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo
from functools import cache
from pathlib import Path

import pandas as pd

from lead_scoring.byod.mapping import ImportMappingError

TRUE = {"true", "yes", "y", "1", "x", "t"}
FALSE = {"false", "no", "n", "0", "f"}
STAGES = {
    "closedwon": "closedwon", "closed won": "closedwon", "closed-won": "closedwon",
    "won": "closedwon", "win": "closedwon",
    "closedlost": "closedlost", "closed lost": "closedlost", "closed-lost": "closedlost",
    "lost": "closedlost",
    "appointmentscheduled": "appointmentscheduled", "qualifiedtobuy": "qualifiedtobuy",
}  # fmt: skip
OPEN_STAGE = "qualifiedtobuy"
_NUMBER_JUNK = re.compile(r"[^\d.,\-]")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


PARQUET = (".parquet", ".pq")


def position(file: Path, label) -> str:
    """Where a row of an export is: the line it starts on in a CSV file (the header is line 1)
    or its number in a Parquet file, as ``load.read_export`` indexes the rows."""
    return f"row {label}" if file.suffix.lower() in PARQUET else f"line {label}"


def cell_message(file: Path, column: str, bad: pd.Series, message: str) -> str:
    """One line about the cells of ``bad``: where the first is, its value and how many more."""
    more = f"; {len(bad) - 1} more like it" if len(bad) > 1 else ""
    return (f"{file}: {position(file, bad.index[0])}, column {column!r}: {message}"
            f" (sample value: {bad.iloc[0]!r}{more})")  # fmt: skip


def _error(file: Path, column: str, bad: pd.Series, message: str) -> ImportMappingError:
    return ImportMappingError(cell_message(file, column, bad, message))


def blank_placeholders(values: pd.Series, placeholders: frozenset[str]) -> pd.Series:
    """Trimmed text; empty cells and placeholders ('N/A', 'Select', ...) become missing."""
    text = values.astype("string").str.strip()
    return text.mask(text.str.lower().isin(placeholders))


def map_values(values: pd.Series, table: dict[str, str]) -> pd.Series:
    """Replace values found in ``table`` (keys lower-case); others stay as they are."""
    if not table:
        return values
    mapped = values.str.lower().map(table)
    return mapped.where(mapped.notna(), values).astype("string")


def parse_dates(values: pd.Series, formats: tuple[str, ...], timezone: str, file: Path,
                column: str) -> pd.Series:  # fmt: skip
    """UTC timestamps from text in any of ``formats`` (strftime patterns, 'iso' for
    ISO-8601, 'epoch' / 'epoch_ms' for Unix times), tried in order per value. Values
    without an offset are read in ``timezone``."""
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    todo = values.notna()
    for fmt in formats:
        if not todo.any():
            break
        pending = values[todo]
        if fmt in ("epoch", "epoch_ms"):
            numbers = pd.to_numeric(pending, errors="coerce")
            parsed = pd.to_datetime(numbers, unit="s" if fmt == "epoch" else "ms", utc=True)
        else:
            kwargs = {"format": "ISO8601"} if fmt == "iso" else {"format": fmt}
            if timezone == "UTC":
                parsed = pd.to_datetime(pending, errors="coerce", utc=True, **kwargs)
            else:
                parsed = pending.map(lambda text, kw=kwargs: _local(text, kw, timezone))
                parsed = pd.to_datetime(parsed, utc=True)
        found = parsed.notna()
        result[found[found].index] = parsed[found].astype("datetime64[us, UTC]")
        todo &= result.isna()
    if todo.any():
        raise _error(file, column, values[todo], f"not a date in any of the formats"
                     f" {list(formats)}; add its format to date_formats")  # fmt: skip
    return result


@cache
def zone(name: str) -> tzinfo:
    """The time zone ``name`` as pandas reads it (IANA names, 'UTC', fixed offsets such as
    '+01:00'); raises for a name it does not know."""
    return pd.Timestamp(0, tz=name).tzinfo


def _local(text: str, kwargs: dict, timezone: str):
    """A time without an offset read in ``timezone`` (PEP 495, fold=0): a time in a
    daylight-saving gap takes the offset before the gap (02:30 in a gap from 02:00 to 03:00
    is 03:30 after it), a repeated time its first occurrence (the daylight-time one)."""
    stamp = pd.to_datetime(text, errors="coerce", **kwargs)
    if pd.isna(stamp):
        return pd.NaT
    if stamp.tzinfo is None:
        local = stamp.to_pydatetime(warn=False).replace(tzinfo=zone(timezone))
        return pd.Timestamp(local.astimezone(UTC))
    return stamp.tz_convert("UTC")


def parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers stored as text ('1,234', '$5,000.00', '12 000', '3,5') as text digits
    ('1234', '5000', '12000', '3.5'); what is no single number ('50-100') becomes missing."""

    def one(text):
        if text is pd.NA or text is None:
            return pd.NA
        raw = _NUMBER_JUNK.sub("", str(text))
        if _THOUSANDS.match(raw):
            raw = raw.replace(",", "")
        elif "," in raw and "." not in raw:
            raw = raw.replace(",", ".")
        else:
            raw = raw.replace(",", "")
        try:
            number = float(raw)
        except ValueError:
            return pd.NA
        return str(int(number)) if number == int(number) else repr(number)

    return values.map(one).astype("string")


def parse_integers(values: pd.Series, file: Path, column: str) -> pd.Series:
    numbers = parse_numbers(values)
    bad = values.notna() & (numbers.isna() | numbers.str.contains(r"\.", regex=True))
    if bad.any():
        raise _error(file, column, values[bad], "not a whole number")
    return numbers.astype("Int64")


def parse_booleans(values: pd.Series, file: Path, column: str) -> pd.Series:
    lower = values.str.lower()
    bad = values.notna() & ~lower.isin(TRUE | FALSE)
    if bad.any():
        raise _error(file, column, values[bad], "not a yes/no value (map it under values:)")
    return lower.map(lambda v: "true" if v in TRUE else "false" if v in FALSE else pd.NA).astype(
        "string"
    )


def normalise_stages(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Deal stages as the CRM names them; unknown stages count as open. Returns the stages
    and the unknown values that were read as open."""
    lower = values.str.lower().str.strip()
    known = lower.map(STAGES)
    unknown = values[values.notna() & known.isna()]
    return known.fillna(OPEN_STAGE).where(values.notna()).astype("string"), unknown


def ids_as_text(values: pd.Series) -> pd.Series:
    """Ids exported by spreadsheets as numbers ('1001.0') back to '1001'."""
    return values.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def wire_datetimes(stamps: pd.Series) -> pd.Series:
    """UTC timestamps as the CRM writes them: 2026-11-01T10:00:00.000Z."""
    text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    return text.where(stamps.notna()).astype("string")
