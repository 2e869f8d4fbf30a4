"""Reliability tests 2 (idempotent rerun), 8 (e-mail case), 14 (lifecycle), 15 (dry run)."""

from __future__ import annotations

import logging

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

from lead_scoring.crm_sync import preflight, run_sync


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_first_run_inserts_every_row_and_second_run_sends_nothing(settings, crm, kind):
    leads = marts(settings, n=60)
    target = make_target(crm, kind)
    preflight(target, settings)

    first = run_sync(settings, target, "run-1")

    accounts = leads["account_id"].nunique()
    assert first.status == "success"
    assert (first.inserted, first.updated, first.rejected, first.pending) == (
        60 + accounts,
        0,
        0,
        0,
    )
    stored = by_key(crm, kind)
    assert len(stored) == 60 and len(records(crm, kind, 1)) == accounts
    key = "email" if kind == "hubspot" else "LS_Lead_Id__c"
    score = "ls_lead_score" if kind == "hubspot" else "Lead_Score__c"
    sample = leads.iloc[7]
    assert float(stored[sample[key.replace("LS_Lead_Id__c", "lead_id")]][score]) == pytest.approx(
        sample["lead_score"]
    )
    writes = requests_to(crm, LEAD_WRITES[kind])

    second = run_sync(settings, target, "run-2")

    assert second.status == "success"
    assert (second.planned, second.sent, second.skipped) == (0, 0, 60 + accounts)
    assert requests_to(crm, LEAD_WRITES[kind]) == writes  # not one more write request
    state = table(settings, "select count(*) as n from sync.crm_state")
    assert state.iat[0, 0] == 60 + accounts
    runs = table(settings, "select run_id, status, inserted, skipped from sync.runs order by 1")
    assert runs.values.tolist() == [
        ["run-1", "success", 60 + accounts, 0],
        ["run-2", "success", 0, 60 + accounts],
    ]


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_changed_rows_only_are_sent(settings, crm, kind):
    leads = marts(settings, n=30)
    target = make_target(crm, kind)
    preflight(target, settings)
    run_sync(settings, target, "run-1")
    leads.loc[[3, 11], "lead_score"] += 5
    leads.loc[20, "scored_at"] = leads.loc[20, "scored_at"] + pd_hours(24)  # metadata only
    rewrite_leads(settings, leads)

    second = run_sync(settings, target, "run-2")

    assert (second.sent, second.updated, second.inserted) == (2, 2, 0)
    logged = table(settings, "select record_id, action, status from sync.row_log"
                             " where run_id = 'run-2' order by 1")  # fmt: skip
    assert logged.values.tolist() == [["12", "update", "confirmed"], ["4", "update", "confirmed"]]


def pd_hours(n: int):
    import pandas as pd

    return pd.Timedelta(hours=n)


def test_emails_differing_in_case_and_spaces_make_one_contact(settings, crm):
    from lead_scoring.crm_sandbox.store import CrmStore

    CrmStore(crm.store_path).bulk_load(
        "contacts", [{"hs_object_id": "900", "email": "ann@example.com", "firstname": "Ann"}]
    )
    marts(settings, n=6, email={0: "  Bob@Example.COM ", 1: "bob@example.com",
                                2: "ANN@example.com"})  # fmt: skip
    target = make_target(crm, "hubspot")
    preflight(target, settings)

    result = run_sync(settings, target, "run-1")

    stored = by_key(crm, "hubspot")  # asserts no duplicate e-mail
    assert set(stored) >= {"bob@example.com", "ann@example.com"}
    assert len(stored) == 5  # 6 leads, two of them one person; Ann existed already
    assert stored["ann@example.com"]["firstname"] == "Ann"  # updated, not recreated
    assert stored["ann@example.com"]["hs_object_id"] == "900"
    assert result.duplicates == 1
    dup = table(settings, "select record_id, status, error from sync.row_log"
                          " where status = 'duplicate'")  # fmt: skip
    assert dup.values.tolist() == [["2", "duplicate", "same match key as record 1"]]
    assert run_sync(settings, target, "run-2").sent == 0


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_lifecycle_stage_never_moves_backwards_by_default(settings, crm, kind):
    leads = marts(settings, n=4, lifecycle_stage={0: "sql", 1: "sql", 2: "mql", 3: "iql"})
    target = make_target(crm, kind)
    preflight(target, settings)
    run_sync(settings, target, "run-1")
    leads.loc[0, "lifecycle_stage"] = "mql"  # backwards, nothing else changed
    leads.loc[1, "lifecycle_stage"] = "iql"  # backwards, and the score changed
    leads.loc[1, "lead_score"] = 1.0
    leads.loc[2, "lifecycle_stage"] = "customer"  # forwards
    rewrite_leads(settings, leads)

    second = run_sync(settings, target, "run-2")

    stage = "ls_lifecycle_stage" if kind == "hubspot" else "Lifecycle_Stage__c"
    stored = {r.get("email") or r.get("LS_Lead_Id__c"): r for r in records(crm, kind)}
    key = (lambda i: leads.loc[i, "email"]) if kind == "hubspot" else (
        lambda i: leads.loc[i, "lead_id"])  # fmt: skip
    assert stored[key(0)][stage] == "sql"
    assert stored[key(1)][stage] == "sql"
    assert stored[key(2)][stage] == "customer"
    assert second.sent == 2  # lead 0 is unchanged under the policy

    allow = make_target(crm, kind, lifecycle_backwards="allow")
    third = run_sync(settings, allow, "run-3")

    stored = {r.get("email") or r.get("LS_Lead_Id__c"): r for r in records(crm, kind)}
    assert (stored[key(0)][stage], stored[key(1)][stage]) == ("mql", "iql")
    assert third.sent == 2


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_dry_run_reports_counts_and_writes_nothing(settings, crm, kind, caplog):
    leads = marts(settings, n=20, email={4: ""})
    target = make_target(crm, kind)
    caplog.set_level(logging.INFO)

    dry = run_sync(settings, target, "dry-1", dry_run=True)

    accounts = leads["account_id"].nunique()
    lead_rows = 19 if kind == "hubspot" else 20  # HubSpot matches on e-mail: one has none
    assert dry.status == "dry_run"
    assert (dry.inserted, dry.updated, dry.skipped) == (lead_rows + accounts, 0, 0)
    assert dry.rejected == (1 if kind == "hubspot" else 0)
    assert crm.stats()["total"] == 0  # not one request to the CRM
    assert records(crm, kind) == []
    with_sync = table(settings, "select count(*) from information_schema.tables"
                                " where table_schema = 'sync'")  # fmt: skip
    assert with_sync.iat[0, 0] == 0  # nothing written to the warehouse either

    preflight(target, settings)
    run_sync(settings, target, "run-1")
    leads.loc[[0, 1, 2], "lead_score"] += 5
    leads.loc[3, "fit_score"] += 1  # a sub-score only: not what a rep sees
    rewrite_leads(settings, leads)
    before = table(settings, "select * from sync.crm_state order by record_id")

    dry = run_sync(settings, target, "dry-2", dry_run=True)

    assert (dry.inserted, dry.updated, dry.rows_not_material) == (0, 3, 1)
    assert dry.sent_by_reason == {"score_moved": 3}
    assert dry.skipped == lead_rows + accounts - 4
    assert dry.rows_considered == lead_rows + accounts
    after = table(settings, "select * from sync.crm_state order by record_id")
    assert after.equals(before)
    assert table(settings, "select count(*) from sync.runs where run_id = 'dry-2'").iat[0, 0] == 0
