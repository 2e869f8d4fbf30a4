"""The Salesforce side through simple-salesforce over HTTPS: describe, collections, Bulk 2.0."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from lead_scoring.crm_sandbox.server import start_sandbox, verified_session

COLLECTION = "composite/sobjects/Lead/LS_Lead_Id__c"


def lead(key: str, **fields) -> dict:
    return {"attributes": {"type": "Lead"}, "LS_Lead_Id__c": key, "LastName": "Doe",
            "Company": "Acme", **fields}  # fmt: skip


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_describe_lists_standard_and_custom_fields(sf):
    fields = {f["name"]: f for f in sf.Lead.describe()["fields"]}
    assert fields["LS_Lead_Id__c"]["externalId"] is True
    assert fields["Email"]["type"] == "email"
    assert [p["value"] for p in fields["Lifecycle_Stage__c"]["picklistValues"]] == [
        "iql", "mql", "sql", "customer",
    ]  # fmt: skip
    assert fields["Lifecycle_Stage__c"]["restrictedPicklist"] is True
    account = {f["name"] for f in sf.Account.describe()["fields"]}
    assert {"LS_Account_Id__c", "Account_Score__c", "Persona_Coverage__c"} <= account


def test_collection_upsert_reports_per_record_errors_and_writes_the_rest(sf):
    results = sf.restful(
        COLLECTION,
        method="PATCH",
        json={"allOrNone": False, "records": [
            lead("L1", Lead_Score__c=71.5, SDR_Ready__c=True, Lifecycle_Stage__c="mql"),
            lead("L2", Email="not an email"),
            lead("L3", Lifecycle_Stage__c="hot"),
            lead("L4", Not_A_Field__c="x"),
            lead("L5", SDR_Ready_Date__c="2026-11-02"),
        ]},
    )  # fmt: skip
    assert [r["success"] for r in results] == [True, False, False, False, True]
    assert results[0]["created"] is True and results[0]["id"].startswith("00Q")
    codes = [r["errors"][0]["statusCode"] for r in results if not r["success"]]
    assert codes == ["INVALID_EMAIL_ADDRESS", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                     "INVALID_FIELD"]  # fmt: skip

    again = sf.restful(
        COLLECTION,
        method="PATCH",
        json={"allOrNone": False, "records": [lead("L1", Lead_Score__c=80)]},
    )
    assert again[0]["created"] is False and again[0]["id"] == results[0]["id"]
    found = sf.query("SELECT Id, Lead_Score__c, SDR_Ready__c FROM Lead WHERE LS_Lead_Id__c = 'L1'")
    assert found["totalSize"] == 1
    assert found["records"][0]["Lead_Score__c"] == 80.0
    assert found["records"][0]["SDR_Ready__c"] is True
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 2


def test_collection_over_200_records_and_all_or_none(sf):
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful(
            COLLECTION, method="PATCH", json={"records": [lead(f"K{i}") for i in range(201)]}
        )
    results = sf.restful(
        COLLECTION,
        method="PATCH",
        json={"allOrNone": True, "records": [lead("A1"), lead("A2", Quadrant__c="bad")]},
    )
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_new_lead_needs_required_fields(sf):
    (result,) = sf.restful(
        COLLECTION,
        method="PATCH",
        json={
            "records": [{"attributes": {"type": "Lead"}, "LS_Lead_Id__c": "R1", "Lead_Score__c": 5}]
        },
    )
    assert result["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert set(result["errors"][0]["fields"]) == {"LastName", "Company"}


def test_bulk2_upsert_with_failed_records_joined_on_external_id(sf):
    records = [
        {
            "LS_Lead_Id__c": f"B{i}",
            "LastName": "Doe",
            "Company": "Acme",
            "Lead_Score__c": str(i),
            "Email": f"b{i}@example.com",
        }
        for i in range(50)
    ]
    records[7]["Email"] = "broken@"
    records[31]["Quadrant__c"] = "sometimes"
    (summary,) = sf.bulk2.Lead.upsert(records=records, external_id_field="LS_Lead_Id__c", wait=0)
    assert summary["numberRecordsProcessed"] == 50
    assert summary["numberRecordsFailed"] == 2
    failed = rows(sf.bulk2.Lead.get_failed_records(summary["job_id"]))
    assert {r["LS_Lead_Id__c"]: r["sf__Error"].split(":")[0] for r in failed} == {
        "B7": "INVALID_EMAIL_ADDRESS",
        "B31": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    }
    succeeded = rows(sf.bulk2.Lead.get_successful_records(summary["job_id"]))
    assert len(succeeded) == 48 and all(r["sf__Created"] == "true" for r in succeeded)
    order = [r["LS_Lead_Id__c"] for r in succeeded]
    assert order != sorted(order, key=lambda k: int(k[1:]))  # not in input order
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 48


def test_bulk2_job_states_and_nothing_runs_before_upload_complete(sandbox, http):
    jobs = f"{sandbox.salesforce_url}/services/data/v59.0/jobs/ingest"
    job = http.post(jobs, json={"object": "Lead", "operation": "upsert",
                                "externalIdFieldName": "LS_Lead_Id__c",
                                "contentType": "CSV", "lineEnding": "LF"}).json()  # fmt: skip
    assert job["state"] == "Open"
    data = "LS_Lead_Id__c,LastName,Company\nS1,Doe,Acme\nS2,Roe,Acme\n"
    upload = http.put(f"{jobs}/{job['id']}/batches", data=data,
                      headers={"Content-Type": "text/csv"})  # fmt: skip
    assert upload.status_code == 201
    for _ in range(3):
        assert http.get(f"{jobs}/{job['id']}").json()["state"] == "Open"
    assert sandbox.store.count("sf:Lead") == 0

    patched = http.patch(f"{jobs}/{job['id']}", json={"state": "UploadComplete"}).json()
    assert patched["state"] == "UploadComplete"
    states = [http.get(f"{jobs}/{job['id']}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "JobComplete", "JobComplete"]
    assert sandbox.store.count("sf:Lead") == 2
    assert http.get(f"{jobs}/{job['id']}/unprocessedrecords/").text.strip() == (
        '"LS_Lead_Id__c","LastName","Company"'
    )


def test_bulk2_abort_leaves_records_unprocessed_and_bad_header_fails(sandbox, http):
    jobs = f"{sandbox.salesforce_url}/services/data/v59.0/jobs/ingest"
    spec = {"object": "Lead", "operation": "upsert", "externalIdFieldName": "LS_Lead_Id__c"}
    aborted = http.post(jobs, json=spec).json()
    http.put(f"{jobs}/{aborted['id']}/batches", data="LS_Lead_Id__c,LastName,Company\nX1,D,A\n")
    assert http.patch(f"{jobs}/{aborted['id']}", json={"state": "Aborted"}).json()["state"] == (
        "Aborted"
    )
    assert [r["LS_Lead_Id__c"] for r in rows(
        http.get(f"{jobs}/{aborted['id']}/unprocessedrecords/").text)] == ["X1"]  # fmt: skip

    failing = http.post(jobs, json=spec).json()
    http.put(f"{jobs}/{failing['id']}/batches", data="LS_Lead_Id__c,Bogus__c\nX2,1\n")
    http.patch(f"{jobs}/{failing['id']}", json={"state": "UploadComplete"})
    http.get(f"{jobs}/{failing['id']}")
    info = http.get(f"{jobs}/{failing['id']}").json()
    assert info["state"] == "Failed" and "Bogus__c" in info["errorMessage"]
    assert sandbox.store.count("sf:Lead") == 0


def test_bulk_fail_after_records_leaves_the_rest_unprocessed_once(sandbox, http):
    jobs = f"{sandbox.salesforce_url}/services/data/v59.0/jobs/ingest"

    def run_job(first: int, last: int) -> dict:
        job = http.post(jobs, json={"object": "Lead", "operation": "upsert",
                                    "externalIdFieldName": "LS_Lead_Id__c"}).json()  # fmt: skip
        lines = ["LS_Lead_Id__c,LastName,Company,Lead_Score__c,Quadrant__c"] + [
            f"F{i},Doe,Acme,{i},{'sometimes' if i == 3 else 'yes'}" for i in range(first, last)
        ]
        http.put(f"{jobs}/{job['id']}/batches", data="\n".join(lines) + "\n")
        http.patch(f"{jobs}/{job['id']}", json={"state": "UploadComplete"})
        http.get(f"{jobs}/{job['id']}")  # InProgress
        return http.get(f"{jobs}/{job['id']}").json()

    sandbox.faults.set(bulk_fail_after_records=250)  # past the first internal chunk of 200
    info = run_job(0, 400)

    assert info["state"] == "Failed" and "250 of 400" in info["errorMessage"]
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (250, 1)
    result = {kind: rows(http.get(f"{jobs}/{info['id']}/{kind}/").text)
              for kind in ("successfulResults", "failedResults", "unprocessedrecords")}  # fmt: skip
    assert sorted(int(r["LS_Lead_Id__c"][1:]) for r in result["successfulResults"]) == [
        i for i in range(250) if i != 3
    ]
    assert [r["LS_Lead_Id__c"] for r in result["failedResults"]] == ["F3"]
    unprocessed = result["unprocessedrecords"]
    assert [r["LS_Lead_Id__c"] for r in unprocessed] == [f"F{i}" for i in range(250, 400)]
    assert unprocessed[0]["Lead_Score__c"] == "250"  # the rows as uploaded, ready to resend
    assert sandbox.store.count("sf:Lead") == 249
    assert sandbox.faults.snapshot()["bulk_fail_after_records"] == 0  # only the next job

    again = run_job(250, 400)
    assert again["state"] == "JobComplete"
    assert (again["numberRecordsProcessed"], again["numberRecordsFailed"]) == (150, 0)
    assert sandbox.store.count("sf:Lead") == 399


def test_unable_to_lock_row_in_parallel_bulk_job_then_serial_retry_succeeds(sandbox, sf):
    sandbox.faults.set(unable_to_lock_row_ids=["U3", "U8"])
    records = [{"LS_Lead_Id__c": f"U{i}", "LastName": "Doe", "Company": "Acme"}
               for i in range(10)]  # fmt: skip
    (summary,) = sf.bulk2.Lead.upsert(records=records, external_id_field="LS_Lead_Id__c", wait=0)
    failed = rows(sf.bulk2.Lead.get_failed_records(summary["job_id"]))
    assert sorted(r["LS_Lead_Id__c"] for r in failed) == ["U3", "U8"]
    assert all(r["sf__Error"].startswith("UNABLE_TO_LOCK_ROW") for r in failed)

    retry = sf.restful(
        COLLECTION, method="PATCH", json={"records": [lead(r["LS_Lead_Id__c"]) for r in failed]}
    )  # serial: sObject Collections
    assert all(r["success"] and r["created"] for r in retry)
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 10


def test_missing_custom_fields_show_in_describe_and_writes(tmp_path):
    with start_sandbox(tmp_path / "crm.sqlite", salesforce_fields=["LS_Lead_Id__c"]) as sb:
        sf = Salesforce(
            instance_url=sb.salesforce_url,
            session_id=sb.token,
            session=verified_session(sb.ca_path),
        )
        names = {f["name"] for f in sf.Lead.describe()["fields"]}
        assert "LS_Lead_Id__c" in names and "Lead_Score__c" not in names
        (result,) = sf.restful(
            COLLECTION, method="PATCH", json={"records": [lead("M1", Lead_Score__c=3)]}
        )
        assert result["errors"][0]["statusCode"] == "INVALID_FIELD"


def test_query_rejects_unknown_fields_and_bad_syntax(sf):
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Nope__c FROM Lead")
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Id Lead")
