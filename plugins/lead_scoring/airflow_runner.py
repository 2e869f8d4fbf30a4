"""Run the DAGs with a local Airflow (SQLite metadata, `airflow dags test`).

Used by `lead-scoring demo` and the end-to-end tests; a deployment runs the same
DAGs under the scheduler instead (see docker-compose.yml).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from lead_scoring.settings import PROJECT_ROOT, Settings

CRM_POOL = "crm_api"
DBT_PROJECT = PROJECT_ROOT / "dbt_project"
_TASK = re.compile(r"\[DAG TEST\] (starting|end task) task_id=(\S+)")
_FAILED = re.compile(r"Task failed with exception|Marking run .* (failed|successful)")


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


def http_connection(url: str, token: str, **extra: str) -> dict:
    """An Airflow connection (JSON form) for an HTTP API with a bearer token."""
    parts = urlsplit(url)
    return {
        "conn_type": "http",
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


def prepare_airflow(env: dict[str, str], log_file: Path) -> None:
    """Create the metadata database (first time), the CRM pool and the dbt manifest."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        ("airflow", "db", "migrate"),
        ("airflow", "pools", "set", CRM_POOL, "1", "Concurrent CRM API calls"),
        ("dbt", "parse", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)),
    ]
    for step in steps:
        if _run(env, *step, log_file=log_file) != 0:
            raise RuntimeError(f"`{' '.join(step)}` failed: see {log_file}")


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
