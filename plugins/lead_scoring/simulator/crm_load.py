"""Seeding the CRM sandbox store (HubSpot objects, or Salesforce records through
``crm_sandbox.salesforce_load``), in a worker process for large runs.

The store's ``bulk_load`` is Python per record (JSON, datetime checks), the slowest part
of a large simulation, so the records are staged as Parquet (all string columns) and a
spawned process loads them while the main process writes the other sources.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lead_scoring.crm_sandbox.salesforce_load import load_funnel
from lead_scoring.crm_sandbox.store import CrmStore

OBJECT_TYPES = ("companies", "contacts", "deals")
WORKER_THRESHOLD = 200_000  # records; below this the spawn costs more than it saves


def stage(staging_dir: Path, columns: dict[str, dict[str, np.ndarray]]) -> list[Path]:
    """Write each object type's property columns as a Parquet file of strings."""
    staging_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for object_type, properties in columns.items():
        path = staging_dir / f"{object_type}.parquet"
        table = pa.table({k: pa.array(v, type=pa.string()) for k, v in properties.items()})
        pq.write_table(table, path, compression="none")
        paths.append(path)
    return paths


def load(store_path: str, staged: list[str], crm: str = "hubspot") -> tuple[bool, dict[str, int]]:
    """Replace the store's records with the staged ones, as HubSpot objects or (``crm``
    "salesforce") as Salesforce records; (had records before, counts)."""
    store = CrmStore(store_path)
    try:
        had_records = bool(sum(store.counts().values()))
        store.clear()
        if crm == "salesforce":
            tables = {Path(p).stem: pq.read_table(p).to_pylist() for p in staged}
            return had_records, load_funnel(
                store, tables["companies"], tables["contacts"], tables["deals"]
            )
        counts = {}
        for path in staged:
            object_type = Path(path).stem
            counts[object_type] = store.bulk_load(object_type, pq.read_table(path).to_pylist())
        return had_records, counts
    finally:
        store.close()


def start_load(store_path: Path, staged: list[Path], records: int, crm: str) -> Future:
    """Load in a spawned worker when there are many records, else right here."""
    arguments = (str(store_path), [str(p) for p in staged], crm)
    if records < WORKER_THRESHOLD:
        done: Future = Future()
        done.set_result(load(*arguments))
        return done
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(load, *arguments)
    pool.shutdown(wait=False)
    return future
