"""The dbt models as a Cosmos task group: one `dbt build`, every model visible as a task.

Cosmos' watcher mode runs the whole project in one `dbt build` (the producer task) and
gives each model (with its tests) and each seed a task that reports that node's result.
Here the node tasks start once the build has finished, so the group also runs under a
sequential executor such as `airflow dags test` (the node tasks would otherwise wait
for a build that has not started).

The build writes the warehouse, so the producer task runs in the pool
``lead_scoring_warehouse`` and holds the warehouse lock, through what Cosmos offers for
the producer alone (``setup_operator_args``): an interceptor takes the lock before dbt is
invoked, the callback that Cosmos calls after the build (whatever its outcome) gives it
back (``lead_scoring.nightly.dbt_build_started`` / ``dbt_build_finished``).
"""

from __future__ import annotations

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import PRODUCER_WATCHER_TASK_ID, ExecutionMode, InvocationMode

from lead_scoring.airflow_runner import WAREHOUSE_POOL
from lead_scoring.nightly import dbt_build_finished, dbt_build_started
from lead_scoring.settings import PROJECT_ROOT, get_settings

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
# Rendered from the manifest `dbt parse` writes (fast DAG parsing); without it, from `dbt ls`.
DBT_MANIFEST = DBT_PROJECT / "target" / "manifest.json"


def dbt_task_group(group_id: str = "dbt", dbt_vars: dict[str, str] | None = None) -> DbtTaskGroup:
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            DBT_PROJECT, manifest_path=DBT_MANIFEST if DBT_MANIFEST.exists() else None
        ),
        profile_config=ProfileConfig(
            profile_name="lead_scoring",
            target_name=get_settings().dbt_target,
            profiles_yml_filepath=DBT_PROJECT / "profiles.yml",
        ),
        # dbt runs inside the Airflow worker's environment (installed there, on PATH).
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
            # the producer task alone: it runs the one `dbt build`, which writes the warehouse
            setup_operator_args={
                "pool": WAREHOUSE_POOL,
                "interceptors": [dbt_build_started],
                "callback": dbt_build_finished,
            },
        ),
        render_config=RenderConfig(invocation_mode=InvocationMode.DBT_RUNNER),
        operator_args={
            "vars": dbt_vars or {},
            # unit tests check the SQL on fixed rows, not the data: CI runs them (tests/dbt),
            # a scheduled run need not (dbt's own advice for production)
            "dbt_cmd_flags": ["--exclude-resource-type", "unit_test"],
            "install_deps": False,
            "deferrable": False,
            "poke_interval": 2,
        },
    )
    producer = group.children[f"{group_id}.{PRODUCER_WATCHER_TASK_ID}"]
    # A failed build fails the run (Cosmos would skip the producer on retry and leave the
    # retries to the node tasks, which here only report the build's result).
    producer.retries = 0
    for task in group.children.values():
        if task is producer or producer.task_id in task.upstream_task_ids:
            continue
        if not task.upstream_task_ids & set(group.children):
            producer >> task
    return group
