"""Extraction with dlt: every source lands in raw, and a second run loads only new rows."""

import re

import pandas as pd
import pytest

from lead_scoring.sources.errors import SourceUnavailable
from lead_scoring.sources.extract import CrmSource, extract
from lead_scoring.warehouse import open_warehouse


def _counts(settings) -> dict[str, int]:
    with open_warehouse(settings) as wh:
        return {
            table: int(wh.scalar(f"select count(*) from raw.{table}"))
            for table in (
                "crm_contacts",
                "crm_companies",
                "crm_deals",
                "product_users",
                "product_events",
                "marketing_events",
            )
        }


def _changed(result) -> dict[str, int]:
    """Rows loaded, but raw.crm_owners (replaced in full by every run)."""
    return {table: n for table, n in result.rows_loaded.items() if table != "crm_owners"}


def test_extract_loads_every_source_then_only_new_rows(sandbox, simulated):
    from lead_scoring.crm_sandbox.store import CrmStore
    from lead_scoring.simulator import simulate_next_day

    source = CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500)
    first = extract(simulated, source)
    counts = _counts(simulated)
    store = CrmStore(simulated.crm_sandbox_dir / "crm.sqlite")
    assert counts["crm_contacts"] == store.count("contacts")
    assert counts["crm_companies"] == store.count("companies")
    assert counts["crm_deals"] == store.count("deals")
    product_events = pd.read_sql("select count(*) as n from app_events", simulated.product_db)[
        "n"
    ].iat[0]
    assert counts["product_events"] == product_events
    exported = sum(
        len(pd.read_parquet(f)) for f in simulated.marketing_exports_dir.glob("events_*.parquet")
    )
    assert counts["marketing_events"] == exported
    assert first.rows_loaded["product_events"] == product_events

    again = extract(simulated, source)
    assert _changed(again) == {}
    assert again.rows_loaded["crm_owners"] == 9  # replaced in full
    assert _counts(simulated) == counts

    simulate_next_day(simulated, seed=8)
    third = extract(simulated, source)
    after = _counts(simulated)
    assert after["product_events"] > counts["product_events"]
    assert after["marketing_events"] > counts["marketing_events"]
    assert third.rows_loaded["product_events"] == after["product_events"] - counts["product_events"]
    assert (
        third.rows_loaded["marketing_events"]
        == after["marketing_events"] - counts["marketing_events"]
    )
    with open_warehouse(simulated) as wh:
        dupes = wh.scalar(
            "select count(*) from (select hs_object_id from raw.crm_contacts"
            " group by hs_object_id having count(*) > 1) d"
        )
    assert dupes == 0


def test_unreachable_crm_stops_with_a_clear_message(simulated):
    with pytest.raises(SourceUnavailable, match="unreachable"):
        extract(simulated, CrmSource("http://127.0.0.1:9", "token"))


def test_missing_product_database_is_named(settings):
    with pytest.raises(SourceUnavailable, match="product database file .* does not exist"):
        extract(settings, CrmSource("http://127.0.0.1:9", "token"))


def test_every_raw_table_carries_the_load_columns(sandbox, simulated):
    extract(simulated, CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500))
    with open_warehouse(simulated) as wh:
        for table in ("crm_contacts", "product_events", "product_users", "marketing_events",
                      "crm_contact_attributes", "crm_company_attributes", "crm_owners",
                      "crm_activities"):  # fmt: skip
            columns = set(wh.columns("raw", table))
            assert {"_dlt_load_id", "_dlt_id"} <= columns, table
        # no attributes listed, no activities logged: their tables exist, empty
        assert wh.scalar("select count(*) from raw.crm_contact_attributes") == 0
        assert wh.scalar("select count(*) from raw.crm_activities") == 0
        assert {"contact_id", "occurred_at", "owner_id", "is_deleted"} <= set(
            wh.columns("raw", "crm_activities")
        )


def test_crm_reads_are_paced_under_the_crm_rate_limit(simulated):
    from lead_scoring.crm_sandbox import start_sandbox

    with start_sandbox(simulated.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=8) as sb:
        extract(simulated, CrmSource(sb.hubspot_url, sb.token, max_requests_per_second=0.7))
        statuses = sb.stats()["by_status"]
    assert statuses.get("hubspot 200", 0) >= 6
    assert "hubspot 429" not in statuses


def test_a_redelivered_export_keeps_each_events_first_load(sandbox, simulated):
    """Scoring counts an event by its first load; re-delivering a file must not renew it."""
    import os
    import time

    source = CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500)
    extract(simulated, source)
    query = (
        "select event_id, min(_dlt_load_id) as first_load from raw.marketing_events"
        " group by event_id order by event_id"
    )
    with open_warehouse(simulated) as wh:
        before = wh.query_df(query)
    export = sorted(simulated.marketing_exports_dir.glob("events_*.parquet"))[-1]
    later = time.time() + 60
    os.utime(export, (later, later))
    again = extract(simulated, source)
    assert again.rows_loaded["marketing_events"] == len(pd.read_parquet(export))
    with open_warehouse(simulated) as wh:
        after = wh.query_df(query)
    pd.testing.assert_frame_equal(before, after)


def test_more_records_at_one_timestamp_than_a_search_window_are_read_once(
    sandbox, simulated, monkeypatch
):
    """HubSpot stops a search at 10,000 results; a bulk update can give more records one
    lastmodifieddate. Here the window is 50 (pages of 10) and 120 contacts share the latest
    timestamp."""
    import sqlite3

    from lead_scoring.crm_sandbox.store import CrmStore
    from lead_scoring.sources import crm

    window = 50
    monkeypatch.setattr(crm, "SEARCH_WINDOW", window)
    monkeypatch.setattr(crm, "PAGE_SIZE", 10)
    sandbox.state.search_result_cap = window
    stamp = "2099-01-01T00:00:00.000Z"
    with sqlite3.connect(simulated.crm_sandbox_dir / "crm.sqlite") as db:
        db.execute(
            "update objects set updated_at = ?,"
            " properties = json_set(properties, '$.lastmodifieddate', ?)"
            " where object_type = 'contacts' and cast(id as integer) in (select cast(id as integer)"
            " from objects where object_type = 'contacts' order by cast(id as integer) limit 120)",
            [stamp, stamp],
        )
    source = CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500)
    first = extract(simulated, source)
    contacts = CrmStore(simulated.crm_sandbox_dir / "crm.sqlite").count("contacts")
    assert first.rows_loaded["crm_contacts"] == contacts  # each record read exactly once
    with open_warehouse(simulated) as wh:
        assert wh.scalar("select count(distinct hs_object_id) from raw.crm_contacts") == contacts
        at_stamp = wh.scalar("select count(*) from raw.crm_contacts where lastmodifieddate = ?",
                             [stamp])  # fmt: skip
    assert at_stamp == 120
    assert _changed(extract(simulated, source)) == {}


def _add_property(sandbox, object_type: str, name: str, type_: str, field_type: str) -> None:
    import requests

    group = {"contacts": "contactinformation", "companies": "companyinformation"}[object_type]
    response = requests.post(
        f"{sandbox.hubspot_url}/crm/v3/properties/{object_type}",
        json={"name": name, "label": name, "type": type_, "fieldType": field_type,
              "groupName": group},
        headers={"Authorization": f"Bearer {sandbox.token}"},
        timeout=10,
    )  # fmt: skip
    response.raise_for_status()


def test_records_the_sync_wrote_are_read_again_but_not_loaded_again(sandbox, simulated, caplog):
    """A score written back moves the record's lastmodifieddate: the next extract reads it
    (the cursor moves past it) and leaves raw's row as it was; a person's edit is loaded."""
    source = CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500)
    extract(simulated, source)
    scored, edited = (r.id for r in sandbox.store.select("contacts", limit=2))
    _add_property(sandbox, "contacts", "ls_lead_score", "number", "number")
    query = ("select hs_object_id, jobtitle, lastmodifieddate, _dlt_load_id"
             " from raw.crm_contacts where hs_object_id in (?, ?) order by hs_object_id")
    with open_warehouse(simulated) as wh:
        before = wh.query_df(query, [scored, edited]).set_index("hs_object_id")
    written = _hubspot(sandbox, "/crm/v3/objects/contacts/batch/update", {"inputs": [
        {"id": scored, "properties": {"ls_lead_score": "42"}},
        {"id": edited, "properties": {"jobtitle": "VP Revenue"}},
    ]})["results"]  # fmt: skip
    stamps = {r["id"]: r["properties"]["lastmodifieddate"] for r in written}
    assert stamps[scored] > before.loc[scored, "lastmodifieddate"]  # the CRM moved it

    with caplog.at_level("INFO", logger="lead_scoring.sources.unchanged"):
        again = extract(simulated, source)
    assert again.rows_loaded["crm_contacts"] == 1  # the edit only
    assert re.search(r"\b1 records read again unchanged .* raw\.crm_contacts", caplog.text)
    with open_warehouse(simulated) as wh:
        after = wh.query_df(query, [scored, edited]).set_index("hs_object_id")
    assert after.loc[scored].equals(before.loc[scored])  # same row, same load
    assert after.loc[edited, "jobtitle"] == "VP Revenue"
    assert after.loc[edited, "lastmodifieddate"] == stamps[edited]

    caplog.clear()
    with caplog.at_level("INFO", logger="lead_scoring.sources.unchanged"):
        third = extract(simulated, source)
    assert _changed(third) == {}
    assert "read again unchanged" not in caplog.text  # the cursor went past the write-back


def test_listed_properties_land_in_the_attribute_tables(sandbox, simulated, monkeypatch):
    import sqlite3

    from lead_scoring.settings import get_settings

    _add_property(sandbox, "contacts", "num_visits", "number", "number")
    _add_property(sandbox, "contacts", "favourite_colour", "string", "text")
    _add_property(sandbox, "companies", "tech_stack", "string", "text")
    with sqlite3.connect(simulated.crm_sandbox_dir / "crm.sqlite") as db:
        db.execute(
            "update objects set properties = json_set(properties, '$.num_visits', '7',"
            " '$.favourite_colour', 'teal') where object_type = 'contacts'"
            " and cast(id as integer) in (select cast(id as integer) from objects"
            " where object_type = 'contacts' order by cast(id as integer) limit 10)"
        )
        db.execute(
            "update objects set properties = json_set(properties, '$.tech_stack', 'kafka')"
            " where object_type = 'companies' and cast(id as integer) in (select cast(id as"
            " integer) from objects where object_type = 'companies' order by cast(id as integer)"
            " limit 3)"
        )
    monkeypatch.setenv("LEAD_SCORING_CONTACT_ATTRIBUTES", "favourite_colour, num_visits:pain")
    monkeypatch.setenv("LEAD_SCORING_COMPANY_ATTRIBUTES", "tech_stack")
    settings = get_settings()
    source = CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500)
    first = extract(settings, source)
    assert first.rows_loaded["crm_contact_attributes"] == 20
    assert first.rows_loaded["crm_company_attributes"] == 3
    with open_warehouse(settings) as wh:
        contacts = wh.query_df(
            "select a.attribute, a.value, a.kind, a.valid_from = c.lastmodifieddate as current"
            " from raw.crm_contact_attributes a join raw.crm_contacts c using (hs_object_id)"
        )
        companies = wh.query_df("select attribute, value, kind from raw.crm_company_attributes")
    assert len(contacts) == 20 and contacts["current"].all()
    assert set(contacts[["attribute", "value", "kind"]].itertuples(index=False, name=None)) == {
        ("favourite_colour", "teal", "fit"),
        ("num_visits", "7", "pain"),
    }
    assert companies.values.tolist() == [["tech_stack", "kafka", "fit"]] * 3
    again = extract(settings, source)
    assert again.rows_loaded.get("crm_contact_attributes", 0) == 0


def test_unknown_attribute_properties_are_named(sandbox, simulated, monkeypatch):
    from lead_scoring.settings import get_settings

    monkeypatch.setenv("LEAD_SCORING_CONTACT_ATTRIBUTES", "lifecyclestage,num_vists:pain,foo")
    source = CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500)
    with pytest.raises(SourceUnavailable) as raised:
        extract(get_settings(), source)
    assert str(raised.value) == (
        "LEAD_SCORING_CONTACT_ATTRIBUTES (contacts): the CRM has no contacts properties"
        " num_vists, foo; list contacts properties by their internal names"
    )
    with open_warehouse(simulated) as wh:
        assert not wh.table_exists("raw", "crm_contacts")


def _hubspot(sandbox, path: str, body: dict) -> dict:
    import requests

    response = requests.post(f"{sandbox.hubspot_url}{path}", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {sandbox.token}"})  # fmt: skip
    response.raise_for_status()
    return response.json()


def _logged(sandbox, object_type: str, contact_id: str | None, **props) -> str:
    """An engagement logged on the contact (none: on no one), as a rep logs it; its id."""
    type_id = {"calls": 194, "emails": 198, "meetings": 200, "tasks": 204}[object_type]
    links = [{"to": {"id": contact_id}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}]  # fmt: skip
    body = {"properties": props, "associations": links if contact_id else []}
    return _hubspot(sandbox, f"/crm/v3/objects/{object_type}", body)["id"]


def test_extract_lands_owners_owner_columns_and_hubspot_activities(sandbox, simulated):
    ann, bo, cy = (r.id for r in sandbox.store.select("contacts", limit=3))
    company = sandbox.store.select("companies", limit=1)[0].id
    _hubspot(sandbox, "/crm/v3/objects/contacts/batch/update", {"inputs": [
        {"id": ann, "properties": {"hubspot_owner_id": "1002"}}]})  # fmt: skip
    _hubspot(sandbox, "/crm/v3/objects/companies/batch/update", {"inputs": [
        {"id": company, "properties": {"hubspot_owner_id": "1005"}}]})  # fmt: skip
    at = "2026-11-02T09:30:00Z"
    ids = {
        "call": _logged(sandbox, "calls", ann, hs_timestamp=at, hs_call_title="Intro",
                        hs_call_status="COMPLETED", hubspot_owner_id="1002"),
        "sent": _logged(sandbox, "emails", bo, hs_timestamp=at, hs_email_subject="Hello",
                        hs_email_direction="EMAIL", hubspot_owner_id="1003"),
        "received": _logged(sandbox, "emails", bo, hs_timestamp="2026-11-02T10:30:00+01:00",
                            hs_email_subject="Re: Hello", hs_email_direction="INCOMING_EMAIL"),
        "meeting": _logged(sandbox, "meetings", cy, hs_timestamp=at, hs_meeting_title="Demo",
                           hs_meeting_outcome="COMPLETED",
                           hs_meeting_end_time="2026-11-02T10:00:00Z"),
        "done": _logged(sandbox, "tasks", ann, hs_timestamp=at, hs_task_subject="Follow up",
                        hs_task_status="COMPLETED",
                        hs_task_completion_date="2026-11-03T08:00:00Z"),
        "open": _logged(sandbox, "tasks", cy, hs_timestamp=at, hs_task_subject="Call back",
                        hs_task_status="NOT_STARTED"),
        "nobody": _logged(sandbox, "calls", None, hs_timestamp=at, hs_call_title="Wrong number",
                          hs_call_status="NO_ANSWER"),
    }  # fmt: skip
    source = CrmSource(sandbox.hubspot_url, sandbox.token, max_requests_per_second=500)
    first = extract(simulated, source)
    assert first.rows_loaded["crm_activities"] == 7
    with open_warehouse(simulated) as wh:
        owners = wh.query_df(
            "select id, email, first_name, last_name, is_active, crm_object from raw.crm_owners"
            " order by id"
        )
        contact_owners = wh.query_df(
            "select hs_object_id, hubspot_owner_id from raw.crm_contacts"
            " where hubspot_owner_id is not null"
        ).values.tolist()
        company_owners = wh.query_df(
            "select hs_object_id, hubspot_owner_id from raw.crm_companies"
            " where hubspot_owner_id is not null"
        ).values.tolist()
        activities = wh.query_df(
            "select id, contact_id, crm_object, activity_type, subject, status, occurred_at,"
            " completed_at, owner_id, createdate is not null and lastmodifieddate is not null"
            " as stamped from raw.crm_activities"
        ).astype(object)
        first_loads = dict(wh.query_df("select id, _dlt_load_id from raw.crm_activities").values)
    assert owners["id"].tolist() == [str(i) for i in range(1001, 1010)]
    assert owners["email"].tolist() == [f"rep{i:02d}@example.com" for i in range(1, 10)]
    assert owners["is_active"].all() and set(owners["crm_object"]) == {"owner"}
    assert owners["first_name"].notna().all() and owners["last_name"].notna().all()
    assert contact_owners == [[ann, "1002"]]
    assert company_owners == [[company, "1005"]]
    found = {
        row.pop("id"): row
        for row in activities.where(activities.notna(), None).to_dict("records")
    }
    stamp = "2026-11-02T09:30:00.000Z"
    assert found == {
        ids["call"]: {"contact_id": ann, "crm_object": "calls", "activity_type": "call",
                      "subject": "Intro", "status": "COMPLETED", "occurred_at": stamp,
                      "completed_at": None, "owner_id": "1002", "stamped": True},
        ids["sent"]: {"contact_id": bo, "crm_object": "emails", "activity_type": "email",
                      "subject": "Hello", "status": "sent", "occurred_at": stamp,
                      "completed_at": None, "owner_id": "1003", "stamped": True},
        ids["received"]: {"contact_id": bo, "crm_object": "emails", "activity_type": "email",
                          "subject": "Re: Hello", "status": "received", "occurred_at": stamp,
                          "completed_at": None, "owner_id": None, "stamped": True},
        ids["meeting"]: {"contact_id": cy, "crm_object": "meetings", "activity_type": "meeting",
                         "subject": "Demo", "status": "COMPLETED", "occurred_at": stamp,
                         "completed_at": "2026-11-02T10:00:00.000Z", "owner_id": None,
                         "stamped": True},
        ids["done"]: {"contact_id": ann, "crm_object": "tasks", "activity_type": "task",
                      "subject": "Follow up", "status": "COMPLETED", "occurred_at": stamp,
                      "completed_at": "2026-11-03T08:00:00.000Z", "owner_id": None,
                      "stamped": True},
        ids["open"]: {"contact_id": cy, "crm_object": "tasks", "activity_type": "task",
                      "subject": "Call back", "status": "NOT_STARTED", "occurred_at": stamp,
                      "completed_at": None, "owner_id": None, "stamped": True},
        ids["nobody"]: {"contact_id": None, "crm_object": "calls", "activity_type": "call",
                        "subject": "Wrong number", "status": "NO_ANSWER", "occurred_at": stamp,
                        "completed_at": None, "owner_id": None, "stamped": True},
    }  # fmt: skip

    # A second run reads only the engagements changed since: the open task is done, a
    # meeting is new; the rest keep the first run's load.
    _hubspot(sandbox, "/crm/v3/objects/tasks/batch/update", {"inputs": [
        {"id": ids["open"], "properties": {"hs_task_status": "COMPLETED"}}]})  # fmt: skip
    later = _logged(sandbox, "meetings", bo, hs_timestamp="2026-11-04T14:00:00Z",
                    hs_meeting_title="Pricing", hs_meeting_outcome="SCHEDULED")  # fmt: skip
    second = extract(simulated, source)
    assert _changed(second) == {"crm_activities": 2}
    with open_warehouse(simulated) as wh:
        loads = dict(wh.query_df("select id, _dlt_load_id from raw.crm_activities").values)
        done = wh.query_df(
            "select status, completed_at from raw.crm_activities where id = ?", [ids["open"]]
        ).iloc[0]
    assert set(loads) == {*ids.values(), later}
    unchanged = [i for key, i in ids.items() if key != "open"]
    assert {i: loads[i] for i in unchanged} == {i: first_loads[i] for i in unchanged}
    assert loads[ids["open"]] != first_loads[ids["open"]]
    assert done["status"] == "COMPLETED" and done["completed_at"] >= "2026-11"  # stamped by HubSpot
