"""Write-back by the CRM's own identity: records are updated by their id, never re-created.

The sandbox holds records "made by people" before the sync runs; the tests assert what the
CRM holds after several runs: the same records, no nameless shells, the scores on them.
"""

from __future__ import annotations

import pytest
from crm_sync_helpers import (
    STORE_TYPES,
    hubspot_people,
    make_target,
    marts,
    records,
    requests_to,
    rewrite_leads,
    table,
    with_hubspot_ids,
)

from lead_scoring.crm_sync import CrmTarget, SyncOptions, preflight, run_sync
from lead_scoring.crm_sync.bench import sample_accounts, write_marts


def test_records_read_from_the_crm_are_updated_by_id_and_never_duplicated(settings, crm):
    leads = marts(settings, n=60)
    leads, accounts = with_hubspot_ids(leads, sample_accounts(leads))
    write_marts(settings, leads, accounts)
    hubspot_people(crm, leads, accounts)
    target = CrmTarget(
        "hubspot", crm.hubspot_url, crm.token, source_url=crm.hubspot_url,
        options=SyncOptions(max_requests_per_10s=10_000),
    )  # fmt: skip
    assert target.uses_crm_ids  # auto: the target is the CRM the records came from
    preflight(target, settings)
    before = crm.store.counts()

    for run, bump in (("run-1", 0), ("run-1", 0), ("run-2", 1), ("run-1", 0)):
        leads["lead_score"] += bump
        accounts["account_score"] += bump
        write_marts(settings, leads, accounts)
        result = run_sync(settings, target, run)
        assert result.status == "success", result.message
        assert result.inserted == 0

    assert crm.store.counts() == before  # not one record created
    assert requests_to(crm, "batch/{action}") > 0
    contacts = {r["hs_object_id"]: r for r in records(crm, "hubspot", 0)}
    companies = {r["hs_object_id"]: r for r in records(crm, "hubspot", 1)}
    assert all(c.get("name") for c in companies.values()), "a nameless company appeared"
    for lead_id, score in zip(leads["lead_id"], leads["lead_score"], strict=True):
        assert float(contacts[lead_id]["ls_lead_score"]) == pytest.approx(score)
        assert contacts[lead_id]["firstname"].startswith("First")  # names untouched
    for account_id, score in zip(accounts["account_id"], accounts["account_score"], strict=True):
        assert float(companies[account_id]["ls_account_score"]) == pytest.approx(score)
        assert "ls_account_id" not in companies[account_id]  # no match key stamped on them


def test_a_record_deleted_in_the_crm_is_a_rejection_not_a_new_record(settings, crm):
    leads = marts(settings, n=20)
    leads, accounts = with_hubspot_ids(leads, sample_accounts(leads))
    write_marts(settings, leads, accounts)
    hubspot_people(crm, leads.iloc[1:], accounts)  # contact 1000 was deleted in the CRM
    target = make_target(crm, "hubspot", record_ids="crm", create_records=True)
    preflight(target, settings)
    before = crm.store.counts()

    result = run_sync(settings, target, "run-1")

    assert crm.store.counts() == before
    assert (result.rejected, result.updated) == (1, len(leads) - 1 + len(accounts))
    assert result.status == "partial"


def test_without_crm_ids_records_are_found_by_email_and_nothing_is_created(settings, crm):
    leads = marts(settings, n=40)  # ids of another system; half the people are in the CRM
    accounts = sample_accounts(leads)
    hubspot_people(crm, leads.iloc[:20], accounts.iloc[:0])
    target = make_target(crm, "hubspot", create_records=False)
    preflight(target, settings)
    before = crm.store.counts()

    first = run_sync(settings, target, "run-1")

    assert crm.store.counts() == before
    assert (first.updated, first.not_in_crm, first.inserted) == (20, 40 - 20 + len(accounts), 0)
    by_email = {r["email"]: r for r in records(crm, "hubspot", 0)}
    for email, score in zip(leads["email"][:20], leads["lead_score"][:20], strict=True):
        assert float(by_email[email]["ls_lead_score"]) == pytest.approx(score)
    state = table(settings, "select record_id, crm_id from sync.crm_state"
                            " where object_type = 'contacts' order by crm_id")  # fmt: skip
    assert state["crm_id"].tolist() == [str(1000 + i) for i in range(20)]

    leads["lead_score"] += 1
    rewrite_leads(settings, leads)
    second = run_sync(settings, target, "run-2")

    assert crm.store.counts() == before
    assert (second.updated, second.inserted) == (20, 0)
    by_email = {r["email"]: r for r in records(crm, "hubspot", 0)}
    assert float(by_email[leads["email"][0]]["ls_lead_score"]) == pytest.approx(
        leads["lead_score"][0]
    )


def test_creation_sets_a_unique_key_and_names_the_company(settings, crm):
    leads = marts(settings, n=30)
    accounts = sample_accounts(leads)
    target = make_target(crm, "hubspot", create_records=True)
    preflight(target, settings)

    for run in ("run-1", "run-2"):
        leads["lead_score"] += 1
        write_marts(settings, leads, accounts)
        assert run_sync(settings, target, run).status == "success"

    companies = records(crm, "hubspot", 1)
    assert len(companies) == len(accounts)
    assert {c["ls_account_id"] for c in companies} == set(accounts["account_id"])
    assert all(c["name"] == c["domain"] for c in companies)
    assert crm.store.count("contacts") == len(leads)


@pytest.mark.parametrize("create", [False, True])
def test_salesforce_leads_made_by_people_are_never_duplicated(settings, crm, create):
    leads = marts(settings, n=30)
    crm.store.bulk_load(
        STORE_TYPES["salesforce"][0],
        [{"hs_object_id": f"00Q{i:015d}", "Id": f"00Q{i:015d}", "LastName": f"Last{i}",
          "Company": "Acme", **({"LS_Lead_Id__c": lead_id} if i < 10 else {})}
         for i, lead_id in enumerate(leads["lead_id"])],
        keys=["LS_Lead_Id__c"],
    )  # fmt: skip
    target = make_target(crm, "salesforce", sync_accounts=False, create_records=create)
    preflight(target, settings)

    for run in ("run-1", "run-2"):
        leads["lead_score"] += 1
        rewrite_leads(settings, leads)
        result = run_sync(settings, target, run)
        assert result.status == "success", result.message

    stored = records(crm, "salesforce", 0)
    keyed = {r["LS_Lead_Id__c"]: r for r in stored if r.get("LS_Lead_Id__c")}
    # 10 leads carry the product's key: updated in place, by their Id on the second run
    for lead_id, score in zip(leads["lead_id"][:10], leads["lead_score"][:10], strict=True):
        assert float(keyed[lead_id]["Lead_Score__c"]) == pytest.approx(score)
    # the 20 the CRM cannot tell apart are created only when creation is enabled
    assert len(stored) == (30 + 20 if create else 30)
    assert len(keyed) == (30 if create else 10)
    assert result.not_in_crm == (0 if create else 20)


def test_record_ids_setting():
    def target(url, source, **options):
        return CrmTarget("hubspot", url, "t", source_url=source, options=SyncOptions(**options))

    assert target("https://api.hubapi.com", "https://api.hubapi.com:443/").uses_crm_ids
    assert not target("https://api.hubapi.com", "http://localhost:8000").uses_crm_ids
    assert not target("https://api.hubapi.com", "").uses_crm_ids
    assert target("https://api.hubapi.com", "", record_ids="crm").uses_crm_ids
    assert not target("https://a", "https://a", record_ids="external").uses_crm_ids
    salesforce = CrmTarget("salesforce", "https://x", "t", source_url="https://x")
    assert not salesforce.uses_crm_ids
