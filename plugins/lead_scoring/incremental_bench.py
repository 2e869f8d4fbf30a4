"""What a run costs end to end (issue "A run costs what changed", docs/benchmarks.md): the
next day's nightly DAG run and one hour's hourly DAG run, through Airflow (`airflow dags
test`) against the CRM sandbox, on the scoring section's simulated home.

``bench_end_to_end(settings)`` runs on that home after the section's next-day incremental
``dbt run`` (a home whose simulation ends at midnight, extracted, gated and scored):

1. ``nightly_first_sync_s``: every score into the CRM sandbox, by the code of the nightly
   DAG's ``crm_sync`` (``preflight``, ``run_sync``). The scores are first those of the
   nightly run of the simulation's end date (``dbt run`` as of that date, when the home was
   scored as of the day before: a nightly run of logical date D scores as of D with the
   data up to D 00:00), so the next night compares one day with the next.
2. ``nightly_next_day_end_to_end_s``: ``simulate_next_day``, then the nightly DAG for the
   new end date, extract to CRM sync and the report; ``crm_rows_sent_next_day`` and
   ``crm_rows_material_share`` of its sync (``routing_bench.sync_figures``).
3. ``hourly_end_to_end_s``: one simulated hour (``simulate_next_day(hours=1)``) and the
   hourly DAG for it, from the hour's files landing to the DAG run's end; it fails unless a
   lead with an event in that hour has new values in the CRM sandbox.

The CRM sandbox stamps what it writes (``lastmodifieddate``) with the wall clock, months
after the simulated days; the extract's cursor would follow it and then miss every later
simulated change. So once a run is over, what its sync wrote is stamped again in simulated
time, its writes as far apart as they were (``_crm_clock``): a DAG run's from the run's
moment on, as a CRM whose clock ran with the simulation would have stamped them, and read
back by the next extract as any change; the first sync's ending at the simulation's end,
so the next night reads back only its writes stamped after the last change extracted, not
the whole first sync (every record, which a deployment reads back once, the night after
going live).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from lead_scoring import airflow_runner
from lead_scoring.bench import BENCH_FRESHNESS, emit, run_dbt
from lead_scoring.routing_bench import SYNC_TARGET_NAME, home_sandbox, query_home, sync_figures
from lead_scoring.settings import Settings

log = logging.getLogger("lead_scoring.bench")

NIGHTLY, HOURLY = "lead_scoring_nightly", "lead_scoring_hourly"
# The DAGs' connections to the sandbox, paced as bench.py's extract is: HubSpot's own limits
# (5 searches/s, 100 requests/10 s) would make the figures measure the rate limits.
SOURCE_EXTRA = {"max_requests_per_second": 10_000}
TARGET_EXTRA = {"kind": "hubspot", "name": SYNC_TARGET_NAME, "max_requests_per_10s": 10**6}


def bench_end_to_end(settings: Settings) -> dict[str, float]:
    """The three steps above on the home of ``settings``; prints and returns the figures."""
    from lead_scoring.simulator import simulate_next_day
    from lead_scoring.simulator.reps import simulated_now

    first_day, first_run, figures = first_sync(settings)
    log.info("bench: end to end: the next simulated day")
    simulate_next_day(settings)
    day = simulated_now(settings).date()
    started, ended = run_dag(settings, NIGHTLY, day.isoformat(), prepare=True)
    figures["nightly_next_day_end_to_end_s"] = round(ended - started, 1)
    sync = last_sync(settings)
    figures |= sync_figures(settings, {first_day: first_run, day: sync["run_id"]})
    for name in ("nightly_next_day_end_to_end_s", "crm_rows_sent_next_day",
                 "crm_rows_material_share"):  # fmt: skip
        emit(name, figures[name])

    before = crm_values(settings)
    log.info("bench: end to end: one simulated hour")
    simulate_next_day(settings, hours=1)
    landed = time.monotonic()  # the hour's export file and rows are in the sources
    end = simulated_now(settings)
    _, ended = run_dag(settings, HOURLY, end.isoformat())
    figures["hourly_end_to_end_s"] = round(ended - landed, 1)
    emit("hourly_end_to_end_s", figures["hourly_end_to_end_s"])
    hour_reached_the_crm(settings, before, end - timedelta(hours=1), end)
    return figures


def first_sync(settings: Settings) -> tuple[date, str, dict[str, float]]:
    """Step 1: (the scored date, the sync's run id, ``{"nightly_first_sync_s": ...}``)."""
    from lead_scoring.crm_sync import preflight, run_sync
    from lead_scoring.simulator.reps import simulated_now

    now = simulated_now(settings)
    if now != datetime(now.year, now.month, now.day, tzinfo=UTC):
        raise RuntimeError(f"the simulation in {settings.home} ends at {now:%Y-%m-%d %H:%M},"
                           " not at midnight: the end-to-end bench needs a whole day")  # fmt: skip
    day = now.date()
    latest = "select max(as_of_date) as day from marts.lead_scores"
    scored = query_home(settings, latest).at[0, "day"]
    if pd.Timestamp(scored).date() != day:
        started = time.monotonic()
        run_dbt(settings, day, "run")
        log.info("bench: scores as of %s, as the nightly run of that date makes them, in %.0f s"
                 " (the home was scored as of %s)", day, time.monotonic() - started,
                 pd.Timestamp(scored).date())  # fmt: skip
    log.info("bench: nightly_first_sync_s ...")
    with _crm_clock(settings, now, ending=True), home_sandbox(settings) as (_, _, target):
        preflight(target, settings)
        started = time.monotonic()
        result = run_sync(settings, target, f"bench-first-sync-{day}")
        seconds = round(time.monotonic() - started, 1)
    if result.status != "success":
        raise RuntimeError(f"the first CRM sync ended {result.status}: {result.message}")
    emit("nightly_first_sync_s", seconds)
    log.info("bench: the first sync sent %s rows in %s requests", f"{result.sent:,}",
             f"{result.requests:,}")  # fmt: skip
    return day, result.run_id, {"nightly_first_sync_s": seconds}


def run_dag(
    settings: Settings, dag_id: str, logical_date: str, prepare: bool = False
) -> tuple[float, float]:
    """``airflow dags test <dag_id> <logical_date>`` against the CRM sandbox, the Airflow home
    under the home (``prepare``: its metadata database, pool and dbt manifest made first);
    returns when the run started and ended (``time.monotonic``). A failed run raises, naming
    the failed tasks. What its sync wrote is stamped with the run's simulated moment."""
    from lead_scoring.simulator.reps import simulated_now

    log_file = airflow_runner.new_log_file(settings.home / "airflow" / "bench-logs", dag_id)
    with _crm_clock(settings, simulated_now(settings)), home_sandbox(settings) as (sandbox, _, _):
        env = airflow_env(settings, sandbox)
        if prepare:
            started = time.monotonic()
            airflow_runner.prepare_airflow(env, log_file)
            log.info("bench: Airflow prepared in %.0f s", time.monotonic() - started)
        log.info("bench: airflow dags test %s %s (log: %s)", dag_id, logical_date, log_file)
        started = time.monotonic()
        code = airflow_runner.dags_test(env, dag_id, logical_date, log_file, on_line=_progress)
        ended = time.monotonic()
    seconds = round(ended - started, 1)
    if code != 0:
        raise RuntimeError(
            f"`airflow dags test {dag_id} {logical_date}` failed (exit {code}) after {seconds} s:"
            f"\n{airflow_runner.failure_summary(log_file)}\nfull log: {log_file}"
        )
    _log_report(settings, dag_id, seconds)
    return started, ended


def airflow_env(settings: Settings, sandbox) -> dict[str, str]:
    """The Airflow environment for the home's DAG runs against ``sandbox``."""
    env = airflow_runner.airflow_env(
        settings,
        crm_source=airflow_runner.http_connection(sandbox.hubspot_url, sandbox.token,
                                                  **SOURCE_EXTRA),
        crm_target=airflow_runner.http_connection(sandbox.hubspot_url, sandbox.token,
                                                  **TARGET_EXTRA),
    )  # fmt: skip
    env |= {"LEAD_SCORING_WAREHOUSE": settings.warehouse,
            "LEAD_SCORING_DBT_TARGET": settings.warehouse}  # fmt: skip
    env = BENCH_FRESHNESS | env
    env.pop("LEAD_SCORING_PRODUCT_DB_URL", None)
    if settings.product_db_url:
        env["LEAD_SCORING_PRODUCT_DB_URL"] = settings.product_db_url
    return env


def _progress(line: str) -> None:
    """The DAG run's task starts and ends (not the dbt group's node tasks, which report the
    one build), and its end."""
    shown = airflow_runner.progress(line)
    if shown and (not shown.startswith("dbt.") or "producer" in shown.split()[0]):
        log.info("bench:   %s", shown.strip())


def _log_report(settings: Settings, dag_id: str, seconds: float) -> None:
    """The run report's stages: rows in, rows touched and seconds; the leads rescored."""
    report = json.loads((settings.reports_dir / "latest.json").read_text())
    stages = "; ".join(
        f"{s['stage']} {s['rows_in'] or 0:,} in, {s['rows_touched'] or 0:,} touched,"
        f" {s['seconds'] or 0:.1f} s"
        for s in report.get("stages", [])
    )
    log.info("bench: %s (%s, as of %s) done in %.1f s: %s; %s of %s leads rescored", dag_id,
             report.get("run_kind"), report.get("as_of_date"), seconds, stages,
             report.get("leads_rescored"), report.get("leads_scored"))  # fmt: skip


def last_sync(settings: Settings) -> dict:
    """The latest sync run to the bench's target; one that did not succeed raises."""
    runs = query_home(settings, "select run_id, status, sent, message from sync.runs"
                            " where target = ? order by started_at desc limit 1",
                  SYNC_TARGET_NAME)  # fmt: skip
    sync = runs.iloc[0].to_dict()
    if sync["status"] != "success":
        raise RuntimeError(f"CRM sync {sync['run_id']} ended {sync['status']}: {sync['message']}")
    return sync


# A write's stamp moved by (its wall-clock stamp - the anchor) from the simulated moment.
_MOVED = ("strftime('%Y-%m-%dT%H:%M:%fZ', :moment, printf('%+.3f seconds',"
          " (julianday(updated_at) - julianday(:anchor)) * 86400))")  # fmt: skip


@contextmanager
def _crm_clock(settings: Settings, moment: datetime, ending: bool = False) -> Iterator[None]:
    """After the block: the contacts and companies the CRM sandbox wrote in it get simulated
    times as their ``lastmodifieddate``, instead of the wall clock it stamped them with:
    as far apart as they were written, the first at ``moment`` (``ending``: the last)."""
    from lead_scoring.crm_sandbox.store import CrmStore, iso_millis, now_iso

    since = now_iso()
    yield
    written = "object_type in ('contacts', 'companies') and archived = 0 and updated_at >= :since"
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    try:
        with store.lock, store.con:
            first, last = store.con.execute(
                f"select min(updated_at), max(updated_at) from objects where {written}",
                {"since": since},
            ).fetchone()
            moved = store.con.execute(
                f"update objects set updated_at = {_MOVED}, properties = json_set(properties,"
                f" '$.lastmodifieddate', {_MOVED}) where {written}",
                {"moment": iso_millis(moment), "anchor": last if ending else first,
                 "since": since},
            ).rowcount  # fmt: skip
    finally:
        store.close()
    log.info("bench: %s CRM records the sync wrote restamped in simulated time (%s %s)",
             f"{moved:,}", "ending" if ending else "from", iso_millis(moment))  # fmt: skip


def crm_values(settings: Settings) -> pd.DataFrame:
    """What the CRM sandbox holds of each contact's scores: the synced properties but the
    run metadata (``ls_scored_at``), by contact id, as text ("" when not set)."""
    from lead_scoring.crm_sandbox.store import CrmStore
    from lead_scoring.crm_sync.fields import LEAD_FIELDS

    names = [field.hubspot for field in LEAD_FIELDS if field.hashed]
    values = ", ".join(f"json_extract(properties, '$.{name}') as {name}" for name in names)
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    try:
        rows = store.con.execute(
            f"select id, {values} from objects where object_type = 'contacts'"
        ).fetchall()
    finally:
        store.close()
    frame = pd.DataFrame(rows, columns=["id", *names]).set_index("id")
    return frame.fillna("").astype(str)


HOUR_LEADS = """
select distinct subjects.lead_id
from intermediate.int_events_unioned as events
inner join intermediate.int_event_subjects_resolved as subjects
    on subjects.event_source = events.event_source
    and subjects.subject_id = events.subject_id
where events.occurred_at >= ? and events.occurred_at < ?
"""


def hour_reached_the_crm(
    settings: Settings, before: pd.DataFrame, start: datetime, end: datetime
) -> int:
    """How many leads with an event in ``[start, end)`` the CRM sandbox now holds new values
    of (against ``before``, from ``crm_values``), each equal to the lead's score in
    ``marts.lead_scores``; none raises."""
    naive = (start.replace(tzinfo=None), end.replace(tzinfo=None))
    leads = list(query_home(settings, HOUR_LEADS, *naive)["lead_id"].astype(str))
    after = crm_values(settings).reindex(leads).fillna("")
    earlier = before.reindex(leads).fillna("")
    moved = after.index[(after != earlier).any(axis=1)]
    scores = query_home(settings, "select lead_id, lead_score from marts.lead_scores")
    scores = scores.set_index(scores["lead_id"].astype(str))["lead_score"]
    held = [lead for lead in moved
            if after.at[lead, "ls_lead_score"] != ""
            and abs(float(after.at[lead, "ls_lead_score"]) - float(scores.get(lead, "nan")))
            < 1e-6]  # fmt: skip
    log.info("bench: the hour %s .. %s: %d leads with events, %d with new values in the CRM"
             " sandbox (%d equal to their score now)", f"{start:%Y-%m-%d %H:%M}",
             f"{end:%H:%M}", len(leads), len(moved), len(held))  # fmt: skip
    if not held:
        raise RuntimeError(
            f"the hourly run left the CRM sandbox without new values for all {len(leads)}"
            f" leads with an event between {start:%Y-%m-%d %H:%M} and {end:%H:%M}"
        )
    return len(held)
