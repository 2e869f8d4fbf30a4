"""Run the extraction: CRM, product database and marketing exports -> ``raw`` schema."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from lead_scoring.settings import Settings
from lead_scoring.sources import attributes
from lead_scoring.sources.errors import SourceUnavailable

log = logging.getLogger(__name__)

PIPELINE_NAME = "lead_scoring_raw"
DLT_ENV = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    # Credentials are passed explicitly: dlt need not scan Airflow Variables for secrets
    # (it otherwise probes the Airflow metadata database on every config lookup).
    "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false",
    # Arrow-backed resources (product database, exports, imports) get the same load columns
    # as the rest.
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "true",
}
for _name, _value in DLT_ENV.items():
    os.environ.setdefault(_name, _value)
RAW_DATASET = "raw"
# The long attribute tables: created empty when nothing feeds them.
ATTRIBUTE_TABLES = {
    table: dict.fromkeys(attributes.COLUMNS, "text") for table in attributes.TABLES.values()
}
CRM_KINDS = ("hubspot", "salesforce")  # the CRMs the extract reads (CrmSource.kind)


@dataclass(frozen=True)
class CrmSource:
    """Where to read CRM records: ``kind`` ``hubspot`` (an API base URL and a private-app
    token) or ``salesforce`` (the instance URL and a session / access token, sources/
    salesforce.py), and the CA bundle to verify its HTTPS with, if not the system's.

    HubSpot allows 5 search requests a second per account; a local sandbox allows more.
    Salesforce limits requests a day, not a second: ``max_requests_per_second`` is HubSpot's.
    """

    base_url: str
    token: str = field(repr=False)
    max_requests_per_second: float = 5.0
    kind: str = "hubspot"
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in CRM_KINDS:
            raise SourceUnavailable(
                f"CRM source kind {self.kind!r} is not supported: use {' or '.join(CRM_KINDS)}"
            )


@dataclass(frozen=True)
class ExtractResult:
    rows_loaded: dict[str, int]
    seconds: float
    forgotten_skipped: int = 0  # source records of forgotten people left out


def crm_kind(conn_type: str | None, kind: str | None = None) -> str:
    """The source CRM kind of a connection: its extra ``kind``, else its type when that is
    ``salesforce`` or ``hubspot``, else ``hubspot`` (an ``http`` connection)."""
    conn_type = (conn_type or "").lower()
    return (kind or (conn_type if conn_type in CRM_KINDS else "hubspot")).strip().lower()


def crm_source_from_env() -> CrmSource:
    url = os.environ.get("LEAD_SCORING_CRM_SOURCE_URL")
    token = os.environ.get("LEAD_SCORING_CRM_SOURCE_TOKEN")
    rps = float(os.environ.get("LEAD_SCORING_CRM_SOURCE_MAX_RPS", "5"))
    if not url or not token:
        raise SourceUnavailable(
            "CRM source not configured: set LEAD_SCORING_CRM_SOURCE_URL and"
            " LEAD_SCORING_CRM_SOURCE_TOKEN (or the Airflow connection lead_scoring_crm_source)"
        )
    kind = crm_kind(None, os.environ.get("LEAD_SCORING_CRM_SOURCE_KIND"))
    ca_bundle = os.environ.get("LEAD_SCORING_CRM_SOURCE_CA_BUNDLE") or None
    return CrmSource(url, token, rps, kind=kind, ca_bundle=ca_bundle)


def _destination(settings: Settings):
    import dlt

    if settings.warehouse == "duckdb":
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(str(settings.warehouse_path))
    return dlt.destinations.postgres(settings.warehouse_url)


def pipeline(settings: Settings, name: str = PIPELINE_NAME):
    """A dlt pipeline into the ``raw`` dataset of the warehouse (the settings of DLT_ENV).

    Its load step deletes each package's job files once they are loaded (dlt's
    ``delete_completed_jobs``): the rows are in the warehouse, and a copy under
    ``<home>/.dlt`` would outlive an erasure (``lead-scoring forget``)."""
    import dlt

    os.environ["LOAD__DELETE_COMPLETED_JOBS"] = "true"
    return dlt.pipeline(
        pipeline_name=name,
        destination=_destination(settings),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(settings.home / ".dlt"),
    )


def extract(settings: Settings, crm: CrmSource) -> ExtractResult:
    """Load new and changed source rows into ``raw``; fail clearly on a missing source."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    from lead_scoring.privacy.tombstones import load_tombstones, skipped_message
    from lead_scoring.sources.marketing import marketing_resource
    from lead_scoring.sources.product import check_product_db, product_resources

    started = time.monotonic()
    check_product_db(settings.product_db)
    forgotten = load_tombstones(settings)  # records of forgotten people never reach raw
    unchanged = _unchanged_records(settings, crm)
    resources = [
        *_crm_resources(crm, settings.crm_attributes, forgotten, unchanged),
        *product_resources(settings.product_db, forgotten),
        marketing_resource(settings.marketing_exports_dir, forgotten),
    ]
    pipe = pipeline(settings)
    drop_normalized_leftovers(pipe)
    # DuckDB loads Parquet files far faster than INSERT statements (dlt's default).
    file_format = "parquet" if settings.warehouse == "duckdb" else None
    try:
        for resource in resources:
            log.info("extracting %s", resource.name)
            pipe.extract(resource, loader_file_format=file_format)
        pipe.normalize()
    except BaseException as exc:
        # Nothing half-loaded: what this run extracted is dropped before it reaches raw.
        discard_pending(pipe)
        _reraise(exc)
    try:
        pipe.load()
    except PipelineStepFailed as exc:
        _reraise(exc)
    counts = {
        table: count
        for table, count in pipe.last_trace.last_normalize_info.row_counts.items()
        if not table.startswith("_dlt")
    }
    for table, count in sorted(counts.items()):
        log.info("loaded %s new or changed rows into %s.%s", count, RAW_DATASET, table)
    if skipped_message(forgotten):
        log.info("%s", skipped_message(forgotten))
    unchanged.log()
    _check_not_empty(settings)
    if crm.kind == "salesforce":
        from lead_scoring.sources.salesforce import EXTRA_TABLES
    else:
        from lead_scoring.sources.crm import EXTRA_TABLES
    create_missing_tables(settings, ATTRIBUTE_TABLES | EXTRA_TABLES)
    return ExtractResult(counts, time.monotonic() - started, forgotten.skipped_total)


def _unchanged_records(settings: Settings, crm: CrmSource):
    """What raw holds of the CRM's records, to leave out those read again unchanged."""
    from lead_scoring.sources.unchanged import UnchangedRecords

    if crm.kind == "salesforce":
        from lead_scoring.sources.salesforce import TRACKED
    else:
        from lead_scoring.sources.crm import TRACKED
    return UnchangedRecords(settings, TRACKED)


def _crm_resources(crm: CrmSource, listed: dict[str, dict[str, str]], forgotten, unchanged) -> list:
    """The CRM's dlt resources: contacts, companies, deals, the ``listed`` attributes, the
    owners and the sales activities (HubSpot, every request paced under the source's rate),
    or every Salesforce object read (sources/salesforce.py). Records read again unchanged
    (``unchanged``, sources/unchanged.py) are not loaded."""
    if crm.kind == "salesforce":
        from lead_scoring.sources.salesforce import salesforce_resources

        return salesforce_resources(crm, listed, forgotten, unchanged)
    from lead_scoring.sources import crm as hubspot

    api = hubspot.HubSpotApi(crm.base_url, crm.token, crm.max_requests_per_second)
    return [
        *(hubspot.crm_resource(api, kind, forgotten, unchanged) for kind in hubspot.PROPERTIES),
        *(
            hubspot.crm_attribute_resource(api, kind, attrs, forgotten)
            for kind, attrs in listed.items()
            if attrs
        ),
        hubspot.hubspot_owners(api),
        *(hubspot.activity_resource(api, kind, forgotten) for kind in hubspot.ACTIVITIES),
    ]


def create_missing_tables(settings: Settings, tables: dict[str, dict[str, str]]) -> list[str]:
    """Create the raw tables of ``tables`` (table -> column -> SQL type) that do not exist,
    empty, with dlt's load columns, so the quality gate and dbt find every table they read.
    Returns the tables created."""
    from lead_scoring.warehouse import open_warehouse

    created = []
    with open_warehouse(settings) as wh:
        wh.execute(f"create schema if not exists {RAW_DATASET}")
        for table, types in tables.items():
            if wh.table_exists(RAW_DATASET, table):
                continue
            columns = ", ".join(f'"{name}" {kind}' for name, kind in types.items())
            wh.execute(f"create table {RAW_DATASET}.{table} ({columns},"
                       " _dlt_load_id text, _dlt_id text)")  # fmt: skip
            created.append(f"{RAW_DATASET}.{table}")
    return created


def drop_normalized_leftovers(pipe) -> None:
    """A run killed inside dlt's normalize step, after it committed a package as normalized
    and before it deleted the extracted copy, leaves both; normalizing that copy again
    fails. The normalized package is complete and is loaded next; the copy is dropped."""
    done = {*pipe.list_normalized_load_packages(), *pipe.list_completed_load_packages()}
    folder = Path(pipe.working_dir) / "normalize" / "extracted"
    for package in sorted(done):
        if (folder / package).is_dir():
            log.warning("dropping load package %s: extracted copy of a normalized one", package)
            shutil.rmtree(folder / package)


def pending_packages(pipe) -> list[str]:
    """Load packages extracted or normalized and not loaded yet."""
    return sorted([*pipe.list_extracted_load_packages(), *pipe.list_normalized_load_packages()])


def discard_pending(pipe) -> None:
    """Drop the load packages not loaded yet (dlt's abort also rewinds the pipeline state, so
    the next run reads the same rows again) and the folders a failed extract leaves behind."""
    if pending_packages(pipe):
        pipe.abort_packages()
    for folder in abandoned_extracts(pipe):
        shutil.rmtree(folder)


def abandoned_extracts(pipe) -> list[Path]:
    """The folders a failed extract leaves in dlt's normalize storage (committed packages
    are moved to ``extracted``)."""
    folder = Path(pipe.working_dir) / "normalize"
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_dir() and p.name != "extracted"]


def _reraise(exc: BaseException) -> NoReturn:
    """The SourceUnavailable that dlt wrapped, if that is what failed, else ``exc``."""
    cause = _source_error(exc)
    if cause is None:
        raise exc
    raise cause from exc


def _source_error(exc: BaseException | None) -> SourceUnavailable | None:
    """The SourceUnavailable that dlt wrapped, if that is what failed."""
    while exc is not None and not isinstance(exc, SourceUnavailable):
        exc = exc.__cause__ or exc.__context__
    return exc


def _check_not_empty(settings: Settings) -> None:
    from lead_scoring.warehouse import open_warehouse

    with open_warehouse(settings) as wh:
        for table in ("crm_contacts", "product_events", "marketing_events"):
            if not wh.table_exists(RAW_DATASET, table) or not wh.scalar(
                f"select count(*) from {RAW_DATASET}.{table}"
            ):
                raise SourceUnavailable(
                    f"{RAW_DATASET}.{table} is empty after extraction: the source has no data"
                )
