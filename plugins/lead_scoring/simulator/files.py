"""Files the simulator writes: marketing exports (one per day or per simulated hour), ground
truth and its own state."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lead_scoring.simulator.frames import DAY, NEVER, Frame, sigmoid, to_timestamps

EXPORT_GLOB = "events_*.parquet"
MARKETING_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("contact_id", pa.string()),
        ("event_type", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("url", pa.string()),
    ]
)


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write next to the target, then rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial, compression="zstd")
    os.replace(partial, path)


def clear_exports(exports_dir: Path) -> int:
    removed = 0
    for path in exports_dir.glob(EXPORT_GLOB):
        path.unlink()
        removed += 1
    return removed


def write_marketing_exports(exports_dir: Path, events: pa.Table, export_day: np.ndarray) -> int:
    """One file per export day; ``events`` must be sorted by ``export_day``. Returns files."""
    days, starts = np.unique(export_day, return_index=True)
    stops = np.append(starts[1:], len(export_day))
    for day, start, stop in zip(days, starts, stops, strict=True):
        name = datetime.fromtimestamp(int(day) * DAY, UTC).strftime("events_%Y-%m-%d.parquet")
        _write_parquet(events.slice(start, stop - start), exports_dir / name)
    return len(days)


def write_marketing_export(exports_dir: Path, events: pa.Table, start: int, hours: int) -> int:
    """The export of one simulated step of ``hours`` hours from ``start`` (epoch seconds):
    a whole day from midnight as that day's file (``events_YYYY-MM-DD.parquet``), any other
    step as a file named for its first hour (``events_YYYY-MM-DDTHH.parquet``), so the
    hours of a day never overwrite each other. No events, no file. Returns files written."""
    if not events.num_rows:
        return 0
    moment = datetime.fromtimestamp(start, UTC)
    whole_day = hours * 3600 == DAY and start % DAY == 0
    name = moment.strftime("events_%Y-%m-%d.parquet" if whole_day else "events_%Y-%m-%dT%H.parquet")
    _write_parquet(events, exports_dir / name)
    return 1


def _nullable_ids(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(str), mask=values < 0)


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string(), mask=values == "")


def write_truth(truth_dir: Path, leads: Frame, accounts: Frame, as_of: int) -> None:
    """``leads.parquet`` and ``accounts.parquet``: latent scores, labels, outcomes as of now."""
    account = leads["account_idx"]
    account_id = np.where(account >= 0, accounts["account_id"][np.maximum(account, 0)], -1)
    is_sql = leads["sql_at"] < as_of
    closed = is_sql & (leads["close_at"] < as_of)
    leads_table = pa.table(
        {
            "contact_id": leads["contact_id"].astype(str),
            "latent_fit": leads["latent_fit"],
            "latent_intent": leads["latent_intent"],
            "injected_error": _text(leads["injected_error"]),
            "duplicate_of": _nullable_ids(leads["duplicate_of"]),
            "is_won": closed & leads["will_win"],
            "is_lost": closed & ~leads["will_win"],
            "account_id": _nullable_ids(account_id),
            "segment": pa.array(leads["segment"], type=pa.string()),
            "seniority": pa.array(leads["seniority"], type=pa.string()),
            "persona": pa.array(leads["persona"], type=pa.string()),
            "email_type": pa.array(leads["email_type"], type=pa.string()),
            "country": pa.array(leads["country"], type=pa.string()),
            "created_at": to_timestamps(leads["created"]),
            "is_sql": is_sql,
            "sql_at": to_timestamps(np.where(is_sql, leads["sql_at"], NEVER)),
            "closed_at": to_timestamps(np.where(closed, leads["close_at"], NEVER)),
            "signed_up_at": to_timestamps(
                np.where(leads["signup_at"] < as_of, leads["signup_at"], NEVER)
            ),
        }
    )
    _write_parquet(leads_table, truth_dir / "leads.parquet")
    accounts_table = pa.table(
        {
            "account_id": accounts["account_id"].astype(str),
            "latent_fit": sigmoid(accounts["fit_logit"]),
            "is_target": accounts["is_target"],
            "employees": accounts["employees"],
            "injected_error": _text(accounts["injected_error"]),
        }
    )
    _write_parquet(accounts_table, truth_dir / "accounts.parquet")


def write_event_truth(truth_dir: Path, rows: pa.Table, append: bool) -> None:
    """``events.parquet``: one row per event that carries an injected error."""
    path = truth_dir / "events.parquet"
    if append and path.exists():
        rows = pa.concat_tables([pq.read_table(path), rows])
    _write_parquet(rows, path)


def event_truth_rows(
    source: str, event_ids: np.ndarray, slots: dict[str, np.ndarray], prefix: str = ""
) -> pa.Table:
    kinds = [np.full(len(idx), kind, dtype=object) for kind, idx in slots.items()]
    ids = [
        np.array([f"{prefix}{i}" for i in event_ids[idx]], dtype=object) for idx in slots.values()
    ]
    count = sum(len(k) for k in kinds)
    return pa.table(
        {
            "source": pa.array([source] * count, type=pa.string()),
            "event_id": pa.array(np.concatenate(ids) if ids else [], type=pa.string()),
            "injected_error": pa.array(np.concatenate(kinds) if kinds else [], type=pa.string()),
        }
    )


def save_frame(path: Path, frame: Frame) -> None:
    _write_parquet(pa.table({name: pa.array(values) for name, values in frame.items()}), path)


def load_frame(path: Path) -> Frame:
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def save_manifest(path: Path, manifest: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
