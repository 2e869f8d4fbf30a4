"""The nightly stages outside Airflow, each a child process that can be killed at a point.

A ``Nightly`` is one home's run of the nightly job for a fixed as-of date, one command per
task of the DAG and in its order: ``extract`` (``lead-scoring extract``), ``gate``
(``lead-scoring quality-check``), ``dbt`` (``dbt build``, as the Cosmos task group runs
it), ``preflight`` (``lead-scoring crm-preflight``) and ``sync`` (``lead-scoring
crm-sync``). The CRM sandbox serving the home's store is both the source CRM and the sync
target, as in the nightly default (records read from the CRM are updated by their id).
Each command's output goes to ``<home>/logs/faults_<label>/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from lead_scoring.faults.pause import PAUSED
from lead_scoring.settings import PROJECT_ROOT

STAGES = ("extract", "gate", "dbt", "preflight", "sync")
CRM_STAGES = ("extract", "preflight", "sync")  # the stages that talk to the CRM
AS_OF = date(2026, 6, 1)  # the simulated history ends here; the run is for this date
RUN_ID = f"scheduled__{AS_OF.isoformat()}T00:00:00+00:00"  # Airflow's id of that date's run
CRM_NAME = "hubspot:crm-sandbox"  # the sync's key of the target, whichever port serves it
COMMAND_TIMEOUT_S = 900
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failed)\b")  # a traceback's last line
# The sync goes in small batches, a few at a time, so a kill lands with batches in flight.
SYNC_ENV = {"LEAD_SCORING_CRM_BATCH_SIZE": "25", "LEAD_SCORING_CRM_CONCURRENCY": "2"}
KEPT_ENV = ("LEAD_SCORING_DBT_THREADS", "LEAD_SCORING_DUCKDB_MEMORY_LIMIT")
# Set to stop every running stage (their children run in sessions of their own, so an
# interrupt of this process does not reach them).
STOPPING = threading.Event()


class Stopped(RuntimeError):
    """The campaign was interrupted; the stage's command was killed."""


Condition = Callable[[Path, str], str]


@dataclass(frozen=True)
class Watch:
    """What a kill point watches while the command runs; the command is killed (SIGKILL, its
    whole process group) the moment the watch fires.

    ``line``: a regular expression on the command's output. ``condition``: makes a fresh
    condition for each command run; the condition is called every few milliseconds with
    the home and the command's start time (the sandbox's ISO format) and fires by returning
    a non-empty text (what it saw). With both, the condition is watched once the line has
    appeared. ``pause``: see below; the command is killed when it has paused.
    """

    line: str = ""
    condition: Callable[[], Condition] | None = None
    # "before|after module:Object.function": the command runs with that function wrapped
    # so that the process pauses there (faults.pause) and the kill lands exactly there.
    pause: str = ""


@dataclass
class StageRun:
    stage: str
    argv: list[str]  # the stage's command (without the pause wrapper)
    returncode: int
    log: Path
    killed: bool = False
    seen: str = ""  # the output line or condition that fired the kill
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.killed

    def failure(self) -> str:
        """The command, its exit status and the error it ended with (or its last lines)."""
        lines = self.log.read_text(errors="replace").splitlines()
        starts = [n for n, line in enumerate(lines) if _EXCEPTION.match(line)]
        if starts:
            shown = [line.strip() for line in lines[starts[-1]:starts[-1] + 8] if line.strip()]
        else:
            shown = [line.strip() for line in lines if line.strip() and "WARNING" not in line]
        text = " ".join(shown[:6] if starts else shown[-4:])
        name = " ".join([Path(self.argv[0]).name, self.argv[1]])
        return f"`{name}` exited {self.returncode}: {text[:400]} (log: {self.log})"


def _program(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


class Nightly:
    """The nightly stages of one home (``LEAD_SCORING_HOME``), for ``AS_OF``."""

    def __init__(self, home: Path, label: str):
        self.home = home
        self.label = label  # the folder of this run's logs: <home>/logs/faults_<label>
        self.sandbox = None  # the running CRM sandbox, while one is up
        self._runs = 0

    @property
    def store_path(self) -> Path:
        return self.home / "crm_sandbox" / "crm.sqlite"

    @contextmanager
    def crm_sandbox(self) -> Iterator[object]:
        """The CRM sandbox on this home's store (reused if one is up already)."""
        if self.sandbox is not None:
            yield self.sandbox
            return
        from lead_scoring.crm_sandbox import start_sandbox

        self.sandbox = start_sandbox(
            self.store_path, rate_limit_per_10s=10**6, tls_dir=self.home / "crm_sandbox" / "tls"
        )
        try:
            yield self.sandbox
        finally:
            self.sandbox.stop()
            self.sandbox = None

    def command(self, stage: str) -> list[str]:
        if stage == "extract":
            return [_program("lead-scoring"), "extract"]
        if stage == "gate":
            return [_program("lead-scoring"), "quality-check", "--as-of", AS_OF.isoformat(),
                    "--run-id", RUN_ID]  # fmt: skip
        if stage == "dbt":
            project = str(PROJECT_ROOT / "dbt_project")
            as_of = json.dumps({"lead_scoring__as_of_date": AS_OF.isoformat()})
            return [_program("dbt"), "build", "--target", "duckdb", "--project-dir", project,
                    "--profiles-dir", project, "--target-path", str(self.home / "dbt_target"),
                    "--log-path", str(self.home / "dbt_logs"), "--no-use-colors",
                    "--vars", as_of]  # fmt: skip
        if stage == "preflight":
            return [_program("lead-scoring"), "crm-preflight"]
        if stage == "sync":
            return [_program("lead-scoring"), "crm-sync", "--run-id", RUN_ID]
        raise ValueError(f"unknown stage {stage!r} (stages: {', '.join(STAGES)})")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("LEAD_SCORING_") or k in KEPT_ENV}  # fmt: skip
        env |= {
            "LEAD_SCORING_HOME": str(self.home),
            "LEAD_SCORING_WAREHOUSE": "duckdb",
            "DO_NOT_TRACK": "1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",  # tracebacks in the logs wrapped less
        }
        if self.sandbox is not None:
            url, token = self.sandbox.hubspot_url, self.sandbox.token
            env |= {
                "LEAD_SCORING_CRM_SOURCE_URL": url,
                "LEAD_SCORING_CRM_SOURCE_TOKEN": token,
                "LEAD_SCORING_CRM_SOURCE_MAX_RPS": "1000",
                "LEAD_SCORING_CRM_KIND": "hubspot",
                "LEAD_SCORING_CRM_URL": url,
                "LEAD_SCORING_CRM_TOKEN": token,
                "LEAD_SCORING_CRM_NAME": CRM_NAME,
                "LEAD_SCORING_CRM_MAX_REQUESTS_PER_10S": "10000",
                **SYNC_ENV,
            }
        return env

    def run(self, stage: str, watch: Watch | None = None) -> StageRun:
        """Run ``stage``; with ``watch``, kill it (SIGKILL) when the watch fires."""
        with self.crm_sandbox() if stage in CRM_STAGES else nullcontext():
            return self._run(stage, watch)

    def _run(self, stage: str, watch: Watch | None) -> StageRun:
        from lead_scoring.crm_sandbox.store import now_iso

        argv = run_argv = self.command(stage)
        line = watch.line if watch else ""
        if watch and watch.pause:
            when, target = watch.pause.split()
            run_argv = [sys.executable, "-m", "lead_scoring.faults.pause", when, target, "--",
                        Path(argv[0]).name, *argv[1:]]  # fmt: skip
            line = line or f"^{re.escape(PAUSED)}"
        self._runs += 1
        logs = self.home / "logs" / f"faults_{self.label}"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{self._runs:02d}_{stage}.log"
        started, clock = now_iso(), time.monotonic()
        fired: list[str] = []
        pattern = re.compile(line) if line else None
        condition = watch.condition() if watch and watch.condition else None
        line_seen = threading.Event()
        if pattern is None:
            line_seen.set()
        with log_path.open("w", encoding="utf-8") as log, subprocess.Popen(
            run_argv, env=self.env(), cwd=self.home, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        ) as child:  # fmt: skip

            def read() -> None:
                for text in child.stdout:
                    if pattern is not None and not line_seen.is_set() and pattern.search(text):
                        if condition is None:
                            _kill(child)
                            fired.append(text.strip())
                        line_seen.set()
                    log.write(text)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            try:
                self._watch(child, condition, line_seen, fired, started, clock, log)
            except BaseException:
                _kill(child)
                raise
            finally:
                child.wait()
                reader.join(timeout=30)
        killed = bool(fired) and child.returncode == -signal.SIGKILL
        return StageRun(stage, argv, child.returncode, log_path, killed,
                        fired[0] if fired else "", time.monotonic() - clock)  # fmt: skip

    def _watch(self, child: subprocess.Popen, condition: Condition | None,
               line_seen: threading.Event, fired: list[str], started: str, clock: float,
               log: TextIO) -> None:  # fmt: skip
        """Until the command ends: poll the condition (once the line was seen), the
        timeout and the campaign's stop."""
        while child.poll() is None:
            if STOPPING.is_set():
                raise Stopped("the campaign was stopped")
            if condition is not None and not fired and line_seen.is_set():
                seen = condition(self.home, started)
                if seen:
                    _kill(child)
                    fired.append(seen)
            if time.monotonic() - clock > COMMAND_TIMEOUT_S:
                _kill(child)
                log.write(f"\nkilled after {COMMAND_TIMEOUT_S} s (no end in sight)\n")
                return
            time.sleep(0.005)


def _kill(child: subprocess.Popen) -> None:
    """SIGKILL the command and anything it started (its own process group)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# -- conditions kill points watch (each returns "" until it fires, then what it saw) ------
def dlt_packages(state: str, count: int) -> Condition:
    """Fires once ``count`` dlt load packages are in ``state`` (``normalized``: ready to
    load; ``loaded``: in the warehouse): the extract is inside that step."""

    def condition(home: Path, started: str) -> str:
        folder = home / ".dlt" / "lead_scoring_raw" / "load" / state
        found = sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0
        return f"{found} load packages {state}" if found >= count else ""

    return condition


def crm_records_updated(object_type: str, share: float) -> Condition:
    """Fires once the sandbox holds ``share`` of its ``object_type`` records updated since
    the command started (read from the store file, as the sandbox writes it)."""

    def condition(home: Path, started: str) -> str:
        path = home / "crm_sandbox" / "crm.sqlite"
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as con:
            total, updated = con.execute(
                "select count(*), count(case when updated_at >= ? then 1 end) from objects"
                " where object_type = ? and archived = 0",
                [started, object_type],
            ).fetchone()
        if updated < max(1, share * total):
            return ""
        return f"the sandbox holds {updated} of {total} {object_type} updated"

    return condition
