"""Reliability tests 5 (1% rejected), 6 (retry, dead letter), 7 (empty 2xx), 12 (quality gate)."""

from __future__ import annotations

import logging
from datetime import datetime

import pandas as pd
import pytest
from crm_sync_helpers import (
    LEAD_WRITES,
    by_key,
    make_target,
    marts,
    records,
    requests_to,
    rewrite_leads,
    table,
)

from lead_scoring.crm_sync import QualityGateFailedError, preflight, run_sync
from lead_scoring.warehouse import open_warehouse

# One bad e-mail for HubSpot (the match key), one value outside a restricted picklist for both.
BAD = {
    "hubspot": {"email": {17: "not-an-email"}, "quadrant": {140: "unknown"}},
    "salesforce": {"quadrant": {17: "unknown"}, "lifecycle_stage": {140: "lost"}},
}


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_one_percent_rejected_rows_are_recorded_and_the_rest_sync(settings, crm, kind, caplog):
    marts(settings, n=200, **BAD[kind])
    target = make_target(crm, kind, sync_accounts=False)
    preflight(target, settings)
    caplog.set_level(logging.WARNING, logger="lead_scoring.crm_sync")

    result = run_sync(settings, target, "run-1")

    assert result.status == "partial" and result.alert
    assert (result.rejected, result.inserted, result.pending) == (2, 198, 0)
    assert len(by_key(crm, kind)) == 198
    rejected = table(settings, "select record_id, run_id, attempts, dead_letter, error"
                               " from sync.rejections order by record_id")  # fmt: skip
    assert rejected["record_id"].tolist() == ["141", "18"]  # lead ids of rows 140 and 17
    assert set(rejected["run_id"]) == {"run-1"}
    assert rejected["attempts"].tolist() == [1, 1]
    assert not rejected["dead_letter"].any()
    assert all(rejected["error"].str.len() > 10)
    assert "not-an-email" not in " ".join(rejected["error"])  # no e-mail in logs/tables
    log = table(settings, "select status, count(*) as n from sync.row_log group by 1 order by 1")
    assert log.values.tolist() == [["confirmed", 198], ["rejected", 2]]
    alerts = [r for r in caplog.records if r.getMessage().startswith("ALERT")]
    assert len(alerts) == 1 and "rejected=2" in alerts[0].getMessage()
    assert "not-an-email" not in caplog.text


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_rejected_row_is_retried_unchanged_then_dead_lettered(settings, crm, kind):
    bad = {"quadrant": {3: "unknown"}}
    leads = marts(settings, n=10, **bad)
    target = make_target(crm, kind, sync_accounts=False, dead_letter_attempts=3)
    preflight(target, settings)

    runs = [run_sync(settings, target, f"run-{i}") for i in (1, 2, 3, 4)]

    assert [r.sent for r in runs] == [10, 1, 1, 0]  # retried although unchanged, then parked
    assert [r.rejected for r in runs] == [1, 1, 1, 0]
    assert [r.dead_lettered for r in runs] == [0, 0, 1, 1]
    assert [r.status for r in runs] == ["partial", "partial", "partial", "success"]
    row = table(settings, "select record_id, attempts, dead_letter, run_id, first_seen_at,"
                          " last_seen_at from sync.rejections")  # fmt: skip
    assert row[["record_id", "attempts", "dead_letter", "run_id"]].values.tolist() == [
        ["4", 3, True, "run-3"]
    ]
    assert row.at[0, "first_seen_at"] < row.at[0, "last_seen_at"]

    leads.loc[3, "quadrant"] = "yes"  # the data is fixed: the dead letter is sent again
    rewrite_leads(settings, leads)
    fixed = run_sync(settings, target, "run-5")

    assert (fixed.sent, fixed.inserted, fixed.rejected, fixed.dead_lettered) == (1, 1, 0, 0)
    assert table(settings, "select count(*) from sync.rejections").iat[0, 0] == 0
    assert len(by_key(crm, kind)) == 10


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_empty_2xx_answer_is_a_failure_that_is_retried(settings, crm, kind):
    marts(settings, n=30)
    target = make_target(crm, kind, sync_accounts=False, batch_size=10)
    preflight(target, settings)
    crm.faults.set(empty_results_next=2)

    result = run_sync(settings, target, "run-1")

    assert result.status == "success" and result.inserted == 30
    # 3 batches (Salesforce: twice, new Leads need LastName/Company), +2 for the empty answers
    assert requests_to(crm, LEAD_WRITES[kind]) == {"hubspot": 3, "salesforce": 6}[kind] + 2
    assert len(by_key(crm, kind)) == 30


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_empty_2xx_answers_that_persist_confirm_nothing(settings, crm, kind, caplog):
    marts(settings, n=12)
    target = make_target(crm, kind, sync_accounts=False, max_retries=1)
    preflight(target, settings)
    crm.faults.set(empty_results_next=100)
    caplog.set_level(logging.WARNING, logger="lead_scoring.crm_sync")

    result = run_sync(settings, target, "run-1")

    assert result.status == "failed" and result.alert
    assert (result.inserted, result.pending, result.sent) == (0, 12, 12)
    assert table(settings, "select count(*) from sync.crm_state").iat[0, 0] == 0
    errors = table(settings, "select distinct status, error from sync.row_log")
    assert errors.values.tolist() == [
        ["failed", "2xx answer with empty results and empty errors"]
        if kind == "hubspot"
        else ["failed", "2xx answer with no results and no errors"]
    ]
    assert "ALERT" in caplog.text

    crm.faults.clear()
    again = run_sync(settings, target, "run-2")
    assert (again.status, again.sent, again.inserted) == ("success", 12, 12)


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_quarantined_leads_never_sync_and_a_failed_gate_stops_before_any_write(settings, crm, kind):
    leads = marts(settings, n=20)
    now = datetime(2026, 11, 1, 3, 0)
    quarantine = pd.DataFrame({
        "record_type": "contact", "record_id": ["2", "5", "9"], "rule": "invalid_email",
        "field": "email", "value": "x", "run_id": "gate-1", "first_seen_at": now,
        "last_seen_at": now,
    })  # fmt: skip
    gate = pd.DataFrame({
        "run_id": ["gate-1"], "started_at": [now], "finished_at": [now], "status": ["passed"],
        "records_checked": [23], "records_quarantined": [3], "quarantine_rate": [0.13],
        "message": ["ok"], "data_docs_path": [""],
    })  # fmt: skip
    with open_warehouse(settings) as wh:
        wh.write_df(quarantine, "quality", "quarantine", mode="replace")
        wh.write_df(gate, "quality", "runs", mode="replace")
    target = make_target(crm, kind, sync_accounts=False)
    preflight(target, settings)

    result = run_sync(settings, target, "run-1")

    assert (result.quarantined, result.inserted) == (3, 17)
    stored = by_key(crm, kind)
    ids = {r.get("LS_Lead_Id__c") for r in records(crm, kind)}
    quarantined = leads[leads["lead_id"].isin(["2", "5", "9"])]
    assert not set(quarantined["email" if kind == "hubspot" else "lead_id"]) & (set(stored) | ids)

    failed = gate.assign(
        run_id="gate-2",
        started_at=datetime(2026, 11, 2, 3, 0),
        status="failed",
        message="quarantine rate 31% over 5%",
    )
    with open_warehouse(settings) as wh:
        wh.write_df(failed, "quality", "runs", mode="append")
    leads["lead_score"] += 1
    rewrite_leads(settings, leads)
    writes = requests_to(crm, LEAD_WRITES[kind])

    with pytest.raises(QualityGateFailedError, match="gate-2.*failed: quarantine rate"):
        run_sync(settings, target, "run-2")

    assert requests_to(crm, LEAD_WRITES[kind]) == writes
    runs = table(settings, "select run_id, status from sync.runs order by run_id")
    assert runs.values.tolist() == [["run-1", "success"], ["run-2", "failed"]]
    with pytest.raises(QualityGateFailedError):
        run_sync(settings, target, "dry", dry_run=True)
