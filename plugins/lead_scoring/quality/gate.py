"""``run_quality_gate``: the one entry point the nightly DAG calls.

1. schema gate: each raw table has the contract's columns and types and readable text;
   raw.crm_contacts has rows;
2. check frames per record type, validated by the Great Expectations suites;
3. the quality tables written from the GX results, by each rule's policy;
4. batch gates: quarantine rate, volume drop against the last passed run, freshness (not
   for raw tables whose newest rows ``lead-scoring import`` loaded: past data is no feed);
5. on a passed run, raw retention when ``LEAD_SCORING_RAW_RETENTION_DAYS`` is set
   (lead_scoring.privacy.retention): the recorded row counts are those after it, so the
   next run's volume gate does not take the deletion for a shrinking source.

Personal values in the quality tables are redacted (redaction.py); quarantined ones are
kept in full only with ``LEAD_SCORING_DQ_KEEP_VALUES`` and for its retention period.

Results are always recorded (quality.runs, source_volumes) before a failing gate raises
``QualityGateFailed``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd

from lead_scoring.quality import batch_gates, checks, store
from lead_scoring.quality.config import QualityConfig, load_config
from lead_scoring.quality.raw import RECORD_ID, imported_tables, load_raw, volumes
from lead_scoring.quality.schema import RawSchemaError
from lead_scoring.settings import Settings
from lead_scoring.warehouse import Warehouse, open_warehouse

log = logging.getLogger(__name__)

PASSED, FAILED = "passed", "failed"
ATTRIBUTE_RECORDS = {"crm_contact_attributes": "contact_attribute",
                     "crm_company_attributes": "company_attribute"}  # fmt: skip


@dataclass
class GateResult:
    run_id: str
    status: str
    records_checked: int
    records_quarantined: int
    quarantine_rate: float
    counts_by_rule: dict[str, int] = field(default_factory=dict)
    data_docs_path: str | None = None
    message: str = ""


class QualityGateFailed(RuntimeError):
    """A batch gate stopped the run; ``result`` holds what was recorded."""

    def __init__(self, result: GateResult):
        super().__init__(result.message)
        self.result = result


def utc_naive(moment: datetime) -> datetime:
    """UTC without tzinfo (naive values are taken as UTC), the form the checks compare."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _now() -> datetime:
    return utc_naive(datetime.now(UTC))


def build_batches(
    frames: dict[str, pd.DataFrame], config: QualityConfig, as_of: datetime
) -> list[checks.Batch]:
    contacts = checks.contacts(frames["crm_contacts"], config, as_of)
    batches = [contacts]
    if "crm_companies" in frames:
        batches.append(checks.companies(frames["crm_companies"], as_of))
    if "crm_deals" in frames:
        batches.append(checks.deals(frames["crm_deals"], contacts.checks.index, as_of))
    users = frames.get("product_users")
    if users is not None:
        batches.append(checks.product_users(users, as_of))
    if "product_events" in frames:
        known = users["user_id"] if users is not None else pd.Series([], dtype="int64")
        batches.append(checks.events(frames["product_events"], "product_event", "user_id",
                                     known, checks.PRODUCT_EVENT_TYPES, as_of))  # fmt: skip
    if "marketing_events" in frames:
        batches.append(checks.events(frames["marketing_events"], "marketing_event",
                                     "contact_id", _marketing_subjects(frames["crm_contacts"]),
                                     checks.MARKETING_EVENT_TYPES, as_of))  # fmt: skip
    for table, record_type in ATTRIBUTE_RECORDS.items():
        if table in frames:
            batches.append(checks.attributes(frames[table], record_type))
    return batches


def _marketing_subjects(contacts: pd.DataFrame) -> pd.Index:
    """The ids a marketing event may name: a contact's key or, for Salesforce, the Id of
    the record the person is now (a converted Lead's Contact)."""
    ids = contacts["hs_object_id"]
    if RECORD_ID in contacts:
        ids = pd.concat([ids, contacts[RECORD_ID].dropna()])
    return pd.Index(ids.astype("str").unique())


def keep_values_since(config: QualityConfig, now: datetime) -> datetime | None:
    """Quarantine rows first seen at or after this keep their values in full (None: none)."""
    if not config.keep_values or config.value_retention_days is None:
        return None
    return now - timedelta(days=config.value_retention_days)


def _record_failure(
    wh: Warehouse, run_id: str, started: datetime, message: str, config: QualityConfig
) -> GateResult:
    result = GateResult(run_id, FAILED, 0, 0, 0.0, {}, None, message)
    store.redact_quarantine(wh, keep_values_since(config, started))
    store.record_run(wh, _run_row(result, started), store.empty("source_volumes"))
    return result


def _run_row(result: GateResult, started: datetime) -> dict:
    return {
        "run_id": result.run_id, "started_at": started, "finished_at": _now(),
        "status": result.status, "records_checked": result.records_checked,
        "records_quarantined": result.records_quarantined,
        "quarantine_rate": result.quarantine_rate, "message": result.message,
        "data_docs_path": result.data_docs_path,
    }  # fmt: skip


def _after_retention(
    wh: Warehouse, settings: Settings, current: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    """Raw retention (lead_scoring.privacy.retention); the volumes less the deleted rows."""
    from lead_scoring.privacy.retention import apply_raw_retention

    deleted = apply_raw_retention(wh, settings, now)
    if deleted:
        current = current.assign(
            row_count=current["row_count"] - current["table_name"].map(deleted).fillna(0)
        ).astype({"row_count": "int64"})
    return current


def run_quality_gate(settings: Settings, run_id: str, as_of: datetime) -> GateResult:
    """Check the raw schema as of ``as_of``; raise QualityGateFailed when a gate fails."""
    from lead_scoring.quality.outcome import build_outcome
    from lead_scoring.quality.suites import suite_expectations
    from lead_scoring.quality.validate import validate

    config = load_config()
    as_of = utc_naive(as_of)
    started, clock = _now(), time.monotonic()
    docs_dir = settings.reports_dir / "data_docs" / run_id
    with open_warehouse(settings) as wh:
        store.ensure_tables(wh)
        try:
            frames = load_raw(wh)
        except RawSchemaError as exc:
            log.error("quality gate: %s", exc)
            raise QualityGateFailed(_record_failure(wh, run_id, started, str(exc), config)) from exc
        batches = build_batches(frames, config, as_of)
        log.info("check frames built in %.1f s", time.monotonic() - clock)
        hits, docs = validate(batches, suite_expectations(config, as_of), run_id, docs_dir)
        outcome = build_outcome(batches, hits, config, run_id)
        store.upsert_quarantine(wh, outcome.quarantine, started, keep_values_since(config, started))
        store.replace_rows(wh, "record_flags", outcome.flags)
        store.replace_rows(wh, "normalised_values", outcome.normalised)
        store.replace_rows(wh, "duplicate_leads", outcome.duplicates)
        store.replace_rows(wh, "email_domains", outcome.email_domains)

        checked = {b.record_type: len(b.checks) for b in batches}
        quarantined = outcome.quarantine.drop_duplicates(["record_type", "record_id"])
        bad = quarantined["record_type"].value_counts().to_dict()
        current = volumes(frames, as_of).assign(run_id=run_id)
        seen = pd.to_datetime(current["table_name"].map(store.newest_seen(wh, run_id, as_of)))
        current["newest_at"] = pd.concat([pd.to_datetime(current["newest_at"]), seen], axis=1).max(
            axis=1
        )
        imported = imported_tables(wh, list(frames))
        if imported:
            log.info("freshness not judged for %s: last loaded by lead-scoring import",
                     ", ".join(f"raw.{t}" for t in imported))  # fmt: skip
        failures = (
            batch_gates.quarantine_rate(checked, bad, config, outcome.quarantine)
            + batch_gates.volume_drop(current, store.previous_volumes(wh, run_id), config)
            + batch_gates.freshness(current[~current["table_name"].isin(imported)], as_of, config)
        )
        total, n_bad = sum(checked.values()), len(quarantined)
        unknown_types = batch_gates.unknown_event_types(
            pd.concat([outcome.quarantine, outcome.flags], ignore_index=True)
        )
        result = GateResult(
            run_id=run_id,
            status=FAILED if failures else PASSED,
            records_checked=total,
            records_quarantined=n_bad,
            quarantine_rate=n_bad / total if total else 0.0,
            counts_by_rule=outcome.counts_by_rule,
            data_docs_path=str(docs) if docs else None,
            message="; ".join(failures)
            or f"passed: {total} records checked, {n_bad} quarantined ({n_bad / total:.2%})"
            + (f"; {unknown_types}" if unknown_types else ""),
        )
        if not failures:
            current = _after_retention(wh, settings, current, started)
        store.record_run(wh, _run_row(result, started), current)
    log.info("quality gate %s in %.1f s: %s", result.status, time.monotonic() - clock,
             result.message)  # fmt: skip
    if failures:
        raise QualityGateFailed(result)
    return result
