"""`lead-scoring demo` when the nightly DAG fails: the failed task, its error, its own log.

The simulator, the CRM sandbox and Airflow are replaced: `airflow dags test` "writes" a run
whose extract task fails on a missing connection.
"""

from contextlib import contextmanager
from types import SimpleNamespace

import typer
from typer.testing import CliRunner

ERROR = (
    "airflow.sdk.exceptions.AirflowFailException: Airflow connection 'lead_scoring_crm_source'"
    " is not defined: create it (see README, 'Connections') or set"
    " AIRFLOW_CONN_LEAD_SCORING_CRM_SOURCE"
)
CAUSE = (
    "airflow.sdk.exceptions.AirflowNotFoundException: The conn_id `lead_scoring_crm_source`"
    " isn't defined"
)
FAILED_RUN = [
    "2026-12-06T14:34:01.1Z [info     ] [DAG TEST] starting task_id=extract map_index=-1 [dag]",
    "2026-12-06T14:34:01.2Z [error    ] Task failed with exception     [task]",
    "Traceback (most recent call last):",
    '  File "/opt/airflow/site-packages/airflow/sdk/definitions/connection.py", line 9, in get',
    '    raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn\'t defined")',
    CAUSE,
    "",
    "The above exception was the direct cause of the following exception:",
    "",
    "Traceback (most recent call last):",
    '  File "/opt/airflow/plugins/lead_scoring/nightly.py", line 26, in _connection',
    "    raise AirflowFailException(",
    ERROR,
    "2026-12-06T14:34:01.3Z [info     ] Task instance state updated new_state=failed [api]",
    "2026-12-06T14:34:01.4Z [info     ] [DAG TEST] end task task_id=extract map_index=-1 [dag]",
    "2026-12-06T14:34:02.1Z [info     ] Marking run <DagRun lead_scoring_nightly> failed [dag]",
    "DagRun failed",
]


def _no_simulation(*args, **kwargs) -> None:
    return None


@contextmanager
def _no_sandbox(store, **kwargs):
    yield SimpleNamespace(hubspot_url="http://127.0.0.1:9", token="sandbox-token")


def _failed_dags_test(env, dag_id, logical_date, log_file, on_line=None) -> int:
    with log_file.open("a") as log:
        log.write("\n".join(FAILED_RUN) + "\n")
    return 1


def test_a_failed_demo_names_the_failed_task_its_error_and_a_log_file_per_run(
    settings, monkeypatch
):
    import lead_scoring.crm_sandbox
    import lead_scoring.simulator
    from lead_scoring import airflow_runner
    from lead_scoring.demo import demo

    monkeypatch.setattr(lead_scoring.simulator, "simulate", _no_simulation)
    monkeypatch.setattr(lead_scoring.crm_sandbox, "start_sandbox", _no_sandbox)
    monkeypatch.setattr(airflow_runner, "prepare_airflow", lambda env, log_file: None)
    monkeypatch.setattr(airflow_runner, "dags_test", _failed_dags_test)

    app = typer.Typer()
    app.command()(demo)
    runs = [CliRunner().invoke(app, []) for _ in range(2)]

    logs = sorted((settings.home / "logs").glob("demo_*.log"))
    assert len(logs) == 2, "each run writes a log of its own"
    for run in runs:
        assert run.exit_code == 1
        assert "task extract failed (1 attempt; log line 2):" in run.output
        assert ERROR in run.output
        assert f"caused by {CAUSE}" in run.output
        assert "Traceback" not in run.output and "state updated" not in run.output
    named = {run.output.split("full log of this run: ")[1].split()[0] for run in runs}
    assert named == {str(log) for log in logs}
    assert all(log.read_text().count("[DAG TEST] starting") == 1 for log in logs)
