"""HubSpot owners, the owner property and sales activities (calls, emails, meetings, tasks)
through hubspot-api-client 12: owners paging, owner validation, engagements created with
their contact, read back with associations, searched on hs_lastmodifieddate."""

from __future__ import annotations

import json
import time

import pytest
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.associations.v4 import PublicFetchAssociationsBatchRequest as AssociationsOf
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.objects.calls import (
    AssociationSpec,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    PublicAssociationsForObject,
    PublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.calls.exceptions import ApiException as CallApiException
from hubspot.crm.owners.exceptions import ApiException as OwnerApiException

TO_CONTACT = {"calls": 194, "emails": 198, "meetings": 200, "tasks": 204}


def contacts(hs, *emails: str, **props) -> list[str]:
    """Upsert contacts by e-mail; their ids."""
    batch = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[SimplePublicObjectBatchInputUpsert(id=e, id_property="email", properties=props)
                for e in emails]  # fmt: skip
    )
    return [r.id for r in hs.crm.contacts.batch_api.upsert(batch).results]


def with_contact(contact_id: str, type_id: int) -> list[PublicAssociationsForObject]:
    return [
        PublicAssociationsForObject(
            to=PublicObjectId(id=contact_id),
            types=[AssociationSpec(association_category="HUBSPOT_DEFINED",
                                   association_type_id=type_id)],  # fmt: skip
        )
    ]


def engagement(object_type: str, contact_id: str, **props) -> dict:
    """A create input (JSON) of ``object_type`` with its contact."""
    return {
        "properties": {"hs_timestamp": "2026-12-01T10:00:00Z", **props},
        "associations": [{"to": {"id": contact_id}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED",
             "associationTypeId": TO_CONTACT[object_type]}]}],
    }  # fmt: skip


def test_owners_are_listed_in_pages_and_read_one_by_one(hs, http, sandbox):
    api = hs.crm.owners.owners_api
    seen, after = [], None
    for _ in range(5):
        page = api.get_page(limit=4, after=after)
        seen += page.results
        if page.paging is None:
            break
        after = page.paging.next.after
    assert [o.id for o in seen] == [str(i) for i in range(1001, 1010)]
    assert [o.email for o in seen] == [f"rep{i:02d}@example.com" for i in range(1, 10)]
    assert all(o.first_name and o.last_name and o.archived is False for o in seen)
    assert api.get_page(archived=True).results == []
    assert [o.id for o in api.get_page(email="REP03@example.com").results] == ["1003"]
    assert api.get_by_id(owner_id=1005).email == "rep05@example.com"
    by_user = api.get_by_id(owner_id=seen[1].user_id, id_property="userId")
    assert by_user.id == "1002"
    with pytest.raises(OwnerApiException) as missing:
        api.get_by_id(owner_id=999)
    assert missing.value.status == 404
    too_many = http.get(f"{sandbox.hubspot_url}/crm/v3/owners", params={"limit": 501})
    assert too_many.status_code == 400
    assert len(http.get(f"{sandbox.hubspot_url}/crm/v3/owners?limit=500").json()["results"]) == 9


def test_the_owner_property_accepts_owner_ids_only(hs, http, sandbox):
    for object_type in ("contacts", "companies"):
        definition = hs.crm.properties.core_api.get_by_name(object_type, "hubspot_owner_id")
        assert (definition.type, definition.field_type) == ("enumeration", "select")
        assert [o.value for o in definition.options] == [str(i) for i in range(1001, 1010)]
    ann, bo = contacts(hs, "ann@example.com", "bo@example.com")
    batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        SimplePublicObjectBatchInputUpsert(id="ann@example.com", id_property="email",
                                           properties={"hubspot_owner_id": "1003"}),
        SimplePublicObjectBatchInputUpsert(id="bo@example.com", id_property="email",
                                           properties={"hubspot_owner_id": "999"}),
    ])  # fmt: skip
    answer = hs.crm.contacts.batch_api.upsert(batch)
    assert [r.id for r in answer.results] == [ann]
    (error,) = answer.errors
    assert (error.category, error.errors[0].code) == ("VALIDATION_ERROR", "INVALID_OPTION")
    assert "999 was not one of the allowed options" in error.message
    assert sandbox.store.get("contacts", ann).properties["hubspot_owner_id"] == "1003"
    assert "hubspot_owner_id" not in sandbox.store.get("contacts", bo).properties
    company = http.post(
        f"{sandbox.hubspot_url}/crm/v3/objects/companies",
        json={"properties": {"name": "Acme", "hubspot_owner_id": "1010"}},
    )
    assert company.status_code == 400
    assert company.json()["category"] == "VALIDATION_ERROR"
    assert company.json()["errors"][0]["code"] == "INVALID_OPTION"
    assert sandbox.store.count("companies") == 0


def test_engagements_are_created_with_their_contact_and_read_back_with_it(hs, http, sandbox):
    ann, bo = contacts(hs, "ann@example.com", "bo@example.com")
    call = hs.crm.objects.calls.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"hs_timestamp": "2026-12-01T10:00:00Z", "hs_call_title": "Intro call",
                        "hs_call_status": "COMPLETED", "hubspot_owner_id": "1002"},
            associations=with_contact(ann, 194),
        )
    )  # fmt: skip
    assert call.properties["hs_timestamp"] == "2026-12-01T10:00:00.000Z"
    assert call.properties["hs_createdate"] and call.properties["hs_lastmodifieddate"]
    created = hs.crm.objects.tasks.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            SimplePublicObjectBatchInputForCreate(
                properties={"hs_timestamp": "2026-12-02T09:00:00+01:00",
                            "hs_task_subject": f"Follow up {n}", "hs_task_status": status},
                associations=with_contact(contact, 204))
            for n, (contact, status) in enumerate([(ann, "COMPLETED"), (bo, "NOT_STARTED")])
        ])
    )  # fmt: skip
    tasks = sorted(created.results, key=lambda t: t.properties["hs_task_subject"])
    email = http.post(f"{sandbox.hubspot_url}/crm/v3/objects/emails",
                      json=engagement("emails", bo, hs_email_direction="INCOMING_EMAIL"))
    meeting = http.post(f"{sandbox.hubspot_url}/crm/v3/objects/0-47",
                        json=engagement("meetings", ann, hs_meeting_outcome="SCHEDULED"))
    assert (email.status_code, meeting.status_code) == (201, 201)
    ids = [call.id, *(t.id for t in tasks), email.json()["id"], meeting.json()["id"]]
    assert len(set(ids)) == 5  # one id space across the four types

    # a completed task gets its completion time; an open one has none
    done = hs.crm.objects.tasks.basic_api.get_by_id(
        tasks[0].id, properties=["hs_task_completion_date", "hs_task_status"],
        associations=["contacts"],
    )  # fmt: skip
    assert done.properties["hs_task_completion_date"] >= done.properties["hs_createdate"]
    assert [(a.id, a.type) for a in done.associations["contacts"].results] == [
        (ann, "task_to_contact")]  # fmt: skip
    read = http.get(
        f"{sandbox.hubspot_url}/crm/v3/objects/tasks/{tasks[1].id}",
        params={"properties": "hs_task_completion_date", "associations": "contacts,nope"},
    )
    assert read.json()["properties"]["hs_task_completion_date"] is None
    assert read.json()["associations"] == {
        "contacts": {"results": [{"id": bo, "type": "task_to_contact"}]}}  # fmt: skip

    listed = hs.crm.objects.calls.basic_api.get_page(
        properties=["hs_call_title", "hubspot_owner_id"], associations=["contacts"]
    )
    (only,) = listed.results
    assert (only.id, only.properties["hs_call_title"], only.properties["hubspot_owner_id"]) == (
        call.id, "Intro call", "1002")  # fmt: skip
    assert only.associations["contacts"].results[0].id == ann
    no_associations = http.get(f"{sandbox.hubspot_url}/crm/v3/objects/emails").json()
    assert "associations" not in no_associations["results"][0]
    batch = hs.crm.objects.calls.batch_api.read(BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=call.id)], properties=["hs_call_status"]))  # fmt: skip
    assert batch.results[0].properties["hs_call_status"] == "COMPLETED"

    # the other direction, and HubSpot's v4 batch read of associations
    from_contact = http.get(f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{ann}",
                            params={"associations": ["calls", "meetings"]}).json()  # fmt: skip
    assert from_contact["associations"]["calls"]["results"] == [
        {"id": call.id, "type": "contact_to_call"}]  # fmt: skip
    v4 = hs.crm.associations.v4.batch_api.get_page(
        "tasks", "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[AssociationsOf(id=t.id) for t in tasks] + [AssociationsOf(id=call.id)]),
    )  # fmt: skip
    found = {r._from.id: [(t.to_object_id, t.association_types[0].type_id) for t in r.to]
             for r in v4.results}  # fmt: skip
    assert found == {tasks[0].id: [(ann, 204)], tasks[1].id: [(bo, 204)]}
    assert v4.errors[0].context == {"fromObjectId": [call.id]}  # a call is no task


def test_engagement_writes_hubspot_refuses(hs, http, sandbox):
    (ann,) = contacts(hs, "ann@example.com")
    with pytest.raises(CallApiException) as no_timestamp:
        hs.crm.objects.calls.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"hs_call_title": "x"})
        )
    body = json.loads(no_timestamp.value.body)
    assert (no_timestamp.value.status, body["category"]) == (400, "VALIDATION_ERROR")
    assert body["context"] == {"properties": ["hs_timestamp"]}
    url = f"{sandbox.hubspot_url}/crm/v3/objects/meetings/batch/create"
    answer = http.post(url, json={"inputs": [
        engagement("meetings", ann, hs_meeting_title="ok"),
        engagement("meetings", "999999"),  # no such contact
        {**engagement("meetings", ann), "associations": [{"to": {"id": ann}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]},
        engagement("meetings", ann, hs_meeting_outcome="WON"),
    ]}).json()  # fmt: skip
    assert [r["properties"]["hs_meeting_title"] for r in answer["results"]] == ["ok"]
    codes = {int(e["context"]["inputIndex"][0]): e["errors"][0]["code"] for e in answer["errors"]}
    assert codes == {1: "INVALID_ASSOCIATION", 2: "INVALID_ASSOCIATION", 3: "INVALID_OPTION"}
    assert sandbox.store.count("meetings") == 1
    assert sandbox.store.associated("contacts", [ann], "meetings") == {
        ann: [(answer["results"][0]["id"], 199)]}  # fmt: skip


def test_engagements_are_searched_on_hs_lastmodifieddate(hs, http, sandbox):
    (ann,) = contacts(hs, "ann@example.com")
    url = f"{sandbox.hubspot_url}/crm/v3/objects/calls"
    first = http.post(f"{url}/batch/create", json={"inputs": [
        engagement("calls", ann, hs_call_status=s) for s in ("QUEUED", "BUSY", "NO_ANSWER")
    ]}).json()["results"]  # fmt: skip
    cursor = max(c["properties"]["hs_lastmodifieddate"] for c in first)
    time.sleep(0.01)
    http.post(f"{url}/batch/update", json={"inputs": [
        {"id": first[1]["id"], "properties": {"hs_call_status": "COMPLETED"}}]})  # fmt: skip
    search = hs.crm.objects.calls.search_api.do_search(PublicObjectSearchRequest(
        filter_groups=[{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GT",
                                     "value": cursor}]}],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["hs_call_status"], limit=10,
    ))  # fmt: skip
    assert search.total == 1
    assert [(c.id, c.properties["hs_call_status"]) for c in search.results] == [
        (first[1]["id"], "COMPLETED")]  # fmt: skip
    assert search.results[0].properties["hs_lastmodifieddate"] > cursor
    everything = http.post(f"{url}/search", json={"limit": 10}).json()
    assert everything["total"] == 3
