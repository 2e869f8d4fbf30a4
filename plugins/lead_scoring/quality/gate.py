"""``run_quality_gate``: the one entry point the nightly DAG calls.

1. schema gate: each raw table has the contract's columns and types and readable text
   (in the rows this run reads first); raw.crm_contacts has rows;
2. per raw table, the rows to check (incremental.py: those loaded since the last passed
   run, the quarantine, ...; every row in a full run), read in chunks: check frames,
   validated by the Great Expectations suites, and the quality rows of the checked
   records replaced by the findings, by each rule's policy;
3. batch gates: quarantine rate among the new or changed records, volume drop against the
   last passed run (row counts in SQL), freshness (not for raw tables whose newest rows
   ``lead-scoring import`` loaded: past data is no feed);
4. on a passed run, raw retention when ``LEAD_SCORING_RAW_RETENTION_DAYS`` is set
   (lead_scoring.privacy.retention): the recorded row counts are those after it, so the
   next run's volume gate does not take the deletion for a shrinking source; and the
   watermarks the next run starts from.

Personal values in the quality tables are redacted (redaction.py); quarantined ones are
kept in full only with ``LEAD_SCORING_DQ_KEEP_VALUES`` and for its retention period.

A run writes in one transaction: killed, it leaves the previous state. Results are always
recorded (quality.runs, source_volumes) before a failing gate raises ``QualityGateFailed``;
a failed run does not move the watermarks, so the next run checks the same rows again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd

from lead_scoring.quality import batch_gates, checks, store
from lead_scoring.quality.config import QualityConfig, load_config
from lead_scoring.quality.incremental import (
    Plan,
    plan_tables,
    select_checked,
    suite_version,
    watermarks,
)
from lead_scoring.quality.raw import (
    KEYS,
    NEW,
    RECORD_TYPES,
    chunks,
    columns,
    imported_tables,
    known_ids,
    newest,
    present_tables,
    row_counts,
    with_ids,
)
from lead_scoring.quality.rules import OFF
from lead_scoring.quality.schema import TABLES, RawSchemaError, check_readable
from lead_scoring.settings import Settings
from lead_scoring.warehouse import Warehouse, open_warehouse

if TYPE_CHECKING:
    from lead_scoring.quality.validate import Validator

log = logging.getLogger(__name__)

PASSED, FAILED = "passed", "failed"


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
    # raw table -> how it was checked: "incremental" or "full (<why>)", and records checked
    tables: dict[str, dict] = field(default_factory=dict)


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


def build_batch(
    table: str, frame: pd.DataFrame, known: dict, config: QualityConfig, as_of: datetime
) -> checks.Batch:
    """The check frame of rows of ``raw.<table>``; ``known``: raw.known_ids."""
    if table == "crm_contacts":
        return checks.contacts(frame, config, as_of)
    if table == "crm_companies":
        return checks.companies(frame, as_of)
    if table == "crm_deals":
        return checks.deals(frame, known["contacts"], as_of)
    if table == "product_users":
        return checks.product_users(frame, as_of)
    if table == "product_events":
        return checks.events(frame, "product_event", "user_id", known["users"],
                             checks.PRODUCT_EVENT_TYPES, as_of)  # fmt: skip
    if table == "marketing_events":
        return checks.events(frame, "marketing_event", "contact_id", known["subjects"],
                             checks.MARKETING_EVENT_TYPES, as_of)  # fmt: skip
    return checks.attributes(frame, RECORD_TYPES[table])


def keep_values_since(config: QualityConfig, now: datetime) -> datetime | None:
    """Quarantine rows first seen at or after this keep their values in full (None: none)."""
    if not config.keep_values or config.value_retention_days is None:
        return None
    return now - timedelta(days=config.value_retention_days)


@dataclass
class _Run:
    """What one run needs across tables, and what it found."""

    run_id: str
    as_of: datetime
    started: datetime
    config: QualityConfig
    validator: Validator
    known: dict  # raw.known_ids
    quarantined: pd.DataFrame  # store.known_quarantine, before the run rewrote it
    checked: Counter = field(default_factory=Counter)  # record type -> records checked
    batch: Counter = field(default_factory=Counter)  # ... -> new or changed records
    batch_bad: Counter = field(default_factory=Counter)  # ... -> of them quarantined
    batch_types: list = field(default_factory=list)  # their unknown event types, counted
    unknown_types: list = field(default_factory=list)  # all unknown event types, counted
    newest: dict = field(default_factory=dict)  # raw table -> newest change checked
    tables: dict = field(default_factory=dict)  # raw table -> GateResult.tables entry

    def record(self, table: str, frame: pd.DataFrame, batch: checks.Batch, outcome) -> None:
        kind = batch.record_type
        new_ids = batch.checks.index[frame[NEW].to_numpy(dtype=bool)]
        bad = outcome.quarantine[outcome.quarantine["record_id"].isin(new_ids)]
        self.checked[kind] += len(batch.checks)
        self.batch[kind] += len(new_ids)
        self.batch_bad[kind] += bad["record_id"].nunique()
        self.batch_types.append(batch_gates.type_counts(bad))
        found = pd.concat([outcome.quarantine, outcome.flags], ignore_index=True)
        self.unknown_types.append(batch_gates.type_counts(found))
        moments = (self.newest.get(table), newest(frame, table, self.as_of))
        self.newest[table] = max((m for m in moments if m is not None), default=None)


def _check_table(wh: Warehouse, plan: Plan, run: _Run) -> None:
    """Validate the rows of ``plan.table`` this run checks and replace the checked records'
    rows in the quality tables."""
    from lead_scoring.quality.outcome import build_outcome

    table, kind, config = plan.table, RECORD_TYPES[plan.table], run.config
    if plan.full:
        store.delete_records(wh, kind)
        where = "true"
    else:
        select_checked(wh, plan, config.policy("duplicate_lead") != OFF)
        ids = f"select record_id from {store.CHECKED}"
        store.delete_records(wh, kind, ids)
        where = with_ids(table, ids)
    select = ", ".join(f'"{c}"' for c in columns(wh, table))
    select += f", {plan.new_rows()} as {NEW}"
    domains, parts, before = store.empty("email_domains"), 0, run.checked[kind]
    keep_since = keep_values_since(config, run.started)
    for frame in chunks(wh, table, select, where):
        if frame.empty:
            continue
        batch = build_batch(table, frame, run.known, config, run.as_of)
        log.info("check frames built: %s, %d rows", table, len(batch.checks))
        outcome = build_outcome([batch], run.validator.validate(batch), config, run.run_id)
        store.append(wh, "quarantine", store.seen(outcome.quarantine, run.quarantined,
                                                  run.started, keep_since))  # fmt: skip
        store.append(wh, "record_flags", outcome.flags)
        store.append(wh, "normalised_values", outcome.normalised)
        store.append(wh, "duplicate_leads", outcome.duplicates)
        run.record(table, frame, batch, outcome)
        domains, parts = outcome.email_domains, parts + 1
    if table == "crm_contacts":
        _write_domains(wh, domains, plan.full)
    checked = run.checked[kind] - before
    mode = f"full ({plan.reason})" if plan.full else "incremental"
    run.tables[table] = {"mode": mode, "records_checked": checked}
    if plan.full:
        log.info("quality gate: raw.%s full (%s): %s records checked in %d chunk(s)",
                 table, plan.reason, f"{checked:,}", parts)  # fmt: skip
    else:
        log.info("quality gate: raw.%s incremental: %s records checked (loaded after %s,"
                 " or re-checked)", table, f"{checked:,}", plan.watermark)  # fmt: skip


def _write_domains(wh: Warehouse, domains: pd.DataFrame, full: bool) -> None:
    """Every domain of a valid contact e-mail; an incremental run adds the new ones."""
    if full:
        store.replace_rows(wh, "email_domains", domains)
        return
    known = wh.query_df(f"select domain from {store.SCHEMA}.email_domains")["domain"]
    store.append(wh, "email_domains", domains[~domains["domain"].isin(known)])


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


def _volumes(wh: Warehouse, run: _Run, tables: list[str]) -> pd.DataFrame:
    """Row count (SQL) and newest change per raw table: the newest change among the rows
    checked now or seen by earlier runs (not after the as-of time)."""
    counts = row_counts(wh, tables)
    seen = store.newest_seen(wh, run.as_of)
    newest_at = [
        max([m for m in (run.newest.get(t), seen.get(t)) if m is not None], default=None)
        for t in tables
    ]
    return pd.DataFrame({
        "run_id": run.run_id, "table_name": tables, "row_count": [counts[t] for t in tables],
        "newest_at": pd.to_datetime(pd.Series(newest_at, dtype="object")),
    })  # fmt: skip


def _counted(type_counts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(type_counts or [batch_gates.type_counts(store.empty("quarantine"))])


def _message(run: _Run, plans: list[Plan], failures: list[str], in_quarantine: int) -> str:
    if failures:
        return "; ".join(failures)
    total, batch, bad = (sum(c.values()) for c in (run.checked, run.batch, run.batch_bad))
    rate = bad / batch if batch else 0.0
    if all(plan.full for plan in plans):
        message = f"passed: {total} records checked, {bad} quarantined ({rate:.2%})"
    else:
        message = (f"passed: {total} records checked ({batch} new or changed, {bad} of them"
                   f" quarantined: {rate:.2%}); {in_quarantine} records in quarantine")  # fmt: skip
    unknown_types = batch_gates.unknown_event_types(_counted(run.unknown_types))
    return message + (f"; {unknown_types}" if unknown_types else "")


def _gate(
    wh: Warehouse, settings: Settings, run: _Run, plans: list[Plan], suites: str
) -> GateResult:
    """Validate, record the run, advance the watermarks when it passed."""
    for plan in plans:
        _check_table(wh, plan, run)
    for table in TABLES:  # a raw table that is gone leaves no findings
        if table not in {plan.table for plan in plans}:
            store.delete_records(wh, RECORD_TYPES[table])
    docs = run.validator.finish()
    tables = [plan.table for plan in plans]
    current = _volumes(wh, run, tables)
    imported = imported_tables(wh, tables)
    if imported:
        log.info("freshness not judged for %s: last loaded by lead-scoring import",
                 ", ".join(f"raw.{t}" for t in imported))  # fmt: skip
    config = run.config
    failures = (
        batch_gates.quarantine_rate(run.batch, run.batch_bad, config,
                                    _counted(run.batch_types))
        + batch_gates.volume_drop(current, store.previous_volumes(wh, run.run_id), config)
        + batch_gates.freshness(current[~current["table_name"].isin(imported)], run.as_of, config)
    )  # fmt: skip
    in_quarantine = store.quarantined_records(wh)
    released = store.record_releases(wh, run.quarantined, run.run_id, run.started)
    if released:
        log.info("quality gate: %s records left the quarantine", f"{released:,}")
    batch, bad = sum(run.batch.values()), sum(run.batch_bad.values())
    result = GateResult(
        run_id=run.run_id,
        status=FAILED if failures else PASSED,
        records_checked=sum(run.checked.values()),
        records_quarantined=in_quarantine,
        quarantine_rate=bad / batch if batch else 0.0,
        counts_by_rule=store.counts_by_rule(wh),
        data_docs_path=str(docs) if docs else None,
        message=_message(run, plans, failures, in_quarantine),
        tables=run.tables,
    )
    if not failures:
        current = _after_retention(wh, settings, current, run.started)
        store.replace_rows(wh, "gate_state", watermarks(plans, suites, run.as_of, run.run_id))
    store.record_run(wh, _run_row(result, run.started), current)
    return result


def run_quality_gate(
    settings: Settings,
    run_id: str,
    as_of: datetime,
    full: bool = False,
    config: QualityConfig | None = None,
) -> GateResult:
    """Check the raw schema as of ``as_of``, incrementally unless ``full`` (or a table
    needs it, incremental.py); raise QualityGateFailed when a gate fails. ``config``: the
    rules' settings (default: from the environment, ``load_config``)."""
    from lead_scoring.quality.suites import suite_expectations
    from lead_scoring.quality.validate import Validator

    config = config or load_config()
    as_of = utc_naive(as_of)
    started, clock = _now(), time.monotonic()
    suites = suite_version(config)
    with open_warehouse(settings) as wh:
        if wh.kind == "duckdb":
            wh.execute("set enable_progress_bar = false")
        store.ensure_tables(wh)
        with wh.transaction():
            wh.execute(f"drop table if exists {store.CHECKED}")
            wh.execute(f"create table {store.CHECKED} (record_id text)")
            try:
                tables = present_tables(wh)
                plans = plan_tables(wh, tables, suites, as_of, full)
                for plan in plans:
                    check_readable(wh, plan.table, KEYS[plan.table], plan.new_rows())
            except RawSchemaError as exc:
                log.error("quality gate: %s", exc)
                result = _record_failure(wh, run_id, started, str(exc), config)
            else:
                _log_plans(plans)
                run = _Run(run_id, as_of, started, config,
                           Validator(suite_expectations(config, as_of), run_id,
                                     settings.reports_dir / "data_docs" / run_id),
                           known_ids(wh, tables), store.known_quarantine(wh))  # fmt: skip
                result = _gate(wh, settings, run, plans, suites)
            wh.execute(f"drop table {store.CHECKED}")
    log.info("quality gate %s in %.1f s: %s", result.status, time.monotonic() - clock,
             result.message)  # fmt: skip
    if result.status == FAILED:
        raise QualityGateFailed(result)
    return result


def _log_plans(plans: list[Plan]) -> None:
    """``quality gate: incremental: raw.a, raw.b; full: raw.c (no watermark)``."""
    incremental = [f"raw.{p.table}" for p in plans if not p.full]
    full = [f"raw.{p.table} ({p.reason})" for p in plans if p.full]
    parts = []
    if incremental:
        parts.append("incremental: " + ", ".join(incremental))
    if full:
        parts.append("full: " + ", ".join(full))
    log.info("quality gate: %s", "; ".join(parts))
