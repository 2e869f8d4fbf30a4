"""The fault campaign: a nightly run killed inside dlt's normalize step, inside dbt and
mid-sync reruns to the clean run's marts and CRM, and the comparison notices what differs."""

from __future__ import annotations

import duckdb
import pytest

from lead_scoring.crm_sandbox.store import CrmStore
from lead_scoring.faults import compare
from lead_scoring.faults.campaign import run_campaign
from lead_scoring.faults.points import UnknownKillPoint, select


def test_runs_killed_in_extract_dbt_and_mid_sync_rerun_to_the_clean_run(tmp_path):
    labels = ["extract/mid_normalize", "dbt/after_event_staging", "sync/mid_contacts"]
    points = select(labels)

    campaign = run_campaign(tmp_path / "faults", points, leads=300, accounts=60, jobs=2)

    lines = [p.line() for p in campaign.points]
    assert [p.point.label for p in campaign.points] == labels
    assert all(p.killed for p in campaign.points), lines
    assert "stg_product__events" in campaign.points[1].kill_seen
    assert campaign.figures() == {
        "faults_kill_points": 3,
        "faults_reruns_equal": 3,
        "faults_crm_duplicates": 0,
    }, lines


def test_kill_points_are_chosen_by_stage_or_label():
    assert {p.stage for p in select(["sync"])} == {"sync"}
    assert [p.label for p in select(["dbt/after_history"])] == ["dbt/after_history"]
    assert {p.stage for p in select(None)} == {"extract", "gate", "dbt", "sync"}
    with pytest.raises(UnknownKillPoint, match="'dbt/nowhere'"):
        select(["dbt/nowhere"])


def _warehouse(path, rows):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.lead_scores (lead_id varchar, lead_score double,"
                    " scored_at timestamp)")  # fmt: skip
        con.executemany("insert into marts.lead_scores values (?, ?, ?)", rows)
    return compare.read_marts(path)


def test_marts_are_equal_in_any_order_and_whatever_their_scored_at(tmp_path):
    clean = _warehouse(tmp_path / "a.duckdb", [("1", 10.0, "2026-06-01 01:00"),
                                               ("2", 20.0, "2026-06-01 01:00")])  # fmt: skip
    rerun = _warehouse(tmp_path / "b.duckdb", [("2", 20.0000000001, "2026-06-01 02:00"),
                                               ("1", 10.0, "2026-06-01 02:00")])  # fmt: skip
    changed = _warehouse(tmp_path / "c.duckdb", [("1", 10.0, "2026-06-01 01:00"),
                                                 ("2", 25.0, "2026-06-01 01:00")])  # fmt: skip

    assert compare.compare_marts(clean, rerun) == []
    [difference] = compare.compare_marts(clean, changed)
    assert difference.startswith("marts.lead_scores: 2 rows vs 2")
    assert "columns that differ: lead_score" in difference and "lead_id=2" in difference
    assert compare.compare_marts(clean, {}) == ["marts.lead_scores: missing after the rerun"]


def _crm(path, contacts):
    store = CrmStore(path)
    store.bulk_load("contacts", contacts)
    store.close()
    return compare.read_crm(path)


def test_crm_duplicates_and_score_differences_are_counted(tmp_path):
    def contact(record_id, email, score, scored_at="1780000000000"):
        return {"hs_object_id": record_id, "email": email, "firstname": "Ada",
                "ls_lead_score": score, "ls_scored_at": scored_at}  # fmt: skip

    clean = _crm(tmp_path / "a.sqlite", [contact("1", "a@x.io", "10"),
                                         contact("2", "b@x.io", "20")])  # fmt: skip
    same = _crm(tmp_path / "b.sqlite", [contact("1", "a@x.io", "10.0", "1780000999000"),
                                        contact("2", "b@x.io", "20")])  # fmt: skip
    doubled = _crm(tmp_path / "c.sqlite", [contact("1", "a@x.io", "10"),
                                           contact("2", "b@x.io", "21"),
                                           contact("3", "B@x.io ", "21")])  # fmt: skip

    assert compare.compare_crm(clean, same) == ([], 0)
    differences, duplicates = compare.compare_crm(clean, doubled)
    assert duplicates == 1  # one record too many, sharing an e-mail: one duplicate
    assert "crm contacts: 2 records vs 3" in differences
    assert "crm contacts: 1 more records sharing an email" in differences
    assert any(d.startswith("crm contacts: 1 records' scores differ (e.g. 2: ls_lead_score")
               for d in differences)  # fmt: skip
