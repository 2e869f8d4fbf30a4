"""The ``sync`` schema: CRM-confirmed state, runs, per-row log, rejections, kept owners, and
what runs found for each row's inputs (``sync.considered``).

Written only from the main thread, one short transaction per confirmed batch, so a kill
at any moment leaves every table consistent with what the CRM confirmed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from lead_scoring.warehouse import Warehouse

DDL = (
    "create schema if not exists sync",
    """create table if not exists sync.crm_state (
        target text not null,
        object_type text not null,
        record_id text not null,
        match_key text,
        crm_id text,
        payload_hash text not null,
        lifecycle_stage text,
        run_id text not null,
        confirmed_at timestamp not null,
        primary key (target, object_type, record_id))""",
    """create table if not exists sync.runs (
        run_id text not null,
        target text not null,
        started_at timestamp not null,
        finished_at timestamp,
        status text not null,
        planned bigint, sent bigint, inserted bigint, updated bigint, skipped bigint,
        rejected bigint, dead_lettered bigint, pending bigint,
        requests bigint, error_responses bigint,
        message text,
        primary key (run_id, target))""",
    "alter table sync.runs add column if not exists not_in_crm bigint",
    "alter table sync.runs add column if not exists owners_written bigint",
    "alter table sync.runs add column if not exists owners_kept bigint",
    # the owner this product last wrote to the record crm_id (null: none)
    "alter table sync.crm_state add column if not exists owner_id text",
    # what a rep sees of the values last confirmed: the score in whole points, and the other
    # material values as JSON (null: confirmed before the sync compared them)
    "alter table sync.crm_state add column if not exists shown_score bigint",
    "alter table sync.crm_state add column if not exists material_values text",
    "alter table sync.runs add column if not exists rows_considered bigint",
    "alter table sync.runs add column if not exists rows_not_material bigint",
    "alter table sync.runs add column if not exists sent_by_reason text",
    "alter table sync.runs add column if not exists rows_compared bigint",
    # per record: the fingerprints of the inputs (marts.input_hash) and of the CRM-confirmed
    # state (STATE_HASH) a run compared, and what it found: a run finding both the same
    # counts the row so (skipped / not_material) without comparing it again
    """create table if not exists sync.considered (
        target text not null,
        object_type text not null,
        record_id text not null,
        input_hash text not null,
        state_hash text not null,
        outcome text not null,
        run_id text not null,
        primary key (target, object_type, record_id))""",
    """create table if not exists sync.row_log (
        run_id text not null,
        target text not null,
        object_type text not null,
        record_id text not null,
        action text not null,
        status text not null,
        error text,
        logged_at timestamp not null)""",
    """create table if not exists sync.rejections (
        target text not null,
        object_type text not null,
        record_id text not null,
        error text,
        run_id text not null,
        attempts integer not null,
        first_seen_at timestamp not null,
        last_seen_at timestamp not null,
        payload_hash text,
        dead_letter boolean not null,
        primary key (target, object_type, record_id))""",
    """create table if not exists sync.owners_kept (
        run_id text not null,
        target text not null,
        object_type text not null,
        record_id text not null,
        crm_id text,
        crm_owner_id text not null,
        routed_owner_id text not null,
        kept_at timestamp not null)""",
)

CHUNK = 400  # rows per multi-row statement
STATE_COLUMNS = ("target", "object_type", "record_id", "match_key", "crm_id", "payload_hash",
                 "lifecycle_stage", "owner_id", "shown_score", "material_values", "run_id",
                 "confirmed_at")  # fmt: skip


def as_text(expressions: Sequence[str]) -> str:
    """SQL: ``expressions`` as one text, in DuckDB and PostgreSQL: separated by the control
    character 31, a null as character 30 (neither is in text the marts hold)."""
    parts = ", ".join(f"coalesce(cast({e} as text), chr(30))" for e in expressions)
    return f"concat_ws(chr(31), {parts})"


def fingerprint(expressions: Sequence[str]) -> str:
    """SQL: the md5 of ``as_text(expressions)``."""
    return f"md5({as_text(expressions)})"


# What a row's outcome depends on in its sync.crm_state row (``s``).
STATE_HASHED = ("payload_hash", "lifecycle_stage", "shown_score", "material_values")
STATE_HASH = fingerprint([f"s.{c}" for c in STATE_HASHED])


@dataclass(frozen=True)
class StateEntry:
    payload_hash: str
    lifecycle_stage: str | None
    crm_id: str | None = None
    owner_id: str | None = None  # the owner this product last wrote to record crm_id
    shown_score: int | None = None  # the score confirmed, in whole points
    material_values: str | None = None  # JSON; None: confirmed before material tracking


@dataclass(frozen=True)
class Rejection:
    attempts: int
    payload_hash: str | None
    dead_letter: bool


@dataclass(frozen=True)
class Confirmed:
    record_id: str
    match_key: str
    crm_id: str | None
    payload_hash: str
    lifecycle_stage: str | None
    owner_id: str | None = None
    shown_score: int | None = None
    material_values: str | None = None  # JSON of ``SyncRow.material``


@dataclass(frozen=True)
class Considered:
    """A row a run compared, found ``outcome`` (skipped / not_material) for ``input_hash``
    against the CRM-confirmed state it saves beside it."""

    record_id: str
    input_hash: str
    outcome: str


@dataclass(frozen=True)
class Rejected:
    record_id: str
    error: str
    payload_hash: str
    attempts: int
    dead_letter: bool


@dataclass(frozen=True)
class KeptOwner:
    """A lead whose CRM record keeps the owner a person set (not the routed one)."""

    record_id: str
    crm_id: str | None
    crm_owner_id: str  # the owner the CRM holds
    routed_owner_id: str  # the owner marts.lead_owners routes the lead to


@dataclass(frozen=True)
class LogLine:
    record_id: str
    action: str  # insert / update / skip
    status: str  # confirmed / rejected / dead_letter / failed / pending / duplicate / invalid
    error: str | None = None


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(wh: Warehouse) -> None:
    for statement in DDL:
        wh.execute(statement)


def load_state(
    wh: Warehouse, target: str, object_type: str, record_ids: Sequence[str]
) -> dict[str, StateEntry]:
    """The CRM-confirmed state of ``record_ids``."""
    if not record_ids or not wh.table_exists("sync", "crm_state"):
        return {}
    # A dry run on a warehouse of an older version reads a state table without the newer
    # columns (a real run adds them first).
    present = set(wh.columns("sync", "crm_state"))
    newer = ", ".join(c if c in present else f"null as {c}"
                      for c in ("owner_id", "shown_score", "material_values"))  # fmt: skip
    df = wh.query_df(
        f"select record_id, payload_hash, lifecycle_stage, crm_id, {newer} from sync.crm_state"
        " where target = ? and object_type = ? and record_id in (select unnest(?))",
        [target, object_type, list(record_ids)],
    )
    return {
        rid: StateEntry(h, _text(stage), _text(crm_id), _text(owner_id),
                        None if pd.isna(score) else int(score), _text(material))
        for rid, h, stage, crm_id, owner_id, score, material in df.itertuples(index=False)
    }  # fmt: skip


def has_considered(wh: Warehouse) -> bool:
    """True when ``sync.considered`` can be read (a dry run reads the tables of an older
    version as they are: a real run adds the table and the state columns it hashes)."""
    return wh.table_exists("sync", "considered") and set(STATE_HASHED) <= set(
        wh.columns("sync", "crm_state")
    )


def _text(value: Any) -> str | None:
    return None if pd.isna(value) else str(value)


def load_rejections(wh: Warehouse, target: str, object_type: str) -> dict[str, Rejection]:
    if not wh.table_exists("sync", "rejections"):
        return {}
    df = wh.query_df(
        "select record_id, attempts, payload_hash, dead_letter from sync.rejections"
        " where target = ? and object_type = ?",
        [target, object_type],
    )
    return {
        rid: Rejection(int(attempts), h, bool(dead))
        for rid, attempts, h, dead in df.itertuples(index=False)
    }


def _insert(
    wh: Warehouse,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict: str = "",
) -> None:
    rows = list(rows)
    placeholder = "(" + ", ".join("?" for _ in columns) + ")"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params = [value for row in chunk for value in row]
        wh.execute(
            f"insert into {table} ({', '.join(columns)}) values "
            + ", ".join(placeholder for _ in chunk)
            + conflict,
            params,
        )


def save_outcomes(
    wh: Warehouse,
    *,
    target: str,
    object_type: str,
    run_id: str,
    confirmed: Sequence[Confirmed],
    rejected: Sequence[Rejected],
    log: Sequence[LogLine],
    considered: Sequence[Considered] = (),
) -> None:
    """Record outcomes atomically: state only for rows the CRM confirmed; ``considered``
    beside the state saved for them (confirmed rows' after it is saved).

    Rows go in through DataFrames (one statement per table, whatever the row count): a
    multi-row VALUES statement costs DuckDB ~0.1 ms per row, a registered frame almost nothing.
    """
    now = utc_now()
    staging = "_incoming_" + hashlib.sha1(f"{target}|{object_type}".encode()).hexdigest()[:10]
    wh.execute("begin transaction")
    try:
        if confirmed:
            frame = pd.DataFrame(
                {
                    "target": target,
                    "object_type": object_type,
                    "record_id": [c.record_id for c in confirmed],
                    "match_key": [c.match_key for c in confirmed],
                    "crm_id": pd.Series([c.crm_id for c in confirmed], dtype="string"),
                    "payload_hash": [c.payload_hash for c in confirmed],
                    "lifecycle_stage": pd.Series(
                        [c.lifecycle_stage for c in confirmed], dtype="string"
                    ),
                    "owner_id": pd.Series([c.owner_id for c in confirmed], dtype="string"),
                    "shown_score": pd.Series([c.shown_score for c in confirmed], dtype="Int64"),
                    "material_values": pd.Series(
                        [c.material_values for c in confirmed], dtype="string"
                    ),
                    "run_id": run_id,
                    "confirmed_at": pd.Series([now] * len(confirmed), dtype="datetime64[us]"),
                }
            )
            wh.write_df(frame, "sync", staging, mode="replace")
            wh.execute(
                f"insert into sync.crm_state ({', '.join(STATE_COLUMNS)})"
                f" select {', '.join(STATE_COLUMNS)} from sync.{staging}"
                " on conflict (target, object_type, record_id) do update set"
                " match_key = excluded.match_key, crm_id = excluded.crm_id,"
                " payload_hash = excluded.payload_hash,"
                " lifecycle_stage = excluded.lifecycle_stage, owner_id = excluded.owner_id,"
                " shown_score = excluded.shown_score,"
                " material_values = excluded.material_values,"
                " run_id = excluded.run_id,"
                " confirmed_at = excluded.confirmed_at"
            )
            wh.execute(
                "delete from sync.rejections where target = ? and object_type = ? and"
                f" record_id in (select record_id from sync.{staging})",
                [target, object_type],
            )
        if rejected:
            _insert(
                wh,
                "sync.rejections",
                ("target", "object_type", "record_id", "error", "run_id", "attempts",
                 "first_seen_at", "last_seen_at", "payload_hash", "dead_letter"),
                ((target, object_type, r.record_id, r.error, run_id, r.attempts, now, now,
                  r.payload_hash, r.dead_letter) for r in rejected),
                " on conflict (target, object_type, record_id) do update set"
                " error = excluded.error, run_id = excluded.run_id,"
                " attempts = excluded.attempts, last_seen_at = excluded.last_seen_at,"
                " payload_hash = excluded.payload_hash, dead_letter = excluded.dead_letter",
            )  # fmt: skip
        if log:
            frame = pd.DataFrame(
                {
                    "run_id": run_id,
                    "target": target,
                    "object_type": object_type,
                    "record_id": [line.record_id for line in log],
                    "action": [line.action for line in log],
                    "status": [line.status for line in log],
                    "error": pd.Series([line.error for line in log], dtype="string"),
                    "logged_at": pd.Series([now] * len(log), dtype="datetime64[us]"),
                }
            )
            wh.write_df(frame, "sync", "row_log", mode="append")
        if considered:
            frame = pd.DataFrame(
                {
                    "record_id": [c.record_id for c in considered],
                    "input_hash": [c.input_hash for c in considered],
                    "outcome": [c.outcome for c in considered],
                }
            )
            wh.write_df(frame, "sync", staging, mode="replace")
            wh.execute(
                "insert into sync.considered (target, object_type, record_id, input_hash,"
                " state_hash, outcome, run_id) select s.target, s.object_type, s.record_id,"
                f" i.input_hash, {STATE_HASH}, i.outcome, ? from sync.{staging} as i"
                " join sync.crm_state as s on s.target = ? and s.object_type = ?"
                " and s.record_id = i.record_id"
                " on conflict (target, object_type, record_id) do update set"
                " input_hash = excluded.input_hash, state_hash = excluded.state_hash,"
                " outcome = excluded.outcome, run_id = excluded.run_id",
                [run_id, target, object_type],
            )
        wh.execute("commit")
    except BaseException:
        wh.execute("rollback")
        raise


def save_owners_kept(
    wh: Warehouse, target: str, object_type: str, run_id: str, kept: Sequence[KeptOwner]
) -> None:
    """Record the leads whose manual CRM owner this run left in place (the run report lists
    them)."""
    now = utc_now()
    _insert(
        wh,
        "sync.owners_kept",
        ("run_id", "target", "object_type", "record_id", "crm_id", "crm_owner_id",
         "routed_owner_id", "kept_at"),
        ((run_id, target, object_type, k.record_id, k.crm_id, k.crm_owner_id,
          k.routed_owner_id, now) for k in kept),
    )  # fmt: skip


def drop_staging(wh: Warehouse) -> None:
    """Drop the staging tables ``save_outcomes`` leaves behind."""
    df = wh.query_df("select table_name from information_schema.tables where table_schema = 'sync'")
    for name in df["table_name"]:
        if str(name).startswith("_incoming_"):
            wh.execute(f"drop table if exists sync.{name}")


class OutcomeBuffer:
    """Collects batch outcomes and saves them about once a second (and on ``flush``).

    A DuckDB write costs a few milliseconds whatever its size, so saving every 100-row batch
    would cap the sync below the CRM's rate limit. A kill loses at most the last second of
    confirmations: those rows are sent again by the next run (an upsert: no duplicate).
    """

    def __init__(self, wh: Warehouse, target: str, object_type: str, run_id: str,
                 every_s: float = 1.0, max_rows: int = 5000):  # fmt: skip
        self.wh, self.target, self.object_type, self.run_id = wh, target, object_type, run_id
        self.every_s, self.max_rows = every_s, max_rows
        self.confirmed: list[Confirmed] = []
        self.rejected: list[Rejected] = []
        self.log: list[LogLine] = []
        self.considered: list[Considered] = []
        self.last = time.monotonic()

    def add(self, confirmed: Sequence[Confirmed], rejected: Sequence[Rejected],
            log: Sequence[LogLine], considered: Sequence[Considered] = ()) -> None:  # fmt: skip
        self.confirmed += confirmed
        self.rejected += rejected
        self.log += log
        self.considered += considered
        size = len(self.confirmed) + len(self.rejected) + len(self.log) + len(self.considered)
        if size >= self.max_rows or time.monotonic() - self.last >= self.every_s:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        if not (self.confirmed or self.rejected or self.log or self.considered):
            return
        save_outcomes(self.wh, target=self.target, object_type=self.object_type,
                      run_id=self.run_id, confirmed=self.confirmed, rejected=self.rejected,
                      log=self.log, considered=self.considered)  # fmt: skip
        self.confirmed, self.rejected, self.log, self.considered = [], [], [], []


def start_run(wh: Warehouse, run_id: str, target: str) -> None:
    """Register the run; an earlier run of this target still marked running was killed."""
    wh.execute(
        "update sync.runs set status = 'failed', finished_at = ?, message = ?"
        " where target = ? and status = 'running'",
        [utc_now(), "the run did not finish (killed); the next run resumed it", target],
    )
    wh.execute("delete from sync.runs where run_id = ? and target = ?", [run_id, target])
    wh.execute(
        "insert into sync.runs (run_id, target, started_at, status) values (?, ?, ?, 'running')",
        [run_id, target, utc_now()],
    )


def finish_run(
    wh: Warehouse,
    run_id: str,
    target: str,
    status: str,
    counts: dict[str, int],
    message: str,
    sent_by_reason: dict[str, int],
) -> None:
    names = (
        "planned",
        "sent",
        "inserted",
        "updated",
        "skipped",
        "rejected",
        "dead_lettered",
        "pending",
        "not_in_crm",
        "owners_written",
        "owners_kept",
        "requests",
        "error_responses",
        "rows_considered",
        "rows_not_material",
        "rows_compared",
    )
    wh.execute(
        "update sync.runs set finished_at = ?, status = ?, message = ?, sent_by_reason = ?, "
        + ", ".join(f"{n} = ?" for n in names)
        + " where run_id = ? and target = ?",
        [utc_now(), status, message, json.dumps(sent_by_reason),
         *(int(counts.get(n, 0)) for n in names), run_id, target],
    )  # fmt: skip
