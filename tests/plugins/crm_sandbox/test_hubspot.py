"""The HubSpot side through hubspot-api-client 12: batch, search, properties, errors."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInputUpsert as CompanyUpsertBatch,
)
from hubspot.crm.companies import (
    SimplePublicObjectBatchInputUpsert as CompanyUpsert,
)
from hubspot.crm.companies.exceptions import ApiException as CompanyApiException
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate


def upsert_batch(rows: list[tuple[str, dict]]) -> BatchInputSimplePublicObjectBatchInputUpsert:
    return BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            SimplePublicObjectBatchInputUpsert(id=email, id_property="email", properties=props)
            for email, props in rows
        ]
    )


def test_batch_upsert_creates_then_updates_matching_email_case_insensitively(hs, sandbox):
    first = hs.crm.contacts.batch_api.upsert(
        upsert_batch([("Ann@Example.com", {"firstname": "Ann"}), ("bo@example.com", {})])
    )
    assert [r.new for r in first.results] == [True, True]
    ann_id = first.results[0].id

    second = hs.crm.contacts.batch_api.upsert(
        upsert_batch([("  ann@EXAMPLE.com ", {"jobtitle": "VP Sales"})])
    )
    assert second.results[0].id == ann_id
    assert second.results[0].new is False
    assert sandbox.store.count("contacts") == 2

    read = hs.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=ann_id), SimplePublicObjectId(id="999999")],
            properties=["email", "firstname", "jobtitle"],
        )
    )
    (contact,) = read.results
    assert contact.properties["email"] == "ann@example.com"
    assert contact.properties["firstname"] == "Ann"
    assert contact.properties["jobtitle"] == "VP Sales"
    assert contact.updated_at >= contact.created_at
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    assert read.errors[0].context["ids"] == ["999999"]


def test_partial_failure_is_207_with_one_error_per_bad_input(hs, sandbox):
    rows = [(f"lead{i}@example.com", {"firstname": f"L{i}"}) for i in range(97)]
    rows += [
        ("not-an-email", {"firstname": "x"}),
        ("ok1@example.com", {"no_such_property": "1"}),
        ("ok2@example.com", {"lifecyclestage": "hot"}),
    ]
    response = hs.crm.contacts.batch_api.upsert(upsert_batch(rows))
    assert len(response.results) == 97
    assert response.num_errors == 3
    codes = {e.context["ids"][0]: e.errors[0].code for e in response.errors}
    assert codes == {
        "not-an-email": "INVALID_EMAIL",
        "ok1@example.com": "PROPERTY_DOESNT_EXIST",
        "ok2@example.com": "INVALID_OPTION",
    }
    assert {e.category for e in response.errors} == {"VALIDATION_ERROR"}
    assert sandbox.store.count("contacts") == 97


def test_more_than_100_inputs_is_refused_whole(hs, sandbox):
    rows = [(f"lead{i}@example.com", {}) for i in range(101)]
    with pytest.raises(ApiException) as caught:
        hs.crm.contacts.batch_api.upsert(upsert_batch(rows))
    assert caught.value.status == 400
    body = json.loads(caught.value.body)
    assert body["status"] == "error" and body["category"] == "VALIDATION_ERROR"
    assert "101" in body["message"]
    assert sandbox.store.count("contacts") == 0


def test_upsert_on_a_non_unique_property_is_refused_before_any_write(hs, sandbox):
    batch = CompanyUpsertBatch(
        inputs=[CompanyUpsert(id="acme.com", id_property="domain", properties={"name": "Acme"})]
    )
    with pytest.raises(CompanyApiException) as caught:
        hs.crm.companies.batch_api.upsert(batch)
    assert caught.value.status == 400
    assert "hasUniqueValue" in json.loads(caught.value.body)["message"]
    assert sandbox.store.count("companies") == 0


def test_created_unique_property_can_be_an_upsert_key(hs, sandbox):
    hs.crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="ls_account_id",
            label="LS account id",
            type="string",
            field_type="text",
            group_name="companyinformation",
            has_unique_value=True,
        ),
    )
    batch = CompanyUpsertBatch(
        inputs=[CompanyUpsert(id="acc-1", id_property="ls_account_id", properties={"name": "Acme"})]
    )
    created = hs.crm.companies.batch_api.upsert(batch).results[0]
    again = hs.crm.companies.batch_api.upsert(batch).results[0]
    assert created.new is True and again.new is False and again.id == created.id
    assert created.properties["ls_account_id"] == "acc-1"


def test_properties_and_groups_are_created_and_validated(hs):
    props = hs.crm.properties
    props.groups_api.create(
        "contacts", PropertyGroupCreate(name="lead_scoring", label="Lead scoring")
    )
    assert "lead_scoring" in [g.name for g in props.groups_api.get_all("contacts").results]
    props.core_api.create(
        "contacts",
        PropertyCreate(
            name="ls_quadrant",
            label="Quadrant",
            type="enumeration",
            field_type="select",
            group_name="lead_scoring",
            options=[
                OptionInput(label=v, value=v, display_order=i, hidden=False)
                for i, v in enumerate(["yes", "maybe", "no"])
            ],
        ),
    )
    fetched = props.core_api.get_by_name("contacts", "ls_quadrant")
    assert [o.value for o in fetched.options] == ["yes", "maybe", "no"]
    assert "email" in [p.name for p in props.core_api.get_all("contacts").results]

    response = hs.crm.contacts.batch_api.upsert(
        upsert_batch(
            [
                ("a@example.com", {"ls_quadrant": "maybe"}),
                ("b@example.com", {"ls_quadrant": "perhaps"}),
            ]
        )  # fmt: skip
    )
    assert [r.properties["ls_quadrant"] for r in response.results] == ["maybe"]
    assert response.errors[0].errors[0].code == "INVALID_OPTION"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "x", "label": "X", "fieldType": "text", "groupName": "contactinformation"},
         "type"),
        ({"name": "x", "label": "X", "type": "string", "groupName": "contactinformation"},
         "fieldType"),
        ({"name": "x", "label": "X", "type": "enumeration", "fieldType": "select",
          "groupName": "contactinformation", "options": []}, "options"),
        ({"name": "x", "label": "X", "type": "string", "fieldType": "text",
          "groupName": "nope"}, "nope"),
    ],
)  # fmt: skip
def test_property_definitions_missing_type_fieldtype_or_options_are_refused(
    sandbox, body, fragment
):
    response = requests.post(
        f"{sandbox.hubspot_url}/crm/v3/properties/contacts",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_search_pages_by_lastmodifieddate_with_total(hs, sandbox):
    sandbox.store.bulk_load(
        "contacts",
        [
            {"hs_object_id": str(i), "email": f"c{i}@example.com",
             "country": "US" if i % 2 else "DE",
             "lastmodifieddate": f"2026-11-01T10:{i:02d}:00.000Z"}
            for i in range(1, 26)
        ],
    )  # fmt: skip
    seen, after = [], None
    while True:
        page = hs.crm.contacts.search_api.do_search(
            PublicObjectSearchRequest(
                filter_groups=[{"filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GT",
                     "value": "2026-11-01T10:05:00.000Z"}]}],
                sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                properties=["email", "country"],
                limit=7,
                after=after,
            )
        )  # fmt: skip
        assert page.total == 20
        seen += [r.id for r in page.results]
        if not page.paging:
            break
        after = page.paging.next.after
    assert seen == [str(i) for i in range(6, 26)]

    us_in = hs.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[{"filters": [
                {"propertyName": "country", "operator": "EQ", "value": "us"},
                {"propertyName": "hs_object_id", "operator": "IN", "values": ["3", "4", "5"]}]},
                {"filters": [{"propertyName": "hs_object_id", "operator": "LTE", "value": "1"}]}],
            limit=200,
        )
    )  # fmt: skip
    assert sorted(int(r.id) for r in us_in.results) == [1, 3, 5]


CRAFTED = "email') OR 1=1 --"


@pytest.mark.parametrize("name", ["Email", "1score", "ls-score", "ls score", CRAFTED, "é"])
def test_property_names_outside_hubspots_rule_are_refused(sandbox, name):
    response = requests.post(
        f"{sandbox.hubspot_url}/crm/v3/properties/contacts",
        json={"name": name, "label": "X", "type": "string", "fieldType": "text",
              "groupName": "contactinformation"},
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert name not in sandbox.state.hubspot_properties("contacts")


@pytest.mark.parametrize(
    "search",
    [
        {"filterGroups": [{"filters": [
            {"propertyName": CRAFTED, "operator": "EQ", "value": "nobody@example.com"}]}]},
        {"filterGroups": [{"filters": [{"propertyName": CRAFTED, "operator": "HAS_PROPERTY"}]}]},
        {"sorts": [{"propertyName": CRAFTED, "direction": "ASCENDING"}]},
        {"sorts": [CRAFTED]},
    ],
)  # fmt: skip
def test_search_with_a_crafted_property_name_is_refused(sandbox, search):
    sandbox.store.bulk_load("contacts", [{"hs_object_id": "1", "email": "a@example.com"}])
    # Even a definition stored under that name (not creatable through the API) is refused.
    sandbox.store.save_property_def(
        "contacts", {**sandbox.state.hubspot_properties("contacts")["email"], "name": CRAFTED}
    )
    response = requests.post(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/search",
        json={**search, "limit": 10},
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR" and "results" not in body
    assert body["context"] == {"propertyName": [CRAFTED]}


def test_search_limit_over_200_is_refused(hs):
    with pytest.raises(ApiException) as caught:
        hs.crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=201))
    assert caught.value.status == 400


def test_missing_or_wrong_token_gets_hubspots_401(sandbox):
    url = f"{sandbox.hubspot_url}/crm/v3/objects/contacts"
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json()["category"] == "INVALID_AUTHENTICATION"


def test_list_and_get_by_id_property(hs, sandbox):
    hs.crm.contacts.batch_api.upsert(
        upsert_batch([(f"p{i}@example.com", {"lifecyclestage": "lead"}) for i in range(3)])
    )
    page = hs.crm.contacts.basic_api.get_page(limit=2, properties=["email"])
    assert len(page.results) == 2 and page.paging.next.after
    rest = hs.crm.contacts.basic_api.get_page(limit=2, after=page.paging.next.after)
    assert len(rest.results) == 1 and rest.paging is None
    contact = hs.crm.contacts.basic_api.get_by_id(
        "P1@example.com", id_property="email", properties=["lifecyclestage"]
    )
    assert contact.properties["lifecyclestage"] == "lead"


def test_lifecycle_stage_never_moves_backwards_unless_cleared(hs):
    def stage_after(value: str) -> str:
        result = hs.crm.contacts.batch_api.upsert(
            upsert_batch([("stage@example.com", {"lifecyclestage": value})])
        )
        return result.results[0].properties["lifecyclestage"]

    assert stage_after("salesqualifiedlead") == "salesqualifiedlead"
    assert stage_after("lead") == "salesqualifiedlead"
    assert stage_after("") is None
    assert stage_after("lead") == "lead"


def test_duplicate_ids_in_one_batch_are_refused(hs, sandbox):
    with pytest.raises(ApiException) as caught:
        hs.crm.contacts.batch_api.upsert(
            upsert_batch([("dup@example.com", {}), ("DUP@example.com ", {})])
        )
    assert caught.value.status == 400
    assert "Duplicate" in json.loads(caught.value.body)["message"]
    assert sandbox.store.count("contacts") == 0
