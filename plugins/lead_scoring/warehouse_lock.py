"""One writer at a time: the lock every stage that opens the warehouse holds while it runs.

DuckDB lets one process at a time open its file for writing; a second one fails at once
with ``IO Error: Could not set lock on file``. The stages of the nightly and hourly runs
(extract, quality gate, dbt build, CRM sync, alerts, report) and the calibration take
this lock first and wait for it, so an overlapping run waits instead of failing.
Under a scheduler the Airflow pool ``lead_scoring_warehouse`` (one slot) already keeps
those tasks apart; the lock also covers what a pool does not see: `airflow dags test`
(which ignores pools), two Airflow deployments, the command line.

* DuckDB: ``flock`` on ``<warehouse file>.lock`` beside the warehouse; the file holds the
  holder's name, for the message of whoever waits. The kernel drops the lock with the
  process, so a killed stage never leaves it behind.
* PostgreSQL: a session advisory lock in the warehouse database, on a connection of its
  own named after the holder (``application_name``); it ends with that connection.

A process that holds the lock and asks for it again takes its own hold over (a stage that
raised between taking and releasing it leaves the next stage of the same process free).

The lock is taken stage by stage, so the stages of two runs can take turns. One turn must
not be cut in: from a run's extract to the end of its dbt build, no other run may load
rows, or the build would score rows its quality gate has not checked. A run claims that
turn first (``claim_warehouse``, waiting while another run holds it) and gives it back
after its build (``release_warehouse``); the claim is a small file in the home,
``warehouse.claim``, naming the run.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from lead_scoring.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT_ENV = "LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT"
# As long as the nightly run may take (its dagrun_timeout): a waiting run does not give up
# before the run it waits for would have been stopped.
DEFAULT_TIMEOUT_S = 6 * 3600
POLL_S = 0.5
REPORT_EVERY_S = 60.0  # a waiting stage says so again this often
# The advisory lock's key (two int4): "LS", "WH".
PG_LOCK_KEY = (0x4C53, 0x5748)


class WarehouseLockTimeout(TimeoutError):
    """The lock was not free within the timeout; the message names its holder."""


def lock_timeout() -> float:
    """Seconds a stage waits for the lock: ``LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT``."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r}: expected a number of seconds (0 or more)")
    return seconds


def lock_path(settings: Settings) -> Path:
    """The DuckDB warehouse's lock file: ``<home>/warehouse.duckdb.lock``."""
    path = settings.warehouse_path
    return path.with_name(path.name + ".lock")


def _describe(holder: str) -> str:
    since = datetime.now(UTC).isoformat(timespec="seconds")
    return f"{holder} (pid {os.getpid()} on {socket.gethostname()}, since {since})"


class _FileLock:
    """``flock`` on the lock file beside the DuckDB warehouse."""

    def __init__(self, settings: Settings):
        path = lock_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def try_acquire(self, holder: str) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.label(holder)
        return True

    def label(self, holder: str) -> None:
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, _describe(holder).encode(), 0)

    def holder(self) -> str:
        text = os.pread(self._fd, 1000, 0).decode(errors="replace").strip()
        return text or "another process"

    def release(self) -> None:
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.close()

    def close(self) -> None:
        os.close(self._fd)


class _AdvisoryLock:
    """A session advisory lock in the PostgreSQL warehouse."""

    def __init__(self, settings: Settings):
        import psycopg2

        from lead_scoring.warehouse import WarehouseError

        if not settings.warehouse_url:
            raise WarehouseError("LEAD_SCORING_WAREHOUSE=postgres needs LEAD_SCORING_WAREHOUSE_URL")
        self._con = psycopg2.connect(settings.warehouse_url)
        self._con.autocommit = True

    def _scalar(self, sql: str, params: tuple = ()):
        with self._con.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        return None if row is None else row[0]

    def try_acquire(self, holder: str) -> bool:
        if not self._scalar("select pg_try_advisory_lock(%s, %s)", PG_LOCK_KEY):
            return False
        self.label(holder)
        return True

    def label(self, holder: str) -> None:
        # What pg_stat_activity shows of this session (at most 63 characters).
        self._scalar("select set_config('application_name', %s, false)", (holder[:63],))

    def holder(self) -> str:
        found = self._scalar(
            "select format('%%s (backend pid %%s, since %%s)', a.application_name, a.pid,"
            " date_trunc('second', a.backend_start))"
            " from pg_locks as l join pg_stat_activity as a on a.pid = l.pid"
            " where l.locktype = 'advisory' and l.granted and l.classid = %s"
            " and l.database = (select oid from pg_database"
            "                   where datname = current_database())"
            " and l.objid = %s and l.objsubid = 2",
            PG_LOCK_KEY,
        )
        return found or "another session"

    def release(self) -> None:
        try:
            self._scalar("select pg_advisory_unlock(%s, %s)", PG_LOCK_KEY)
        finally:
            self.close()

    def close(self) -> None:
        self._con.close()


# The locks this process holds, by warehouse (``_key``).
_held: dict[str, _FileLock | _AdvisoryLock] = {}


def _key(settings: Settings) -> str:
    if settings.warehouse == "postgres":
        return f"postgres:{settings.warehouse_url}"
    return str(lock_path(settings))


@contextmanager
def warehouse_lock(
    settings: Settings,
    holder: str,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the warehouse lock for the block, waiting for it first (at most ``timeout``
    seconds, default ``LEAD_SCORING_WAREHOUSE_LOCK_TIMEOUT``). ``holder`` names who holds
    it (shown to those who wait); ``on_wait`` gets each waiting message (default: logged).
    Raises WarehouseLockTimeout when the lock is still held after the timeout."""
    acquire(settings, holder, timeout, on_wait)
    try:
        yield
    finally:
        release(settings)


def acquire(
    settings: Settings,
    holder: str,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    """Take the warehouse lock (see ``warehouse_lock``); ``release`` gives it back."""
    timeout = lock_timeout() if timeout is None else timeout
    say = on_wait or log.info
    if (held := _held.get(_key(settings))) is not None:  # left behind by this process
        held.label(holder)
        say(f"the warehouse lock is held by this process already: {holder} takes it over")
        return
    lock = _FileLock(settings) if settings.warehouse != "postgres" else _AdvisoryLock(settings)
    try:
        _wait_for(
            lambda: None if lock.try_acquire(holder) else lock.holder(),
            timeout, say,
            waiting=lambda held_by: f"waiting for the warehouse lock (held by {held_by})",
            expired=lambda held_by, waited: (
                f"waited {waited:.0f} s for the warehouse lock, still held by {held_by};"
                f" {holder} gives up ({TIMEOUT_ENV}={timeout:g})"),
            done="took the warehouse lock",
        )  # fmt: skip
    except BaseException:
        lock.close()
        raise
    _held[_key(settings)] = lock


def _wait_for(
    attempt: Callable[[], str | None],
    timeout: float,
    say: Callable[[str], None],
    waiting: Callable[[str], str],
    expired: Callable[[str, float], str],
    done: str,
) -> None:
    """Call ``attempt`` until it succeeds (returns None; otherwise it returns who is in the
    way), saying ``waiting(who)`` every REPORT_EVERY_S seconds and ``<done> after N s`` at
    the end when it waited; raise WarehouseLockTimeout(``expired(who, seconds)``) after
    ``timeout`` seconds."""
    started, next_report = time.monotonic(), 0.0
    while (in_the_way := attempt()) is not None:
        waited = time.monotonic() - started
        if waited >= timeout:
            raise WarehouseLockTimeout(expired(in_the_way, waited))
        if waited >= next_report:
            say(waiting(in_the_way))
            next_report = waited + REPORT_EVERY_S
        time.sleep(POLL_S)
    if next_report:
        say(f"{done} after {time.monotonic() - started:.1f} s")


def release(settings: Settings) -> None:
    """Give back the lock this process holds on the settings' warehouse (none held: no-op)."""
    lock = _held.pop(_key(settings), None)
    if lock is not None:
        lock.release()


def claim_path(settings: Settings) -> Path:
    """The file naming the run that holds the warehouse's extract-to-build turn."""
    return settings.home / "warehouse.claim"


@contextmanager
def _claim_file(settings: Settings) -> Iterator[int]:
    """The claim file, locked for the moment it is read and written."""
    path = claim_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _read_claim(fd: int) -> dict | None:
    text = os.pread(fd, 10_000, 0).decode(errors="replace").strip()
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None  # half-written by a killed process: nobody's claim


def _write_claim(fd: int, claim: dict | None) -> None:
    os.ftruncate(fd, 0)
    if claim is not None:
        os.pwrite(fd, json.dumps(claim).encode(), 0)


def claim_warehouse(
    settings: Settings,
    dag_id: str,
    run_id: str,
    is_over: Callable[[dict], bool],
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    """Claim the turn from this run's extract to the end of its dbt build: wait while
    another run holds it, unless ``is_over(claim)`` says that run has ended (claim:
    ``dag_id``, ``run_id``, ``since``). Raises WarehouseLockTimeout after ``timeout``."""
    timeout = lock_timeout() if timeout is None else timeout

    def attempt() -> str | None:
        with _claim_file(settings) as fd:
            held = _read_claim(fd)
            mine = held is not None and (held.get("dag_id"), held.get("run_id")) == (dag_id, run_id)
            if held is None or mine or is_over(held):
                since = datetime.now(UTC).isoformat(timespec="seconds")
                _write_claim(fd, {"dag_id": dag_id, "run_id": run_id, "since": since})
                return None
        return f"{held.get('dag_id')} {held.get('run_id')} (since {held.get('since')})"

    _wait_for(
        attempt, timeout, on_wait or log.info,
        waiting=lambda held_by: (
            f"waiting for the warehouse: {held_by} is between its extract and its dbt build"),
        expired=lambda held_by, waited: (
            f"waited {waited:.0f} s for the warehouse, still claimed by {held_by} between"
            f" its extract and its dbt build ({TIMEOUT_ENV}={timeout:g}); if that run is"
            f" not running, delete {claim_path(settings)}"),
        done="claimed the warehouse",
    )  # fmt: skip


def release_warehouse(settings: Settings, dag_id: str, run_id: str) -> None:
    """Give back this run's claim (another run's, or none, is left alone)."""
    with _claim_file(settings) as fd:
        held = _read_claim(fd)
        if held is not None and (held.get("dag_id"), held.get("run_id")) == (dag_id, run_id):
            _write_claim(fd, None)
