"""Reading a failed `airflow dags test` run back from its log, and one log file per run."""

import sys
from datetime import UTC, datetime

from lead_scoring import airflow_runner
from lead_scoring.airflow_runner import failure_summary, new_log_file, task_failures
from lead_scoring.settings import PROJECT_ROOT

LIB = f"{sys.prefix}/lib/python3.11/site-packages"
OURS = f"{PROJECT_ROOT}/plugins/lead_scoring"
RUN = "manual__2026-12-06T14:33:41.742428+00:00"


def _start(task: str, second: int) -> str:
    return (
        f"2026-12-06T14:34:{second:02d}.118804Z [info     ] [DAG TEST] starting task_id={task}"
        " map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1501"
    )


def _end(task: str, second: int) -> str:
    return (
        f"2026-12-06T14:34:{second:02d}.355393Z [info     ] [DAG TEST] end task task_id={task}"
        " map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1563"
    )


def _state(state: str, second: int) -> str:
    return (
        f"2026-12-06T14:34:{second:02d}.336815Z [info     ] Task instance state updated"
        f"    [airflow.api_fastapi.execution_api.routes.task_instances] new_state={state}"
        " rows_affected=1"
    )


def _failed(second: int) -> str:
    return (
        f"2026-12-06T14:34:{second:02d}.297759Z [error    ] Task failed with exception"
        "     [task] loc=task_runner.py:1676"
    )


RUNNER_FRAMES = [
    "Traceback (most recent call last):",
    f'  File "{LIB}/airflow/sdk/execution_time/task_runner.py", line 1579, in _run_task',
    "    result = _execute_task(context=context, ti=ti, log=log)",
    "             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{LIB}/airflow/providers/standard/operators/python.py", line 254, in execute',
    "    return runner.run(*self.op_args, **self.op_kwargs)",
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
]
UNRUNNABLE = (
    "2026-12-06T14:34:30.408431Z [warning  ] No tasks to run. unrunnable tasks: "
    f"{{<TaskInstance: lead_scoring_nightly.crm_sync {RUN} [None]>}} [airflow.sdk]"
)
GATE_ERROR = (
    "airflow.sdk.exceptions.AirflowFailException: quality gate failed: quarantine rate"
    " 25.0% > 10.0% (see quality.quarantine)"
)

# extract fails once and succeeds on its retry; quality_gate fails for good (no retry), with
# the error the gate raised chained under the task's own.
LOG = [
    "2026-12-06T14:33:41.75Z [info     ] Trying to parse the dbt project [cosmos.dbt.graph]",
    _start("extract", 1),
    _failed(2),
    *RUNNER_FRAMES,
    f'  File "{OURS}/sources/product.py", line 19, in check_product_db',
    "    raise SourceUnavailable(",
    "lead_scoring.sources.errors.SourceUnavailable: product database unreachable",
    "2026-12-06T14:34:02.299992Z [info     ] ::group::Post Execute          [task]",
    _state("up_for_retry", 2),
    _end("extract", 2),
    UNRUNNABLE,
    _start("extract", 10),
    _state("success", 12),
    _end("extract", 12),
    _start("quality_gate", 13),
    "2026-12-06T14:34:14.1Z [warning  ] Skipping masking for a secret as it's too short",
    _failed(20),
    "Traceback (most recent call last):",
    f'  File "{OURS}/nightly.py", line 71, in run_gate',
    "    return asdict(run_quality_gate(get_settings(), run_id, as_of))",
    "                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
    f'  File "{OURS}/quality/gate.py", line 88, in run_quality_gate',
    "    raise QualityGateFailed(reasons)",
    "lead_scoring.quality.gate.QualityGateFailed: quarantine rate 25.0% > 10.0%",
    "",
    "The above exception was the direct cause of the following exception:",
    "",
    *RUNNER_FRAMES,
    f'  File "{PROJECT_ROOT}/dags/lead_scoring_nightly.py", line 55, in quality_gate',
    "    return run_gate(_run_id(), logical_date)",
    f'  File "{OURS}/nightly.py", line 73, in run_gate',
    '    raise AirflowFailException(f"quality gate failed: {exc}") from exc',
    GATE_ERROR,
    _state("failed", 20),
    _end("quality_gate", 21),
    UNRUNNABLE,
    "2026-12-06T14:34:31.116451Z [info     ] Marking run <DagRun lead_scoring_nightly> failed",
    "DagRun failed",
]


def _summary_of(log: list[str], tmp_path) -> list[str]:
    path = tmp_path / "run.log"
    path.write_text("\n".join(log) + "\n")
    return failure_summary(path).splitlines()


def test_the_failed_task_and_the_end_of_its_error_are_extracted():
    [failure] = task_failures(LOG)
    assert failure.task_id == "quality_gate"
    assert failure.attempts == 1
    assert failure.error[-1] == GATE_ERROR
    assert failure.raised_at == "plugins/lead_scoring/nightly.py:73 (run_gate)"
    assert failure.causes == ()  # the error it was raised from says nothing more
    assert LOG[failure.line - 1] == _failed(20)


def test_the_summary_leaves_the_noise_out(tmp_path):
    summary = "\n".join(_summary_of(LOG, tmp_path))
    assert summary.splitlines()[0].startswith("task quality_gate failed (1 attempt; log line ")
    assert GATE_ERROR in summary
    assert "extract" not in summary  # it failed once, then its retry succeeded
    for noise in (
        "Traceback",
        "site-packages",
        "^^^",
        "Task instance state updated",
        "No tasks to run",
        "Skipping masking",
        "Post Execute",
        "product database unreachable",
    ):
        assert noise not in summary, noise
    assert len(summary.splitlines()) <= 5


def test_a_task_failing_every_attempt_counts_them_and_clips_a_long_error(tmp_path):
    nodes = [f"model_{n}: Database Error in model model_{n}" for n in range(30)]
    error = [
        "cosmos.exceptions.CosmosDbtRunError: dbt invocation completed with errors: ",
        *nodes,
    ]
    log = []
    for attempt in range(3):
        log += [
            _start("dbt.dbt_producer_watcher", attempt * 10),
            _failed(attempt * 10 + 1),
            *RUNNER_FRAMES,
            *error,
            _state("up_for_retry" if attempt < 2 else "failed", attempt * 10 + 1),
            _end("dbt.dbt_producer_watcher", attempt * 10 + 2),
        ]
    [failure] = task_failures(log)
    assert (failure.task_id, failure.attempts) == ("dbt.dbt_producer_watcher", 3)
    assert failure.error[-1] == nodes[-1]
    assert failure.raised_at == ""  # raised in Cosmos, not in the product's code
    lines = _summary_of(log, tmp_path)
    assert lines[1] == f"    {error[0]}"
    assert lines[2].startswith("    ... (")
    assert lines[-1] == f"    {nodes[-1]}"
    assert len(lines) == 1 + 12


def test_when_no_task_ran_the_summary_shows_the_last_exception(tmp_path):
    log = [
        "2026-12-06T14:41:14.42Z [info     ] Filling up the DagBag from /work/dags [airflow]",
        "Traceback (most recent call last):",
        f'  File "{LIB}/airflow/utils/cli.py", line 304, in get_bagged_dag',
        "    raise AirflowException(",
        "airflow.sdk.exceptions.AirflowException: Dag 'lead_scoring_nightly' could not be found;"
        " either it does not exist or it failed to parse.",
    ]
    assert task_failures(log) == []
    assert _summary_of(log, tmp_path) == [
        "no task failed; the log's last error:",
        f"    {log[-1]}",
    ]


def test_two_runs_get_two_log_files(tmp_path):
    started = datetime(2026, 12, 6, 14, 33, 41, tzinfo=UTC)
    first = new_log_file(tmp_path / "logs", "demo", now=started)
    second = new_log_file(tmp_path / "logs", "demo", now=started)
    assert first.name == "demo_2026-12-06_143341.log"
    assert second != first and second.name.startswith("demo_2026-12-06_143341")
    assert first.exists() and second.exists()
    later = new_log_file(tmp_path / "logs", "demo")
    assert later not in (first, second)


def test_prepare_airflow_creates_the_warehouse_pool_with_one_slot(tmp_path, monkeypatch):
    steps = []
    monkeypatch.setattr(airflow_runner, "_run", lambda env, *step, **_: steps.append(step) or 0)
    airflow_runner.prepare_airflow({}, tmp_path / "prepare.log")
    pools = [step[3:5] for step in steps if step[:3] == ("airflow", "pools", "set")]
    assert pools == [("lead_scoring_warehouse", "1")]
    assert steps[0] == ("airflow", "db", "migrate")  # the pool needs the metadata database
