"""The ``routing`` bench section (issue 24, docs/benchmarks.md): what routing costs at the
reference size, and 30 simulated days of routing and follow-ups measured against the
simulator's truth.

1. ``routing_s``: ``dbt run`` of the routing marts alone on the scoring section's simulated
   home (made here when that section did not run), against ``scoring_full_s``.
2. A small company (``LEAD_SCORING_BENCH_ROUTING_LEADS``) simulated until 30 days ago, then
   day by day: the next simulated day, the reps' activities of that day, extract, quality
   gate, ``dbt run`` for that day, the CRM sync (scores and owners), and the reps taking
   the leads they now own. Then the balance of the round-robin over those days, and the
   SLA breaches ``marts.lead_follow_ups`` found against those the simulated reps made.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from lead_scoring.bench import bench_settings, emit, run_dbt, simulated_home, timed, timed_gate
from lead_scoring.settings import Settings

log = logging.getLogger("lead_scoring.bench")

ROUTING_MODELS = ("lead_routing", "lead_owners", "lead_follow_ups", "rep_workload")
SEED = 7
SYNC_TARGET_NAME = "hubspot:routing-bench"  # one sync state across the days' sandbox ports


def bench_routing(
    root: Path,
    leads: int,
    accounts: int,
    events: int,
    routing_leads: int,
    days: int = 30,
    scoring_full_s: float | None = None,
) -> dict[str, float]:
    """Both parts of the section; returns the figures it printed."""
    figures = routing_at_size(root, leads, accounts, events, scoring_full_s)
    figures |= routing_days(root / "routing", routing_leads, days)
    return figures


# -- 1. routing_s --------------------------------------------------------------------------
def routing_at_size(
    root: Path, leads: int, accounts: int, events: int, scoring_full_s: float | None
) -> dict[str, float]:
    """``dbt run`` of the routing marts on the shared simulated home, for its last whole
    day. Without the scoring section's ``scoring_full_s``, the full run is made (and timed)
    here first."""
    home = simulated_home(root, leads, accounts, events)
    settings = bench_settings(home)
    day = _last_whole_day(settings)
    if scoring_full_s is None:
        timed("routing_seed_s", run_dbt, settings, day, "seed")
        scoring_full_s, _ = timed("routing_scoring_full_s", run_dbt, settings, day, "run")
    seconds, _ = timed("routing_s", run_dbt, settings, day, "run", "--select", *ROUTING_MODELS)
    ratio = round(seconds / scoring_full_s, 3)
    emit("routing_vs_scoring_full_ratio", ratio)
    return {"routing_s": seconds, "routing_vs_scoring_full_ratio": ratio}


def _last_whole_day(settings: Settings) -> date:
    from lead_scoring.simulator.reps import simulated_now

    return simulated_now(settings).date() - timedelta(days=1)


# -- 2. thirty simulated days -----------------------------------------------------------------
@contextmanager
def home_sandbox(settings: Settings) -> Iterator[tuple[object, object, object]]:
    """The CRM sandbox on the home's store, the extract's source and the sync's target."""
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.crm_sync import CrmTarget, SyncOptions
    from lead_scoring.sources.extract import CrmSource

    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**7,
                       daily_limit=10**9) as sandbox:  # fmt: skip
        url = sandbox.hubspot_url
        source = CrmSource(url, sandbox.token, max_requests_per_second=10_000)
        target = CrmTarget("hubspot", url, sandbox.token, name=SYNC_TARGET_NAME, source_url=url,
                           options=SyncOptions(max_requests_per_10s=10**6))  # fmt: skip
        yield sandbox, source, target


class _Clock:
    """Wall seconds per stage, summed over the days (logged at the end)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.seconds[name] += time.monotonic() - started

    def line(self) -> str:
        return ", ".join(f"{name} {s:.0f} s" for name, s in self.seconds.items())


def routing_days(home: Path, leads: int, days: int = 30) -> dict[str, float]:
    """Simulate ``leads`` until ``days`` days ago, then run the nightly's stages and the
    simulated reps day by day up to today; print and return the figures."""
    from lead_scoring.crm_sync import preflight, run_sync
    from lead_scoring.simulator import simulate, simulate_next_day
    from lead_scoring.simulator.reps import simulate_rep_follow_ups, simulated_now
    from lead_scoring.sources.extract import extract

    settings = bench_settings(home)
    started = time.monotonic()
    clock = _Clock()
    start = datetime.now(UTC).date() - timedelta(days=days)
    with clock.stage("simulate"):
        simulate(settings, leads=leads, accounts=max(1, leads // 5), end_date=start, seed=SEED)
    first_day = start  # the first as-of date: the day after the history
    sync_runs: dict[date, str] = {}  # as-of date -> the night's sync run
    for number in range(1, days + 1):
        with clock.stage("simulate"):
            simulate_next_day(settings)
        now = simulated_now(settings)
        day = now.date() - timedelta(days=1)  # the whole day just simulated: the as-of date
        with home_sandbox(settings) as (_, source, target):
            with clock.stage("reps"):  # the day's follow-ups, before the pipeline reads them
                worked = simulate_rep_follow_ups(settings, source, now)
            with clock.stage("extract"):
                extract(settings, source)
            with clock.stage("gate"):
                timed_gate(settings, now.date(), f"routing-day-{number}")
            with clock.stage("dbt"):
                if number == 1:  # the seed's roster: its reps' owners are found by e-mail
                    run_dbt(settings, day, "seed")
                    preflight(target, settings)
                run_dbt(settings, day, "run")
            with clock.stage("sync"):
                result = run_sync(settings, target, f"routing-day-{number}")
            sync_runs[day] = result.run_id
            with clock.stage("reps"):  # the owners the sync wrote: assigned at the day's end
                taken = simulate_rep_follow_ups(settings, source, now)
        log.info("bench: routing day %d (%s): reps logged %d follow-ups and %d other"
                 " activities; sync %s, %d rows sent; reps own %d leads, %d new", number, day,
                 worked.follow_ups, worked.decoys, result.status, result.sent, taken.owned,
                 taken.assigned)  # fmt: skip
    log.info("bench: routing days: %s", clock.line())
    figures = routing_figures(settings, first_day, day) | sync_figures(settings, sync_runs)
    figures[f"routing_{days}d_s"] = round(time.monotonic() - started, 1)  # routing_30d_s
    for name, value in figures.items():
        emit(name, value)
    return figures


# -- the figures ------------------------------------------------------------------------------
def sync_figures(settings: Settings, sync_runs: dict[date, str]) -> dict[str, float]:
    """Material-change sync on the nights after the first, over the leads scored the night
    before too: lead rows the CRM confirmed per night (mean), and their share of the leads
    whose stored lead_score changed at all from the night before."""
    nights = sorted(sync_runs)[1:]
    if not nights:
        return {}
    placeholders = ", ".join("?" for _ in nights)
    frame = query_home(
        settings,
        "select count(*) filter (where today.lead_score <> before.lead_score) as changed,"
        " count(log.record_id) as sent"
        " from marts.lead_score_history as today"
        " inner join marts.lead_score_history as before"
        "   on before.lead_id = today.lead_id"
        "   and before.as_of_date = today.as_of_date - interval 1 day"
        " left join (select distinct run_id, record_id from sync.row_log"
        "            where object_type = 'contacts' and status = 'confirmed') as log"
        "   on log.record_id = today.lead_id and log.run_id = case today.as_of_date"
        + "".join(f" when date '{d}' then '{sync_runs[d]}'" for d in nights)
        + f" end where today.as_of_date in ({placeholders})",
        *nights,
    )
    changed, sent = int(frame.at[0, "changed"]), int(frame.at[0, "sent"])
    return {
        "crm_rows_sent_next_day": round(sent / len(nights), 1),
        "crm_rows_material_share": round(sent / changed, 3) if changed else 0.0,
    }


def query_home(settings: Settings, sql: str, *params) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, list(params)).df()


def balance_ratio(
    settings: Settings, first: date, last: date, per_capacity: bool = False
) -> tuple[float, str, pd.DataFrame]:
    """Within each round-robin team (two or more reps who take leads), the most leads one
    rep was assigned over ``first`` .. ``last`` (by any rule: round-robin, fast lane,
    account owner) divided by the fewest; ``per_capacity``: each rep's leads divided by
    its daily capacity first. Returns the worst team's ratio (inf when a rep got none),
    that team, and the leads per rep. The roster is the one the routing read
    (``intermediate.int_sales_reps_resolved``)."""
    roster = query_home(settings, "select rep_id, team, daily_capacity, out_of_office"
                              " from intermediate.int_sales_reps_resolved")  # fmt: skip
    roster["capacity"] = pd.to_numeric(roster["daily_capacity"], errors="coerce").fillna(0)
    available = roster[~roster["out_of_office"].astype(bool) & (roster["capacity"] > 0)]
    assigned = query_home(
        settings,
        "select rep_id, count(*) as leads from marts.lead_routing where rep_id is not null"
        " and as_of_date between ? and ? group by rep_id",
        first, last,
    )  # fmt: skip
    counts = available[["rep_id", "team", "capacity"]].merge(assigned, on="rep_id", how="left")
    counts["leads"] = counts["leads"].fillna(0)
    load = counts["leads"] / counts["capacity"] if per_capacity else counts["leads"]
    teams = load.groupby(counts["team"]).agg(["min", "max", "size"])
    teams = teams[(teams["size"] >= 2) & (teams["max"] > 0)]
    if teams.empty:
        return math.nan, "", counts
    ratios = (teams["max"] / teams["min"]).where(teams["min"] > 0, math.inf)
    return float(ratios.max()), str(ratios.idxmax()), counts


def sla_figures(settings: Settings, as_of_end: datetime) -> dict[str, float]:
    """``marts.lead_follow_ups.is_breached`` against the simulated reps' truth, over the
    assignments due by ``as_of_end`` (matched on lead, rep and assignment time)."""
    from lead_scoring.simulator.reps import load_follow_ups

    truth = load_follow_ups(settings, truth=True)
    truth = truth[(truth["due_at"] <= as_of_end)
                  & (truth["ended_at"].isna() | (truth["ended_at"] > truth["due_at"]))]  # fmt: skip
    marts = query_home(
        settings,
        "select lead_id, rep_id, assigned_at, sla_due_at, is_breached"
        " from marts.lead_follow_ups where sla_due_at <= ?",
        as_of_end.replace(tzinfo=None),
    )
    marts["assigned_at"] = pd.to_datetime(marts["assigned_at"], utc=True)
    keys = ["lead_id", "rep_id", "assigned_at"]
    truth = truth.astype({"lead_id": object, "rep_id": object})
    joined = truth.merge(marts, on=keys, how="outer", indicator=True)
    both = joined[joined["_merge"] == "both"]
    breached = joined["breached"].fillna(False).astype(bool)
    found = joined["is_breached"].fillna(False).astype(bool)
    in_truth = joined["_merge"] != "right_only"
    actual = (breached & in_truth).sum()
    log.info(
        "bench: SLA: %d assignments due in truth, %d in marts.lead_follow_ups, %d matched;"
        " truth: %d breached, %d followed up within the SLA",
        in_truth.sum(), (joined["_merge"] != "left_only").sum(), len(both), actual,
        (~breached & in_truth).sum(),
    )  # fmt: skip
    due = marts["is_breached"].notna()
    return {
        "sla_breach_recall": round(float((breached & found).sum() / actual), 4)
        if actual else math.nan,
        "sla_breach_false_alerts": int((found & ~(breached & in_truth)).sum()),
        "sla_follow_up_within_48h_share": round(1 - float(marts.loc[due, "is_breached"].mean()), 4)
        if due.any() else math.nan,
        "sla_follow_up_within_48h_share_truth": round(1 - float(breached[in_truth].mean()), 4)
        if in_truth.any() else math.nan,
        "sla_assignments_due": int(in_truth.sum()),
        "sla_assignments_unmatched": int((joined["_merge"] != "both").sum()),
    }  # fmt: skip


def routing_figures(settings: Settings, first: date, last: date) -> dict[str, float]:
    ratio, team, counts = balance_ratio(settings, first, last)
    per_capacity, capacity_team, _ = balance_ratio(settings, first, last, per_capacity=True)
    per_rep = ", ".join(f"{r.team}/{r.rep_id} (capacity {r.capacity:g}) {int(r.leads)}"
                        for r in counts.itertuples())  # fmt: skip
    log.info("bench: leads assigned per rep over %s .. %s: %s", first, last, per_rep)
    as_of_end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    figures = {
        "routing_balance_ratio": round(ratio, 3),
        "routing_balance_worst_team": team,
        "routing_balance_ratio_per_capacity": round(per_capacity, 3),
        "routing_balance_per_capacity_worst_team": capacity_team,
    }
    return figures | sla_figures(settings, as_of_end)
