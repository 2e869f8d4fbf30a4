"""The product database: ``app_users`` and ``app_events`` in PostgreSQL or a SQLite file.

PostgreSQL is loaded with COPY (CSV written by Arrow); SQLite with ``executemany`` over
tuples in one transaction, journal and sync off, into a new file that then replaces the
old one. Users: ``user_id``, ``email``, ``signed_up_at``, ``updated_at`` (epoch seconds in
the frames); events: ``event_id``, ``user_id``, ``event_type``, ``occurred_at``.
"""

from __future__ import annotations

import io
import os
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy.engine import make_url

from lead_scoring.settings import Settings
from lead_scoring.simulator.errors import SimulatorError
from lead_scoring.simulator.frames import Frame, length, sql_datetimes

BATCH = 1_000_000
USER_COLUMNS = ("user_id", "email", "signed_up_at", "updated_at")
EVENT_COLUMNS = ("event_id", "user_id", "event_type", "occurred_at")
SQLITE_DDL = """
create table app_users (user_id integer primary key, email text not null,
                        signed_up_at timestamp not null, updated_at timestamp not null);
create table app_events (event_id integer primary key, user_id bigint not null,
                         event_type text not null, occurred_at timestamp not null);
"""
POSTGRES_DDL = """
drop table if exists app_events, app_users;
create table app_users (user_id bigint, email text not null,
                        signed_up_at timestamp not null, updated_at timestamp not null);
create table app_events (event_id bigint, user_id bigint not null,
                         event_type text not null, occurred_at timestamp not null);
"""
POSTGRES_KEYS = """
alter table app_users add primary key (user_id);
alter table app_events add primary key (event_id);
create index app_users_updated_at on app_users (updated_at);
"""


def describe(settings: Settings) -> str:
    """Where the product database is, without any password."""
    return make_url(settings.product_db).render_as_string(hide_password=True)


def _target(settings: Settings) -> tuple[str, str]:
    url = make_url(settings.product_db)
    if url.get_backend_name() == "sqlite":
        if not url.database:
            raise SimulatorError(f"product database URL {describe(settings)} names no file")
        return "sqlite", url.database
    if url.get_backend_name() == "postgresql":
        return "postgresql", url.set(drivername="postgresql").render_as_string(False)
    raise SimulatorError(
        f"LEAD_SCORING_PRODUCT_DB_URL: unsupported database {url.get_backend_name()!r}"
        f" in {describe(settings)} (use postgresql://... or leave it unset for SQLite)"
    )


def _rows(frame: Frame, columns: tuple[str, ...], start: int, stop: int):
    parts = []
    for name in columns:
        values = frame[name][start:stop]
        if name in ("signed_up_at", "updated_at", "occurred_at"):
            parts.append(sql_datetimes(values).tolist())
        else:
            parts.append(values.tolist())
    return zip(*parts, strict=True)


def _sqlite_insert(con: sqlite3.Connection, table: str, frame: Frame, columns, verb: str):
    marks = ", ".join("?" * len(columns))
    sql = f"{verb} into {table} ({', '.join(columns)}) values ({marks})"
    for start in range(0, length(frame), BATCH):
        con.executemany(sql, _rows(frame, columns, start, start + BATCH))


def _copy_table(frame: Frame, columns: tuple[str, ...], start: int, stop: int) -> pa.Table:
    arrays = []
    for name in columns:
        values = frame[name][start:stop]
        if name in ("signed_up_at", "updated_at", "occurred_at"):
            arrays.append(pa.array(values.astype("datetime64[s]")))
        elif values.dtype == object:
            arrays.append(pa.array(values, type=pa.string()))
        else:
            arrays.append(pa.array(values))
    return pa.table(arrays, names=list(columns))


def _postgres_copy(cur, table: str, frame: Frame, columns: tuple[str, ...]) -> None:
    for start in range(0, length(frame), BATCH):
        buffer = io.BytesIO()
        pacsv.write_csv(_copy_table(frame, columns, start, start + BATCH), buffer)
        buffer.seek(0)
        cur.copy_expert(
            f"copy {table} ({', '.join(columns)}) from stdin with (format csv, header true)",
            buffer,
        )


def _connect_postgres(dsn: str, settings: Settings):
    import psycopg2

    try:
        return psycopg2.connect(dsn)
    except psycopg2.OperationalError as exc:
        raise SimulatorError(
            f"product database {describe(settings)} is unreachable: {str(exc).strip()}"
        ) from exc


def replace_product_db(settings: Settings, users: Frame, events: Frame) -> bool:
    """Write both tables from scratch; True when earlier tables were replaced."""
    kind, where = _target(settings)
    if kind == "sqlite":
        path = Path(where)
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        fresh = path.with_name(path.name + ".new")
        fresh.unlink(missing_ok=True)
        con = sqlite3.connect(fresh)
        try:
            con.execute("pragma journal_mode = off")
            con.execute("pragma synchronous = off")
            con.execute("pragma cache_size = -200000")
            con.executescript(SQLITE_DDL)
            with con:
                _sqlite_insert(con, "app_users", users, USER_COLUMNS, "insert")
                _sqlite_insert(con, "app_events", events, EVENT_COLUMNS, "insert")
                con.execute("create index app_users_updated_at on app_users (updated_at)")
        finally:
            con.close()
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.replace(fresh, path)
        return existed
    con = _connect_postgres(where, settings)
    try:
        with con, con.cursor() as cur:
            cur.execute("select to_regclass('app_events') is not null")
            existed = cur.fetchone()[0]
            cur.execute(POSTGRES_DDL)
            _postgres_copy(cur, "app_users", users, USER_COLUMNS)
            _postgres_copy(cur, "app_events", events, EVENT_COLUMNS)
            cur.execute(POSTGRES_KEYS)
    finally:
        con.close()
    return existed


def append_product_db(settings: Settings, users: Frame, events: Frame) -> None:
    """Insert new events and insert or update users (new signups, changed profiles)."""
    kind, where = _target(settings)
    if kind == "sqlite":
        if not Path(where).exists():
            raise SimulatorError(f"product database file {where} does not exist")
        con = sqlite3.connect(where)
        try:
            with con:
                _sqlite_insert(con, "app_users", users, USER_COLUMNS, "insert or replace")
                _sqlite_insert(con, "app_events", events, EVENT_COLUMNS, "insert")
        finally:
            con.close()
        return
    con = _connect_postgres(where, settings)
    try:
        with con, con.cursor() as cur:
            cur.execute("create temporary table new_users (like app_users) on commit drop")
            _postgres_copy(cur, "new_users", users, USER_COLUMNS)
            cur.execute(
                "insert into app_users select * from new_users on conflict (user_id) do update"
                " set email = excluded.email, updated_at = excluded.updated_at"
            )
            _postgres_copy(cur, "app_events", events, EVENT_COLUMNS)
    finally:
        con.close()
