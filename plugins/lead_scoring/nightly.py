"""The scoring runs' stages for the nightly and hourly DAGs: one task graph for both
(``scoring_run``), and the task bodies: resolve connections, call each stage, return a
summary.

Each function returns a small JSON-able dict (it travels through XCom to the report).
Every task that opens the warehouse holds the warehouse lock while it runs
(``run_stage``, ``dbt_build_started``/``dbt_build_finished`` for the dbt build) and logs
its rows in, rows touched and seconds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from lead_scoring.settings import get_settings

log = logging.getLogger(__name__)

CRM_SOURCE_CONN = "lead_scoring_crm_source"
CRM_TARGET_CONN = "lead_scoring_crm"
# The run kinds of the scoring DAGs, and the as-of date of their dbt build: the nightly run
# of logical date D scores as of D; an hourly run as of the day its data interval ends.
AS_OF_DATE = {"nightly": "{{ ds }}", "hourly": "{{ data_interval_end | ds }}"}
DBT_GROUP = "dbt"


def _connection(conn_id: str):
    """The Airflow connection, or a task failure (not retried) naming what is missing."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return Connection.get(conn_id)
    except Exception as exc:  # Airflow raises its own NotFound types per backend
        raise AirflowFailException(
            f"Airflow connection {conn_id!r} is not defined: create it (see README,"
            f" 'Connections') or set AIRFLOW_CONN_{conn_id.upper()}"
        ) from exc


def _source_url(conn) -> str:
    scheme = conn.schema or "http"
    port = f":{conn.port}" if conn.port else ""
    return f"{scheme}://{conn.host}{port}"


def crm_source():
    """The CRM to read: HubSpot (conn type ``http``/``hubspot``) or Salesforce (conn type
    ``salesforce``, or extra ``kind``), with extras ``max_requests_per_second`` (HubSpot) and
    ``ca_bundle``."""
    from airflow.sdk.exceptions import AirflowFailException

    from lead_scoring.sources.errors import SourceUnavailable
    from lead_scoring.sources.extract import CrmSource, crm_kind

    conn = _connection(CRM_SOURCE_CONN)
    if not conn.host or not conn.password:
        raise AirflowFailException(
            f"connection {CRM_SOURCE_CONN!r} needs a host and a password (token)"
        )
    extra = conn.extra_dejson
    rps = float(extra.get("max_requests_per_second", 5))
    try:
        kind = crm_kind(conn.conn_type, extra.get("kind"))
        return CrmSource(_source_url(conn), conn.password, rps, kind, extra.get("ca_bundle"))
    except SourceUnavailable as exc:
        raise AirflowFailException(f"connection {CRM_SOURCE_CONN!r}: {exc}") from exc


def crm_target():
    """The sync target: connection ``lead_scoring_crm`` or, when it is not defined, the source
    CRM itself (same kind, URL, token and CA bundle). The target knows the source, so the
    records read from it are updated by their id."""
    from airflow.sdk.exceptions import AirflowFailException

    from lead_scoring.crm_sync.config import CrmTarget, target_from_connection

    try:
        conn = _connection(CRM_TARGET_CONN)
    except AirflowFailException as missing:
        try:
            _connection(CRM_SOURCE_CONN)
        except AirflowFailException:
            raise AirflowFailException(
                f"{missing} (or at least {CRM_SOURCE_CONN!r}, the CRM the scores then go to)"
            ) from missing
        conn = None
    source = crm_source()
    if conn is not None:
        return target_from_connection(conn, source.base_url, source.kind)
    return CrmTarget(
        source.kind, source.base_url, source.token, ca_bundle=source.ca_bundle,
        source_url=source.base_url, source_kind=source.kind,
    )  # fmt: skip


def extract_sources(source) -> dict:
    from lead_scoring.sources.extract import extract

    return asdict(extract(get_settings(), source))


def run_gate(run_id: str, logical_date: datetime | None) -> dict:
    """The quality gate; a failed batch gate or a bad gate setting fails the task at once
    (no retry can fix data or configuration)."""
    from airflow.sdk.exceptions import AirflowFailException

    from lead_scoring.quality import QualityGateFailed, run_quality_gate
    from lead_scoring.quality.config import QualityConfigError

    as_of = logical_date or datetime.now(UTC)
    try:
        return asdict(run_quality_gate(get_settings(), run_id, as_of))
    except QualityGateFailed as exc:
        raise AirflowFailException(f"quality gate failed: {exc}") from exc
    except QualityConfigError as exc:
        raise AirflowFailException(f"quality gate settings: {exc}") from exc


def preflight_crm(target) -> None:
    from lead_scoring.crm_sync import preflight

    preflight(target, get_settings())


def sync_crm(target, run_id: str) -> dict:
    from lead_scoring.crm_sync import run_sync

    return asdict(run_sync(get_settings(), target, run_id))


def sla_alerts(run_id: str, logical_date: datetime | None, context=None) -> dict:
    """New SLA breaches, one message per rep, through the ``lead_scoring_alerts`` notifier."""
    from lead_scoring.alerts import current_breaches, send_sla_alerts

    settings = get_settings()
    as_of = (logical_date or datetime.now(UTC)).date().isoformat()
    breaches = current_breaches(settings)
    return send_sla_alerts(settings, run_id, as_of, breaches, context)


def report(
    run_id: str,
    logical_date,
    extracted: dict,
    gate: dict,
    synced: dict,
    alerted: dict,
    kind: str = "nightly",
    dbt: dict | None = None,
) -> dict:
    from lead_scoring.report import write_run_report

    return write_run_report(
        get_settings(), run_id, logical_date, extracted, gate, synced, alerted, kind=kind, dbt=dbt
    )


@dataclass
class Stage:
    """What one stage did: the rows it took in, the rows it wrote or changed (None: not
    counted), its seconds, and the seconds it waited for the warehouse lock first."""

    name: str
    rows_in: int | None = None
    rows_touched: int | None = None
    seconds: float = 0.0
    waited: float = 0.0

    def log(self) -> None:
        def rows(n: int | None) -> str:
            return "-" if n is None else f"{n:,}"

        wait = f" (after {self.waited:.1f} s waiting for the warehouse lock)" if self.waited else ""
        log.info(
            "stage %s: %s rows in, %s rows touched, %.1f s%s",
            self.name, rows(self.rows_in), rows(self.rows_touched), self.seconds, wait,
        )  # fmt: skip


def _loaded(result: dict) -> tuple[int, int]:
    loaded = sum(result.get("rows_loaded", {}).values())
    return loaded, loaded


# Rows in and rows touched of each stage, from its result: the extract reads and loads the
# new or changed source rows; the gate checks records and holds some back; the sync compares
# rows with what the CRM confirmed and sends the material changes; the alerts look at the
# breaches and send the new ones.
STAGE_ROWS: dict[str, Callable[[dict], tuple[int | None, int | None]]] = {
    "extract": _loaded,
    "quality_gate": lambda r: (r.get("records_checked"), r.get("records_quarantined")),
    "crm_sync": lambda r: (r.get("rows_considered"), r.get("sent")),
    "sla_alerts": lambda r: (r.get("breaches"), r.get("alerts_sent")),
}


def _holder(stage: str) -> str:
    """Who holds the warehouse lock, for those who wait: ``<dag> <run id>: <stage>``."""
    try:
        from airflow.sdk import get_current_context

        context = get_current_context()
        return f"{context['ti'].dag_id} {context['run_id']}: {stage}"
    except Exception:  # outside a task (a test, the command line)
        return stage


def run_stage(name: str, body: Callable[[], dict | None]) -> dict:
    """Run one stage under the warehouse lock (waiting for it first); log its rows in, rows
    touched and seconds, and return its result with those under ``stage``."""
    from lead_scoring.warehouse_lock import warehouse_lock

    settings, holder = get_settings(), _holder(name)
    asked = time.monotonic()
    with warehouse_lock(settings, holder):
        started = time.monotonic()
        result = body() or {}
    rows = STAGE_ROWS.get(name, lambda _: (None, None))(result)
    stage = Stage(name, *rows, round(time.monotonic() - started, 1), round(started - asked, 1))
    stage.log()
    return {**result, "stage": asdict(stage)}


class DbtModel(NamedTuple):
    layer: str  # staging, intermediate, marts
    materialized: str  # table or incremental
    schema: str
    name: str

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


def _dbt_models() -> list[DbtModel]:
    """The table and incremental models, from the manifest `dbt parse` writes (none
    without it)."""
    path = get_settings().dbt_project_dir / "target" / "manifest.json"
    if not path.exists():
        return []
    nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"].values()
    return [
        DbtModel(node["fqn"][1] if len(node["fqn"]) > 2 else "",
                 node["config"]["materialized"], node["schema"], node["alias"])
        for node in nodes
        if node["resource_type"] == "model" and node["config"].get("enabled", True)
        and node["config"].get("materialized") in ("table", "incremental")
    ]  # fmt: skip


def _row_counts(wh, models: list[DbtModel]) -> dict[str, int | None]:
    """Rows of each model's table, by relation (None: not built yet)."""
    counts: dict[str, int | None] = {}
    for model in models:
        built = wh.table_exists(model.schema, model.name)
        sql = f'select count(*) from "{model.schema}"."{model.name}"'
        counts[model.relation] = int(wh.scalar(sql)) if built else None
    return counts


def _leads_rescored(wh, counts: dict[str, int | None]) -> int | None:
    """For how many leads the build recomputed the lead-level input models
    (int_leads_to_rescore: the changed ones, or every scored lead, ``counts`` of
    ``marts.lead_scores``; None before the first build). The dated models bring every
    lead to a new as-of date from those rows (macros/rescore.sql)."""
    if not wh.table_exists("intermediate", "int_leads_to_rescore"):
        return None
    mode, changed = wh.query_df(
        "select max(case when lead_id = '_state' then inputs_mode end),"
        " sum(case when lead_id <> '_state' then 1 else 0 end)"
        " from intermediate.int_leads_to_rescore"
    ).iloc[0]
    return int(changed) if mode == "changed" else counts.get("marts.lead_scores")


def dbt_build_started(context, operator=None) -> None:
    """Before the dbt build (a Cosmos interceptor of the producer task): take the warehouse
    lock, which dbt needs as every stage does (it opens the warehouse itself), and count the
    rows of the incremental models. ``dbt_build_finished`` gives the lock back."""
    from lead_scoring.warehouse import open_warehouse
    from lead_scoring.warehouse_lock import acquire

    settings, holder = get_settings(), _holder("dbt build")
    asked = time.monotonic()
    acquire(settings, holder)
    started = time.monotonic()
    incremental = [m for m in _dbt_models() if m[1] == "incremental"]
    with open_warehouse(settings) as wh:
        before = _row_counts(wh, incremental)
    context["lead_scoring_dbt_build"] = {"asked": asked, "started": started, "before": before}


def dbt_build_finished(project_dir: str, context=None, **_) -> None:
    """After the dbt build, whatever its outcome (the Cosmos callback of the producer task):
    log its rows and seconds, push them to XCom (key ``stage``) for the run report, and give
    the warehouse lock back.

    Rows in: the rows the incremental staging models took in (new events); rows touched:
    the rows of the table models (rebuilt in full every build) and the rows added to the
    incremental models; ``leads_rescored``: the leads the lead-level models recomputed
    (docs/incremental.md). ``full``: no incremental model existed before, so dbt built
    everything from scratch. DuckDB reports no affected rows to dbt, hence the counts."""
    from lead_scoring.warehouse import open_warehouse
    from lead_scoring.warehouse_lock import release

    try:
        noted = context.pop("lead_scoring_dbt_build", None) if context else None
        if noted is None:
            return
        models = _dbt_models()
        with open_warehouse(get_settings()) as wh:
            after = _row_counts(wh, models)
            rescored = _leads_rescored(wh, after)
        before = noted["before"]
        rows_in = rows_touched = None
        if models:
            added = {
                model: max(0, (after[model.relation] or 0) - (before.get(model.relation) or 0))
                for model in models
                if model.materialized == "incremental"
            }
            rows_in = sum(n for model, n in added.items() if model.layer == "staging")
            rebuilt = sum(after[m.relation] or 0 for m in models if m.materialized == "table")
            rows_touched = rebuilt + sum(added.values())
        seconds = round(time.monotonic() - noted["started"], 1)
        waited = round(noted["started"] - noted["asked"], 1)
        stage = Stage("dbt", rows_in, rows_touched, seconds, waited)
        stage.log()
        log.info("dbt: %s leads rescored", "-" if rescored is None else f"{rescored:,}")
        full = bool(before) and all(count is None for count in before.values())
        context["ti"].xcom_push(key="stage", value={**asdict(stage), "full": full,
                                                    "leads_rescored": rescored})
    finally:
        release(get_settings())


def claim_run() -> None:
    """Claim the warehouse from this run's extract to the end of its dbt build, waiting
    while another run holds that turn (``warehouse_lock.claim_warehouse``). A claim of a
    run that is no longer running is over; so is an earlier claim of this DAG, which runs
    one at a time (a killed `airflow dags test` leaves its run "running")."""
    from airflow.sdk import get_current_context

    from lead_scoring.warehouse_lock import claim_warehouse

    context = get_current_context()
    ti = context["ti"]

    def is_over(claim: dict) -> bool:
        if claim.get("dag_id") == ti.dag_id:
            return True
        running = ti.get_dr_count(claim.get("dag_id"), run_ids=[claim.get("run_id")],
                                  states=["queued", "running"])  # fmt: skip
        return running == 0

    claim_warehouse(get_settings(), ti.dag_id, context["run_id"], is_over)


def release_run() -> None:
    """Give back this run's claim on the warehouse (after its dbt build, whatever its
    outcome: the teardown of ``claim_run``)."""
    from airflow.sdk import get_current_context

    from lead_scoring.warehouse_lock import release_warehouse

    context = get_current_context()
    release_warehouse(get_settings(), context["ti"].dag_id, context["run_id"])


def _run_id() -> str:
    from airflow.sdk import get_current_context

    return get_current_context()["run_id"]


def run_as_of(kind: str) -> datetime:
    """The run's as-of time: a nightly run's logical date, an hourly run's data interval
    end (a manually triggered run without them: now)."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    moment = context.get("data_interval_end" if kind == "hourly" else "logical_date")
    return moment or datetime.now(UTC)


SCORES_URI = "lead_scoring://marts/lead_scores"


def scoring_run(kind: str) -> None:
    """The tasks of one scoring run, inside a ``@dag`` function: extract -> quality gate
    -> dbt build (Cosmos) -> CRM preflight -> CRM sync -> SLA alerts, and the run report.

    ``kind`` is ``nightly`` (as of the logical date) or ``hourly`` (as of the day its data
    interval ends); the stages are the same, and incremental: each takes what changed
    since the last run. Every task that opens the warehouse runs in the pool
    ``lead_scoring_warehouse`` and holds the warehouse lock (``run_stage``). Around
    extract -> dbt build, ``claim_warehouse`` (a setup task, outside the pool: it may wait
    for another run) and ``release_warehouse`` (its teardown) keep other runs from loading
    rows between this run's quality gate and its build."""
    from airflow.sdk import Asset, get_current_context, task

    from lead_scoring.airflow_runner import WAREHOUSE_POOL
    from lead_scoring.dbt_group import PRODUCER_WATCHER_TASK_ID, dbt_task_group

    if kind not in AS_OF_DATE:
        raise ValueError(f"run kind {kind!r}: use {' or '.join(AS_OF_DATE)}")

    @task(task_id="claim_warehouse")
    def claim() -> None:
        claim_run()

    @task(task_id="release_warehouse")
    def release() -> None:
        release_run()

    @task(pool=WAREHOUSE_POOL)
    def extract() -> dict:
        return run_stage("extract", lambda: extract_sources(crm_source()))

    @task(pool=WAREHOUSE_POOL)
    def quality_gate() -> dict:
        return run_stage("quality_gate", lambda: run_gate(_run_id(), run_as_of(kind)))

    dbt = dbt_task_group(DBT_GROUP, {"lead_scoring__as_of_date": AS_OF_DATE[kind]})

    @task(pool=WAREHOUSE_POOL, outlets=[Asset(SCORES_URI)])
    def crm_preflight() -> dict:
        return run_stage("crm_preflight", lambda: preflight_crm(crm_target()))

    @task(pool=WAREHOUSE_POOL, retries=1)
    def crm_sync() -> dict:
        return run_stage("crm_sync", lambda: sync_crm(crm_target(), _run_id()))

    @task(task_id="sla_alerts", pool=WAREHOUSE_POOL, trigger_rule="all_done")
    def alerts() -> dict:
        context = get_current_context()
        return run_stage("sla_alerts", lambda: sla_alerts(_run_id(), run_as_of(kind), context))

    @task(task_id="run_report", pool=WAREHOUSE_POOL)
    def run_report(extracted: dict, gate: dict, synced: dict, alerted: dict) -> dict:
        producer = f"{DBT_GROUP}.{PRODUCER_WATCHER_TASK_ID}"
        built = get_current_context()["ti"].xcom_pull(task_ids=producer, key="stage")
        return run_stage("run_report", lambda: report(
            _run_id(), run_as_of(kind), extracted, gate, synced, alerted, kind, built))  # fmt: skip

    claimed = claim()
    extracted = extract()
    gate = quality_gate()
    synced = crm_sync()
    alerted = alerts()
    claimed >> extracted >> gate >> dbt >> release().as_teardown(setups=claimed)
    dbt >> crm_preflight() >> synced >> alerted
    run_report(extracted, gate, synced, alerted)
