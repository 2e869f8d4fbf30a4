"""A row reaches the CRM only when something a rep sees changed (docs/crm-sync.md,
"Material changes"): the score by at least ``lead_scoring__sync_min_score_change`` whole
points, SDR-ready, stage, grade, quadrant, nurture track, owner or the reasons (their
ages, decaying points and order left out). The CRM is the one the people were read from
(the nightly default); the tests assert what its records hold after each run.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from crm_sync_helpers import (
    MIN_CHANGE,
    hubspot_people,
    rewrite_leads,
    route,
    salesforce_shop,
    same_hubspot,
    same_salesforce,
    table,
    with_hubspot_ids,
    with_min_score_change,
)

from lead_scoring.crm_sync import CrmSyncError, CrmTarget, preflight, run_sync
from lead_scoring.crm_sync.bench import sample_accounts, sample_leads, write_marts
from lead_scoring.warehouse import open_warehouse

KINDS = ["hubspot", "salesforce"]
SCORE = {"hubspot": "ls_lead_score", "salesforce": "Lead_Score__c"}
READY = {"hubspot": "ls_is_sdr_ready", "salesforce": "SDR_Ready__c"}
REASONS = {"hubspot": "ls_score_reasons", "salesforce": "Score_Reasons__c"}
OWNER = {"hubspot": "hubspot_owner_id", "salesforce": "OwnerId"}
REPS = {"hubspot": ["1001", "1002"], "salesforce": ["005000000000002AAA", "005000000000003AAA"]}
N = 10


def reasons(age: int, points: int = 25) -> str:
    """An explanation as dbt words it: decayed points, and the age of the latest event."""
    return (
        f"+{points} created a document ({age}d ago); +20 VP title; -5 careers page ({age + 3}d ago)"
    )


def _shop(crm, settings, kind: str) -> tuple[pd.DataFrame, CrmTarget]:
    """``N`` people the CRM holds, scored 40, 41, ... (whole points), none SDR-ready, with
    the same reasons; lead 4 routed to the first rep. Leads only."""
    if kind == "salesforce":
        leads, _ = salesforce_shop(crm, settings, n=N, converted=2, contacts_only=2)
        target = same_salesforce(crm, sync_accounts=False)
    else:
        leads = sample_leads(N, accounts=3)
        leads, accounts = with_hubspot_ids(leads, sample_accounts(leads))
        hubspot_people(crm, leads, accounts)
        write_marts(settings, leads, accounts)
        target = same_hubspot(crm, sync_accounts=False)
    leads["lead_score"] = [40.0 + i for i in range(N)]
    leads["is_sdr_ready"] = False
    leads["sdr_ready_at"] = pd.NaT
    leads["score_reasons"] = reasons(age=2)
    _rewrite(settings, leads)
    route(settings, leads, {4: REPS[kind][0]})
    preflight(target, settings)
    return leads, target


def _rewrite(settings, leads: pd.DataFrame) -> None:
    rewrite_leads(settings, leads.drop(columns=["crm_object", "crm_record_id"], errors="ignore"))


def _held(crm, kind: str, leads: pd.DataFrame, i: int) -> dict:
    """What person i's CRM record holds."""
    if kind == "hubspot":
        store_type, record_id = "contacts", leads["lead_id"][i]
    else:
        store_type, record_id = f"sf:{leads['crm_object'][i]}", leads["crm_record_id"][i]
    return crm.store.get_many(store_type, [record_id])[record_id].properties


def _score(crm, kind, leads, i) -> float:
    return float(_held(crm, kind, leads, i)[SCORE[kind]])


def _ready(crm, kind, leads, i) -> bool:
    return str(_held(crm, kind, leads, i)[READY[kind]]).lower() == "true"


def _next_night(leads: pd.DataFrame, people: range, night: int) -> None:
    """What decay does to an engaged lead overnight: the score drifts down 0.2, the ages
    grow a day and the decaying reason loses a point."""
    rows = list(people)
    leads.loc[rows, "lead_score"] -= 0.2
    leads.loc[rows, "pain_score"] -= 0.2
    leads.loc[rows, "score_reasons"] = reasons(age=2 + night, points=25 - night)


@pytest.mark.parametrize("kind", KINDS)
def test_only_changes_a_rep_sees_reach_the_crm(settings, crm, kind):
    leads, target = _shop(crm, settings, kind)
    first = run_sync(settings, target, "run-1")
    assert (first.status, first.sent, first.sent_by_reason) == ("success", N, {"new": N})
    assert _held(crm, kind, leads, 4)[OWNER[kind]] == REPS[kind][0]

    leads.loc[0, "lead_score"] += 0.4  # 40.4: the CRM shows 40 either way
    leads.loc[1, "lead_score"] += 3  # 41 -> 44
    leads.loc[2, "is_sdr_ready"] = True
    leads.loc[3, "score_reasons"] = reasons(age=3)  # a day older, nothing else
    _next_night(leads, range(5, N), 1)  # the rest drift a little
    _rewrite(settings, leads)
    route(settings, leads, {4: REPS[kind][1]})  # reassigned

    second = run_sync(settings, target, "run-2")

    assert second.status == "success"
    assert (second.rows_considered, second.planned, second.sent) == (N, 3, 3)
    assert second.sent_by_reason == {"score_moved": 1, "sdr_ready": 1, "owner": 1}
    assert (second.rows_not_material, second.skipped) == (7, 0)
    assert _score(crm, kind, leads, 0) == 40.0  # not sent: the CRM keeps the old value
    assert _score(crm, kind, leads, 1) == 44.0
    assert _ready(crm, kind, leads, 2)
    assert _held(crm, kind, leads, 3)[REASONS[kind]] == reasons(age=2)  # not sent
    assert _held(crm, kind, leads, 4)[OWNER[kind]] == REPS[kind][1]
    assert _score(crm, kind, leads, 5) == 45.0  # drifted to 44.8, not sent
    runs = table(settings, "select rows_considered, sent, rows_not_material, sent_by_reason"
                           " from sync.runs where run_id = 'run-2'")  # fmt: skip
    considered, sent, not_material, by_reason = runs.values.tolist()[0]
    assert (considered, sent, not_material) == (N, 3, 7)
    assert json.loads(by_reason) == {"score_moved": 1, "sdr_ready": 1, "owner": 1}

    leads.loc[0, "lead_score"] += 0.4  # 40.8: the CRM shows 40, 41 now: a point away
    # the decaying reason fell under a fixed one: the same reasons in another order
    leads.loc[3, "score_reasons"] = (
        "+20 VP title; +19 created a document (8d ago); -5 careers page (11d ago)"
    )
    _next_night(leads, range(5, N), 2)  # 44.6: still 45 as the CRM shows it
    _rewrite(settings, leads)

    third = run_sync(settings, target, "run-3")

    assert (third.sent, third.sent_by_reason, third.rows_not_material) == (
        1, {"score_moved": 1}, 6)  # fmt: skip
    assert _score(crm, kind, leads, 0) == pytest.approx(40.8)
    assert _score(crm, kind, leads, 5) == 45.0
    assert _held(crm, kind, leads, 3)[REASONS[kind]] == reasons(age=2)

    leads.loc[5, "lead_score"] -= 0.2  # 44.4 -> 44, one whole point under the 45 shown
    leads.loc[3, "score_reasons"] = reasons(age=3).replace("+20 VP title", "+20 director title")
    leads.loc[6, "grade"] = "A1" if leads.loc[6, "grade"] != "A1" else "B1"
    _rewrite(settings, leads)

    fourth = run_sync(settings, target, "run-4")

    assert fourth.sent_by_reason == {"score_moved": 1, "grade": 1, "reasons": 1}
    assert _score(crm, kind, leads, 5) == pytest.approx(44.4)
    assert _held(crm, kind, leads, 3)[REASONS[kind]] == leads.loc[3, "score_reasons"]
    assert run_sync(settings, target, "run-5").sent == 0


def test_the_minimum_score_change_is_a_dbt_var(settings, crm, tmp_path):
    base = settings
    settings = with_min_score_change(base, tmp_path / "dbt_project", "5")
    leads, target = _shop(crm, settings, "hubspot")
    run_sync(settings, target, "run-1")
    leads.loc[1, "lead_score"] += 3  # 41 -> 44: under 5 points
    leads.loc[2, "lead_score"] += 5  # 42 -> 47
    leads.loc[3, "lead_score"] += 4.6  # 43 -> 47.6, shown as 48: 5 whole points
    _rewrite(settings, leads)

    second = run_sync(settings, target, "run-2")

    assert (second.sent, second.sent_by_reason, second.rows_not_material) == (
        2, {"score_moved": 2}, 1)  # fmt: skip
    assert _score(crm, "hubspot", leads, 1) == 41.0
    assert _score(crm, "hubspot", leads, 2) == 47.0
    assert _score(crm, "hubspot", leads, 3) == pytest.approx(47.6)

    with pytest.raises(CrmSyncError, match=f"{MIN_CHANGE} must be 0 or more, got -1"):
        run_sync(with_min_score_change(base, tmp_path / "dbt_project", "-1"), target, "run-3")


# sync.crm_state as the versions before material changes created it
OLD_STATE = """create table sync.crm_state (
    target text not null, object_type text not null, record_id text not null,
    match_key text, crm_id text, payload_hash text not null, lifecycle_stage text,
    run_id text not null, confirmed_at timestamp not null, owner_id text,
    primary key (target, object_type, record_id))"""


def test_a_state_table_from_before_keeps_working(settings, crm):
    leads, target = _shop(crm, settings, "hubspot")
    run_sync(settings, target, "run-1")
    with open_warehouse(settings) as wh:  # the state an older version left
        wh.execute("create table sync.old_state as select * exclude (shown_score,"
                   " material_values) from sync.crm_state")  # fmt: skip
        wh.execute("drop table sync.crm_state")
        wh.execute(OLD_STATE)
        wh.execute("insert into sync.crm_state by name select * from sync.old_state")
        wh.execute("drop table sync.old_state")
        for column in ("rows_considered", "rows_not_material", "sent_by_reason"):
            wh.execute(f"alter table sync.runs drop column {column}")
    leads.loc[0, "lead_score"] += 0.4
    leads.loc[1, "lead_score"] += 3
    _rewrite(settings, leads)

    dry = run_sync(settings, target, "dry-1", dry_run=True)  # reads the old table as it is

    assert (dry.updated, dry.sent_by_reason) == (2, {"state_upgrade": 2})

    upgraded = run_sync(settings, target, "run-2")

    # what the CRM shows is not known for rows confirmed before: a changed one is sent once
    assert (upgraded.status, upgraded.sent, upgraded.skipped) == ("success", 2, N - 2)
    assert upgraded.sent_by_reason == {"state_upgrade": 2}
    assert _score(crm, "hubspot", leads, 0) == pytest.approx(40.4)
    state = table(settings, "select record_id, shown_score from sync.crm_state"
                            " where material_values is not null order by record_id")  # fmt: skip
    assert state.values.tolist() == [[leads["lead_id"][0], 40], [leads["lead_id"][1], 44]]

    leads.loc[0, "lead_score"] -= 0.3  # 40.1: the CRM shows 40 (sent as 40.4)
    leads.loc[1, "lead_score"] += 0.4  # 44.4: shown 44
    _rewrite(settings, leads)

    third = run_sync(settings, target, "run-3")

    assert (third.sent, third.rows_not_material) == (0, 2)
    assert _score(crm, "hubspot", leads, 0) == pytest.approx(40.4)


def test_another_field_mapping_sends_every_row_once(settings, crm):
    leads, target = _shop(crm, settings, "hubspot")
    run_sync(settings, target, "run-1")
    with open_warehouse(settings) as wh:  # confirmed while a field went elsewhere
        wh.execute(
            "update sync.crm_state set payload_hash = 'of other fields',"
            " material_values = regexp_replace(material_values,"
            """ '"mapping": "[0-9a-f]+"', '"mapping": "000000000000"')"""
        )
    leads.loc[0, "lead_score"] += 0.4
    _rewrite(settings, leads)

    second = run_sync(settings, target, "run-2")

    assert (second.sent, second.sent_by_reason) == (N, {"mapping": N})
    assert _score(crm, "hubspot", leads, 0) == pytest.approx(40.4)
    assert run_sync(settings, target, "run-3").sent == 0
