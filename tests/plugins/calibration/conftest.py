"""A small scored warehouse, built once: simulate -> export the source systems to files ->
`lead-scoring import` (the BYOD path) -> quality tables -> dbt seed + run.

The quality tables are the gate's own (empty: nothing quarantined); the gate itself is
tested in tests/plugins/quality. Importing the simulated exports also exercises BYOD end to
end: imported data is scored by dbt and calibrated.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

AS_OF = date(2026, 6, 1)
TABLES = [
    ("contacts.parquet", "leads"),
    ("companies.parquet", "accounts"),
    ("deals.parquet", "outcomes"),
    ("product_users.parquet", "product_users"),
    ("product_events.parquet", "product_events"),
    ("marketing_events.parquet", "events"),
]


def _mapping(folder: Path) -> dict:
    """Every export column has the raw column's name: an identity mapping."""
    from lead_scoring.byod.mapping import KINDS

    return {
        "defaults": {"date_formats": ["iso"]},
        "tables": [
            {"file": file, "kind": kind, "columns": {c: c for c in KINDS[kind].columns}}
            for file, kind in TABLES
        ],
    }


def export_simulation(settings, folder: Path) -> Path:
    """The simulated CRM, product DB and marketing exports as files + a mapping for them."""
    from lead_scoring.crm_sandbox.store import CrmStore
    from lead_scoring.sources.crm import PROPERTIES

    folder.mkdir(parents=True, exist_ok=True)
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    try:
        for object_type in ("contacts", "companies", "deals"):
            records = store.select(object_type)
            frame = pd.DataFrame([{**r.properties, "hs_object_id": r.id} for r in records])
            frame.reindex(columns=PROPERTIES[object_type]).astype("string").to_parquet(
                folder / f"{object_type}.parquet"
            )
    finally:
        store.close()
    with sqlite3.connect(settings.sources_dir / "product.db") as con:
        pd.read_sql("select * from app_users", con).to_parquet(folder / "product_users.parquet")
        pd.read_sql("select * from app_events", con).to_parquet(folder / "product_events.parquet")
    marketing = pd.concat(
        pd.read_parquet(f) for f in sorted(settings.marketing_exports_dir.glob("*.parquet"))
    )
    marketing.to_parquet(folder / "marketing_events.parquet")
    (folder / "mapping.yml").write_text(yaml.safe_dump(_mapping(folder)), encoding="utf-8")
    return folder / "mapping.yml"


def run_dbt(settings, *args: str) -> None:
    from lead_scoring.bench import run_dbt as dbt

    dbt(settings, AS_OF, *args)


@pytest.fixture(scope="session")
def scored_home(tmp_path_factory):
    """Settings whose warehouse holds a dbt build (as of AS_OF) of ~1,500 simulated leads."""
    from lead_scoring.byod import run_import
    from lead_scoring.quality.store import ensure_tables
    from lead_scoring.settings import get_settings
    from lead_scoring.simulator import simulate
    from lead_scoring.warehouse import open_warehouse

    home = tmp_path_factory.mktemp("calibration_home")
    previous = os.environ.get("LEAD_SCORING_HOME")
    os.environ["LEAD_SCORING_HOME"] = str(home)
    settings = replace(get_settings(), home=home)
    simulate(settings, leads=1_500, accounts=300, days=150, end_date=AS_OF, seed=11,
             events=30_000)  # fmt: skip
    run_import(settings, export_simulation(settings, home / "exports"))
    with open_warehouse(settings) as wh:
        ensure_tables(wh)
    run_dbt(
        settings,
        "build",
        "--select",
        "+lead_scores",
        "+stg_crm__deals",
        "--exclude-resource-type",
        "test",
    )
    with open_warehouse(settings) as wh:
        wh.execute("checkpoint")  # the file alone holds the build: tests copy it
    if previous is None:
        os.environ.pop("LEAD_SCORING_HOME", None)
    else:
        os.environ["LEAD_SCORING_HOME"] = previous
    return settings


@pytest.fixture
def calibration_settings(scored_home, tmp_path):
    """The scored warehouse, with proposals written to this test's own folder: a copy of
    the warehouse file in a fresh home."""
    import shutil

    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(scored_home.warehouse_path, home / "warehouse.duckdb")
    return replace(scored_home, home=home)
