"""Salesforce as the source CRM, against the sandbox: incremental reads and deletes, one
person per Lead and Contact across a conversion, custom fields as attributes, Bulk API 2.0
paging, activities and campaign members, forgotten people, and the staging of raw contacts
with and without the Salesforce columns."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest
from simple_salesforce import Salesforce

from lead_scoring.crm_sandbox.server import verified_session
from lead_scoring.sources import salesforce
from lead_scoring.sources.errors import SourceUnavailable
from lead_scoring.sources.extract import CrmSource, crm_kind, crm_source_from_env, extract
from lead_scoring.warehouse import open_warehouse

AS_OF = date.today()


@pytest.fixture
def funnel(settings):
    """A small simulated funnel, its CRM records held by the sandbox as Salesforce records."""
    from lead_scoring.simulator import simulate

    simulate(settings, leads=200, accounts=40, events=3_000, days=30, seed=5, crm="salesforce")
    return settings


@pytest.fixture
def sf_sandbox(funnel):
    from lead_scoring.crm_sandbox import start_sandbox

    with start_sandbox(funnel.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10_000) as handle:
        yield handle


@pytest.fixture
def source(sf_sandbox) -> CrmSource:
    return CrmSource(sf_sandbox.salesforce_url, sf_sandbox.token, kind="salesforce",
                     ca_bundle=str(sf_sandbox.ca_path))  # fmt: skip


@pytest.fixture
def sf(sf_sandbox) -> Salesforce:
    return Salesforce(instance_url=sf_sandbox.salesforce_url, session_id=sf_sandbox.token,
                      session=verified_session(sf_sandbox.ca_path))  # fmt: skip


def _admin(sandbox, action: str, body: dict) -> dict:
    session = verified_session(sandbox.ca_path)
    answer = session.post(f"{sandbox.salesforce_url}/_sandbox/salesforce/{action}", json=body,
                          headers={"Authorization": f"Bearer {sandbox.token}"})  # fmt: skip
    answer.raise_for_status()
    return answer.json()


def _rows(settings, sql: str, params=None) -> list[dict]:
    """The rows of a query, missing values as None."""
    with open_warehouse(settings) as wh:
        frame = wh.query_df(sql, params or []).astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def _person(settings, key: str) -> dict:
    (row,) = _rows(settings, "select * from raw.crm_contacts where hs_object_id = ?", [key])
    return row


def _changed(result) -> set[str]:
    """The CRM tables a run loaded rows into, but raw.crm_owners (replaced by every run)."""
    return {t for t in result.rows_loaded if t.startswith("crm_") and t != "crm_owners"}


def _open_leads(sf, count: int) -> list[str]:
    found = sf.query(f"SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT {count}")
    return [r["Id"] for r in found["records"]]


def test_the_source_crm_kind_comes_from_the_environment_or_the_connection(monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_TOKEN", "00D-session-secret")
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_KIND", "Salesforce")
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_CA_BUNDLE", "/etc/ssl/acme-ca.pem")
    source = crm_source_from_env()
    assert (source.kind, source.ca_bundle) == ("salesforce", "/etc/ssl/acme-ca.pem")
    assert "secret" not in repr(source)
    # connection type, extra kind -> kind (an http connection is HubSpot's)
    assert [crm_kind(*conn) for conn in [("salesforce", None), ("http", None),
                                         ("generic", "salesforce"), ("hubspot", "")]] == [
        "salesforce", "hubspot", "salesforce", "hubspot"]  # fmt: skip
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_KIND", "pipedrive")
    with pytest.raises(SourceUnavailable, match="'pipedrive' is not supported: use hubspot or"):
        crm_source_from_env()


def test_an_unreachable_instance_or_a_refused_token_is_named(funnel, sf_sandbox):
    refused = CrmSource(sf_sandbox.salesforce_url, "not-the-token", kind="salesforce",
                        ca_bundle=str(sf_sandbox.ca_path))  # fmt: skip
    with pytest.raises(SourceUnavailable, match=r"refused the session token \(HTTP 401\)"):
        extract(funnel, refused)
    with pytest.raises(SourceUnavailable, match="Salesforce at https://127.0.0.1:9 is unreachable"):
        extract(funnel, CrmSource("https://127.0.0.1:9", "token", kind="salesforce"))


def test_a_second_run_reads_changed_records_and_removes_deleted_ones(funnel, source, sf):
    first = extract(funnel, source)
    people = sf.query("SELECT COUNT() FROM Lead WHERE IsConverted = false")["totalSize"]
    people += sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    with open_warehouse(funnel) as wh:
        assert wh.scalar("select count(*) from raw.crm_contacts") == people
        assert wh.scalar("select count(distinct hs_object_id) from raw.crm_contacts") == people
        assert wh.scalar("select count(*) from raw.crm_activities") == 0  # created, empty
    accounts = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    assert first.rows_loaded["crm_companies"] == accounts
    again = extract(funnel, source)
    assert not _changed(again)

    changed, deleted, untouched = _open_leads(sf, 3)
    before = _person(funnel, untouched)
    sf.Lead.update(changed, {"Title": "VP Revenue"})
    sf.Lead.delete(deleted)
    account = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    sf.Account.delete(account)
    third = extract(funnel, source)
    assert third.rows_loaded["crm_contacts"] == 2  # the changed Lead, the deleted one's removal
    assert third.rows_loaded["crm_companies"] == 1
    assert _person(funnel, changed)["jobtitle"] == "VP Revenue"
    assert _person(funnel, untouched)["_dlt_load_id"] == before["_dlt_load_id"]
    with open_warehouse(funnel) as wh:
        assert wh.scalar("select count(*) from raw.crm_contacts where hs_object_id = ?",
                         [deleted]) == 0  # fmt: skip
        assert wh.scalar("select count(*) from raw.crm_companies where hs_object_id = ?",
                         [account]) == 0  # fmt: skip
        assert wh.scalar("select count(*) from raw.crm_contacts") == people - 1


def test_scores_written_back_are_not_loaded_again(funnel, source, sf):
    """The sync's write-back moves SystemModstamp: the record is read again, raw keeps its
    row; a person's edit at the same time is loaded."""
    extract(funnel, source)
    scored, edited = _open_leads(sf, 2)
    account = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    before = {key: _person(funnel, key) for key in (scored, edited)}
    sf.Lead.update(scored, {"Lead_Score__c": 42})
    sf.Lead.update(edited, {"Title": "VP Revenue"})
    sf.Account.update(account, {"Account_Score__c": 17})
    again = extract(funnel, source)
    assert again.rows_loaded["crm_contacts"] == 1
    assert "crm_companies" not in again.rows_loaded
    assert _person(funnel, scored) == before[scored]
    assert _person(funnel, edited)["jobtitle"] == "VP Revenue"
    assert _person(funnel, edited)["_dlt_load_id"] != before[edited]["_dlt_load_id"]


def test_a_converted_lead_stays_one_person_with_the_same_key(funnel, sf_sandbox, source, sf):
    (lead_id,) = _open_leads(sf, 1)
    sf.Contact.upsert("LS_Lead_Id__c/solo-1", {"LastName": "Solo"})  # never was a Lead
    solo = sf.query("SELECT Id FROM Contact WHERE LS_Lead_Id__c = 'solo-1'")["records"][0]["Id"]
    extract(funnel, source)
    assert _person(funnel, lead_id)["crm_object"] == "Lead"
    assert (_person(funnel, solo)["crm_object"], _person(funnel, solo)["crm_record_id"]) == (
        "Contact", solo)  # fmt: skip

    converted = _admin(sf_sandbox, "convert-lead", {"leadId": lead_id})
    extract(funnel, source)
    person = _person(funnel, lead_id)
    assert (person["crm_object"], person["crm_record_id"]) == ("Contact", converted["contactId"])
    assert person["associatedcompanyid"] == converted["accountId"]
    assert not _rows(funnel, "select 1 from raw.crm_contacts where hs_object_id = ?",
                     [converted["contactId"]])  # fmt: skip
    (deal,) = _rows(funnel, "select * from raw.crm_deals where hs_object_id = ?",
                    [converted["opportunityId"]])  # fmt: skip
    assert deal["ls_contact_id"] == lead_id

    # Only the Contact changes: read without its Lead, it still gets the Lead's key.
    sf.Contact.update(converted["contactId"], {"Title": "Chief Revenue Officer"})
    extract(funnel, source)
    person = _person(funnel, lead_id)
    assert (person["jobtitle"], person["crm_record_id"]) == (
        "Chief Revenue Officer", converted["contactId"])  # fmt: skip


def test_listed_custom_fields_land_in_the_attribute_table(
    funnel, sf_sandbox, source, sf, monkeypatch
):
    for obj in ("Lead", "Contact"):
        _admin(
            sf_sandbox, "custom-fields", {"object": obj, "name": "Budget__c", "type": "currency"}
        )
    _admin(sf_sandbox, "custom-fields", {"object": "Lead", "name": "Visits__c", "type": "double"})
    _admin(sf_sandbox, "custom-fields", {"object": "Account", "name": "Tier__c", "type": "string"})
    with_budget = _open_leads(sf, 2)
    for lead_id in with_budget:
        sf.Lead.update(lead_id, {"Budget__c": 25000, "Visits__c": 4})
    account = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    sf.Account.update(account, {"Tier__c": "gold"})
    monkeypatch.setenv("LEAD_SCORING_CONTACT_ATTRIBUTES", "budget__c, Visits__c:pain")
    monkeypatch.setenv("LEAD_SCORING_COMPANY_ATTRIBUTES", "Tier__c")
    from lead_scoring.settings import get_settings

    extract(get_settings(), source)
    contacts = _rows(
        funnel,
        "select a.hs_object_id, a.attribute, a.value, a.kind,"
        " a.valid_from = c.lastmodifieddate as current from raw.crm_contact_attributes a"
        " join raw.crm_contacts c using (hs_object_id) order by 1, 2",
    )
    assert [(r["hs_object_id"], r["attribute"], r["value"], r["kind"]) for r in contacts] == [
        (lead_id, attribute, value, kind)
        for lead_id in sorted(with_budget)
        for attribute, value, kind in (("budget_c", "25000.0", "fit"), ("visits_c", "4.0", "pain"))
    ]
    assert all(r["current"] for r in contacts)
    companies = _rows(
        funnel, "select hs_object_id, attribute, value from raw.crm_company_attributes"
    )
    assert companies == [{"hs_object_id": account, "attribute": "tier_c", "value": "gold"}]


def test_an_unknown_custom_field_stops_before_anything_is_extracted(
    funnel, sf_sandbox, source, monkeypatch
):
    _admin(sf_sandbox, "custom-fields", {"object": "Lead", "name": "Budget__c", "type": "currency"})
    monkeypatch.setenv("LEAD_SCORING_CONTACT_ATTRIBUTES", "Budget__c,Budgte__c:pain")
    from lead_scoring.settings import get_settings

    with pytest.raises(SourceUnavailable) as raised:
        extract(get_settings(), source)
    assert str(raised.value) == (
        "LEAD_SCORING_CONTACT_ATTRIBUTES (Lead, Contact): Salesforce has no Lead or Contact"
        " field Budgte__c; list fields by their API names (e.g. Budget__c)"
    )
    with open_warehouse(funnel) as wh:
        assert not wh.table_exists("raw", "crm_contacts")


def test_large_reads_go_through_bulk_query_pages(funnel, sf_sandbox, source, sf, monkeypatch):
    """Only the Leads (200) reach the threshold: one Bulk job, read 30 records a page."""
    monkeypatch.setattr(salesforce, "BULK_THRESHOLD", 100)
    monkeypatch.setattr(salesforce, "BULK_PAGE_SIZE", 30)
    monkeypatch.setattr(salesforce, "BULK_POLL_S", 0.01)
    extract(funnel, source)
    leads = sf.query("SELECT COUNT() FROM Lead")["totalSize"]
    requests = sf_sandbox.stats()["requests"]
    jobs = requests["salesforce POST /services/data/v{version}/jobs/query"]
    pages = requests["salesforce GET /services/data/v{version}/jobs/query/{job_id}/results"]
    assert (jobs, pages) == ({"200": 1}, {"200": -(-leads // 30)})
    people = sf.query("SELECT COUNT() FROM Lead WHERE IsConverted = false")["totalSize"]
    people += sf.query("SELECT COUNT() FROM Contact")["totalSize"]
    with open_warehouse(funnel) as wh:
        assert wh.scalar("select count(distinct hs_object_id) from raw.crm_contacts") == people
        assert wh.scalar("select count(*) from raw.crm_contacts") == people
    # Records read again at the cursor, now through REST, read as they did through Bulk.
    assert not _changed(extract(funnel, source))


def test_activities_and_campaign_members_name_the_person(funnel, sf_sandbox, source, sf):
    from lead_scoring.crm_sandbox.salesforce_convert import stored
    from lead_scoring.crm_sandbox.salesforce_schema import new_id, sf_now

    opened, converting = _open_leads(sf, 2)
    converted = _admin(sf_sandbox, "convert-lead", {"leadId": converting})
    now = sf_now()
    records = {
        "Campaign": {"Name": "Spring webinar"},
        "CampaignMember": {"LeadId": converting, "ContactId": converted["contactId"],
                           "Status": "Responded", "HasResponded": True,
                           "FirstRespondedDate": "2026-03-02"},
        "Task": {"WhoId": converted["contactId"], "Subject": "Intro call", "TaskSubtype": "Call",
                 "Status": "Completed", "CompletedDateTime": now},
        "Event": {"WhoId": opened, "Subject": "Demo", "StartDateTime": now, "EndDateTime": now},
    }  # fmt: skip
    ids = {obj: new_id(obj) for obj in records}
    records["CampaignMember"]["CampaignId"] = ids["Campaign"]
    sf_sandbox.store.put_many(
        stored(obj, {"Id": ids[obj], "CreatedDate": now, "LastModifiedDate": now, **fields}, now)
        for obj, fields in records.items()
    )
    extract(funnel, source)
    (member,) = _rows(funnel, "select * from raw.crm_campaign_members")
    assert (member["contact_id"], member["campaign_name"], member["has_responded"]) == (
        converting, "Spring webinar", "true")  # fmt: skip
    activities = _rows(funnel, "select id, contact_id, crm_object, activity_type"
                               " from raw.crm_activities order by crm_object desc")  # fmt: skip
    assert [tuple(a.values()) for a in activities] == [
        (ids["Task"], converting, "Task", "call"),
        (ids["Event"], opened, "Event", "meeting"),
    ]
    sf.Task.delete(ids["Task"])
    extract(funnel, source)
    assert [a["id"] for a in _rows(funnel, "select id from raw.crm_activities")] == [ids["Event"]]


def test_users_and_the_owners_of_people_and_accounts_land_in_raw(funnel, sf_sandbox, source, sf):
    from lead_scoring.crm_sandbox.salesforce_load import INTEGRATION_USER, salesforce_id

    rep_1, rep_2, rep_9 = (salesforce_id("User", n + 1) for n in (1, 2, 9))
    taken, converting, untouched = _open_leads(sf, 3)
    account = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    sf.Lead.update(taken, {"OwnerId": rep_1})
    sf.Lead.update(converting, {"OwnerId": rep_2})
    sf.Account.update(account, {"OwnerId": rep_2})
    first = extract(funnel, source)
    assert first.rows_loaded["crm_owners"] == 10
    owners = _rows(funnel, "select id, email, first_name, last_name, is_active, crm_object"
                           " from raw.crm_owners order by id")  # fmt: skip
    assert owners[0] == {"id": INTEGRATION_USER, "email": "integration@example.com",
                         "first_name": "Integration", "last_name": "User", "is_active": True,
                         "crm_object": "User"}  # fmt: skip
    assert [(o["id"], o["email"]) for o in owners[1:]] == [
        (salesforce_id("User", n + 1), f"rep{n:02d}@example.com") for n in range(1, 10)]
    assert (_person(funnel, taken)["hubspot_owner_id"], _person(funnel, untouched)[
        "hubspot_owner_id"]) == (rep_1, INTEGRATION_USER)  # fmt: skip
    (company,) = _rows(funnel, "select hubspot_owner_id from raw.crm_companies"
                               " where hs_object_id = ?", [account])  # fmt: skip
    assert company["hubspot_owner_id"] == rep_2
    owned = _rows(funnel, "select hubspot_owner_id, count(*) as n from raw.crm_contacts"
                          " group by 1 order by 2 desc")  # fmt: skip
    assert owned[0]["hubspot_owner_id"] == INTEGRATION_USER  # the funnel's, nobody's yet
    assert {o["hubspot_owner_id"] for o in owned} == {INTEGRATION_USER, rep_1, rep_2}

    # The person's owner is the current record's: the Contact after a conversion.
    converted = _admin(sf_sandbox, "convert-lead", {"leadId": converting})
    extract(funnel, source)
    assert _person(funnel, converting)["hubspot_owner_id"] == rep_2  # copied from the Lead
    sf.Contact.update(converted["contactId"], {"OwnerId": rep_1})
    sf.User.update(rep_9, {"IsActive": False})
    extract(funnel, source)
    person = _person(funnel, converting)
    assert (person["crm_record_id"], person["hubspot_owner_id"]) == (
        converted["contactId"], rep_1)  # fmt: skip
    (gone,) = _rows(funnel, "select is_active from raw.crm_owners where id = ?", [rep_9])
    assert gone["is_active"] is False
    assert len(_rows(funnel, "select id from raw.crm_owners")) == 10  # replaced, not appended


def test_forgotten_people_are_left_out(funnel, source, sf):
    from lead_scoring.privacy.tombstones import CONTACT, EMAIL, privacy_key, record_tombstones

    soql = "SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email != null ORDER BY Id"
    by_id, by_email = sf.query(f"{soql} LIMIT 2")["records"]
    with open_warehouse(funnel) as wh:
        forgotten = [(CONTACT, by_id["Id"]), (EMAIL, by_email["Email"])]
        record_tombstones(wh, privacy_key(funnel), forgotten)
    exports = pq.read_table(funnel.marketing_exports_dir).column("contact_id").to_pylist()
    events = exports.count(by_id["Id"])  # marketing exports name a Salesforce person by Id
    assert extract(funnel, source).forgotten_skipped == 2 + events
    assert not _rows(funnel, "select 1 from raw.crm_contacts where hs_object_id in (?, ?)",
                     [by_id["Id"], by_email["Id"]])  # fmt: skip
    assert not _rows(funnel, "select 1 from raw.marketing_events where contact_id = ?",
                     [by_id["Id"]])  # fmt: skip


def test_forgetting_a_converted_person_removes_what_names_their_contact(funnel, source, sf):
    """A converted person is known by the Lead key and by the Contact Id: forget finds the
    marketing events and sales activities naming either, and a rerun does not bring any
    of them back."""
    from lead_scoring.privacy.forget import forget_people

    exports = pq.read_table(funnel.marketing_exports_dir).column("contact_id").to_pylist()
    contact = max((i for i in exports if i.startswith("003")), key=exports.count)
    sf.Task.create({"WhoId": contact, "Subject": "Call", "TaskSubtype": "Call",
                    "Status": "Completed", "ActivityDate": "2026-11-20"})  # fmt: skip
    extract(funnel, source)
    (person,) = _rows(funnel, "select hs_object_id from raw.crm_contacts where crm_record_id = ?",
                      [contact])  # fmt: skip
    key = person["hs_object_id"]
    named = "select count(*) as n from raw.{} where contact_id in (?, ?)"
    assert _rows(funnel, named.format("marketing_events"), [key, contact])[0]["n"] > 0
    assert _rows(funnel, named.format("crm_activities"), [key, contact])[0]["n"] == 1
    forget_people(funnel, ids=[key])
    extract(funnel, source)
    for table in ("crm_contacts", "marketing_events", "crm_activities"):
        column = "hs_object_id" if table == "crm_contacts" else "contact_id"
        sql = f"select count(*) as n from raw.{table} where {column} in (?, ?)"
        assert _rows(funnel, sql, [key, contact])[0]["n"] == 0, table


def _build_staging(settings, *select: str) -> None:
    """dbt build of ``select`` on the extracted warehouse (the quality tables empty)."""
    from lead_scoring.bench import run_dbt
    from lead_scoring.quality.store import ensure_tables

    with open_warehouse(settings) as wh:
        ensure_tables(wh)
    run_dbt(settings, AS_OF, "build", "--indirect-selection", "cautious", "--select", *select)


def test_staging_reads_a_hubspot_raw_table_without_the_salesforce_columns(sandbox, simulated):
    extract(simulated, CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500))
    with open_warehouse(simulated) as wh:
        assert "crm_object" not in wh.columns("raw", "crm_contacts")
    _build_staging(simulated, "stg_crm__companies", "stg_crm__contacts")
    contacts = _rows(
        simulated,
        "select s.contact_id, s.crm_object, s.crm_record_id, s.account_id,"
        " nullif(trim(r.associatedcompanyid), '') as raw_account_id"
        " from staging.stg_crm__contacts s join raw.crm_contacts r"
        " on r.hs_object_id = s.contact_id",
    )
    assert contacts and all(
        (c["crm_object"], c["crm_record_id"], c["account_id"])
        == ("contacts", c["contact_id"], c["raw_account_id"])
        for c in contacts
    )


def test_people_and_their_crm_records_through_dbt(funnel, sf_sandbox, source, sf):
    """An open Lead gets the account with its e-mail's domain when exactly one account has
    it; crm_records names the record each lead's scores are written to."""
    opened, ambiguous, converting = _open_leads(sf, 3)
    solo, twin, other_twin = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 3")["records"]
    for account, website in (
        (solo, "https://solo.example/about"),
        (twin, "https://www.twins.example"),
        (other_twin, "twins.example"),
    ):
        sf.Account.update(account["Id"], {"Website": website})
    sf.Lead.update(opened, {"Email": "ann@solo.example"})
    sf.Lead.update(ambiguous, {"Email": "bo@twins.example"})
    converted = _admin(sf_sandbox, "convert-lead", {"leadId": converting})
    extract(funnel, source)
    _build_staging(funnel, "+crm_records")
    staged = {r["contact_id"]: r for r in _rows(funnel, "select * from staging.stg_crm__contacts")}
    assert (staged[opened]["account_id"], staged[ambiguous]["account_id"]) == (solo["Id"], None)
    records = {r["lead_id"]: r for r in _rows(funnel, "select * from marts.crm_records")}
    assert len(records) == len(_rows(funnel, "select lead_id from marts.lead_scores"))
    assert (records[opened]["crm_object"], records[opened]["crm_record_id"]) == ("Lead", opened)
    assert (records[converting]["crm_object"], records[converting]["crm_record_id"]) == (
        "Contact", converted["contactId"])  # fmt: skip
