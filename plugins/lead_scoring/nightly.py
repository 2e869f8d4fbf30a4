"""The nightly DAG's task bodies: resolve connections, call each stage, return a summary.

Each function returns a small JSON-able dict (it travels through XCom to the report).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from lead_scoring.settings import get_settings

CRM_SOURCE_CONN = "lead_scoring_crm_source"
CRM_TARGET_CONN = "lead_scoring_crm"
def _connection(conn_id: str):
    """The Airflow connection, or a task failure (not retried) naming what is missing."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return Connection.get(conn_id)
    except Exception as exc:  # Airflow raises its own NotFound types per backend
        raise AirflowFailException(
            f"Airflow connection {conn_id!r} is not defined: create it (see README,"
            f" 'Connections') or set AIRFLOW_CONN_{conn_id.upper()}"
        ) from exc


def _source_url(conn) -> str:
    scheme = conn.schema or "http"
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{conn.host}{port}"


def crm_source():
    """The CRM to read: HubSpot (conn type ``http``/``hubspot``) or Salesforce (conn type
    ``salesforce``, or extra ``kind``), with extras ``max_requests_per_second`` (HubSpot) and
    ``ca_bundle``."""
    from airflow.sdk.exceptions import AirflowFailException

    from lead_scoring.sources.errors import SourceUnavailable
    from lead_scoring.sources.extract import CrmSource, crm_kind

    conn = _connection(CRM_SOURCE_CONN)
    if not conn.host or not conn.password:
        raise AirflowFailException(
            f"connection {CRM_SOURCE_CONN!r} needs a host and a password (token)"
        )
    extra = conn.extra_dejson
    rps = float(extra.get("max_requests_per_second", 5))
    try:
        kind = crm_kind(conn.conn_type, extra.get("kind"))
        return CrmSource(_source_url(conn), conn.password, rps, kind, extra.get("ca_bundle"))
    except SourceUnavailable as exc:
        raise AirflowFailException(f"connection {CRM_SOURCE_CONN!r}: {exc}") from exc


def crm_target():
    """The sync target: connection ``lead_scoring_crm`` or, when it is not defined, the source
    CRM itself (same kind, URL, token and CA bundle). The target knows the source, so the
    records read from it are updated by their id."""
    from airflow.sdk.exceptions import AirflowFailException

    from lead_scoring.crm_sync.config import CrmTarget, target_from_connection

    try:
        conn = _connection(CRM_TARGET_CONN)
    except AirflowFailException as missing:
        try:
            _connection(CRM_SOURCE_CONN)
        except AirflowFailException:
            raise AirflowFailException(
                f"{missing} (or at least {CRM_SOURCE_CONN!r}, the CRM the scores then go to)"
            ) from missing
        conn = None
    source = crm_source()
    if conn is not None:
        return target_from_connection(conn, source.base_url, source.kind)
    return CrmTarget(
        source.kind, source.base_url, source.token, ca_bundle=source.ca_bundle,
        source_url=source.base_url, source_kind=source.kind,
    )  # fmt: skip


def extract_sources(source) -> dict:
    from lead_scoring.sources.extract import extract

    return asdict(extract(get_settings(), source))


def run_gate(run_id: str, logical_date: datetime | None) -> dict:
    """The quality gate; a failed batch gate or a bad gate setting fails the task at once
    (no retry can fix data or configuration)."""
    from airflow.sdk.exceptions import AirflowFailException

    from lead_scoring.quality import QualityGateFailed, run_quality_gate
    from lead_scoring.quality.config import QualityConfigError

    as_of = logical_date or datetime.now(UTC)
    try:
        return asdict(run_quality_gate(get_settings(), run_id, as_of))
    except QualityGateFailed as exc:
        raise AirflowFailException(f"quality gate failed: {exc}") from exc
    except QualityConfigError as exc:
        raise AirflowFailException(f"quality gate settings: {exc}") from exc


def preflight_crm(target) -> None:
    from lead_scoring.crm_sync import preflight

    preflight(target, get_settings())


def sync_crm(target, run_id: str) -> dict:
    from lead_scoring.crm_sync import run_sync

    return asdict(run_sync(get_settings(), target, run_id))


def sla_alerts(run_id: str, logical_date: datetime | None, context=None) -> dict:
    """New SLA breaches, one message per rep, through the ``lead_scoring_alerts`` notifier."""
    from lead_scoring.alerts import current_breaches, send_sla_alerts

    settings = get_settings()
    as_of = (logical_date or datetime.now(UTC)).date().isoformat()
    breaches = current_breaches(settings)
    return send_sla_alerts(settings, run_id, as_of, breaches, context)


def report(
    run_id: str, logical_date, extracted: dict, gate: dict, synced: dict, alerted: dict
) -> dict:
    from lead_scoring.report import write_run_report

    return write_run_report(
        get_settings(), run_id, logical_date, extracted, gate, synced, alerted
    )
