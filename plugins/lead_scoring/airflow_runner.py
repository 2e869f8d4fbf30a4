"""Run the DAGs with a local Airflow (SQLite metadata, `airflow dags test`).

Used by `lead-scoring demo` and the end-to-end tests; a deployment runs the same
DAGs under the scheduler instead (docs/airflow.md). Each run logs to a file of its own
(`new_log_file`); when a run fails, `failure_summary` reads that log back and names the
failed tasks with the exception that ended each one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from lead_scoring.settings import PROJECT_ROOT, Settings

# One slot: the tasks that open the warehouse (every task of the nightly, hourly and
# calibration DAGs but the dbt node tasks) run one at a time, whichever DAG they are in.
WAREHOUSE_POOL = "lead_scoring_warehouse"
WAREHOUSE_POOL_DESCRIPTION = "Tasks that write the lead-scoring warehouse (one writer)"
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
_TASK = re.compile(r"\[DAG TEST\] (starting|end task) task_id=(\S+)")
_FAILED = re.compile(r"Task failed with exception|Marking run .* (failed|successful)")
# A log record starts with its timestamp; the lines after it (a traceback) belong to it.
_RECORD = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\S*\s+\[(\w+)\s*\]\s*(.*)$")
_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
_END = re.compile(r"\[DAG TEST\] end task task_id=")
# What the task runner logs when an attempt fails (an exception, sys.exit, or the test harness).
_TASK_FAILED = re.compile(
    r"^(Task failed with exception|Task exited|\[DAG TEST\] Error running task)"
)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CHAINED = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)


class AirflowCommandFailed(RuntimeError):
    """An Airflow or dbt command of the local setup failed; the message has its last lines."""


def airflow_env(
    settings: Settings, crm_source: dict, crm_target: dict, airflow_home: Path | None = None
) -> dict[str, str]:
    """Environment for an Airflow process: folders, connections (as JSON), no examples."""
    home = airflow_home or settings.home / "airflow"
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "180",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            # "reliable retry" rewrites every XCom the dbt producer pushed so far into an
            # Airflow Variable on each push (~30 s of a ~90 s build); it serves only a
            # retried producer, and ours has retries=0 (dbt_group)
            "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "DO_NOT_TRACK": "1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "LEAD_SCORING_HOME": str(settings.home),
            "AIRFLOW_CONN_LEAD_SCORING_CRM_SOURCE": json.dumps(crm_source),
            "AIRFLOW_CONN_LEAD_SCORING_CRM": json.dumps(crm_target),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def http_connection(url: str, token: str, conn_type: str = "http", **extra: object) -> dict:
    """An Airflow connection (JSON form) for an HTTP API with a bearer token."""
    parts = urlsplit(url)
    return {
        "conn_type": conn_type,
        "host": parts.hostname,
        "port": parts.port,
        "schema": parts.scheme,
        "password": token,
        "extra": extra,
    }


def _run(
    env: dict[str, str],
    program: str,
    *args: str,
    log_file: Path | None = None,
    on_line: Callable[[str], None] | None = None,
) -> int:
    cmd = [str(Path(sys.executable).parent / program), *args]
    with subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        log = log_file.open("a", encoding="utf-8") if log_file else None
        for line in proc.stdout:
            if log:
                log.write(line)
            if on_line:
                on_line(line.rstrip("\n"))
        if log:
            log.close()
    return proc.returncode


def new_log_file(folder: Path, prefix: str, now: datetime | None = None) -> Path:
    """A new, empty log file for one run: ``<prefix>_<UTC start, %Y-%m-%d_%H%M%S>.log``.

    Never an existing file: a second run started in the same second gets ``_2``, ``_3``, ...
    """
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{prefix}_{(now or datetime.now(UTC)):%Y-%m-%d_%H%M%S}"
    for n in range(1, 1000):
        path = folder / (f"{stem}.log" if n == 1 else f"{stem}_{n}.log")
        try:
            path.open("x").close()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free log file name for {stem} in {folder}")


def prepare_airflow(env: dict[str, str], log_file: Path) -> None:
    """Create the metadata database (first time), the warehouse pool and the dbt manifest."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        ("airflow", "db", "migrate"),
        ("airflow", "pools", "set", WAREHOUSE_POOL, "1", WAREHOUSE_POOL_DESCRIPTION),
        ("dbt", "parse", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)),
    ]
    for step in steps:
        tail: deque[str] = deque(maxlen=12)
        if _run(env, *step, log_file=log_file, on_line=tail.append) != 0:
            last = "\n".join(f"    {_ANSI.sub('', line)}" for line in tail if line.strip())
            raise AirflowCommandFailed(
                f"`{' '.join(step)}` failed; its last lines:\n{last}\nfull log: {log_file}"
            )


def dags_test(
    env: dict[str, str],
    dag_id: str,
    logical_date: str,
    log_file: Path,
    on_line: Callable[[str], None] | None = None,
) -> int:
    """`airflow dags test` one DAG run; returns the exit code, the full log goes to log_file."""
    return _run(
        env, "airflow", "dags", "test", dag_id, logical_date, log_file=log_file, on_line=on_line
    )


def progress(line: str) -> str | None:
    """A short progress line for an `airflow dags test` log line worth showing, else None."""
    if match := _TASK.search(line):
        state = "started" if match.group(1) == "starting" else "done"
        return f"{match.group(2):<60} {state} {line[11:19]}"
    if _FAILED.search(line):
        return line
    return None


@dataclass(frozen=True)
class TaskFailure:
    """A task whose last attempt in an `airflow dags test` run failed, and why."""

    task_id: str  # with `[map_index]` for a mapped task
    attempts: int
    line: int  # where the last attempt's error starts in the log (1-based)
    error: tuple[str, ...]  # the exception that ended it (its type and message)
    raised_at: str = ""  # file:line (function) of the frame that raised it
    causes: tuple[str, ...] = ()  # the exceptions it was raised from, one line each


def _records(lines: Iterable[str]) -> Iterable[tuple[int, str, str, list[str]]]:
    """(line number, level, message, continuation lines) per log record."""
    number, level, message, more = 0, "", "", []
    for n, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if match := _RECORD.match(line):
            if number or more:
                yield number, level, message, more
            number, level, message, more = n, match.group(1), match.group(2), []
        else:
            more.append(line)
    if number or more:
        yield number, level, message, more


def _where(frames: list[re.Match]) -> str:
    """The last frame in the product's own code, relative to the repository ("" if none)."""
    for frame in reversed(frames):
        path = Path(frame["file"])
        if path.is_relative_to(PROJECT_ROOT) and not path.is_relative_to(sys.prefix):
            return f"{path.relative_to(PROJECT_ROOT)}:{frame['line']} ({frame['func']})"
    return ""


def _exceptions(lines: list[str]) -> tuple[list[list[str]], str]:
    """The exception texts of a logged traceback (causes first, as Python prints them) and
    where the last one was raised; no traceback: ``([], "")``."""
    texts: list[list[str]] = []
    frames: list[re.Match] = []
    state = "before"
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            state, frames = "frames", []
        elif state == "frames":
            if match := _FRAME.match(line):
                frames.append(match)
            elif line.strip() and not line[:1].isspace():
                state = "text"
                texts.append([line])
        elif state == "text":
            if line.strip() in _CHAINED:
                state = "between"
            elif line.strip():
                texts[-1].append(line)
    return texts, _where(frames)


def _failure(task_id: str, attempts: int, line: int, message: str, more: list[str]) -> TaskFailure:
    texts, where = _exceptions(more)
    if not texts:  # no traceback (e.g. sys.exit): the record itself
        texts = [[" ".join(message.split()), *[m for m in more if m.strip()]]]
    error = tuple(texts[-1])
    # A cause whose message the final error repeats (``raise X(f"...: {exc}") from exc``)
    # adds nothing.
    causes = tuple(
        text[-1].strip()
        for text in texts[:-1]
        if text[-1].split(": ", 1)[-1].strip() not in "\n".join(error)
    )
    return TaskFailure(task_id, attempts, line, error, where, causes)


def task_failures(lines: Iterable[str]) -> list[TaskFailure]:
    """The tasks whose last attempt failed, from `airflow dags test` output, in log order.

    An attempt runs from ``[DAG TEST] starting task_id=...`` to ``[DAG TEST] end task``; it
    failed when the task runner logged ``Task failed with exception`` (or ``Task exited``)
    in it. A task that failed and then succeeded on a retry is not listed.
    """
    attempts: dict[str, int] = {}
    failed: dict[str, TaskFailure] = {}
    task = None
    for number, _level, message, more in _records(lines):
        if match := _START.search(message):
            task = match.group(1) if match.group(2) == "-1" else f"{match[1]}[{match[2]}]"
            attempts[task] = attempts.get(task, 0) + 1
            failed.pop(task, None)
        elif _END.search(message):
            task = None
        elif task and _TASK_FAILED.match(message):
            failed[task] = _failure(task, attempts[task], number, message, more)
    return sorted(failed.values(), key=lambda failure: failure.line)


def _clip(lines: tuple[str, ...] | list[str], max_lines: int) -> list[str]:
    """At most max_lines: the first (the exception's type) and the last ones."""
    if len(lines) <= max_lines:
        return list(lines)
    skipped = len(lines) - max_lines + 1
    return [lines[0], f"... ({skipped} lines more in the log)", *lines[-(max_lines - 2) :]]


def _last_error(lines: list[str]) -> list[str]:
    """The log's last exception (with where it was raised), else its last error record,
    else its last lines."""
    records = list(_records(lines))
    for _number, _level, _message, more in reversed(records):
        texts, where = _exceptions(more)
        if texts:
            return [*texts[-1], *([f"raised at {where}"] if where else [])]
    for _number, level, message, more in reversed(records):
        if level in ("error", "critical"):
            return [" ".join(message.split()), *[m for m in more if m.strip()]]
    return [line for line in lines if line.strip()][-5:]


def failure_summary(log_file: Path, max_lines: int = 12) -> str:
    """What failed in the run logged to log_file: each failed task with the exception that
    ended it and where it was raised; when no task failed (e.g. the DAG did not load), the
    log's last exception or error."""
    lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    out: list[str] = []
    for failure in task_failures(lines):
        tries = "attempt" if failure.attempts == 1 else "attempts"
        out.append(
            f"task {failure.task_id} failed ({failure.attempts} {tries}; log line {failure.line}):"
        )
        out += [f"    {line}" for line in _clip(failure.error, max_lines)]
        if failure.raised_at:
            out.append(f"    raised at {failure.raised_at}")
        out += [f"    caused by {cause}" for cause in failure.causes]
    if not out:
        out.append("no task failed; the log's last error:")
        out += [f"    {line}" for line in _clip(_last_error(lines), max_lines)]
    return "\n".join(out)
