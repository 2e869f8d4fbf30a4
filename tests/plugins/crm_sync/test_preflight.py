"""Reliability tests 9 (non-unique upsert key) and 15 (missing property/field), credentials."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from crm_sync_helpers import STORE_TYPES, make_target, marts, requests_to

from lead_scoring.crm_sandbox.server import start_sandbox
from lead_scoring.crm_sync import CrmPreflightError, preflight, run_sync
from lead_scoring.crm_sync.errors import CrmSyncError


def test_hubspot_preflight_creates_the_group_and_properties_once(settings, crm):
    target = make_target(crm, "hubspot")

    preflight(target, settings)
    preflight(target, settings)  # second time: everything exists, nothing created

    created = crm.stats()["requests"]
    assert created["hubspot POST /crm/v3/properties/{object_type}"]["201"] == 12 + 4 + 1
    assert created["hubspot POST /crm/v3/properties/{object_type}/groups"]["201"] == 2
    props = requests.get(
        f"{crm.hubspot_url}/crm/v3/properties/companies",
        headers={"Authorization": f"Bearer {crm.token}"},
    ).json()["results"]
    match = next(p for p in props if p["name"] == "ls_account_id")
    assert match["hasUniqueValue"] is True and match["groupName"] == "lead_scoring"
    date = requests.get(
        f"{crm.hubspot_url}/crm/v3/properties/contacts/ls_sdr_ready_date",
        headers={"Authorization": f"Bearer {crm.token}"},
    ).json()
    assert (date["type"], date["fieldType"]) == ("date", "date")


def test_non_unique_hubspot_match_property_fails_preflight_before_any_write(settings, crm):
    marts(settings, n=10)
    headers = {"Authorization": f"Bearer {crm.token}"}
    requests.post(f"{crm.hubspot_url}/crm/v3/properties/contacts", headers=headers, json={
        "name": "crm_lead_key", "label": "Lead key", "type": "string", "fieldType": "text",
        "groupName": "contactinformation", "hasUniqueValue": False,
    }).raise_for_status()  # fmt: skip
    target = make_target(crm, "hubspot", contact_match_property="crm_lead_key")

    with pytest.raises(CrmPreflightError, match="crm_lead_key is the upsert match key but is not"
                                                " unique"):  # fmt: skip
        preflight(target, settings)
    with pytest.raises(CrmPreflightError, match="not unique"):
        run_sync(settings, target, "run-1")

    assert requests_to(crm, "batch") == 0
    assert crm.store.count("contacts") == 0


def test_unique_custom_match_property_is_created_and_used(settings, crm):
    leads = marts(settings, n=12)
    target = make_target(crm, "hubspot", contact_match_property="ls_lead_id", sync_accounts=False)
    preflight(target, settings)

    result = run_sync(settings, target, "run-1")

    assert result.inserted == 12
    stored = {r["ls_lead_id"] for r in (x.properties for x in crm.store.select("contacts"))}
    assert stored == set(leads["lead_id"])


def test_non_unique_salesforce_external_id_fails_preflight(settings, crm):
    marts(settings, n=10)
    crm.state.salesforce.objects["Lead"]["LS_Lead_Id__c"].unique = False
    try:
        with pytest.raises(CrmPreflightError, match="Lead.LS_Lead_Id__c is the upsert key but"
                                                    " is not Unique"):  # fmt: skip
            preflight(make_target(crm, "salesforce"), settings)
    finally:
        crm.state.salesforce.objects["Lead"]["LS_Lead_Id__c"].unique = True
    assert crm.store.count("sf:Lead") == 0


def test_missing_salesforce_fields_fail_preflight_with_what_an_admin_must_create(
    settings, tmp_path
):
    from lead_scoring.crm_sandbox.salesforce_schema import SalesforceSchema

    every = {f.name for obj in SalesforceSchema().objects.values() for f in obj.values()
             if f.custom}  # fmt: skip
    fields = every - {"Lead_Score__c", "Quadrant__c"}
    marts(settings, n=10)
    with start_sandbox(tmp_path / "crm.sqlite", salesforce_fields=fields) as crm:
        target = make_target(crm, "salesforce")
        with pytest.raises(CrmPreflightError) as raised:
            preflight(target, settings)
        message = str(raised.value)
        assert "Lead.Lead_Score__c: create it as Number(16, 2)" in message
        assert "Lead.Quadrant__c: create it as Picklist with values yes, maybe, no" in message
        assert "admin" in message
        with pytest.raises(CrmPreflightError):
            run_sync(settings, target, "run-1")
        assert crm.store.count("sf:Lead") == 0
        assert requests_to(crm, "composite") == 0


def test_missing_hubspot_property_fails_preflight_when_creation_is_off(settings, crm):
    target = make_target(crm, "hubspot", create_properties=False)

    with pytest.raises(CrmPreflightError, match="contacts.ls_lead_score .*is missing"):
        preflight(target, settings)

    assert requests_to(crm, "POST") == 0


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_missing_or_wrong_credentials_fail_before_any_write(settings, crm, kind):
    marts(settings, n=5)
    target = make_target(crm, kind)
    with pytest.raises(CrmPreflightError, match="no CRM token.*LEAD_SCORING_CRM_TOKEN"):
        preflight(replace(target, token=""), settings)
    with pytest.raises(CrmPreflightError, match="refused"):
        preflight(replace(target, token="wrong"), settings)
    with pytest.raises(CrmSyncError):
        run_sync(settings, replace(target, token=""), "run-1")
    assert crm.store.count(STORE_TYPES[kind][0]) == 0
    assert "wrong" not in str(crm.stats())


def test_missing_mart_column_is_named(settings, crm):
    leads = marts(settings, n=5).drop(columns=["quadrant"])
    from lead_scoring.warehouse import open_warehouse

    with open_warehouse(settings) as wh:
        wh.write_df(leads, "marts", "lead_scores", mode="replace")
    target = make_target(crm, "hubspot")
    with pytest.raises(CrmSyncError, match="marts.lead_scores lacks column 'quadrant'"):
        preflight(target, settings)
    with pytest.raises(CrmSyncError, match="marts.lead_scores lacks column 'quadrant'"):
        run_sync(settings, target, "run-1", dry_run=True)
