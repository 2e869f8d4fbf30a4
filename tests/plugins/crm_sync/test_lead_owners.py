"""The lead's owner goes to the CRM with the scores, and a manually set owner is never
overwritten (docs/crm-sync.md, "Owners").

The sandbox holds the people before the sync runs (HubSpot contacts; a Salesforce org's
Leads and converted people's Contacts); owners a person picks are set through the CRM's
API between runs; the tests assert the owners and scores the CRM holds afterwards.
"""

from __future__ import annotations

import pandas as pd
import pytest
import requests
from crm_sync_helpers import (
    hubspot_people,
    requests_to,
    rewrite_leads,
    route,
    salesforce_shop,
    same_hubspot,
    same_salesforce,
    sf_id,
    sf_records,
    table,
    with_hubspot_ids,
)

from lead_scoring.crm_sandbox.server import verified_session
from lead_scoring.crm_sync import CrmTarget, preflight, run_sync
from lead_scoring.crm_sync.bench import sample_accounts, sample_leads, write_marts

KINDS = ["hubspot", "salesforce"]
# The sandbox's reps: HubSpot owners 1001..1009, Salesforce users 2..10 (user 1 is the
# funnel's "Integration User", who owns every record the simulator makes).
REPS = {
    "hubspot": [str(1001 + i) for i in range(9)],
    "salesforce": [f"005{n:012d}AAA" for n in range(2, 11)],
}
UNASSIGNED = {"hubspot": "1009", "salesforce": "005000000000001AAA"}  # a queue, the integration
UNKNOWN = {"hubspot": "424242", "salesforce": "005000000000099AAA"}  # no such owner / user
OWNER = {"hubspot": "hubspot_owner_id", "salesforce": "OwnerId"}
SCORE = {"hubspot": "ls_lead_score", "salesforce": "Lead_Score__c"}
# Requests that read or write leads: HubSpot batch read/update, Salesforce SOQL and writes
TRAFFIC = {"hubspot": ("/batch/",), "salesforce": ("/query", "/composite/sobjects")}


def _shop(crm, settings, kind: str, n: int = 12, **options) -> tuple[pd.DataFrame, CrmTarget]:
    """``n`` people in the CRM without owners, their scores in the marts, and the target the
    nightly gets (the CRM they were read from; leads only). Salesforce: people 0 and 1 were
    converted (their Contact is written), the last two were never Leads."""
    options = {"sync_accounts": False, **options}
    if kind == "salesforce":
        leads, _ = salesforce_shop(crm, settings, n=n, converted=2, contacts_only=2)
        return leads, same_salesforce(crm, **options)
    leads, accounts = with_hubspot_ids(*_sample(n))
    write_marts(settings, leads, accounts)
    hubspot_people(crm, leads, accounts)
    return leads, same_hubspot(crm, **options)


def _synced(crm, settings, kind: str, routed: dict[int, int | str], **options):
    """``_shop``, person i routed to rep ``routed[i]`` (a number, or an owner id), the
    preflight and a first run: (leads, target, the run's result)."""
    leads, target = _shop(crm, settings, kind, **options)
    owners = {i: REPS[kind][r] if isinstance(r, int) else r for i, r in routed.items()}
    route(settings, leads, owners)
    preflight(target, settings)
    return leads, target, run_sync(settings, target, "run-1")


def _sample(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads = sample_leads(n, accounts=max(1, n // 4))
    return leads, sample_accounts(leads)


def _rescore(settings, leads: pd.DataFrame, people: list[int], bump: float = 7.0) -> None:
    leads.loc[people, "lead_score"] += bump
    rewrite_leads(settings, leads.drop(columns=["crm_object", "crm_record_id"], errors="ignore"))


def _record(kind: str, leads: pd.DataFrame, i: int) -> tuple[str, str]:
    """(sObject or object type, id) of the CRM record person i's scores go to."""
    if kind == "hubspot":
        return "contacts", leads["lead_id"][i]
    return leads["crm_object"][i], leads["crm_record_id"][i]


def _held(crm, kind: str, leads: pd.DataFrame, i: int) -> dict:
    """The properties of person i's CRM record as the CRM holds them."""
    obj, record_id = _record(kind, leads, i)
    store_type = obj if kind == "hubspot" else f"sf:{obj}"
    return crm.store.get_many(store_type, [record_id])[record_id].properties


def _owner(crm, kind: str, leads: pd.DataFrame, i: int) -> str | None:
    return _held(crm, kind, leads, i).get(OWNER[kind]) or None


def _set_owner_by_hand(crm, kind: str, leads: pd.DataFrame, i: int, owner: str) -> None:
    """A person picks person i's owner in the CRM, through its API."""
    obj, record_id = _record(kind, leads, i)
    auth = {"Authorization": f"Bearer {crm.token}"}
    if kind == "hubspot":
        response = requests.post(
            f"{crm.hubspot_url}/crm/v3/objects/contacts/batch/update",
            json={"inputs": [{"id": record_id, "properties": {OWNER[kind]: owner}}]},
            headers=auth,
            timeout=30,
        )
        assert response.status_code == 200, response.text
    else:
        response = verified_session(crm.ca_path).patch(
            f"{crm.salesforce_url}/services/data/v59.0/sobjects/{obj}/{record_id}",
            json={OWNER[kind]: owner},
            headers=auth,
            timeout=30,
        )
        assert response.status_code == 204, response.text
    assert _owner(crm, kind, leads, i) == owner


def _traffic(crm, kind: str) -> int:
    return sum(requests_to(crm, needle) for needle in TRAFFIC[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_routed_owners_are_written_with_the_changed_rows_only(settings, crm, kind):
    leads, target = _shop(crm, settings, kind)
    reps = REPS[kind]
    preflight(target, settings)
    first = run_sync(settings, target, "run-1")  # a warehouse from before routing: no owners
    assert (first.status, first.updated, first.owners_written) == ("success", len(leads), 0)
    assert not any(_owner(crm, kind, leads, i) for i in range(len(leads)))

    routed = {i: reps[i % 3] for i in (0, 1, 2, 3, 4, 5, 10)}  # Salesforce: 0, 1, 10 Contacts
    route(settings, leads, routed)
    preflight(target, settings)  # checks the owner field now
    second = run_sync(settings, target, "run-2")

    assert second.status == "success", second.message
    assert (second.sent, second.owners_written, second.owners_kept) == (len(routed), 7, 0)
    for i in range(len(leads)):
        assert _owner(crm, kind, leads, i) == routed.get(i)
    if kind == "salesforce":  # a converted person's owner goes to the Contact, not the Lead
        assert leads["crm_object"][0] == "Contact"
        converted = sf_records(crm, "Lead")[sf_id("00Q", 0)]
        assert converted.get("IsConverted") and not converted.get("OwnerId")
    state = table(settings, "select record_id, owner_id from sync.crm_state"
                            " where owner_id is not null")  # fmt: skip
    assert dict(state.itertuples(index=False)) == {leads["lead_id"][i]: routed[i] for i in routed}
    traffic = _traffic(crm, kind)

    third = run_sync(settings, target, "run-3")

    assert (third.status, third.planned, third.sent, third.owners_written) == ("success", 0, 0, 0)
    assert _traffic(crm, kind) == traffic  # not a write, not an owner read
    runs = table(settings, "select run_id, owners_written, owners_kept from sync.runs order by 1")
    assert runs.values.tolist() == [["run-1", 0, 0], ["run-2", 7, 0], ["run-3", 0, 0]]


@pytest.mark.parametrize("kind, warehouse", [(kind, "duckdb") for kind in KINDS]
                         + [("hubspot", "postgres")])  # fmt: skip
def test_a_manual_owner_is_never_overwritten_and_is_counted(request, crm, kind, warehouse):
    settings = request.getfixturevalue("settings" if warehouse == "duckdb" else "pg_settings")
    leads, target, first = _synced(crm, settings, kind, {2: 0, 3: 0})
    reps = REPS[kind]
    assert first.owners_written == 2
    _set_owner_by_hand(crm, kind, leads, 2, reps[5])  # over the owner the product wrote
    _set_owner_by_hand(crm, kind, leads, 4, reps[6])  # a lead the routing had not reached
    _rescore(settings, leads, [2, 4])
    route(settings, leads, {2: reps[1], 3: reps[0], 4: reps[2]})  # 2 reassigned, 4 routed

    second = run_sync(settings, target, "run-2")

    assert second.status == "success", second.message
    assert (second.sent, second.owners_written, second.owners_kept) == (2, 0, 2)
    assert [_owner(crm, kind, leads, i) for i in (2, 3, 4)] == [reps[5], reps[0], reps[6]]
    for i in (2, 4):  # the scores were written all the same
        assert float(_held(crm, kind, leads, i)[SCORE[kind]]) == pytest.approx(
            leads["lead_score"][i]
        )
    kept = table(settings, "select run_id, record_id, crm_owner_id, routed_owner_id"
                           " from sync.owners_kept order by record_id")  # fmt: skip
    assert kept.values.tolist() == sorted(
        [["run-2", leads["lead_id"][2], reps[5], reps[1]],
         ["run-2", leads["lead_id"][4], reps[6], reps[2]]], key=lambda r: r[1],
    )  # fmt: skip
    runs = table(settings, "select owners_kept from sync.runs where run_id = 'run-2'")
    assert runs.iat[0, 0] == 2
    traffic = _traffic(crm, kind)

    third = run_sync(settings, target, "run-3")  # nothing changed: nothing sent or asked

    assert (third.sent, third.owners_kept) == (0, 0)
    assert _traffic(crm, kind) == traffic
    _rescore(settings, leads, [2])  # new scores: the owner is asked again, and kept again
    fourth = run_sync(settings, target, "run-4")
    assert (fourth.sent, fourth.owners_kept, fourth.owners_written) == (1, 1, 0)
    assert [_owner(crm, kind, leads, i) for i in (2, 3, 4)] == [reps[5], reps[0], reps[6]]


@pytest.mark.parametrize("kind", KINDS)
def test_an_unassigned_owner_is_replaced(settings, crm, kind, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_CRM_UNASSIGNED_OWNERS", f" {UNASSIGNED[kind]} ,other")
    leads, target = _shop(crm, settings, kind)
    reps = REPS[kind]
    for i in (2, 3):  # the integration user / a lead queue owns them: nobody yet
        _set_owner_by_hand(crm, kind, leads, i, UNASSIGNED[kind])
    _set_owner_by_hand(crm, kind, leads, 4, reps[4])  # a person's choice
    route(settings, leads, {2: reps[0], 3: reps[1], 4: reps[2], 5: reps[3]})
    preflight(target, settings)

    result = run_sync(settings, target, "run-1")

    assert result.status == "success", result.message
    assert (result.owners_written, result.owners_kept) == (3, 1)
    assert [_owner(crm, kind, leads, i) for i in (2, 3, 4, 5)] == [
        reps[0], reps[1], reps[4], reps[3]
    ]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_the_owner_written_earlier_is_replaced_when_the_lead_is_reassigned(settings, crm, kind):
    leads, target, _ = _synced(crm, settings, kind, {2: 0, 3: 0})
    reps = REPS[kind]
    route(settings, leads, {2: reps[1], 3: reps[0]})  # reassigned after the SLA's window

    result = run_sync(settings, target, "run-2")

    assert (result.status, result.sent) == ("success", 1)  # the owner alone changed
    assert (result.owners_written, result.owners_kept) == (1, 0)
    assert [_owner(crm, kind, leads, i) for i in (2, 3)] == [reps[1], reps[0]]
    state = table(settings, "select owner_id from sync.crm_state where record_id = ?",
                  [leads["lead_id"][2]])  # fmt: skip
    assert state.iat[0, 0] == reps[1]


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_owner_is_a_kept_rejection_and_the_other_rows_land(settings, crm, kind):
    leads, target, first = _synced(
        crm, settings, kind, {2: UNKNOWN[kind], 3: 0, 4: 1}, dead_letter_attempts=2
    )
    reps = REPS[kind]

    assert first.status == "partial", first.message
    assert (first.rejected, first.updated, first.owners_written) == (1, len(leads) - 1, 2)
    assert [_owner(crm, kind, leads, i) for i in (2, 3, 4)] == [None, reps[0], reps[1]]
    assert SCORE[kind] not in _held(crm, kind, leads, 2)  # the refused row, scores included
    for i in [i for i in range(len(leads)) if i != 2]:  # the rest of its batch landed
        assert float(_held(crm, kind, leads, i)[SCORE[kind]]) == pytest.approx(
            leads["lead_score"][i]
        )
    rejected = table(settings, "select record_id, attempts, dead_letter, error"
                               " from sync.rejections")  # fmt: skip
    assert rejected[["record_id", "attempts", "dead_letter"]].values.tolist() == [
        [leads["lead_id"][2], 1, False]
    ]
    assert UNKNOWN[kind] in rejected["error"][0], rejected["error"][0]

    second = run_sync(settings, target, "run-2")  # retried unchanged, then a dead letter

    assert (second.sent, second.rejected, second.dead_lettered) == (1, 1, 1)
    assert run_sync(settings, target, "run-3").sent == 0
    route(settings, leads, {2: reps[2], 3: reps[0], 4: reps[1]})  # the roster is fixed
    fourth = run_sync(settings, target, "run-4")
    assert (fourth.status, fourth.sent, fourth.owners_written) == ("success", 1, 1)
    assert _owner(crm, kind, leads, 2) == reps[2]
    assert table(settings, "select count(*) from sync.rejections").iat[0, 0] == 0
