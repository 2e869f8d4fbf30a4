"""``run_sync``: diff the score marts against the CRM-confirmed state and send the changes.

Per object: read the mart, drop quarantined rows, normalise match keys and collapse
duplicates, count the rows whose inputs and CRM state are those a run compared before as it
found them (``rows_compared`` counts the others), apply the lifecycle policy, hash the
synced values, and send only rows that are
new, were rejected before (until they become dead letters), or changed in what a rep sees
(the score by at least ``lead_scoring__sync_min_score_change`` whole points, SDR-ready,
stage, grade, quadrant, nurture track, owner, reasons, the CRM record; a row that changed
less is counted ``rows_not_material`` and the CRM keeps what it shows). A row is written by
the id of the CRM record it belongs to: the record id itself when the records came from this
CRM, else the id confirmed by an earlier run or found by its match key; a row the CRM holds
no record for is created only when ``create_records`` is on, else counted ``not_in_crm``.
A lead's routed owner (``marts.lead_owners``) is written only over an empty owner, an
unassigned one, or the one this product wrote last; right before writing, the current
owners are read and a person's choice is kept (``owners_kept``, ``sync.owners_kept``).
Outcomes are saved about once a second (``OutcomeBuffer``), each save one transaction, and
``sync.crm_state`` only ever holds rows the CRM confirmed: a run killed at any point loses
and duplicates nothing, and the next run sends what is still unconfirmed (at most the last
second's confirmed rows again: updates by id or upserts by a unique key, never a second
record).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from functools import partial

from lead_scoring.crm_sync.config import CrmTarget
from lead_scoring.crm_sync.errors import CrmSyncError, DailyLimitReached, DeadlineReached
from lead_scoring.crm_sync.fields import LEADS, OBJECTS, SCORE_MOVED, later_stage
from lead_scoring.crm_sync.marts import (
    PreparedObject,
    account_domains,
    check_quality_gate,
    comparison_rules,
    finalise_hash,
    has_lead_owners,
    material_view,
    prepare,
    redact,
    write_by_id,
)
from lead_scoring.crm_sync.preflight import check_crm, make_writer, selected_objects
from lead_scoring.crm_sync.rows import ID_PROPERTIES, OWNER_PROPERTIES, Outcome, SyncRow
from lead_scoring.crm_sync.sync_tables import (
    Confirmed,
    Considered,
    KeptOwner,
    LogLine,
    OutcomeBuffer,
    Rejected,
    Rejection,
    StateEntry,
    drop_staging,
    ensure_tables,
    finish_run,
    load_rejections,
    load_state,
    save_owners_kept,
    start_run,
)
from lead_scoring.crm_sync.throttle import Throttle
from lead_scoring.dbt_vars import DbtVarError, number_var, project_vars
from lead_scoring.settings import Settings
from lead_scoring.warehouse import Warehouse, open_warehouse

log = logging.getLogger(__name__)
ALERT_STATUSES = ("partial", "failed", "stopped_daily_limit", "stopped_deadline")
PROGRESS_EVERY_S = 10.0
MIN_SCORE_CHANGE_VAR = "lead_scoring__sync_min_score_change"
# Why a row is sent (docs/crm-sync.md "Material changes"), in the order results list them:
# a new record, rejected before, another CRM record or match key, another field mapping,
# confirmed by a version that did not keep what the CRM shows, then a change of what a rep
# sees (fields.py).
SEND_REASONS = ("new", "retry", "identity", "mapping", "state_upgrade",
                *dict.fromkeys(f.reason for spec in OBJECTS for f in spec.fields if f.reason),
                "owner")  # fmt: skip


@dataclass
class SyncResult:
    """What one run did. Counts are rows (records), not requests.

    planned: rows that needed sending (new, changed in what a rep sees, or rejected before
    and not dead);
    not_in_crm: planned rows whose record the CRM does not hold, left alone because record
    creation is off;
    sent: rows sent to the CRM at least once; inserted/updated: rows the CRM confirmed as
    created/updated; skipped: unchanged rows; rejected: rows the CRM (or the match-key check)
    refused in this run; dead_lettered: rows that are dead letters after this run; pending:
    planned rows neither confirmed nor rejected (daily limit, deadline, transient failures):
    the next run sends them again; owners_written: confirmed rows that carried the lead's
    routed owner; owners_kept: leads whose CRM record keeps an owner a person set (the
    routed owner was left out, the scores were written); rows_considered: rows compared
    with the CRM-confirmed state (planned + skipped + rows_not_material + unchanged dead
    letters); rows_compared: the rows of rows_considered compared one by one (the others'
    inputs and CRM state are those a run compared before: counted as it found them);
    rows_not_material: rows that changed, but not in what a rep sees, so not sent;
    sent_by_reason: rows sent per send reason (``SEND_REASONS``; a row counts under every
    reason that applies; a dry run counts the rows it would send).
    """

    run_id: str
    target: str
    status: str = "running"
    dry_run: bool = False
    planned: int = 0
    sent: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    dead_lettered: int = 0
    pending: int = 0
    not_in_crm: int = 0
    owners_written: int = 0
    owners_kept: int = 0
    rows_considered: int = 0
    rows_compared: int = 0
    rows_not_material: int = 0
    duplicates: int = 0
    quarantined: int = 0
    requests: int = 0
    error_responses: int = 0
    message: str = ""
    by_object: dict[str, dict[str, int]] = field(default_factory=dict)
    sent_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def alert(self) -> bool:
        return self.status in ALERT_STATUSES

    def counts(self) -> dict[str, int]:
        return {
            k: v for k, v in asdict(self).items() if isinstance(v, int) and not isinstance(v, bool)
        }

    def count_reasons(self, reasons: Counter[str]) -> None:
        merged = Counter(self.sent_by_reason) + reasons
        self.sent_by_reason = {r: merged[r] for r in SEND_REASONS if merged[r]}


@dataclass
class _Plan:
    prepared: PreparedObject
    send: list[SyncRow]
    inserts: set[str]
    skipped: int
    dead_letters: list[str]
    rejections: dict[str, Rejection]
    crm_ids: dict[str, str]  # record id -> CRM id confirmed by an earlier run
    state: dict[str, StateEntry]  # record id -> what the CRM confirmed last
    reasons: dict[str, list[str]]  # record id -> why it is sent (rows of ``send``)
    considered: list[Considered]  # compared rows not sent: what was found for their inputs
    not_material: int = 0
    lifecycle_kept: int = 0


def _plan(wh: Warehouse, target: CrmTarget, prepared: PreparedObject, min_change: float) -> _Plan:
    obj = prepared.crm_object
    state = load_state(wh, target.name, obj, [row.record_id for row in prepared.rows])
    rejections = load_rejections(wh, target.name, obj)
    keep_stage = prepared.spec is LEADS and target.options.lifecycle_backwards == "keep"
    stage_field = next(f for f in LEADS.fields if f.column == "lifecycle_stage")
    stage_name = stage_field.hubspot if target.kind == "hubspot" else stage_field.salesforce
    send, inserts, dead, kept, considered = [], set(), [], 0, []
    skipped, not_material = prepared.settled["skipped"], prepared.settled["not_material"]
    reasons: dict[str, list[str]] = {}
    for row in prepared.rows:
        previous = state.get(row.record_id)
        if keep_stage and previous is not None:
            stage = later_stage(previous.lifecycle_stage, row.lifecycle_stage)
            if stage != row.lifecycle_stage:
                row.properties[stage_name] = stage
                row.lifecycle_stage = stage
                kept += 1
        finalise_hash(row, prepared.spec)
        rejection = rejections.get(row.record_id)
        if rejection and rejection.dead_letter and rejection.payload_hash == row.hash:
            dead.append(row.record_id)
            continue
        if previous is not None and previous.payload_hash == row.hash and not rejection:
            skipped += 1
            considered.append(Considered(row.record_id, row.input_hash, "skipped"))
            continue
        material_view(row, prepared.spec, target.kind)
        why = _send_reasons(row, previous, rejection is not None, min_change)
        if not why:
            not_material += 1
            considered.append(Considered(row.record_id, row.input_hash, "not_material"))
            continue
        send.append(row)
        reasons[row.record_id] = why
        if previous is None:
            inserts.add(row.record_id)
    crm_ids = {rid: entry.crm_id for rid, entry in state.items() if entry.crm_id}
    return _Plan(prepared, send, inserts, skipped, dead, rejections, crm_ids, state, reasons,
                 considered, not_material, kept)  # fmt: skip


def _send_reasons(
    row: SyncRow, previous: StateEntry | None, rejected: bool, min_change: float
) -> list[str]:
    """Why ``row`` is sent (empty: it changed, but not in what a rep sees): compared with
    the values the CRM confirmed last, the score in whole points."""
    reasons = ["retry"] if rejected else []
    if previous is None:
        return ["new", *reasons]
    if previous.material_values is None:  # confirmed before the sync kept what a rep sees
        return reasons + (["state_upgrade"] if previous.payload_hash != row.hash else [])
    shown = json.loads(previous.material_values)
    changed = [r for r, v in row.material.items() if shown.get(r) != v]
    old, new = previous.shown_score, row.shown_score
    if old != new and (old is None or new is None or abs(new - old) >= min_change):
        changed.append(SCORE_MOVED)
    return reasons + sorted(changed, key=SEND_REASONS.index)


def min_score_change(settings: Settings) -> float:
    """``lead_scoring__sync_min_score_change`` as dbt_project.yml sets it (default 1)."""
    project = settings.dbt_project_dir
    try:
        value = number_var(project_vars(project), MIN_SCORE_CHANGE_VAR, project, optional=True)
    except DbtVarError as exc:
        raise CrmSyncError(str(exc)) from exc
    if value is not None and value < 0:
        raise CrmSyncError(
            f"{project / 'dbt_project.yml'}: var {MIN_SCORE_CHANGE_VAR} must be 0 or more,"
            f" got {value:g}"
        )
    return 1.0 if value is None else value


def run_sync(
    settings: Settings,
    target: CrmTarget,
    run_id: str,
    dry_run: bool = False,
    deadline_s: float | None = None,
) -> SyncResult:
    """Sync ``marts.lead_scores``/``marts.account_scores`` to the CRM; see docs/crm-sync.md.

    ``dry_run`` reads the marts and the sync state, reports what would be inserted, updated,
    skipped and rejected, and writes nothing (no CRM request, no warehouse write).
    ``deadline_s``: stop sending after this many seconds; the run ends ``stopped_deadline``.
    """
    started = time.monotonic()
    result = SyncResult(run_id=run_id, target=target.name, dry_run=dry_run)
    with open_warehouse(settings, read_only=dry_run) as wh:
        if dry_run:
            check_quality_gate(wh)
            _dry_run(settings, wh, target, result)
            return result
        ensure_tables(wh)
        start_run(wh, run_id, target.name)
        throttle = Throttle(
            target.options,
            target.max_requests_per_10s,
            deadline=started + deadline_s if deadline_s else None,
        )
        try:
            check_quality_gate(wh)
            plans = _plans(settings, wh, target)
            result.planned = sum(len(p.send) for p in plans)
            for p in plans:
                result.skipped += p.skipped
                _considered(result, p)
            writer = make_writer(target, throttle)
            try:
                check_crm(target, writer, owners=has_lead_owners(wh))
            except (DailyLimitReached, DeadlineReached):
                result.pending = result.planned  # nothing sent: all of it is for the next run
            else:
                for p in plans:
                    _execute(wh, target, writer, throttle, p, result)
        except Exception as exc:
            result.status = "failed"
            result.message = redact(
                str(exc) if isinstance(exc, CrmSyncError) else f"{type(exc).__name__}: {exc}"
            )[:1000]
            _finish(wh, result, throttle)
            raise
        _finish(wh, result, throttle)
    return result


def _plans(settings: Settings, wh: Warehouse, target: CrmTarget) -> list[_Plan]:
    min_change = min_score_change(settings)
    domains = account_domains(wh) if target.kind == "salesforce" else {}
    plans = []
    for spec in selected_objects(target):
        rules = comparison_rules(spec, target, min_change)
        plans.append(_plan(wh, target, prepare(wh, spec, target, rules, domains), min_change))
    return plans


def _considered(result: SyncResult, p: _Plan) -> None:
    result.rows_compared += len(p.prepared.rows)
    result.rows_considered += len(p.prepared.rows) + p.prepared.settled.total()
    result.rows_not_material += p.not_material


def _dry_run(settings: Settings, wh: Warehouse, target: CrmTarget, result: SyncResult) -> None:
    """Counts without a CRM request: rows whose CRM id is not known yet count as inserts
    when creation is on, else as ``not_in_crm`` (a real run first looks them up by key)."""
    for p in _plans(settings, wh, target):
        _considered(result, p)
        result.count_reasons(Counter(r for why in p.reasons.values() for r in why))
        prepared = p.prepared
        unknown = [r for r in p.send if not (prepared.by_crm_id or r.record_id in p.crm_ids)]
        result.planned += len(p.send)
        if target.options.create_records:
            result.inserted += len(unknown)
        else:
            result.not_in_crm += len(unknown)
        result.updated += len(p.send) - len(unknown)
        result.skipped += p.skipped
        result.rejected += len(prepared.invalid)
        result.dead_lettered += len(p.dead_letters)
        result.duplicates += len(prepared.duplicates)
        result.quarantined += prepared.quarantined
    result.status = "dry_run"
    result.message = (
        f"dry run: would insert {result.inserted}, update {result.updated}, skip"
        f" {result.skipped} unchanged and {result.rows_not_material} not material, reject"
        f" {result.rejected} (no match key), look up"
        f" {result.not_in_crm} not yet known to be in the CRM (not created:"
        " create_records=false); nothing was written"
    )
    log.info("crm sync %s (%s): %s", result.run_id, target.name, result.message)


def _find_records(target: CrmTarget, writer, p: _Plan) -> list[str]:
    """Give each row to send the id of its CRM record; return the rows left without one.

    Ids come from the marts (records read from this CRM), from earlier confirmations, or
    from a search by match key. With ``create_records`` on, rows of unknown id are upserted
    on their (unique) match key instead, which finds or creates in one request; with it off,
    the rows the search does not find are taken out of ``p.send``.
    """
    prepared = p.prepared
    if prepared.by_crm_id:
        return []
    unknown = []
    for row in p.send:
        crm_id = p.crm_ids.get(row.record_id)
        if crm_id:
            write_by_id(row, target, prepared.match_property, crm_id)
        else:
            unknown.append(row)
    if target.options.create_records:
        return []
    if unknown:
        found = writer.resolve(
            prepared.crm_object, prepared.match_property, [r.match_key for r in unknown]
        )
        for row in unknown:
            if row.match_key in found:
                write_by_id(row, target, prepared.match_property, found[row.match_key])
    missing = {row.record_id for row in p.send if not row.crm_id}
    p.send = [row for row in p.send if row.crm_id]
    return sorted(missing)


def _owner_written(p: _Plan, row: SyncRow) -> str | None:
    """The owner this product last wrote to the row's CRM record (None: none, or the lead's
    scores now go to another record, e.g. the Contact of a converted Salesforce Lead)."""
    entry = p.state.get(row.record_id)
    return entry.owner_id if entry is not None and entry.crm_id == row.crm_id else None


def _keep_manual_owners(target: CrmTarget, writer, p: _Plan) -> list[KeptOwner]:
    """Take the routed owner out of the rows whose CRM record has an owner a person chose.

    The owner is written only over an empty owner, one of ``target.unassigned_owners``, or
    the owner this product wrote last; a routed owner this product wrote already is not
    sent again. The current owners are read right before writing (HubSpot batch read,
    Salesforce SOQL), for the rows about to get another owner only.
    """
    name = OWNER_PROPERTIES[target.kind]
    changing = []
    for row in p.send:
        routed = row.properties.get(name)
        if routed is not None and routed == _owner_written(p, row):
            del row.properties[name]
        elif routed is not None:
            changing.append(row)
    kept = []
    for id_property, rows in _write_groups(target, p, changing):
        current = writer.owners(p.prepared.crm_object, id_property, rows)
        for row in rows:
            owner, routed = current.get(row.record_id) or "", row.properties[name]
            ours = (routed, _owner_written(p, row), *target.unassigned_owners)
            if owner and owner not in ours:
                del row.properties[name]
                kept.append(KeptOwner(row.record_id, row.crm_id, owner, routed))
    return kept


def _write_groups(target: CrmTarget, p: _Plan, rows: Sequence[SyncRow]):
    """(id property, rows): updates by CRM id, then creations by match key."""
    by_id = [row for row in rows if row.crm_id]
    new = [row for row in rows if not row.crm_id]
    if by_id:
        yield ID_PROPERTIES[target.kind], by_id
    if new:
        yield p.prepared.match_property, new


def _units(target: CrmTarget, writer, p: _Plan) -> Iterator[tuple[list[SyncRow], Callable]]:
    obj = p.prepared.crm_object
    for id_property, rows in _write_groups(target, p, p.send):
        if target.kind == "salesforce" and len(rows) >= target.options.bulk_threshold:
            from lead_scoring.crm_sync.salesforce_writer import BULK_JOB_ROWS

            size, send = BULK_JOB_ROWS, writer.bulk_upsert
        else:
            size, send = target.batch_size, writer.upsert
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            yield chunk, partial(send, obj, id_property, chunk)


def _execute(
    wh: Warehouse, target: CrmTarget, writer, throttle: Throttle, p: _Plan, result: SyncResult
) -> None:
    prepared = p.prepared
    obj = prepared.crm_object
    counts = {"planned": len(p.send), "confirmed": 0, "rejected": 0, "pending": 0,
              "not_in_crm": 0}  # fmt: skip
    result.duplicates += len(prepared.duplicates)
    result.quarantined += prepared.quarantined
    result.dead_lettered += len(p.dead_letters)
    buffer = OutcomeBuffer(wh, target.name, obj, result.run_id)
    buffer.add([], [], [], p.considered)
    try:
        try:
            not_in_crm = _find_records(target, writer, p)
            kept = _keep_manual_owners(target, writer, p)
        except (DailyLimitReached, DeadlineReached):  # looking up: nothing of it was sent
            not_in_crm, kept, p.send = [], [], []
        if kept:
            save_owners_kept(wh, target.name, obj, result.run_id, kept)
            log.info(
                "%s: %d leads keep the owner set in the CRM (manual owner, sync.owners_kept):"
                " record ids %s",
                obj,
                len(kept),
                ", ".join(k.record_id for k in kept[:10]) + (", ..." if len(kept) > 10 else ""),
            )
        counts["owners_kept"] = len(kept)
        result.owners_kept += len(kept)
        if not_in_crm:
            log.warning(
                "%s: %d rows have no record in the CRM and record creation is off"
                " (create_records=false): not written",
                obj,
                len(not_in_crm),
            )
            buffer.add([], [], [LogLine(rid, "skip", "not_in_crm") for rid in not_in_crm])
        counts["not_in_crm"] = len(not_in_crm)
        result.not_in_crm += len(not_in_crm)
        rows = {row.record_id: row for row in p.send}
        _send_all(target, writer, throttle, p, result, rows, buffer, counts)
    finally:
        buffer.flush()
    counts["pending"] = (
        counts["planned"] - counts["not_in_crm"] - counts["confirmed"] - counts["rejected"]
    )
    result.pending += counts["pending"]
    result.by_object[obj] = counts


def _send_all(
    target: CrmTarget,
    writer,
    throttle: Throttle,
    p: _Plan,
    result: SyncResult,
    rows: dict[str, SyncRow],
    buffer: OutcomeBuffer,
    counts: dict[str, int],
) -> None:
    prepared = p.prepared
    obj = prepared.crm_object
    # Rows without a usable match key are rejections; collapsed duplicates are logged.
    invalid = [
        Outcome(rid, "rejected", error=f"invalid match key: {why}") for rid, why in prepared.invalid
    ]
    rows.update({rid: SyncRow(rid, "", {}) for rid, _ in prepared.invalid})
    _save(
        buffer,
        target,
        p,
        result,
        rows,
        invalid,
        extra_log=[
            LogLine(rid, "skip", "duplicate", f"same match key as record {kept}")
            for rid, kept in prepared.duplicates
        ],
    )
    if p.lifecycle_kept:
        log.info(
            "%s: lifecycle stage kept (not moved backwards) for %d rows compared",
            obj,
            p.lifecycle_kept,
        )
    retry: list[SyncRow] = []
    progress = _Progress(obj, len(p.send))
    sent: set[str] = set()

    def handle(chunk: Sequence[SyncRow], outcomes: list[Outcome]) -> None:
        sent.update(row.record_id for row in chunk)
        retry.extend(rows[o.record_id] for o in outcomes if o.status == "retry")
        confirmed, rejected = _save(
            buffer, target, p, result, rows, [o for o in outcomes if o.status != "retry"]
        )
        counts["confirmed"] += confirmed
        counts["rejected"] += rejected
        progress.update(counts["confirmed"])

    _run_parallel(_units(target, writer, p), handle, throttle, target.options.concurrency)
    for attempt in range(target.options.max_retries + 1):
        if not retry or throttle.daily_limit_reached or _past(throttle):
            break
        if attempt:
            throttle.sleep(throttle.backoff(attempt))
        todo, retry = retry, []
        log.info(
            "%s: %d rows retried one request at a time (lock errors/unprocessed)", obj, len(todo)
        )
        for id_property, group in _write_groups(target, p, todo):
            for start in range(0, len(group), target.batch_size):
                chunk = group[start : start + target.batch_size]
                handle(chunk, writer.upsert(obj, id_property, chunk))
    if retry:
        _save(
            buffer,
            target,
            p,
            result,
            rows,
            [
                Outcome(r.record_id, "failed", error="still locked/unprocessed after retries")
                for r in retry
            ],
        )
    result.sent += len(sent)
    result.count_reasons(Counter(r for rid in sent for r in p.reasons[rid]))
    progress.done(counts)


def _past(throttle: Throttle) -> bool:
    return throttle.deadline is not None and time.monotonic() >= throttle.deadline


def _run_parallel(
    units: Iterator[tuple[list[SyncRow], Callable]], handle, throttle: Throttle, concurrency: int
) -> None:
    """Run units on a pool (at most ``2 * concurrency`` queued); outcomes are handled here,
    in the calling thread, so warehouse writes stay on one connection."""
    workers = max(1, concurrency)
    error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crm-sync") as pool:
        running: dict[Future, list[SyncRow]] = {}
        for chunk, send in units:
            while len(running) >= 2 * workers:
                error = _drain(running, handle) or error
            if error or throttle.daily_limit_reached or _past(throttle):
                break
            running[pool.submit(send)] = chunk
        while running:
            error = _drain(running, handle) or error
    if error:
        raise error


def _drain(running: dict[Future, list[SyncRow]], handle) -> BaseException | None:
    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
    error = None
    for future in done:
        chunk = running.pop(future)
        exc = future.exception()
        if exc is not None:
            error = error or exc
            continue
        handle(chunk, future.result())
    return error


def _save(
    buffer: OutcomeBuffer,
    target: CrmTarget,
    p: _Plan,
    result: SyncResult,
    rows: dict[str, SyncRow],
    outcomes: Sequence[Outcome],
    extra_log: Sequence[LogLine] = (),
) -> tuple[int, int]:
    """Buffer outcomes for the warehouse; returns (confirmed, rejected) row counts."""
    confirmed, rejected, considered, lines = [], [], [], list(extra_log)
    limit = target.options.dead_letter_attempts
    owner = OWNER_PROPERTIES[target.kind]
    for o in outcomes:
        row = rows[o.record_id]
        if o.error:
            o = replace(o, error=_scrub(o.error, row))
        action = "insert" if o.record_id in p.inserts else "update"
        if o.status == "confirmed":
            written = row.properties.get(owner)
            confirmed.append(
                Confirmed(o.record_id, row.match_key, o.crm_id, row.hash, row.lifecycle_stage,
                          written or _owner_written(p, row), row.shown_score,
                          json.dumps(row.material, sort_keys=True))
            )  # fmt: skip
            # the same inputs against the state just confirmed: nothing to send
            considered.append(Considered(o.record_id, row.input_hash, "skipped"))
            result.owners_written += int(written is not None)
            created = o.created if o.created is not None else o.record_id in p.inserts
            result.inserted += int(created)
            result.updated += int(not created)
            lines.append(LogLine(o.record_id, "insert" if created else "update", "confirmed"))
        elif o.status == "rejected":
            previous = p.rejections.get(o.record_id)
            same = previous is not None and previous.payload_hash == row.hash
            attempts = previous.attempts + 1 if same else 1
            dead = attempts >= limit
            rejected.append(Rejected(o.record_id, o.error or "rejected", row.hash, attempts, dead))
            result.rejected += 1
            result.dead_lettered += int(dead)
            lines.append(
                LogLine(o.record_id, action, "dead_letter" if dead else "rejected", o.error)
            )
        else:
            lines.append(LogLine(o.record_id, action, "failed", o.error))
    buffer.add(confirmed, rejected, lines, considered)
    if rejected:
        sample = ", ".join(r.record_id for r in rejected[:10])
        log.warning(
            "%s: %d rows rejected (record ids: %s%s)",
            p.prepared.crm_object,
            len(rejected),
            sample,
            ", ..." if len(rejected) > 10 else "",
        )
    return len(confirmed), len(rejected)


def _scrub(error: str, row: SyncRow) -> str:
    """CRM error texts quote the values they refuse; keep e-mails out of tables and logs."""
    personal = [row.match_key] if row.match_key != row.record_id else []
    personal += [v for v in row.create_fields.values() if isinstance(v, str)]
    for value in sorted(filter(None, personal), key=len, reverse=True):
        error = error.replace(value, "<redacted>")
    return redact(error)


class _Progress:
    def __init__(self, obj: str, total: int):
        self.obj, self.total = obj, total
        self.started = self.last = time.monotonic()
        log.info("%s: %d rows to send", obj, total)

    def update(self, confirmed: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            rate = confirmed / max(now - self.started, 1e-9)
            log.info(
                "%s: %d/%d rows confirmed (%.0f rows/s)", self.obj, confirmed, self.total, rate
            )

    def done(self, counts: dict[str, int]) -> None:
        log.info(
            "%s: done in %.1f s: %s",
            self.obj,
            time.monotonic() - self.started,
            ", ".join(f"{k}={v}" for k, v in counts.items()),
        )


def _finish(wh: Warehouse, result: SyncResult, throttle: Throttle) -> None:
    result.requests = throttle.requests
    result.error_responses = throttle.error_responses
    if result.status == "running":
        if throttle.daily_limit_reached:
            result.status = "stopped_daily_limit"
            result.message = (
                "the CRM's daily request limit was reached: the"
                f" {result.pending} unsent rows stay pending for the next run"
            )
        elif throttle.deadline is not None and result.pending and _past(throttle):
            result.status = "stopped_deadline"
            result.message = (
                f"the run's deadline passed: {result.pending} rows stay pending for the next run"
            )
        elif result.pending and not (result.inserted or result.updated):
            result.status = "failed"
            result.message = "the CRM confirmed no row; see sync.row_log for the errors"
        elif result.rejected or result.pending:
            result.status = "partial"
            result.message = (
                f"{result.rejected} rows rejected (sync.rejections), {result.pending} pending"
            )
        else:
            result.status = "success"
            result.message = "every changed row confirmed by the CRM"
    drop_staging(wh)
    finish_run(wh, result.run_id, result.target, result.status, result.counts(), result.message,
               result.sent_by_reason)  # fmt: skip
    line = (
        "run %s %s: status=%s rows_considered=%d rows_compared=%d planned=%d sent=%d (%s)"
        " rows_not_material=%d"
        " inserted=%d updated=%d skipped=%d rejected=%d dead_lettered=%d pending=%d"
        " not_in_crm=%d owners_written=%d owners_kept=%d requests=%d error_responses=%d"
    )
    args = (
        result.run_id,
        result.target,
        result.status,
        result.rows_considered,
        result.rows_compared,
        result.planned,
        result.sent,
        " ".join(f"{r}={n}" for r, n in result.sent_by_reason.items()) or "no reason",
        result.rows_not_material,
        result.inserted,
        result.updated,
        result.skipped,
        result.rejected,
        result.dead_lettered,
        result.pending,
        result.not_in_crm,
        result.owners_written,
        result.owners_kept,
        result.requests,
        result.error_responses,
    )
    if result.alert:
        log.warning("ALERT crm sync " + line + " -- %s", *args, result.message)
    else:
        log.info("crm sync " + line, *args)
