"""Salesforce owners in the sandbox: the funnel's Users, every funnel record owned by the
Integration User, a later day's load keeping the owners the CRM holds, and Tasks and
Events logged on Leads and Contacts by sObject Collections."""

from __future__ import annotations

from lead_scoring.crm_sandbox.salesforce_load import INTEGRATION_USER, load_funnel, salesforce_id

REP_1, REP_2 = salesforce_id("User", 2), salesforce_id("User", 3)


def _company(number: str, day: str) -> dict[str, str]:
    return {"hs_object_id": number, "name": f"Acme {number}", "domain": f"acme{number}.example",
            "industry": "Software", "numberofemployees": "120", "annualrevenue": "5000000",
            "country": "US", "createdate": "2026-10-01T09:00:00.000Z",
            "lastmodifieddate": f"2026-10-{day}T09:00:00.000Z"}  # fmt: skip


def _contact(number: str, day: str, company: str = "1") -> dict[str, str]:
    return {"hs_object_id": number, "email": f"p{number}@acme.example", "firstname": "Pat",
            "lastname": f"Doe {number}", "jobtitle": "CTO", "associatedcompanyid": company,
            "hs_analytics_source": "ORGANIC_SEARCH", "createdate": "2026-10-01T10:00:00.000Z",
            "lastmodifieddate": f"2026-10-{day}T10:00:00.000Z"}  # fmt: skip


def _deal(number: str, contact: str, day: str) -> dict[str, str]:
    return {"hs_object_id": number, "ls_contact_id": contact, "dealname": f"Deal {number}",
            "dealstage": "qualifiedtobuy", "amount": "1000", "closedate": "",
            "createdate": f"2026-10-{day}T11:00:00.000Z",
            "lastmodifieddate": f"2026-10-{day}T11:00:00.000Z"}  # fmt: skip


def _owners(sf, obj: str) -> dict[str, str]:
    records = sf.query_all(f"SELECT Id, OwnerId FROM {obj}")["records"]
    return {r["Id"]: r["OwnerId"] for r in records}


def test_the_funnel_is_owned_by_the_integration_user_and_later_days_keep_owners(sf, sandbox):
    load_funnel(sandbox.store, [_company("1", "02")],
                [_contact("10", "02"), _contact("11", "02"), _contact("12", "02")],
                [_deal("20", "11", "03")])  # fmt: skip
    users = sf.query_all("SELECT Id, FirstName, LastName, Email, IsActive FROM User ORDER BY Id")
    assert [(u["Id"], u["Email"], u["IsActive"]) for u in users["records"]] == [
        (INTEGRATION_USER, "integration@example.com", True),
        *((salesforce_id("User", n + 1), f"rep{n:02d}@example.com", True) for n in range(1, 10)),
    ]
    assert users["records"][0]["FirstName"] == "Integration"
    lead_10, lead_11, lead_12 = (salesforce_id("Lead", n) for n in (10, 11, 12))
    contact_11, account = salesforce_id("Contact", 11), salesforce_id("Account", 1)
    for obj in ("Lead", "Contact", "Account", "Opportunity"):
        assert set(_owners(sf, obj).values()) == {INTEGRATION_USER}, obj

    # reps take records in the CRM; a later day's changes keep the owners the CRM holds
    sf.Lead.update(lead_10, {"OwnerId": REP_1})
    sf.Contact.update(contact_11, {"OwnerId": REP_2})
    sf.Account.update(account, {"OwnerId": REP_2})
    load_funnel(sandbox.store, [_company("1", "05")],
                [_contact("10", "05"), _contact("11", "05"), _contact("13", "05")],
                [_deal("20", "11", "03"), _deal("21", "10", "05")], merge=True)  # fmt: skip
    assert _owners(sf, "Account")[account] == REP_2
    leads = _owners(sf, "Lead")
    assert (leads[lead_10], leads[lead_12], leads[salesforce_id("Lead", 13)]) == (
        REP_1, INTEGRATION_USER, INTEGRATION_USER)  # fmt: skip
    contacts = _owners(sf, "Contact")
    assert contacts[contact_11] == REP_2  # converted earlier, changed again
    assert contacts[salesforce_id("Contact", 10)] == REP_1  # converted today: the Lead's owner
    assert sf.Lead.get(lead_11)["IsConverted"] is True


def test_tasks_and_events_are_logged_on_leads_and_contacts(sf, sandbox):
    load_funnel(sandbox.store, [_company("1", "02")], [_contact("10", "02"), _contact("11", "02")],
                [_deal("20", "11", "03")])  # fmt: skip
    lead, contact = salesforce_id("Lead", 10), salesforce_id("Contact", 11)
    created = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Task"}, "WhoId": lead, "OwnerId": REP_1, "Subject": "Call",
         "TaskSubtype": "Call", "Status": "Completed", "ActivityDate": "2026-10-06",
         "CompletedDateTime": "2026-10-06T15:00:00Z"},
        {"attributes": {"type": "Event"}, "WhoId": contact, "OwnerId": REP_2, "Subject": "Demo",
         "StartDateTime": "2026-10-07T10:00:00Z", "EndDateTime": "2026-10-07T10:30:00Z"},
    ]})  # fmt: skip
    assert [r["success"] for r in created] == [True, True]
    task = sf.query(f"SELECT WhoId, OwnerId, IsClosed, Who.Email FROM Task WHERE WhoId = '{lead}'")
    (found,) = task["records"]
    assert (found["OwnerId"], found["IsClosed"], found["Who"]["Email"]) == (
        REP_1, True, "p10@acme.example")  # fmt: skip
    event = sf.query(f"SELECT OwnerId, EndDateTime, Who.Email FROM Event WHERE WhoId = '{contact}'")
    (found,) = event["records"]
    assert (found["OwnerId"], found["EndDateTime"], found["Who"]["Email"]) == (
        REP_2, "2026-10-07T10:30:00.000+0000", "p11@acme.example")  # the Who is a Contact
    assert found["Who"]["attributes"]["type"] == "Contact"
    who = {f["name"]: f for f in sf.Task.describe()["fields"]}["WhoId"]
    assert (who["referenceTo"], who["relationshipName"]) == (["Contact", "Lead"], "Who")


def test_every_org_has_its_users_and_owners_must_be_active_users(sf, sandbox):
    # a reset org holds the ten Users, no funnel needed; a deactivated one stays so
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 10
    rep_9 = salesforce_id("User", 10)
    sf.User.update(rep_9, {"IsActive": False})
    load_funnel(sandbox.store, [_company("1", "02")], [_contact("10", "02")], [])
    assert sf.User.get(rep_9)["IsActive"] is False
    lead = salesforce_id("Lead", 10)
    answer = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "Id": lead, "OwnerId": "005000000000099AAA"},
        {"attributes": {"type": "Lead"}, "Id": lead, "OwnerId": rep_9},
    ]})  # fmt: skip
    assert [(r["success"], r["errors"][0]["statusCode"], r["errors"][0]["fields"])
            for r in answer] == [
        (False, "INVALID_CROSS_REFERENCE_KEY", ["OwnerId"]),
        (False, "INACTIVE_OWNER_OR_USER", ["OwnerId"]),
    ]  # fmt: skip
    assert sf.Lead.get(lead)["OwnerId"] == INTEGRATION_USER
    created = sf.User.create({"LastName": "New", "Email": "new@example.com",
                              "Username": "new@example.com"})["id"]  # fmt: skip
    assert sf.User.get(created)["IsActive"] is True  # a new User is active
    sf.Lead.update(lead, {"OwnerId": created})
    assert sf.Lead.get(lead)["OwnerId"] == created
