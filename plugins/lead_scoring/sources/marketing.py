"""Marketing event exports: one Parquet file a day, read once each (by modification date)."""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.sources.filesystem import filesystem, read_parquet

from lead_scoring.sources.errors import SourceUnavailable

FILE_GLOB = "events_*.parquet"


def marketing_resource(exports_dir: Path):
    if not exports_dir.is_dir() or not any(exports_dir.glob(FILE_GLOB)):
        raise SourceUnavailable(f"no marketing event exports ({FILE_GLOB}) in {exports_dir}")
    files = filesystem(bucket_url=exports_dir.resolve().as_uri(), file_glob=FILE_GLOB)
    files.apply_hints(incremental=dlt.sources.incremental("modification_date"))
    events = (files | read_parquet(use_pyarrow=True, chunksize=200_000)).with_name(
        "marketing_events"
    )
    # Append: a re-delivered export keeps the first load of each event, so the scoring's
    # incremental decay state (keyed on load ids) never counts an event twice; staging
    # keeps one row per event_id.
    events.apply_hints(write_disposition="append", primary_key="event_id")
    return events
