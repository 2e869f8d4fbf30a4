"""``lead-scoring bench``: a tiny run of the scoring section, and the floor query against dbt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lead_scoring.bench import (
    END_DATE,
    HISTORY_ID_OFFSET,
    BenchConfigError,
    _sections,
    _size,
    bench_history,
    bench_settings,
    replicate,
    run_dbt,
    run_floor,
)

pytestmark = pytest.mark.xdist_group("bench")

SCORING_KEYS = {
    "scoring_simulate_s", "scoring_extract_s", "scoring_gate_s", "scoring_seed_s",
    "scoring_full_s", "scoring_tests_s", "scoring_floor_s", "scoring_full_vs_floor_ratio",
    "lead_score_auc", "scoring_next_day_extract_s", "scoring_next_day_gate_s",
    "scoring_incremental_s", "scoring_incremental_vs_full_ratio", "scoring_peak_rss_mb",
    "scoring_run_peak_rss_mb", "dq_next_day_gate_vs_full_ratio", "dq_full_gate_peak_rss_mb",
}  # fmt: skip
SPARK_KEYS = {
    "spark_publish_s", "spark_seed_s", "spark_full_s", "spark_incremental_s",
    "spark_vs_duckdb_full_ratio", "spark_scores_max_abs_diff", "spark_peak_rss_mb",
    "spark_leads_scored",
}  # fmt: skip
BENCH = "import typer; from lead_scoring.bench import bench; typer.run(bench)"


def _scoring_bench(root: Path, timeout: int = 600, **extra: str) -> tuple[dict[str, str], Path]:
    """``bench``, scoring section only, on 300 leads, its home kept under ``root``;
    ``extra``: more LEAD_SCORING_BENCH_* variables. (figures printed, the kept home)."""
    env = os.environ | {
        "LEAD_SCORING_BENCH_LEADS": "300", "LEAD_SCORING_BENCH_ACCOUNTS": "60",
        "LEAD_SCORING_BENCH_EVENTS": "9000", "LEAD_SCORING_BENCH_ONLY": "scoring",
        "LEAD_SCORING_BENCH_DIR": str(root), "LEAD_SCORING_BENCH_KEEP": "1",
    } | {f"LEAD_SCORING_BENCH_{name}": value for name, value in extra.items()}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", BENCH], env=env, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    figures = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    (home,) = root.glob("lead-scoring-bench-*/simulated")
    return figures, home


@pytest.fixture(scope="session")
def kept_run(tmp_path_factory) -> tuple[dict[str, str], Path]:
    """``bench`` on 300 leads, scoring section only, its home kept for inspection. Session
    scope: a worker that runs other modules' tests in between keeps it (module scope would
    build it again)."""
    return _scoring_bench(tmp_path_factory.mktemp("bench"), EVENTS="9,000")


def _frame(home: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).df()


def _assert_same_scores(floor: pd.DataFrame, dbt: pd.DataFrame, key: str, columns: list[str]):
    joined = floor.merge(dbt, on=key, how="outer", suffixes=("_floor", "_dbt"), indicator=True)
    assert (joined["_merge"] == "both").all(), joined[joined["_merge"] != "both"].head()
    for column in columns:
        gap = joined[f"{column}_floor"].astype(float) - joined[f"{column}_dbt"].astype(float)
        assert gap.abs().max() <= 1e-6, joined.loc[gap.abs() > 1e-6].head()


def test_bench_prints_every_scoring_figure(kept_run):
    figures, _ = kept_run
    assert SCORING_KEYS <= figures.keys()
    numbers = {name: float(figures[name]) for name in SCORING_KEYS}
    assert 0.0 <= numbers["lead_score_auc"] <= 1.0
    assert numbers["scoring_peak_rss_mb"] >= numbers["scoring_run_peak_rss_mb"] > 0
    assert numbers["dq_full_gate_peak_rss_mb"] > 0
    assert numbers["dq_next_day_gate_vs_full_ratio"] == pytest.approx(
        numbers["scoring_next_day_gate_s"] / numbers["scoring_gate_s"], abs=0.01
    )


def test_floor_table_of_the_full_run_equals_that_dates_dbt_scores(kept_run):
    """The floor the bench timed (first as-of date) against dbt's rows for that date."""
    _, home = kept_run
    day = (END_DATE - timedelta(days=1)).isoformat()
    floor = _frame(home, "select lead_id, fit_score, pain_score, lead_score"
                         " from main.scoring_floor where row_kind = 'lead'")  # fmt: skip
    dbt = _frame(home, "select lead_id, fit_score, pain_score, lead_score from"
                       f" marts.lead_score_history where as_of_date = '{day}'")  # fmt: skip
    assert len(floor) > 200
    _assert_same_scores(floor, dbt, "lead_id", ["fit_score", "pain_score", "lead_score"])


def test_floor_query_equals_marts_after_the_incremental_run(kept_run):
    """Every lead's fit, pain and lead score, and every account's score, as in the marts."""
    _, home = kept_run
    run_floor(bench_settings(home), END_DATE)
    floor = _frame(home, "select * from main.scoring_floor")
    leads = _frame(home, "select lead_id, account_id, fit_score, pain_score, lead_score"
                         " from marts.lead_scores")  # fmt: skip
    accounts = _frame(home, "select account_id, account_score from marts.account_scores")
    lead_rows = floor[floor["row_kind"] == "lead"]
    _assert_same_scores(lead_rows.drop(columns=["row_kind", "account_score"]), leads, "lead_id",
                        ["fit_score", "pain_score", "lead_score"])  # fmt: skip
    account_rows = floor.loc[floor["row_kind"] == "account", ["account_id", "account_score"]]
    _assert_same_scores(account_rows, accounts, "account_id", ["account_score"])
    assert (leads["pain_score"] != 0).any() and (accounts["account_score"] > 0).any()


@pytest.mark.skipif(os.environ.get("LEAD_SCORING_SPARK_TESTS") != "1",
                    reason="a local Spark, several minutes: make test-spark")
def test_spark_section_scores_every_lead_as_duckdb_does(tmp_path):
    """The scoring section's home published to a local Spark and scored there twice: the
    same SDR-ready leads and scores within 1e-6 of DuckDB's, every figure printed."""
    figures, home = _scoring_bench(tmp_path, timeout=1800, ONLY="spark", EVENTS="9,000")
    assert SPARK_KEYS <= figures.keys()
    assert float(figures["spark_scores_max_abs_diff"]) <= 1e-6
    leads = _frame(home, "select count(*) as n from marts.lead_scores")["n"].item()
    assert int(figures["spark_leads_scored"]) == leads > 200
    assert float(figures["spark_peak_rss_mb"]) > 300  # dbt and its Spark JVM
    assert float(figures["spark_vs_duckdb_full_ratio"]) == pytest.approx(
        float(figures["spark_full_s"]) / float(figures["scoring_full_s"]), abs=0.01)


def test_bad_sizes_and_sections_are_named(monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_BENCH_LEADS", "1e6")
    with pytest.raises(BenchConfigError, match="LEAD_SCORING_BENCH_LEADS.*'1e6'"):
        _size("LEAD_SCORING_BENCH_LEADS")
    monkeypatch.setenv("LEAD_SCORING_BENCH_LEADS", "1_000")
    assert _size("LEAD_SCORING_BENCH_LEADS") == 1000
    monkeypatch.setenv("LEAD_SCORING_BENCH_ONLY", "scoring, sinc")
    with pytest.raises(BenchConfigError, match="unknown section 'sinc'"):
        _sections()


def test_peak_rss_is_the_commands_own_not_the_benchmarks():
    """A command started straight from a large process reports that process's memory as
    its own ru_maxrss; `measured` starts it from a small one."""
    from lead_scoring.bench import measured

    held = bytearray(600 * 1024 * 1024)
    held[::4096] = b"\1" * len(held[::4096])  # touch every page: 600 MB resident
    small = [sys.executable, "-c", "print('done')"]
    child = subprocess.Popen(small, stdout=subprocess.DEVNULL)
    _, _, direct = os.wait4(child.pid, 0)
    output, own_kb = measured(small)
    assert direct.ru_maxrss > 500 * 1024  # what the old measure reported
    assert own_kb < 100 * 1024 and output.strip() == "done"
    with pytest.raises(RuntimeError, match="exit 3"):
        measured([sys.executable, "-c", "import sys; sys.exit(3)"])
    del held


def test_doubled_history_is_scored_like_the_floor(kept_run, tmp_path, capsys):
    """``bench_history`` on a copy of the kept home: every clean product event again, as
    many days earlier as the history spans, staged; the ratio printed; and after the
    incremental run over twice the history, the marts equal the floor query."""
    home = tmp_path / "doubled"
    shutil.copytree(kept_run[1], home, ignore=shutil.ignore_patterns("reports"))
    manifest = home / "sources" / "simulation.json"  # it names its product database
    manifest.write_text(manifest.read_text().replace(str(kept_run[1]), str(home)))
    figures = bench_history(home, 1.0)
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert float(printed["scoring_incremental_2x_history_ratio"]) == pytest.approx(
        figures["scoring_2x_history_incremental_s"], abs=0.01
    )
    staged = _frame(home, "select cast(event_id as bigint) as event_id, occurred_at"
                          " from staging.stg_product__events")  # fmt: skip
    doubled = staged[staged["event_id"] >= HISTORY_ID_OFFSET]
    originals = staged.set_index("event_id").loc[doubled["event_id"] - HISTORY_ID_OFFSET]
    days = originals["occurred_at"].to_numpy() - doubled["occurred_at"].to_numpy()
    assert len(doubled) > 1000 and len(set(days)) == 1 and days[0] > pd.Timedelta(days=30)
    run_floor(bench_settings(home), END_DATE + timedelta(days=1))
    floor = _frame(home, "select lead_id, fit_score, pain_score, lead_score"
                         " from main.scoring_floor where row_kind = 'lead'")  # fmt: skip
    leads = _frame(home, "select lead_id, fit_score, pain_score, lead_score from marts.lead_scores")
    _assert_same_scores(floor, leads, "lead_id", ["fit_score", "pain_score", "lead_score"])


def test_copies_multiply_the_dataset_and_score_like_the_original(kept_run, tmp_path):
    """``replicate`` (LEAD_SCORING_BENCH_COPIES, the 10M-lead run's method) x3 on a copy of
    the kept run's home, then a full rebuild: three disjoint sets of leads, each copy scored
    exactly like its original."""
    home = tmp_path / "copies"
    shutil.copytree(kept_run[1], home, ignore=shutil.ignore_patterns("crm_sandbox", "reports"))
    settings = bench_settings(home)
    replicate(settings, 3)
    run_dbt(settings, END_DATE, "run", "--full-refresh")
    scores = _frame(home, "select lead_id, fit_score, pain_score, lead_score, score_reasons,"
                          " lifecycle_stage from marts.lead_scores")  # fmt: skip
    original = scores[scores["lead_id"].str.len() == 9].set_index("lead_id")
    for k in ("1", "2"):
        copy = scores[scores["lead_id"].str.startswith(k) & (scores["lead_id"].str.len() == 10)]
        copy = copy.assign(lead_id=copy["lead_id"].str[1:]).set_index("lead_id")
        assert len(copy) == len(original) > 200
        pd.testing.assert_frame_equal(copy.loc[original.index], original)


ROUTING_KEYS = {
    "routing_balance_ratio", "routing_balance_worst_team", "routing_balance_ratio_per_capacity",
    "sla_breach_recall", "sla_breach_false_alerts", "sla_follow_up_within_48h_share",
    "sla_follow_up_within_48h_share_truth", "sla_assignments_due", "sla_assignments_unmatched",
    "routing_3d_s", "crm_rows_sent_next_day", "crm_rows_material_share",
}  # fmt: skip


def test_routing_days_measure_the_sla_against_the_simulated_team(tmp_path, capsys):
    """The routing section's loop on 300 leads for 3 days, through the real stages (simulator,
    CRM sandbox over HTTP, extract, gate, dbt, CRM sync, the simulated reps): every
    assignment the marts made reached the CRM and the reps, the reps' activities reached
    the warehouse, and the SLA figures are computed against the truth. The reps are the
    seed's default roster, their CRM owners found by e-mail (no roster of the bench's own)."""
    from lead_scoring.routing_bench import routing_days
    from lead_scoring.simulator.reps import load_follow_ups

    home = tmp_path / "routing"
    figures = routing_days(home, leads=300, days=3)
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert ROUTING_KEYS <= printed.keys() and ROUTING_KEYS <= figures.keys()
    # nights 2 and 3 sent some moved leads, not every one whose stored score changed
    assert figures["crm_rows_sent_next_day"] > 0
    assert 0 < figures["crm_rows_material_share"] < 1
    settings = bench_settings(home)
    truth = load_follow_ups(settings, truth=True)
    assignments = _frame(home, "select lead_id, rep_id, crm_owner_id, assigned_at"
                               " from marts.lead_routing where rep_id is not null")  # fmt: skip
    assert len(assignments) == len(truth) > 20  # every assignment reached the CRM and a rep
    assignments["assigned_at"] = pd.to_datetime(assignments["assigned_at"], utc=True)
    pd.testing.assert_frame_equal(
        assignments.sort_values("lead_id").reset_index(drop=True),
        truth[["lead_id", "rep_id", "crm_owner_id", "assigned_at"]].astype(object)
        .sort_values("lead_id").reset_index(drop=True), check_dtype=False,
    )  # fmt: skip
    assert not (settings.sources_dir / "sales_reps.csv").exists()
    reps = _frame(home, "select rep_id, crm_owner_id, crm_owner_source"
                        " from intermediate.int_sales_reps_resolved")  # fmt: skip
    roster = reps.set_index("rep_id")["crm_owner_id"]
    # the default roster's e-mails are the sandbox's HubSpot owners 1001..1009
    assert roster.to_dict() == {f"rep_{n:02d}": str(1000 + n) for n in range(1, 10)}
    assert (reps["crm_owner_source"] == "email").all()
    assert (truth["crm_owner_id"] == truth["rep_id"].map(roster)).all()
    logged = set(truth.loc[truth["follow_up_logged"], "follow_up_activity_id"]) | set(
        truth.loc[truth["decoy_logged"], "decoy_activity_id"]
    )
    extracted = set(_frame(home, "select id from raw.crm_activities")["id"])
    assert logged and logged == extracted  # the reps' activities, and only them, were read
    due = truth[truth["due_at"] <= truth["assigned_at"].min() + pd.Timedelta(days=2)]
    assert figures["sla_assignments_due"] == len(due) > 0
    assert figures["sla_assignments_unmatched"] == 0
    assert figures["sla_breach_recall"] == 1.0 and figures["sla_breach_false_alerts"] == 0
    assert figures["sla_follow_up_within_48h_share"] == round(1 - due["breached"].mean(), 4)
    assert figures["routing_balance_ratio"] >= 1.0


E2E_KEYS = {
    "nightly_first_sync_s", "nightly_next_day_end_to_end_s", "crm_rows_sent_next_day",
    "crm_rows_material_share", "hourly_end_to_end_s",
}  # fmt: skip


def _scored_home(root: Path, leads: int, accounts: int, events: int):
    """A home as the scoring section leaves it: simulated up to END_DATE, extracted from the
    CRM sandbox over HTTP, gated, and scored as of the last whole day."""
    from lead_scoring.bench import simulated_home

    settings = bench_settings(simulated_home(root, leads, accounts, events))
    run_dbt(settings, END_DATE, "seed")
    run_dbt(settings, END_DATE - timedelta(days=1), "run")
    return settings


@pytest.mark.skipif(
    os.environ.get("LEAD_SCORING_SLOW_TESTS") != "1",
    reason="two Airflow DAG runs, about 6 minutes: make test-slow",
)
def test_end_to_end_bench_runs_a_night_and_an_hour_through_airflow(tmp_path, capsys):
    """``bench_end_to_end`` on a small scored home (1,000 leads): the first sync, the next
    day's nightly DAG run and an hour's hourly DAG run through Airflow against the CRM
    sandbox; the figures are printed, and the sandbox holds the hour's new values, stamped
    with simulated time. About 7 minutes on 2 busy cores, most of it the two DAG runs."""
    from lead_scoring.crm_sandbox.store import CrmStore
    from lead_scoring.incremental_bench import HOUR_LEADS, bench_end_to_end

    settings = _scored_home(tmp_path, leads=1_000, accounts=200, events=60_000)
    capsys.readouterr()
    figures = bench_end_to_end(settings)

    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert printed.keys() == figures.keys() == E2E_KEYS
    assert all(float(printed[name]) == figures[name] for name in E2E_KEYS)
    assert figures["crm_rows_sent_next_day"] > 0 and 0 < figures["crm_rows_material_share"] <= 1
    assert figures["hourly_end_to_end_s"] > 0 and figures["nightly_next_day_end_to_end_s"] > 0
    day = END_DATE + timedelta(days=1)  # the next day: the nightly run's date, and the hour's
    assert (settings.marketing_exports_dir / f"events_{day}T00.parquet").exists()
    report = pd.read_json(settings.reports_dir / "latest.json", typ="series")
    assert report["run_kind"] == "hourly" and report["as_of_date"] == day.isoformat()

    # the hourly sync confirmed leads with an event in the hour; the CRM holds their scores
    hour = (pd.Timestamp(day), pd.Timestamp(day) + pd.Timedelta(hours=1))
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        in_the_hour = {row[0] for row in con.execute(HOUR_LEADS, list(hour)).fetchall()}
        (run_id,) = con.execute("select run_id from sync.runs order by started_at desc limit 1"
                                ).fetchone()  # fmt: skip
        sent = {row[0] for row in con.execute(
            "select record_id from sync.row_log where run_id = ? and object_type = 'contacts'"
            " and status = 'confirmed'", [run_id]).fetchall()}  # fmt: skip
        scores = dict(con.execute("select lead_id, cast(lead_score as double)"
                                  " from marts.lead_scores").fetchall())  # fmt: skip
    assert sent & in_the_hour
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    records = {record.id: record for record in store.select("contacts")}
    store.close()
    for lead in sent & in_the_hour:
        assert float(records[lead].properties["ls_lead_score"]) == pytest.approx(scores[lead])
    # what the syncs wrote carries simulated time, never the wall clock of the run: the
    # hourly run's writes from the hour's end on, within seconds
    assert f"{day}T01:00:00.000Z" <= max(r.updated_at for r in records.values()) < f"{day}T01:10"
    assert all(records[lead].updated_at >= f"{day}T01:00:00.000Z" for lead in sent)
