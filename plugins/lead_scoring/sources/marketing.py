"""Marketing event exports: one Parquet file a day, read once each (by modification date).

A file that cannot be read (truncated, corrupt) stops the extraction with one message naming
it: the file's footer is checked before anything is extracted, and a file that fails while
its rows are read is reported the same way (the extraction then discards what it extracted).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import dlt
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.sources.filesystem import filesystem

from lead_scoring.privacy.tombstones import Tombstones
from lead_scoring.sources.errors import SourceUnavailable

log = logging.getLogger(__name__)

FILE_GLOB = "events_*.parquet"
CHUNK_ROWS = 200_000


def parquet_problem(exc: BaseException) -> str:
    """Arrow's reason on one line, without the path it repeats."""
    text = "".join(c for c in str(exc) if c.isprintable() or c == "\n")
    lines = [line.strip().rstrip(":").strip() for line in text.splitlines()]
    reason = "; ".join(line for line in lines if line) or type(exc).__name__
    return re.sub(r"^Could not open Parquet input source '.*?': ", "", reason)


def unreadable(path: Path, exc: BaseException) -> SourceUnavailable:
    return SourceUnavailable(
        f"marketing event export {path}: not a readable Parquet file, truncated or corrupt"
        f" ({parquet_problem(exc)}); nothing was loaded: replace or remove the file and run the"
        " extract again"
    )


def check_exports(exports_dir: Path) -> None:
    """Every export has a readable Parquet footer (a truncated file has none)."""
    for path in sorted(exports_dir.glob(FILE_GLOB)):
        try:
            pq.ParquetFile(path).close()
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(path, exc) from exc


@dlt.transformer
def read_exports(files, exports_dir: Path):
    """The rows of each new export file as Arrow record batches."""
    for item in files:
        path = exports_dir / item["relative_path"]
        try:
            with item.open() as handle:
                parquet = pq.ParquetFile(handle)
                if parquet.metadata.num_rows == 0:
                    log.warning("marketing event export %s has no rows", path)
                yield from parquet.iter_batches(batch_size=CHUNK_ROWS)
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(path, exc) from exc


def marketing_resource(exports_dir: Path, tombstones: Tombstones | None = None):
    """Each new export file's events; those of forgotten people (``tombstones``) left out."""
    if not exports_dir.is_dir() or not any(exports_dir.glob(FILE_GLOB)):
        raise SourceUnavailable(f"no marketing event exports ({FILE_GLOB}) in {exports_dir}")
    check_exports(exports_dir)
    files = filesystem(bucket_url=exports_dir.resolve().as_uri(), file_glob=FILE_GLOB)
    files.apply_hints(incremental=dlt.sources.incremental("modification_date"))
    events = (files | read_exports(exports_dir.resolve())).with_name("marketing_events")
    # Append: a re-delivered export keeps the first load of each event, so the scoring's
    # incremental decay state (keyed on load ids) never counts an event twice; staging
    # keeps one row per event_id.
    events.apply_hints(write_disposition="append", primary_key="event_id")
    if tombstones:
        events.add_map(lambda rows: tombstones.drop("marketing_events", rows))
    return events
