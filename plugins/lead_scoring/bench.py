"""``lead-scoring bench`` (``make bench``): the long benchmarks, as ``name=value`` lines.

Sections (docs/benchmarks.md): simulate, quality, scoring, routing, sync, calibration,
realdata, and salesforce when asked for (docs/crm-sync.md). Sizes and the sections to run
come from environment variables (``LEAD_SCORING_BENCH_*``); every section works in a
temporary home under ``LEAD_SCORING_BENCH_DIR``, removed afterwards unless
``LEAD_SCORING_BENCH_KEEP=1``.
Progress goes to stderr as log lines, figures to stdout.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from lead_scoring.settings import Settings

log = logging.getLogger("lead_scoring.bench")

SECTIONS = ("simulate", "quality", "scoring", "spark", "incremental", "routing", "sync",
            "calibration", "realdata", "salesforce")  # fmt: skip
# On request only (make bench stays under an hour): incremental (a first CRM sync of every
# lead, a nightly and an hourly DAG run through Airflow, twice the history: about 30 minutes
# at the reference size; make bench-incremental) and salesforce (simulates and extracts the
# workload twice more, about 12 minutes).
DEFAULT_SECTIONS = tuple(s for s in SECTIONS if s not in ("spark", "incremental", "salesforce"))
SIZES = {
    "LEAD_SCORING_BENCH_LEADS": 1_000_000,
    "LEAD_SCORING_BENCH_ACCOUNTS": 200_000,
    "LEAD_SCORING_BENCH_EVENTS": 30_000_000,
    "LEAD_SCORING_BENCH_SYNC_ROWS": 100_000,
    "LEAD_SCORING_BENCH_CALIBRATION_LEADS": 200_000,
    "LEAD_SCORING_BENCH_COPIES": 1,
    "LEAD_SCORING_BENCH_ROUTING_LEADS": 10_000,  # the routing section's 30 simulated days
    "LEAD_SCORING_BENCH_ROUTING_DAYS": 30,
}
END_DATE = date(2026, 6, 1)  # the simulated history ends here (00:00 UTC)
FLOOR_SQL = Path(__file__).with_name("scoring_floor.sql")
FLOOR_TABLE = "main.scoring_floor"


class BenchConfigError(ValueError):
    """A LEAD_SCORING_BENCH_* variable has a value the benchmark cannot use."""


def _size(name: str) -> int:
    text = os.environ.get(name, "").strip().replace(",", "").replace("_", "")
    if not text:
        return SIZES[name]
    if not text.isdigit() or int(text) < 1:
        raise BenchConfigError(f"{name} must be a positive whole number, got {text!r}")
    return int(text)


def _sections() -> list[str]:
    text = os.environ.get("LEAD_SCORING_BENCH_ONLY", "").strip()
    chosen = [s.strip() for s in text.split(",") if s.strip()] if text else list(DEFAULT_SECTIONS)
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        raise BenchConfigError(
            f"LEAD_SCORING_BENCH_ONLY names unknown section {unknown[0]!r}"
            f" (choose from {', '.join(SECTIONS)})"
        )
    for later in ("spark", "incremental"):  # they go on from the scoring section's home
        if later in chosen and "scoring" not in chosen:
            chosen.insert(chosen.index(later), "scoring")
    return chosen


def emit(name: str, value: object) -> None:
    print(f"{name}={value}", flush=True)


def bench() -> None:
    """Run the benchmarks and print name=value lines (sizes and sections: LEAD_SCORING_BENCH_*
    environment variables, see docs/benchmarks.md)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        sections = _sections()
        leads, accounts, events = (_size(n) for n in list(SIZES)[:3])
        sync_rows, calibration_leads, copies, routing_leads, routing_days = (
            _size(n) for n in list(SIZES)[3:]
        )
    except BenchConfigError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    parent = os.environ.get("LEAD_SCORING_BENCH_DIR") or None
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="lead-scoring-bench-", dir=parent))
    tempfile.tempdir = str(root)  # the section functions' own temp homes go here too
    started = time.monotonic()
    figures: dict[str, float] = {}  # what a later section compares with
    try:
        for section in sections:
            log.info("bench: section %s (%s leads, %s accounts, %s events) in %s",
                     section, f"{leads:,}", f"{accounts:,}", f"{events:,}", root)  # fmt: skip
            section_started = time.monotonic()
            if section == "simulate":
                from lead_scoring.simulator.bench import bench_simulate

                bench_simulate(leads=leads, accounts=accounts, events=events)
            elif section == "quality":
                from lead_scoring.quality.bench import bench_quality

                bench_quality(leads=leads)
                home = simulated_home(root, leads, accounts, events)
                _quality_eval(home)
            elif section == "scoring":
                home = simulated_home(root, leads, accounts, events)
                figures |= bench_scoring(home, copies)
            elif section == "spark":
                from lead_scoring.spark_bench import bench_spark

                if "scoring_incremental_s" not in figures:  # copies: no next day to compare
                    log.info("bench: section spark skipped (LEAD_SCORING_BENCH_COPIES)")
                    continue
                home = simulated_home(root, leads, accounts, events)
                figures |= bench_spark(
                    bench_settings(home), END_DATE, figures.get("scoring_full_s")
                )
            elif section == "incremental":
                from lead_scoring.incremental_bench import bench_end_to_end

                if "scoring_incremental_s" not in figures:  # copies: no next day to go on from
                    log.info("bench: section incremental skipped (LEAD_SCORING_BENCH_COPIES)")
                    continue
                home = simulated_home(root, leads, accounts, events)
                figures |= bench_end_to_end(bench_settings(home))
                figures |= bench_history(home, figures["scoring_incremental_s"])
            elif section == "routing":
                from lead_scoring.routing_bench import bench_routing

                bench_routing(root, leads, accounts, events, routing_leads, routing_days,
                              figures.get("scoring_full_s"))  # fmt: skip
            elif section == "sync":
                from lead_scoring.crm_sync.bench import bench_sync

                bench_sync(n=sync_rows, rate_per_10s=190)
            elif section == "calibration":
                from lead_scoring.calibration.bench import bench_calibration

                bench_calibration(leads=calibration_leads, home=root / "calibration")
            elif section == "salesforce":
                from lead_scoring.crm_sync.bench import bench_salesforce

                bench_salesforce(leads, accounts, round_trip_leads=sync_rows)
            else:
                from lead_scoring.byod.bench import bench_realdata

                bench_realdata(root / "realdata")
            log.info(
                "bench: section %s done in %.0f s", section, time.monotonic() - section_started
            )
    finally:
        tempfile.tempdir = None
        if os.environ.get("LEAD_SCORING_BENCH_KEEP") == "1":
            log.info("bench: kept %s", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    log.info("bench: finished in %.0f s", time.monotonic() - started)


# -- the simulated dataset (shared by the quality evaluation and the scoring section) -------
def bench_settings(home: Path) -> Settings:
    return replace(Settings(), home=home, warehouse="duckdb", product_db_url=None)


def simulated_home(root: Path, leads: int, accounts: int, events: int) -> Path:
    """Simulate, extract over HTTP from the CRM sandbox and run the gate, once per bench run."""
    home = root / "simulated"
    if (home / "warehouse.duckdb").exists():
        return home
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.simulator import simulate
    from lead_scoring.sources.extract import CrmSource, extract

    settings = bench_settings(home)
    started = time.monotonic()
    simulate(settings, leads=leads, accounts=accounts, events=events, end_date=END_DATE, seed=7)
    emit("scoring_simulate_s", round(time.monotonic() - started, 1))
    started = time.monotonic()
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**7) as sb:
        extract(settings, CrmSource(sb.hubspot_url, sb.token, max_requests_per_second=10_000))
    emit("scoring_extract_s", round(time.monotonic() - started, 1))
    timed_gate(settings, END_DATE, "bench-day-1", "scoring_gate_s", "dq_full_gate_peak_rss_mb")
    return home


# The simulated history ends in the past: no source is judged stale (unless the caller's
# environment sets the limit).
BENCH_FRESHNESS = {"LEAD_SCORING_DQ_MAX_SOURCE_AGE_HOURS": "100000"}


def bench_env() -> dict[str, str]:
    """This process's environment with the bench's freshness limit as a default."""
    return BENCH_FRESHNESS | dict(os.environ)


GATE_SECONDS: dict[str, float] = {}  # figure -> seconds of the gates run so far


def timed_gate(
    settings: Settings,
    day: date,
    run_id: str,
    figure: str | None = None,
    rss_figure: str | None = None,
) -> float:
    """The quality gate as of ``day`` (00:00 UTC); its seconds printed as ``figure``. With
    ``rss_figure``, a full gate as a child process (``lead-scoring quality-check --full``),
    whose own peak RSS is printed under that name."""
    from lead_scoring.quality import QualityGateFailed, run_quality_gate
    from lead_scoring.quality.config import load_config

    as_of = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if not rss_figure:
        import great_expectations  # noqa: F401  (imported once per process, not part of a run)
    started = time.monotonic()
    # the bench goes on after a failed gate: the figures say how far it got
    if rss_figure:
        command = [str(Path(sys.executable).with_name("lead-scoring")), "quality-check",
                   "--full", "--as-of", as_of.isoformat(), "--run-id", run_id]  # fmt: skip
        env = bench_env() | {"LEAD_SCORING_HOME": str(settings.home),
                             "LEAD_SCORING_WAREHOUSE": settings.warehouse}  # fmt: skip
        try:
            _, rss_kb = measured(command, env)
        except RuntimeError as exc:
            if "(exit 1)" not in str(exc):  # 1: a batch gate failed; anything else stops
                raise
            log.warning("bench: %s", exc)
        else:
            emit(rss_figure, round(rss_kb / 1024))
    else:
        try:
            run_quality_gate(settings, run_id, as_of, config=load_config(bench_env()))
        except QualityGateFailed as exc:
            log.warning("bench: %s", exc)
    seconds = round(time.monotonic() - started, 1)
    if figure:
        emit(figure, seconds)
        GATE_SECONDS[figure] = seconds
    return seconds


def _quality_eval(home: Path) -> None:
    from lead_scoring.quality.evaluate import evaluate, summary

    for name, value in summary(evaluate(bench_settings(home))).items():
        emit(name, round(value, 4))


# -- copies of the simulated dataset (the 10M-lead run) ----------------------------------
def _copy_id(column: str) -> str:
    return f"cast(copies.k as varchar) || {column}"  # CRM ids have 9 digits: no collision


def _copy_number(column: str) -> str:
    return f"{column} + copies.k * 10000000000"


def _copy_email(column: str) -> str:
    return f"regexp_replace({column}, '@', '+copy' || copies.k || '@')"


def _copy_record_id(column: str) -> str:
    number = f"cast({_copy_number(f'cast({column} as bigint)')} as varchar)"
    return (
        f"case when record_type in ('product_event', 'product_user') then {number}"
        f" when record_type = 'marketing_event' then copies.k || ':' || {column}"
        f" else {_copy_id(column)} end"
    )


COPIED_COLUMNS = {  # table -> column -> how copy k makes its value; others are kept
    "raw.crm_contacts": {"hs_object_id": _copy_id, "email": _copy_email,
                         "associatedcompanyid": _copy_id},
    "raw.crm_companies": {"hs_object_id": _copy_id},
    "raw.crm_deals": {"hs_object_id": _copy_id, "ls_contact_id": _copy_id,
                      "associatedcompanyid": _copy_id},
    "raw.product_users": {"user_id": _copy_number, "email": _copy_email},
    "raw.product_events": {"event_id": _copy_number, "user_id": _copy_number},
    "raw.marketing_events": {"event_id": lambda c: f"copies.k || ':' || {c}",
                             "contact_id": _copy_id},
    "quality.quarantine": {"record_id": _copy_record_id},
    "quality.record_flags": {"record_id": _copy_record_id},
    "quality.normalised_values": {"record_id": _copy_record_id},
    "quality.duplicate_leads": {"record_id": _copy_id, "survivor_id": _copy_id},
}  # fmt: skip


def replicate(settings: Settings, copies: int) -> None:
    """Grow the extracted and gated dataset to ``copies`` times its size, in place: copy k
    (1 .. copies - 1) of every lead, account, deal, user and event gets its own ids, and
    e-mails tagged ``+copy<k>``, with the same dates and values. The gate's verdicts
    (quarantine, flags, normalisations, duplicates) are copied with them, so the copies
    score exactly like the original. For sizes the simulator and the CRM sandbox would
    take hours to produce (10M leads / 300M events)."""
    import duckdb

    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("set enable_progress_bar = false")
        for table, columns in COPIED_COLUMNS.items():
            schema, name = table.split(".")
            present = {row[0] for row in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ?",
                [schema, name]).fetchall()}  # fmt: skip
            replaced = [f"{make(c)} as {c}" for c, make in columns.items() if c in present]
            if "_dlt_id" in present:
                replaced.append("_dlt_id || '-' || copies.k as _dlt_id")
            started = time.monotonic()
            con.execute(
                f"insert into {table} select source.* replace ({', '.join(replaced)})"
                f" from {table} as source cross join range(1, {copies}) as copies(k)"
            )
            log.info("bench: %s x%s (%.0f s)", table, copies, time.monotonic() - started)


# -- scoring (issue 3) ----------------------------------------------------------------------
def dbt_command(settings: Settings, as_of: date, *args: str) -> tuple[list[str], dict]:
    """``dbt <args>`` as of ``as_of`` on the settings' warehouse (its dbt target; target and
    log folders of the home per warehouse): the command and its environment."""
    project = str(settings.dbt_project_dir)
    suffix = "" if settings.warehouse == "duckdb" else f"_{settings.warehouse}"
    command = [
        str(Path(sys.executable).with_name("dbt")), *args, "--target", settings.dbt_target,
        "--project-dir", project, "--profiles-dir", project,
        "--target-path", str(settings.home / f"dbt_target{suffix}"),
        "--log-path", str(settings.home / f"dbt_logs{suffix}"),
        "--vars", json.dumps({"lead_scoring__as_of_date": as_of.isoformat()}), "--quiet",
    ]  # fmt: skip
    return command, os.environ | {"LEAD_SCORING_HOME": str(settings.home), "DO_NOT_TRACK": "1"}


def run_dbt(settings: Settings, as_of: date, *args: str) -> int:
    """``dbt <args>`` as a child process; returns its peak RSS in MB (failure raises)."""
    _, rss_kb = measured(*dbt_command(settings, as_of, *args))
    return round(rss_kb / 1024)


def measured(command: list[str], env: dict[str, str] | None = None) -> tuple[str, int]:
    """Run ``command`` through ``lead_scoring.peak_rss``: (its output, its own peak RSS in
    KB, not counting the benchmark's memory). A failing command raises with its output."""
    wrapped = [sys.executable, "-m", "lead_scoring.peak_rss", *command]
    process = subprocess.run(wrapped, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             check=False)  # fmt: skip
    output = process.stdout.decode(errors="replace")
    body, _, last = output.rstrip("\n").rpartition("\n")
    if process.returncode != 0 or not last.startswith("peak_rss_kb="):
        name = f"{Path(command[0]).name} {command[1]}"
        raise RuntimeError(f"{name} failed (exit {process.returncode}):\n{output}")
    return body, int(last.removeprefix("peak_rss_kb="))


def run_floor(settings: Settings, as_of: date) -> None:
    """The hand-written floor query, materialised as ``main.scoring_floor``."""
    import duckdb

    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("set enable_progress_bar = false")  # stdout carries name=value lines only
        con.execute(f"create or replace table {FLOOR_TABLE} as {FLOOR_SQL.read_text()}",
                    {"as_of": as_of.isoformat()})  # fmt: skip


def timed(figure: str, call, *args) -> tuple[float, object]:
    log.info("bench: %s ...", figure)
    started = time.monotonic()
    result = call(*args)
    seconds = round(time.monotonic() - started, 2)
    emit(figure, seconds)
    return seconds, result


def lead_score_auc(settings: Settings) -> float:
    """ROC AUC of marts.lead_scores.lead_score against won (1) / lost (0), leads with an outcome."""
    import duckdb
    from sklearn.metrics import roc_auc_score

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        frame = con.execute(
            "select s.lead_score, t.is_won from marts.lead_scores as s"
            " inner join read_parquet(?) as t on cast(t.contact_id as varchar) = s.lead_id"
            " where t.is_won or t.is_lost",
            [str(settings.truth_dir / "leads.parquet")],
        ).df()
    if frame["is_won"].nunique() < 2:
        return float("nan")
    return float(roc_auc_score(frame["is_won"].astype(int), frame["lead_score"].astype(float)))


def _count(settings: Settings, table: str) -> int:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(f"select count(*) from {table}").fetchone()[0]


def bench_scoring(home: Path, copies: int = 1) -> dict[str, float]:
    """Full dbt run, tests, the floor query, then the next day's incremental run. With
    ``copies`` > 1 the dataset is first replicated that many times (``replicate``), and the
    next day is skipped: the simulator cannot extend the copies."""
    settings = bench_settings(home)
    day = END_DATE - timedelta(days=1)  # the last whole simulated day
    if copies > 1:
        timed("scoring_replicate_s", replicate, settings, copies)
    _, seed_rss = timed("scoring_seed_s", run_dbt, settings, day, "seed")
    full, full_rss = timed("scoring_full_s", run_dbt, settings, day, "run")
    _, test_rss = timed("scoring_tests_s", run_dbt, settings, day, "test")
    floor, _ = timed("scoring_floor_s", run_floor, settings, day)
    emit("scoring_full_vs_floor_ratio", round(full / floor, 2))
    auc = round(lead_score_auc(settings), 4)
    emit("lead_score_auc", auc)
    if copies > 1:
        emit("scoring_leads", _count(settings, "marts.lead_scores"))
        emit("scoring_events", _count(settings, "intermediate.int_events_unioned"))
        emit("scoring_peak_rss_mb", max(seed_rss, full_rss, test_rss))
        return {"scoring_full_s": full, "scoring_floor_s": floor, "lead_score_auc": auc}

    next_day = _next_day(settings, END_DATE + timedelta(days=1), "scoring_next_day")
    if GATE_SECONDS.get("scoring_gate_s"):
        emit("dq_next_day_gate_vs_full_ratio", round(next_day / GATE_SECONDS["scoring_gate_s"], 3))
    incremental, incremental_rss = timed("scoring_incremental_s", run_dbt, settings,
                                          END_DATE, "run")  # fmt: skip
    figures = {
        "scoring_incremental_vs_full_ratio": round(incremental / full, 3),
        "scoring_peak_rss_mb": max(seed_rss, full_rss, test_rss, incremental_rss),
        "scoring_run_peak_rss_mb": full_rss,
    }
    for name, value in figures.items():
        emit(name, value)
    return figures | {"scoring_full_s": full, "scoring_incremental_s": incremental,
                      "scoring_floor_s": floor, "lead_score_auc": auc}  # fmt: skip


def bench_history(home: Path, incremental_s: float) -> dict[str, float]:
    """Twice the event history (``double_history``), rebuilt in full, then one more
    simulated day and its incremental ``dbt run``, whose seconds over ``incremental_s``
    (the same run with the history as simulated) is the ratio printed."""
    settings = bench_settings(home)
    last = _last_day(settings)
    log.info("bench: twice the event history, rebuilt as of %s, then the next day", last)
    timed("scoring_double_history_s", double_history, settings)
    timed("scoring_2x_history_full_s", run_dbt, settings, last, "run", "--full-refresh")
    _next_day(settings, last + timedelta(days=2), "scoring_2x_history_next_day")
    doubled, _ = timed("scoring_2x_history_incremental_s", run_dbt, settings,
                        _last_day(settings), "run")  # fmt: skip
    ratio = round(doubled / incremental_s, 3)
    emit("scoring_incremental_2x_history_ratio", ratio)
    return {"scoring_2x_history_incremental_s": doubled,
            "scoring_incremental_2x_history_ratio": ratio}  # fmt: skip


def _last_day(settings: Settings) -> date:
    """The day the simulation's end falls in (the day before, when it ends at midnight)."""
    from lead_scoring.simulator.reps import simulated_now

    return (simulated_now(settings) - timedelta(microseconds=1)).date()


def _next_day(settings: Settings, gate_day: date, prefix: str) -> float:
    """One more simulated day, extracted from the CRM sandbox and gated as of ``gate_day``;
    prints ``<prefix>_extract_s`` and ``<prefix>_gate_s`` and returns the gate's seconds."""
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.simulator import simulate_next_day
    from lead_scoring.sources.extract import CrmSource, extract

    log.info("bench: next simulated day, extract and gate (%s)", prefix)
    simulate_next_day(settings)
    started = time.monotonic()
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**7) as sb:
        extract(settings, CrmSource(sb.hubspot_url, sb.token, max_requests_per_second=10_000))
    emit(f"{prefix}_extract_s", round(time.monotonic() - started, 1))
    return timed_gate(settings, gate_day, f"bench-{prefix}", f"{prefix}_gate_s")


HISTORY_ID_OFFSET = 10**15  # product event ids of the doubled history: beyond any copy's


def double_history(settings: Settings) -> None:
    """Twice the event history, in place: every raw event not in quarantine again, as many
    days earlier as the history spans (its first event to the last simulated day), with
    an id of its own and its original load id. Staging and the decay state must then be
    rebuilt (``dbt run --full-refresh``): they read only loads they have not seen."""
    import duckdb

    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("set enable_progress_bar = false")
        firsts = [f"(select min(cast(occurred_at as date)) from raw.{table})"
                  for table in ("product_events", "marketing_events")]  # fmt: skip
        days = con.execute(
            f"select date_diff('day', least({', '.join(firsts)}), ?) + 1", [END_DATE]
        ).fetchone()[0]
        for table, record_type, new_id in (
            ("product_events", "product_event", f"event_id + {HISTORY_ID_OFFSET}"),
            ("marketing_events", "marketing_event", "'h:' || event_id"),
        ):
            started = time.monotonic()
            con.execute(
                f"insert into raw.{table} select source.* replace ({new_id} as event_id,"
                f" occurred_at - interval {days} day as occurred_at, _dlt_id || '-h' as _dlt_id)"
                f" from raw.{table} as source where not exists (select 1 from quality.quarantine"
                f" as q where q.record_type = '{record_type}'"
                f" and q.record_id = cast(source.event_id as varchar))"
            )
            log.info("bench: raw.%s history doubled, %s days earlier (%.0f s)", table, days,
                     time.monotonic() - started)  # fmt: skip
