"""Salesforce as a source, through simple-salesforce: SystemModstamp cursors, deletes,
query paging, Bulk API 2.0 query, parent fields, custom fields, lead conversion, updates
by Id, and the simulator's funnel loaded as Salesforce records."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from lead_scoring.crm_sandbox.salesforce_convert import convert_lead
from lead_scoring.crm_sandbox.salesforce_schema import declare_custom_field

UPSERT = "composite/sobjects/Lead/LS_Lead_Id__c"


def leads(sf, keys, **fields) -> list[str]:
    """Create Leads keyed ``LS_Lead_Id__c`` (through Bulk 2.0 above 200); their Ids."""
    records = [{"LS_Lead_Id__c": k, "LastName": f"Doe {k}", "Company": "Acme", **fields}
               for k in keys]  # fmt: skip
    if len(records) > 200:
        sf.bulk2.Lead.upsert(records=records, external_id_field="LS_Lead_Id__c", wait=0)
        found = sf.query_all("SELECT Id, LS_Lead_Id__c FROM Lead")["records"]
        ids = {r["LS_Lead_Id__c"]: r["Id"] for r in found}
        return [ids[k] for k in keys]
    results = sf.restful(
        UPSERT, method="PATCH",
        json={"records": [{"attributes": {"type": "Lead"}, **r} for r in records]},
    )  # fmt: skip
    assert all(r["success"] for r in results), results
    return [r["id"] for r in results]


def rows(pages) -> list[dict]:
    return [row for page in pages for row in csv.DictReader(io.StringIO(page))]


def test_systemmodstamp_cursor_returns_records_modified_after_it(sf):
    first, second, _ = leads(sf, ["C1", "C2", "C3"])
    stamps = sf.query("SELECT Id, SystemModstamp, CreatedDate FROM Lead")["records"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", r["SystemModstamp"])
               for r in stamps)  # fmt: skip
    cursor = max(r["SystemModstamp"] for r in stamps)
    time.sleep(0.01)
    sf.Lead.update(second, {"Title": "CTO"})
    changed = sf.query_all(
        f"SELECT Id, Title FROM Lead WHERE SystemModstamp > {cursor} ORDER BY SystemModstamp, Id"
    )["records"]
    assert [(r["Id"], r["Title"]) for r in changed] == [(second, "CTO")]
    zulu = cursor[:19] + "Z"  # the same cursor in seconds, as 2026-12-01T00:00:00Z
    assert sf.query(f"SELECT COUNT() FROM Lead WHERE SystemModstamp >= {zulu}")["totalSize"] >= 1
    created = sf.Lead.get(first)["CreatedDate"]
    assert sf.Lead.get(second)["CreatedDate"] <= sf.Lead.get(second)["SystemModstamp"]
    assert created <= cursor
    with pytest.raises(SalesforceMalformedRequest) as quoted:
        sf.query(f"SELECT Id FROM Lead WHERE SystemModstamp > '{cursor}'")
    assert quoted.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_query_excludes_and_query_all_includes_deleted_records(sf, http, sandbox):
    gone, kept, also_gone = leads(sf, ["D1", "D2", "D3"])
    before = sf.Lead.get(gone)["SystemModstamp"]
    time.sleep(0.01)
    assert sf.Lead.delete(gone) == 204
    answer = http.delete(
        f"{sandbox.salesforce_url}/services/data/v59.0/composite/sobjects",
        params={"ids": f"{also_gone},{gone}", "allOrNone": "false"},
    ).json()
    assert answer[0] == {"id": also_gone, "success": True, "errors": []}
    assert answer[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"

    live = sf.query("SELECT Id FROM Lead")["records"]
    assert [r["Id"] for r in live] == [kept]
    every = sf.query_all("SELECT Id, IsDeleted, SystemModstamp FROM Lead", include_deleted=True)
    deleted = {r["Id"]: r for r in every["records"] if r["IsDeleted"]}
    assert set(deleted) == {gone, also_gone}
    assert deleted[gone]["SystemModstamp"] > before
    assert sf.query_all(
        "SELECT Id FROM Lead WHERE IsDeleted = true", include_deleted=True
    )["totalSize"] == 2  # fmt: skip
    # the external id is free again: an upsert creates a new Lead
    (again,) = leads(sf, ["D1"])
    assert again != gone


def test_query_pages_of_2000_with_next_records_url(sf):
    keys = [f"P{i:05d}" for i in range(4500)]
    leads(sf, keys)
    first = sf.query("SELECT Id, LS_Lead_Id__c FROM Lead ORDER BY LS_Lead_Id__c")
    assert (first["totalSize"], first["done"], len(first["records"])) == (4500, False, 2000)
    assert re.fullmatch(r"/services/data/v59\.0/query/01g\w+-2000", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["nextRecordsUrl"].endswith("-4000")
    everything = sf.query_all("SELECT Id, LS_Lead_Id__c FROM Lead ORDER BY LS_Lead_Id__c")
    assert [r["LS_Lead_Id__c"] for r in everything["records"]] == keys
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query_more("01gNOSUCHLOCATOR-2000")
    assert bad.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_bulk2_query_pages_with_locators(sf):
    ids = leads(sf, [f"B{i:04d}" for i in range(2500)], Lead_Score__c=5)
    sf.Lead.delete(ids[0])
    pages = list(sf.bulk2.Lead.query(
        "SELECT Id, LS_Lead_Id__c, Lead_Score__c, IsDeleted FROM Lead ORDER BY LS_Lead_Id__c",
        max_records=1000, wait=0,
    ))  # fmt: skip
    assert len(pages) == 3
    found = rows(pages)
    assert len(found) == 2499 and found[0]["LS_Lead_Id__c"] == "B0001"
    assert found[0]["IsDeleted"] == "false" and found[0]["Lead_Score__c"] == "5.0"
    assert pages[0].splitlines()[0] == '"Id","LS_Lead_Id__c","Lead_Score__c","IsDeleted"'
    every = rows(sf.bulk2.Lead.query_all(
        "SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true", wait=0
    ))  # fmt: skip
    assert every == [{"Id": ids[0], "IsDeleted": "true"}]
    for unsupported in ("SELECT COUNT() FROM Lead", "SELECT Id, (SELECT Id FROM Tasks) FROM Lead"):
        with pytest.raises(SalesforceMalformedRequest):
            list(sf.bulk2.Lead.query(unsupported, wait=0))


def test_parent_relationship_fields(sf, sandbox):
    sf.restful("composite/sobjects/Account/LS_Account_Id__c", method="PATCH", json={"records": [
        {"attributes": {"type": "Account"}, "LS_Account_Id__c": "A1", "Name": "Acme",
         "Website": "https://acme.example"}]})  # fmt: skip
    (account_id,) = [r["Id"] for r in sf.query("SELECT Id FROM Account")["records"]]
    sf.restful("composite/sobjects/Contact/LS_Lead_Id__c", method="PATCH", json={"records": [
        {"attributes": {"type": "Contact"}, "LS_Lead_Id__c": "K1", "LastName": "Roe",
         "AccountId": account_id},
        {"attributes": {"type": "Contact"}, "LS_Lead_Id__c": "K2", "LastName": "Poe"},
    ]})  # fmt: skip
    found = sf.query(
        "SELECT LastName, Account.Website, Account.Name FROM Contact ORDER BY LastName"
    )["records"]
    assert found[0]["Account"] is None
    assert found[1]["Account"]["Website"] == "https://acme.example"
    assert found[1]["Account"]["attributes"]["type"] == "Account"
    filtered = sf.query("SELECT Id FROM Contact WHERE Account.Name = 'acme'")
    assert filtered["totalSize"] == 1
    csv_rows = rows(sf.bulk2.Contact.query(
        "SELECT LastName, Account.Website FROM Contact ORDER BY LastName", wait=0
    ))  # fmt: skip
    assert csv_rows == [{"LastName": "Poe", "Account.Website": ""},
                        {"LastName": "Roe", "Account.Website": "https://acme.example"}]  # fmt: skip
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELECT Nope.Name FROM Contact")
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_owners_activities_campaigns_and_query_job_lifecycle(sf, http, sandbox):
    owner = sf.User.create({"LastName": "Stone", "Email": "avery@corp.example",
                            "Username": "avery@corp.example"})["id"]  # fmt: skip
    (lead_id,) = leads(sf, ["T1"], OwnerId=owner)
    (found,) = sf.query("SELECT Owner.Email FROM Lead")["records"]
    assert found["Owner"]["Email"] == "avery@corp.example"
    task = sf.Task.create({"WhoId": lead_id, "Subject": "Call", "Status": "Completed",
                           "TaskSubtype": "Call", "ActivityDate": "2026-12-01"})["id"]  # fmt: skip
    assert task.startswith("00T")
    tasks = sf.query("SELECT Id, IsClosed FROM Task WHERE ActivityDate >= 2026-11-30")["records"]
    assert [(t["Id"], t["IsClosed"]) for t in tasks] == [(task, True)]
    campaign = sf.Campaign.create({"Name": "Webinar", "Type": "Webinar"})["id"]
    created = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "CampaignMember"}, "CampaignId": campaign, "LeadId": lead_id,
         "Status": "Responded", "HasResponded": True, "FirstRespondedDate": "2026-12-02"},
        {"attributes": {"type": "Event"}, "WhoId": lead_id, "Subject": "Demo",
         "StartDateTime": "2026-12-03T10:00:00Z", "EndDateTime": "2026-12-03T11:00:00Z"},
    ]})  # fmt: skip
    assert [r["id"][:3] for r in created] == ["00v", "00U"]
    member = sf.query("SELECT Campaign.Name, HasResponded FROM CampaignMember")["records"][0]
    assert (member["Campaign"]["Name"], member["HasResponded"]) == ("Webinar", True)

    jobs = f"{sandbox.salesforce_url}/services/data/v59.0/jobs/query"
    job = http.post(jobs, json={"operation": "query", "query": "SELECT Id FROM Task"}).json()
    assert (job["state"], job["jobType"]) == ("UploadComplete", "V2Query")
    assert http.get(f"{jobs}/{job['id']}").json()["state"] == "InProgress"
    assert http.get(f"{jobs}/{job['id']}/results").status_code == 400
    assert http.patch(f"{jobs}/{job['id']}", json={"state": "Aborted"}).json()["state"] == (
        "Aborted"
    )
    assert http.delete(f"{jobs}/{job['id']}").status_code == 204
    assert http.get(f"{jobs}/{job['id']}").status_code == 404
    done = http.post(jobs, json={"operation": "query", "query": "SELECT Id FROM Task"}).json()
    http.get(f"{jobs}/{done['id']}")
    assert http.get(f"{jobs}/{done['id']}").json()["numberRecordsProcessed"] == 1
    page = http.get(f"{jobs}/{done['id']}/results", params={"maxRecords": 5})
    assert (page.headers["Sforce-Locator"], page.headers["Sforce-NumberOfRecords"]) == ("null", "1")
    bad = http.get(f"{jobs}/{done['id']}/results", params={"locator": "!!"})
    assert bad.status_code == 400
    malformed = http.post(jobs, json={"operation": "query", "query": "SELECT FROM Lead"})
    assert malformed.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_declared_custom_fields_in_describe_writes_and_queries(sf, http, sandbox):
    declare_custom_field(sandbox.store, "Lead", "Webinar_Count__c", "double")
    answer = http.post(
        f"{sandbox.salesforce_url}/_sandbox/salesforce/custom-fields",
        json={"object": "Contact", "name": "Segment__c", "type": "picklist",
              "picklistValues": ["smb", "enterprise"]},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    bad = http.post(f"{sandbox.salesforce_url}/_sandbox/salesforce/custom-fields",
                    json={"object": "Lead", "name": "No Suffix", "type": "double"})  # fmt: skip
    assert bad.status_code == 400
    lead_fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert lead_fields["Webinar_Count__c"]["custom"] is True
    assert lead_fields["Webinar_Count__c"]["type"] == "double"
    assert lead_fields["ConvertedAccountId"]["referenceTo"] == ["Account"]
    assert lead_fields["ConvertedAccountId"]["relationshipName"] == "ConvertedAccount"
    contact_fields = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert {"Segment__c", "Lead_Score__c", "OwnerId", "AccountId"} <= contact_fields
    leads(sf, ["W1"], Webinar_Count__c=3)
    found = sf.query("SELECT Webinar_Count__c FROM Lead WHERE Webinar_Count__c > 2")
    assert found["records"][0]["Webinar_Count__c"] == 3.0


def test_lead_conversion_and_converted_leads_are_read_only(sf, http, sandbox):
    lead_id, other_id = leads(sf, ["V1", "V2"], Email="ada@acme.example", Title="CTO",
                              Lead_Score__c=88, Website="https://acme.example")  # fmt: skip
    converted = http.post(
        f"{sandbox.salesforce_url}/_sandbox/salesforce/convert-lead",
        json={"leadId": lead_id, "opportunityName": "Acme - New Business"},
    ).json()
    lead = sf.Lead.get(lead_id)
    assert (lead["IsConverted"], lead["Status"]) == (True, "Closed - Converted")
    assert lead["ConvertedContactId"] == converted["contactId"]
    assert lead["ConvertedOpportunityId"] == converted["opportunityId"]
    contact = sf.Contact.get(converted["contactId"])
    assert (contact["Email"], contact["Title"], contact["Lead_Score__c"], contact["AccountId"]) == (
        "ada@acme.example", "CTO", 88.0, converted["accountId"])  # fmt: skip
    assert sf.Account.get(converted["accountId"])["Name"] == "Acme"
    deal = sf.Opportunity.get(converted["opportunityId"])
    assert (deal["Name"], deal["AccountId"], deal["IsClosed"]) == (
        "Acme - New Business", converted["accountId"], False)  # fmt: skip
    role = sf.query(
        "SELECT ContactId, IsPrimary, Opportunity.Name FROM OpportunityContactRole"
    )["records"]  # fmt: skip
    assert [(r["ContactId"], r["IsPrimary"]) for r in role] == [(converted["contactId"], True)]
    joined = sf.query(
        f"SELECT ConvertedContact.Email FROM Lead WHERE Id = '{lead_id}'"
    )["records"][0]  # fmt: skip
    assert joined["ConvertedContact"]["Email"] == "ada@acme.example"

    onto = convert_lead(sandbox.store, other_id, account_id=converted["accountId"],
                        create_opportunity=False)  # fmt: skip
    assert onto["accountId"] == converted["accountId"] and onto["opportunityId"] is None
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1

    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "Id": lead_id, "Lead_Score__c": 90},
        {"attributes": {"type": "Contact"}, "Id": converted["contactId"], "Lead_Score__c": 90},
    ]})  # fmt: skip
    assert results[0]["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert results[1]["success"] is True
    with pytest.raises(SalesforceMalformedRequest) as single:
        sf.Lead.update(lead_id, {"Lead_Score__c": 91})
    assert single.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    again = http.post(f"{sandbox.salesforce_url}/_sandbox/salesforce/convert-lead",
                      json={"leadId": lead_id})  # fmt: skip
    assert again.status_code == 400
    assert again.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert (
        http.post(
            f"{sandbox.salesforce_url}/_sandbox/salesforce/convert-lead",
            json={"leadId": lead_id},
            headers={"Authorization": ""},
        ).status_code
        == 401
    )


def test_update_by_id_never_creates(sf, sandbox):
    live, deleted = leads(sf, ["U1", "U2"])
    sf.Lead.delete(deleted)
    unknown = "00Q000000000000AAA"
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "Id": live, "Title": "VP"},
        {"attributes": {"type": "Lead"}, "Id": unknown, "Title": "VP"},
        {"attributes": {"type": "Lead"}, "Id": deleted, "Title": "VP"},
        {"attributes": {"type": "Lead"}, "Id": "003000000000000AAA", "Title": "VP"},
    ]})  # fmt: skip
    assert results[0] == {"id": live, "success": True, "errors": [], "created": False}
    assert [r["errors"][0]["statusCode"] for r in results[1:]] == [
        "INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED", "MALFORMED_ID"]  # fmt: skip
    rolled = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Lead"}, "Id": live, "Title": "CEO"},
        {"attributes": {"type": "Lead"}, "Id": unknown, "Title": "CEO"}]})  # fmt: skip
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.Lead.get(live)["Title"] == "VP"

    (upsert,) = sf.restful("composite/sobjects/Lead/Id", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "Id": unknown, "LastName": "X", "Company": "Y"},
    ]})  # fmt: skip
    assert upsert["errors"][0]["statusCode"] == "NOT_FOUND"
    (summary,) = sf.bulk2.Lead.update(
        records=[{"Id": live, "Title": "COO"}, {"Id": unknown, "Title": "COO"}], wait=0
    )
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"]) == (2, 1)
    failed = rows([sf.bulk2.Lead.get_failed_records(summary["job_id"])])
    assert failed[0]["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY")
    assert sf.Lead.get(live)["Title"] == "COO"
    assert sandbox.store.count("sf:Lead") == 1  # the deleted one is in the recycle bin
    assert sf.query("SELECT COUNT() FROM Lead", include_deleted=True)["totalSize"] == 2


def test_simulator_writes_the_funnel_as_salesforce_records(settings, tmp_path):
    import dataclasses
    from datetime import date

    import pandas as pd

    from lead_scoring.crm_sandbox.server import start_sandbox
    from lead_scoring.crm_sandbox.store import CrmStore
    from lead_scoring.simulator import simulate, simulate_next_day

    size = {"leads": 600, "accounts": 120, "events": 6_000, "days": 60,
            "end_date": date(2026, 11, 1), "seed": 7}  # fmt: skip
    hubspot = dataclasses.replace(settings, home=tmp_path / "hubspot")
    summary = simulate(settings, crm="salesforce", **size)
    simulate(hubspot, **size)
    path = settings.crm_sandbox_dir / "crm.sqlite"
    store = CrmStore(path)
    counts = store.counts()
    funnel = CrmStore(hubspot.crm_sandbox_dir / "crm.sqlite")
    contacts = {r.id: r.properties for r in funnel.select("contacts")}
    deals = {r.properties["ls_contact_id"]: r.properties for r in funnel.select("deals")}
    assert set(funnel.counts()) == {"contacts", "companies", "deals"}
    funnel.close()
    assert counts["sf:Lead"] == summary.leads == len(contacts)
    assert counts["sf:Contact"] == counts["sf:Opportunity"] == summary.deals == len(deals)
    assert counts["sf:OpportunityContactRole"] == summary.deals
    with_account = sum(1 for k in deals if contacts[k]["associatedcompanyid"])
    assert counts["sf:Account"] == summary.accounts + summary.deals - with_account
    lead_rows = {r.properties["LS_Lead_Id__c"]: r.properties for r in store.select("sf:Lead")}
    assert {k: v["Email"] or "" for k, v in lead_rows.items()} == {
        k: v["email"] for k, v in contacts.items()}  # fmt: skip
    assert {k for k, v in lead_rows.items() if v["IsConverted"]} == set(deals)
    store.close()
    truth = pd.read_parquet(settings.truth_dir / "leads.parquet")
    assert truth.equals(pd.read_parquet(hubspot.truth_dir / "leads.parquet"))

    with start_sandbox(path, token="t") as sandbox:
        from simple_salesforce import Salesforce

        from lead_scoring.crm_sandbox.server import verified_session

        sf = Salesforce(instance_url=sandbox.salesforce_url, session_id="t",
                        session=verified_session(sandbox.ca_path))  # fmt: skip
        won = sf.query_all(
            "SELECT Id, Amount, Account.Name FROM Opportunity WHERE IsWon = true"
        )["records"]  # fmt: skip
        assert len(won) == summary.won and all(r["Account"]["Name"] for r in won)
        converted = sf.query(
            "SELECT COUNT() FROM Lead WHERE IsConverted = true AND ConvertedContact.Email != null"
        )  # fmt: skip
        assert converted["totalSize"] == sum(1 for k in deals if contacts[k]["email"])

    day = simulate_next_day(settings)
    store = CrmStore(path)
    assert store.count("sf:Lead") == summary.leads + day.leads
    assert store.count("sf:Opportunity") == summary.deals + day.deals
    store.close()
