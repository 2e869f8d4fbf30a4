"""A Salesforce shop's round trip: scores go back to the records they were read from, by Id.

Leads are written to their Lead or, once converted, to their Contact (``marts.crm_records``),
accounts to their Account; nothing is ever created. The sandbox holds the records before
the sync runs, and the tests assert what the CRM holds afterwards.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from crm_sync_helpers import (
    salesforce_shop,
    same_salesforce,
    sf_id,
    sf_records,
    table,
    write_salesforce_marts,
)

from lead_scoring.crm_sandbox.server import verified_session
from lead_scoring.crm_sync import CrmTarget, preflight, run_sync, target_from_env
from lead_scoring.warehouse import open_warehouse

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("salesforce_funnel")

SF_OBJECTS = ("sf:Lead", "sf:Contact", "sf:Account")


# -- configuration ------------------------------------------------------------------------
def test_without_a_target_url_the_scores_go_back_to_the_source_crm():
    source = {
        "LEAD_SCORING_CRM_SOURCE_KIND": "salesforce",
        "LEAD_SCORING_CRM_SOURCE_URL": "https://acme.my.salesforce.com",
        "LEAD_SCORING_CRM_SOURCE_TOKEN": "source-token",
        "LEAD_SCORING_CRM_SOURCE_CA_BUNDLE": "/tls/ca.pem",
    }
    target = target_from_env(source)
    assert (target.kind, target.base_url, target.token, target.ca_bundle) == (
        "salesforce", "https://acme.my.salesforce.com", "source-token", "/tls/ca.pem",
    )  # fmt: skip
    assert target.uses_crm_ids

    elsewhere = target_from_env(
        source | {"LEAD_SCORING_CRM_URL": "https://api.hubapi.com", "LEAD_SCORING_CRM_TOKEN": "t"}
    )
    assert (elsewhere.kind, elsewhere.token, elsewhere.ca_bundle) == ("hubspot", "t", None)
    assert not elsewhere.uses_crm_ids
    assert target_from_env({}).base_url == "https://api.hubapi.com"  # no source: as before


def test_records_are_the_targets_own_only_for_the_same_kind_and_origin():
    def target(kind, url, source_kind, source_url):
        return CrmTarget(kind, url, "t", source_url=source_url, source_kind=source_kind)

    sf = "https://acme.my.salesforce.com"
    assert target("salesforce", sf, "salesforce", sf + ":443/").uses_crm_ids
    assert not target("salesforce", sf, "hubspot", sf).uses_crm_ids
    assert not target("salesforce", sf, "salesforce", sf + ":8443").uses_crm_ids
    assert not target("hubspot", sf, "salesforce", sf).uses_crm_ids


def test_the_nightly_target_defaults_to_the_source_connection(airflow_home, monkeypatch):
    import json

    from lead_scoring import nightly

    source = {"conn_type": "salesforce", "host": "127.0.0.1", "port": 8766, "schema": "https",
              "password": "sandbox-token", "extra": {"ca_bundle": "/tls/ca.pem"}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_LEAD_SCORING_CRM_SOURCE", json.dumps(source))
    monkeypatch.delenv("AIRFLOW_CONN_LEAD_SCORING_CRM", raising=False)
    target = nightly.crm_target()
    assert (target.kind, target.base_url, target.token, target.ca_bundle) == (
        "salesforce", "https://127.0.0.1:8766", "sandbox-token", "/tls/ca.pem",
    )  # fmt: skip
    assert target.uses_crm_ids

    other = {"conn_type": "hubspot", "host": "api.hubapi.com", "password": "hubspot-token"}
    monkeypatch.setenv("AIRFLOW_CONN_LEAD_SCORING_CRM", json.dumps(other))
    target = nightly.crm_target()
    assert (target.kind, target.base_url, target.token) == (
        "hubspot", "https://api.hubapi.com", "hubspot-token",
    )  # fmt: skip
    assert not target.uses_crm_ids


# -- the sync against the sandbox -----------------------------------------------------------
def _counts(crm) -> dict[str, int]:
    """Leads, Contacts and Accounts the org holds."""
    return {obj: crm.store.count(obj) for obj in SF_OBJECTS}


def _delete(crm, obj: str, record_id: str) -> None:
    session = verified_session(crm.ca_path)
    response = session.delete(
        f"{crm.salesforce_url}/services/data/v59.0/sobjects/{obj}/{record_id}",
        headers={"Authorization": f"Bearer {crm.token}"},
        timeout=30,
    )
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk"])
def test_scores_land_on_leads_and_converted_peoples_contacts_by_id(settings, crm, bulk_threshold):
    leads, accounts = salesforce_shop(crm, settings)
    target = same_salesforce(crm, bulk_threshold=bulk_threshold)
    preflight(target, settings)
    before = _counts(crm)

    for run, bump in (("run-1", 0), ("run-2", 1), ("run-3", 0)):
        leads["lead_score"] += bump
        accounts["account_score"] += bump
        write_salesforce_marts(settings, leads, accounts)
        result = run_sync(settings, target, run)
        assert result.status == "success", result.message
        assert (result.inserted, result.not_in_crm, result.rejected) == (0, 0, 0)

    assert _counts(crm) == before  # not one record created
    assert result.sent == 0  # the third run: nothing changed
    stored = {obj: sf_records(crm, obj) for obj in ("Lead", "Contact", "Account")}
    for person in leads.itertuples():
        record = stored[person.crm_object][person.crm_record_id]
        assert float(record["Lead_Score__c"]) == pytest.approx(person.lead_score)
        assert "LS_Lead_Id__c" not in record  # no product key stamped on the CRM's records
    converted = [r for r in stored["Lead"].values() if r.get("IsConverted")]
    assert len(converted) == 10
    assert not any("Lead_Score__c" in r for r in converted), "a converted Lead was written"
    for account_id, score in zip(accounts["account_id"], accounts["account_score"], strict=True):
        assert float(stored["Account"][account_id]["Account_Score__c"]) == pytest.approx(score)
    state = table(settings, "select object_type, record_id, crm_id from sync.crm_state"
                            " where object_type = 'Lead'")  # fmt: skip
    assert dict(zip(state["record_id"], state["crm_id"], strict=True)) == dict(
        zip(leads["lead_id"], leads["crm_record_id"], strict=True)
    )


@pytest.mark.parametrize("create", [False, True])
def test_a_lead_deleted_in_the_crm_is_a_kept_rejection_never_a_new_record(settings, crm, create):
    leads, accounts = salesforce_shop(crm, settings)
    target = same_salesforce(crm, create_records=create, dead_letter_attempts=2)
    preflight(target, settings)
    assert run_sync(settings, target, "run-1").status == "success"
    gone = leads["lead_id"][20]  # an unconverted Lead
    _delete(crm, "Lead", gone)
    before = _counts(crm)

    for run, bump in (("run-2", 1), ("run-3", 0)):  # rejected twice unchanged: dead letter
        leads["lead_score"] += bump
        write_salesforce_marts(settings, leads, accounts)
        result = run_sync(settings, target, run)
        assert result.status == "partial", result.message
        assert (result.rejected, result.inserted, result.not_in_crm) == (1, 0, 0)
        assert _counts(crm) == before

    rejected = table(settings, "select * from sync.rejections")
    assert rejected[["record_id", "attempts", "dead_letter"]].values.tolist() == [[gone, 2, True]]
    assert "ENTITY_IS_DELETED" in rejected["error"][0]
    assert gone not in sf_records(crm, "Lead")
    assert run_sync(settings, target, "run-4").sent == 0  # a dead letter is not sent again


def test_a_lead_converted_between_runs_gets_its_scores_on_the_contact(settings, crm):
    leads, accounts = salesforce_shop(crm, settings)
    target = same_salesforce(crm)
    preflight(target, settings)
    run_sync(settings, target, "run-1")
    person = 20
    lead_id, contact_id = leads["lead_id"][person], sf_id("003", 2000)
    crm.store.bulk_load("sf:Contact", [{"hs_object_id": contact_id, "Id": contact_id,
                                        "LastName": "Converted"}])  # fmt: skip
    leads.loc[person, ["crm_object", "crm_record_id"]] = ["Contact", contact_id]
    write_salesforce_marts(settings, leads, accounts)

    result = run_sync(settings, target, "run-2")

    assert (result.status, result.sent, result.updated) == ("success", 1, 1)
    contact = sf_records(crm, "Contact")[contact_id]
    assert float(contact["Lead_Score__c"]) == pytest.approx(leads["lead_score"][person])
    assert sf_records(crm, "Lead")[lead_id]["Lead_Score__c"] == pytest.approx(
        leads["lead_score"][person]
    )  # the Lead keeps what it had; the Contact is written from now on


def test_a_lead_crm_records_does_not_name_is_rejected_and_the_table_is_required(settings, crm):
    from lead_scoring.crm_sync import CrmSyncError

    leads, _ = salesforce_shop(crm, settings)
    target = same_salesforce(crm)
    with open_warehouse(settings) as wh:
        wh.execute("delete from marts.crm_records where lead_id = ?", [leads["lead_id"][20]])

    result = run_sync(settings, target, "run-1")

    assert (result.status, result.rejected, result.inserted) == ("partial", 1, 0)
    error = table(settings, "select error from sync.rejections")["error"][0]
    assert "no Salesforce record for it in marts.crm_records" in error
    with open_warehouse(settings) as wh:
        wh.execute("drop table marts.crm_records")
    with pytest.raises(CrmSyncError, match="marts.crm_records does not exist"):
        run_sync(settings, target, "run-2")


def test_preflight_describes_every_sobject_written_by_id(settings, tmp_path):
    from lead_scoring.crm_sandbox.server import start_sandbox
    from lead_scoring.crm_sync import CrmPreflightError

    lead_fields = ["Lead.Lead_Score__c", "Lead.Fit_Score__c"]
    with start_sandbox(tmp_path / "crm.sqlite", salesforce_fields=lead_fields) as sandbox:
        with pytest.raises(CrmPreflightError) as raised:
            preflight(same_salesforce(sandbox), settings)
    message = str(raised.value)
    assert "Contact.Lead_Score__c: create it as Number(16, 2)" in message
    assert "Account.Account_Score__c" in message
    assert "Lead.Lead_Score__c" not in message
    assert "LS_Lead_Id__c" not in message  # written by Id: no external id needed


# -- the whole round trip: extract -> quality gate -> dbt build -> sync, three times ------
AS_OF = date(2026, 6, 1)


@pytest.fixture(scope="session")
def salesforce_funnel(tmp_path_factory):
    """A small simulated funnel held by the sandbox as a Salesforce org."""
    from lead_scoring.crm_sandbox.server import start_sandbox
    from lead_scoring.settings import Settings
    from lead_scoring.simulator import simulate

    home = tmp_path_factory.mktemp("salesforce_shop") / "home"
    settings = Settings(home=home, warehouse="duckdb", product_db_url=None)
    simulate(settings, leads=300, accounts=60, events=6_000, days=90, end_date=AS_OF, seed=11,
             crm="salesforce")  # fmt: skip
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=100_000) as sb:
        yield settings, sb


def test_three_nightly_runs_update_the_records_read_and_create_none(salesforce_funnel):
    from lead_scoring.bench import run_dbt
    from lead_scoring.quality.gate import run_quality_gate
    from lead_scoring.sources.extract import CrmSource, extract

    settings, sandbox = salesforce_funnel
    source = CrmSource(sandbox.salesforce_url, sandbox.token, 500, kind="salesforce",
                       ca_bundle=str(sandbox.ca_path))  # fmt: skip
    target = target_from_env({  # no target configured: the source org
        "LEAD_SCORING_CRM_SOURCE_KIND": "salesforce",
        "LEAD_SCORING_CRM_SOURCE_URL": sandbox.salesforce_url,
        "LEAD_SCORING_CRM_SOURCE_TOKEN": sandbox.token,
        "LEAD_SCORING_CRM_SOURCE_CA_BUNDLE": str(sandbox.ca_path),
        "LEAD_SCORING_CRM_MAX_REQUESTS_PER_10S": "10000",
    })  # fmt: skip
    assert target.uses_crm_ids
    before = _counts(sandbox)
    assert all(before.values()), before
    gone = None
    for run in (1, 2, 3):
        extract(settings, source)
        run_quality_gate(settings, f"gate-{run}", datetime(2026, 6, 1, tzinfo=UTC))
        # the models only: their data and unit tests run in the dbt suite (tests/dbt), and
        # unit tests alone take half a build here
        run_dbt(settings, AS_OF, "build", "--exclude-resource-type", "test", "unit_test")
        preflight(target, settings)
        result = run_sync(settings, target, f"sync-{run}")
        assert (result.inserted, result.not_in_crm) == (0, 0), result.message
        assert result.status in ("success", "partial"), result.message
        if run == 1:
            assert result.status == "success", result.message
            scored = [
                r.id for r in sandbox.store.select("sf:Lead") if "Lead_Score__c" in r.properties
            ]
            gone = scored[0]
            _delete(sandbox, "Lead", gone)  # deleted by a user between two nightly runs

    assert _counts(sandbox) == {**before, "sf:Lead": before["sf:Lead"] - 1}
    assert gone not in sf_records(sandbox, "Lead")
    rejected = table(settings, "select record_id from sync.rejections")["record_id"].tolist()
    assert rejected in ([], [gone])  # a kept rejection, or left out by the extract
    homes = table(
        settings,
        "select r.crm_object, r.crm_record_id, s.lead_score from marts.crm_records r"
        " join marts.lead_scores s using (lead_id) join sync.crm_state c"
        " on c.record_id = r.lead_id and c.object_type = 'Lead'",
    )
    assert set(homes["crm_object"]) == {"Lead", "Contact"}
    stored = {obj: sf_records(sandbox, obj) for obj in ("Lead", "Contact")}
    for obj, crm_id, score in homes[homes["crm_record_id"] != gone].itertuples(index=False):
        assert float(stored[obj][crm_id]["Lead_Score__c"]) == pytest.approx(score)
    converted = [r for r in stored["Lead"].values() if r.get("IsConverted")]
    assert converted and not any("Lead_Score__c" in r for r in converted)
