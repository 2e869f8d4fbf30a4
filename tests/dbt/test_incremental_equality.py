"""Proof of equality: nightly incremental runs leave every mart exactly as a full rebuild does.

Two warehouses per engine (DuckDB, PostgreSQL) get the same nightly loads
(ds.equality_load) and the same rules:

* the incremental one runs dbt as a deployment does: `dbt build` of seeds and models on
  day 1 and on the day the seeds change, `dbt run` on the other days. Day 1 builds
  everything; later days carry the decay state (int_subject_events_decayed), the first
  crossings (int_lead_thresholds_first_crossed) and the event staging forward. On days 3
  to 5 it runs twice as of the day, as the nightly and hourly runs do: before the day's
  load arrives (a new date: the input models recompute only the leads with new state rows
  or an input dated where the score dates slid, the dated models every lead), then after
  it, recomputing only the leads whose inputs the load changed (int_leads_to_rescore) and
  carrying every other lead's lead-level rows;
* the reference one runs the same commands with `--full-refresh`: every model that can be
  rebuilt is rebuilt from all of its inputs, every day.

The scenario, as of 2026-11-01, -05, -10, -12 and -14:

1. load 1 (the hand-made dataset), built in full on both sides;
2. load 2: new events; c12's progressive profile, c04 promoted and moved from Small Shop
   (a03) to Norm Co (a05), a03 grown into another size band and industry; and the rules
   change (and stay changed): pricing_page_view worth 7 points with a 10-day half-life in
   event_weights.csv, SDR-ready threshold 90 instead of 100 (model_version changes: the
   incremental side rebuilds its states and rescores everyone);
3. load 3: new events, late arrivals (events that occurred on day 1 and on 11-03 but are
   loaded only now), and c22 quarantined (an e-mail typo) while an event of c22 arrives;
4. load 4: c22 corrected (it leaves the quarantine), new events, Norm Co (a05) changes
   industry; the incremental side has carried its states since day 2 (the rules change);
5. load 5: a new deal for c17, and c41 reaches the CRM, so the gate releases c41's demo
   request (m34), loaded and quarantined (unknown_lead) on day 4: no new raw row brings
   it, staging takes it from quality.released. N = 5: the marts are compared as of day 5,
   and as of each day before it too (snapshots taken after each day's runs).

What "a full rebuild as of day N" means. For the marts that are tables (lead_scores,
account_scores, lead_score_contributions, lead_owners, lead_follow_ups, rep_workload,
crm_records) it is what a `--full-refresh` run as of day N gives, after the same runs of
days 1..N-1. It is not a single run on a fresh warehouse holding loads 1..N:
lead_score_history and lead_routing keep the rows of every as-of date run so far
(full_refresh=false: a rebuild cannot recompute a past day's queue or the scores it
published), the profile history (int_*_versions_captured) records values as each load
brought them, and the first crossings and routing read those histories.
So the reference runs the same as-of dates on the same loads, each one a full rebuild, and
for lead_score_history and lead_routing "a full rebuild as of day N" is their rows for days
1..N, each day's rows written by a full rebuild as of that day; every row of every day is
compared, not only day N's.

Only wall-clock columns (scored_at) are left out. Rows are put in one deterministic order
(by every column) and compared with exact equality: equal, not close.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import scoring_dataset as ds
from scoring_harness import DBT_PROJECT, WarehouseUnderTest, scoring_project

from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

# the module fixtures are built once: these tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("dbt_equality")

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENGINES = ("duckdb", "postgres")
MARTS = sorted(path.stem for path in (DBT_PROJECT / "models" / "marts").glob("*.sql"))
WALL_CLOCK = ["scored_at"]
COMPARED_DAY = 5  # N: the last day of the scenario
DAYS = tuple(range(1, COMPARED_DAY + 1))
SIDES = ("incremental", "reference")
BUILD = ("--resource-type", "seed", "--resource-type", "model")  # no data or unit tests
SEED_DAYS = (1, ds.EQUALITY_RULES_DAY)
# Days the incremental side runs twice as of the same date, as the nightly and hourly runs
# do: first before the day's load arrives (decay brought to the new date for everyone),
# then after it, rescoring only the leads the load changed (macros/rescore.sql).
RESCORE_DAYS = (3, 4, 5)
# carried states -> their key column (the bookkeeping row has '_state' there)
STATES = {
    "int_subject_events_decayed": "event_source",
    "int_lead_thresholds_first_crossed": "lead_id",
}


@dataclass(repr=False)
class EqualityRun:
    """One engine's two warehouses and what they held after each day."""

    engine: str
    project: Path
    warehouses: dict[str, WarehouseUnderTest]
    days: tuple[int, ...]
    marts: dict[tuple[str, int], dict[str, pd.DataFrame]] = field(default_factory=dict)
    built_by: dict[tuple[str, int, str], str] = field(default_factory=dict)
    # int_leads_to_rescore after a side's run of a day: rescore_mode, inputs_mode, leads
    rescored: dict[tuple[str, int], tuple[str, str, int]] = field(default_factory=dict)
    scores: dict[int, pd.DataFrame] = field(default_factory=dict)  # incremental lead_scores
    contributions: dict[int, pd.DataFrame] = field(default_factory=dict)
    process: subprocess.Popen | None = None  # the dbt child under way (PostgreSQL)
    thread: threading.Thread | None = None  # plays the PostgreSQL scenario
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def __repr__(self) -> str:  # shown in failure tracebacks: not the frames
        return f"EqualityRun({self.engine}, days {self.days})"


def _change_rules(project: Path) -> None:
    path = project / "seeds" / "event_weights.csv"
    weights = pd.read_csv(path, dtype=str, keep_default_na=False)
    for event_type, values in ds.EQUALITY_EVENT_WEIGHT_CHANGES.items():
        for column, value in values.items():
            weights.loc[weights["event_type"] == event_type, column] = str(value)
    weights.to_csv(path, index=False)


def _built_by(warehouse: WarehouseUnderTest, state: str, key: str) -> str:
    with open_warehouse(warehouse.settings) as db:
        frame = db.query_df(
            f"select state_built_by from intermediate.{state} where {key} = '_state'"
        )
    return str(frame["state_built_by"].iloc[0])


def _rescored(warehouse: WarehouseUnderTest) -> tuple[str, str, int]:
    """int_leads_to_rescore after a run: its two modes (dated models, input models) and
    for how many leads it recomputed the input rows."""
    with open_warehouse(warehouse.settings) as db:
        frame = db.query_df(
            "select lead_id, rescore_mode, inputs_mode from intermediate.int_leads_to_rescore"
        )
    marker = frame.loc[frame["lead_id"] == "_state"].iloc[0]
    leads = int((frame["lead_id"] != "_state").sum())
    return str(marker["rescore_mode"]), str(marker["inputs_mode"]), leads


def _dbt(run: EqualityRun, warehouse: WarehouseUnderTest, command: str, as_of: str, args,
         extra_vars) -> None:  # fmt: skip
    if run.engine == "duckdb":
        warehouse.dbt(command, as_of, *args, extra_vars=extra_vars)
    else:
        run.process = warehouse.start(command, as_of, *args, extra_vars=extra_vars)
        warehouse.wait(run.process)


def _play(run: EqualityRun) -> None:
    """The run's days on both warehouses: dbt in-process on DuckDB, in a child on
    PostgreSQL."""
    for day in run.days:
        as_of = ds.EQUALITY_DAYS[day]
        if day == ds.EQUALITY_RULES_DAY:
            _change_rules(run.project)
        extra_vars = ds.EQUALITY_RULE_VARS if day >= ds.EQUALITY_RULES_DAY else None
        load = ds.equality_load(day)
        for side, warehouse in run.warehouses.items():
            if run.stop.is_set():
                return
            # seeds on day 1 and when they change, as a deployment does; the models every day
            command, args = ("build", BUILD) if day in SEED_DAYS else ("run", ())
            if side == "reference":
                args = (*args, "--full-refresh")
            elif day in RESCORE_DAYS:
                _dbt(run, warehouse, command, as_of, args, extra_vars)
                run.rescored["new date", day] = _rescored(warehouse)
            warehouse.write_load(load)
            _dbt(run, warehouse, command, as_of, args, extra_vars)
            run.rescored[side, day] = _rescored(warehouse)
            for state, key in STATES.items():
                run.built_by[side, day, state] = _built_by(warehouse, state, key)
            run.marts[side, day] = warehouse.all_marts()
        incremental = run.warehouses["incremental"]
        run.scores[day] = incremental.table("marts", "lead_scores")
        run.contributions[day] = incremental.table("marts", "lead_score_contributions")


def _new_run(
    engine: str, days: tuple[int, ...], work: Path, settings: dict[str, Settings], env=None
) -> EqualityRun:
    project = scoring_project(work / "project")
    for side in SIDES:
        (work / side).mkdir()
    warehouses = {
        side: WarehouseUnderTest(
            settings[side],
            work / side,
            target=engine,
            env=(env or {}).get(side, {}),
            project_dir=project,
        )
        for side in SIDES
    }
    return EqualityRun(engine, project, warehouses, days)


@pytest.fixture(scope="module")
def postgres_started(tmp_path_factory) -> Iterator[EqualityRun]:
    """The PostgreSQL scenario under way in a thread (dbt in child processes), in two
    uniquely named databases dropped at the end of the module."""
    import psycopg2

    work = tmp_path_factory.mktemp("equality_postgres")
    names = {side: f"ls_eq_{side[:3]}_{uuid.uuid4().hex[:10]}" for side in SIDES}
    settings = {
        side: Settings(
            home=work / side / "home",
            warehouse="postgres",
            warehouse_url=f"postgresql://postgres@127.0.0.1:5432/{name}",
        )
        for side, name in names.items()
    }
    env = {side: {"LEAD_SCORING_PG_DATABASE": name} for side, name in names.items()}
    run = _new_run("postgres", DAYS, work, settings, env)
    try:
        admin = psycopg2.connect(PG_ADMIN_URL)
    except psycopg2.OperationalError as exc:
        run.error = exc
        yield run
        return
    admin.autocommit = True

    def play() -> None:
        try:
            _play(run)
        except BaseException as exc:  # reported by the PostgreSQL tests
            run.error = exc

    run.thread = threading.Thread(target=play, name="equality-postgres", daemon=True)
    try:
        with admin.cursor() as cur:
            for name in names.values():
                cur.execute(f"create database {name}")
        run.thread.start()
        yield run
    finally:
        run.stop.set()
        if run.process is not None and run.process.poll() is None:
            run.process.kill()
        if run.thread.is_alive():
            run.thread.join()
        with admin.cursor() as cur:
            for name in names.values():
                cur.execute(f"drop database if exists {name} with (force)")
        admin.close()


@pytest.fixture(scope="module")
def duckdb_run(tmp_path_factory, postgres_started) -> EqualityRun:
    """The DuckDB scenario, in this process. Asks for postgres_started only to start it
    first, so both engines build at once."""
    work = tmp_path_factory.mktemp("equality_duckdb")
    settings = {side: Settings(home=work / side / "home", warehouse="duckdb") for side in SIDES}
    run = _new_run("duckdb", DAYS, work, settings)
    _play(run)
    return run


@pytest.fixture(scope="module")
def postgres_run(request, postgres_started) -> EqualityRun:
    # the DuckDB scenario builds first, beside the PostgreSQL one (its errors are its own)
    with contextlib.suppress(Exception):
        request.getfixturevalue("duckdb_run")
    if postgres_started.thread is not None:
        postgres_started.thread.join()
    if postgres_started.error is not None:
        raise postgres_started.error
    return postgres_started


@pytest.fixture(params=ENGINES)
def run(request) -> EqualityRun:
    return request.getfixturevalue(f"{request.param}_run")


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Wall-clock columns dropped, rows in one order: by every column, as text."""
    frame = frame.drop(columns=WALL_CLOCK, errors="ignore").reset_index(drop=True)
    text = frame.astype(str)
    order = text.sort_values(list(text.columns), kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def _differences(incremental: pd.DataFrame, reference: pd.DataFrame, limit: int = 20) -> str:
    """The rows only one side has (values as text), for the failure message."""
    if list(incremental.columns) != list(reference.columns):
        return f"columns: {list(incremental.columns)} != {list(reference.columns)}"
    merged = incremental.astype(str).merge(reference.astype(str), how="outer", indicator=True)
    merged = merged.loc[merged["_merge"] != "both"]
    merged["_merge"] = merged["_merge"].map(
        {"left_only": "incremental only", "right_only": "reference only"}
    )
    with pd.option_context("display.width", 250, "display.max_columns", None):
        return f"{len(merged)} rows differ:\n{merged.head(limit).to_string()}"


def assert_marts_equal(run: EqualityRun, day: int, mart: str) -> None:
    incremental = _comparable(run.marts["incremental", day][mart])
    reference = _comparable(run.marts["reference", day][mart])
    assert len(reference) > 0, f"{mart} is empty: the comparison would prove nothing"
    try:
        pd.testing.assert_frame_equal(incremental, reference, check_exact=True)
    except AssertionError as exc:
        raise AssertionError(
            f"{run.engine}: {mart} as of day {day}, incremental != full rebuild: {exc}\n"
            + _differences(incremental, reference)
        ) from None


@pytest.mark.parametrize("mart", MARTS)
def test_every_mart_equals_a_full_rebuild(run, mart):
    """As of day N, and as of each day before it too."""
    failures = []
    for day in range(1, COMPARED_DAY + 1):
        try:
            assert_marts_equal(run, day, mart)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)


def test_incremental_side_carried_its_states(run):
    """The comparison is between carried and rebuilt states: the incremental side rebuilt
    them on day 1 and for the rules change (day 2) only."""
    carried = {1: "rebuild", 2: "rebuild", 3: "carry", 4: "carry", 5: "carry"}
    expected = {
        "int_subject_events_decayed": carried,
        # the second run of a day recomputes the leads it rescores from their history
        "int_lead_thresholds_first_crossed": carried | dict.fromkeys(RESCORE_DAYS, "rescore"),
    }
    for state in STATES:
        built_by = {day: run.built_by["incremental", day, state] for day in run.days}
        assert built_by == {day: expected[state][day] for day in run.days}, state
        assert {run.built_by["reference", day, state] for day in run.days} == {"rebuild"}


def test_runs_recomputed_only_what_they_had_to(run):
    """On a rescore day, the first run (a new date) recomputed the input rows of some
    leads, not all, and the dated rows of every lead; the second (the same date, after
    the load) recomputed both for some leads only. So the equality above covers carried
    input rows and carried dated rows. The first day, the rules change and every
    --full-refresh run recomputed everything."""
    leads = {day: len(frame) for day, frame in run.scores.items()}
    new_date_inputs = 0
    for day in run.days:
        assert run.rescored["reference", day] == ("all", "all", 0), day
        rescore_mode, inputs_mode, rescored = run.rescored["incremental", day]
        if day in RESCORE_DAYS:
            assert (rescore_mode, inputs_mode) == ("changed", "changed"), day
            assert 0 < rescored < leads[day], (day, rescored, leads[day])
            rescore_mode, inputs_mode, rescored = run.rescored["new date", day]
            assert (rescore_mode, inputs_mode) == ("all", "changed"), day
            assert rescored < leads[day], (day, rescored, leads[day])
            new_date_inputs += rescored
        else:
            assert (rescore_mode, inputs_mode, rescored) == ("all", "all", 0), day
    assert new_date_inputs > 0  # some new date recomputed some leads' input rows


def test_scenario_changes_reached_the_marts(run):
    """Each day's change shows in the incremental side's marts (so equality is not vacuous)."""
    scores = {day: frame.set_index("lead_id") for day, frame in run.scores.items()}
    versions = [set(scores[day]["model_version"]) for day in run.days]
    assert all(len(version) == 1 for version in versions)
    assert versions[0] != versions[1]  # the rules changed on day 2 ...
    assert all(version == versions[1] for version in versions[1:])  # ... and stay changed
    assert scores[1].loc["c04", "account_id"] == "a03"
    assert scores[2].loc["c04", "account_id"] == "a05"  # moved
    assert "c22" in scores[2].index and "c22" not in scores[3].index  # quarantined
    assert "c22" in scores[4].index  # corrected
    assert scores[4].loc["c17", "lifecycle_stage"] == "mql"
    assert scores[5].loc["c17", "lifecycle_stage"] == "sql"  # its deal, on a rescore day

    def events(day: int, lead_id: str, signal: str) -> int:
        frame = run.contributions[day]
        rows = frame.loc[(frame["lead_id"] == lead_id) & (frame["signal"] == signal)]
        return int(rows["event_count"].sum())

    assert events(3, "c26", "pricing_page_view") == events(2, "c26", "pricing_page_view") + 1
    assert events(3, "c17", "integration_connected") == 1  # late, from day 1
    assert events(4, "c22", "demo_request") == 1  # arrived while c22 was quarantined
    assert events(4, "c41", "demo_request") == 0  # quarantined: c41 unknown ...
    assert events(5, "c41", "demo_request") == 1  # ... released once c41 arrived
