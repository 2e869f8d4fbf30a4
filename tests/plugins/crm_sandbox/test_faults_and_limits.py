"""Rate limits, injected faults, admin endpoints and persistence across a restart."""

from __future__ import annotations

import pytest
import requests

from lead_scoring.crm_sandbox.server import start_sandbox

RATE_HEADERS = [
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
]


def upsert(handle, emails: list[str], **kwargs) -> requests.Response:
    return requests.post(
        f"{handle.hubspot_url}/crm/v3/objects/contacts/batch/upsert",
        json={"inputs": [{"id": e, "idProperty": "email", "properties": {}} for e in emails]},
        headers={"Authorization": f"Bearer {handle.token}"},
        **kwargs,
    )


def assert_rate_limited(response: requests.Response, policy: str) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == policy and body["correlationId"] and body["message"]
    assert all(h in response.headers for h in RATE_HEADERS)


def test_ten_secondly_then_daily_limit(tmp_path):
    with start_sandbox(tmp_path / "crm.sqlite", rate_limit_per_10s=3, daily_limit=1000) as sb:
        statuses = [upsert(sb, [f"a{i}@example.com"]) for i in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert statuses[0].headers["X-HubSpot-RateLimit-Max"] == "3"
        assert statuses[2].headers["X-HubSpot-RateLimit-Remaining"] == "0"
        assert_rate_limited(statuses[3], "TEN_SECONDLY_ROLLING")
    with start_sandbox(tmp_path / "crm2.sqlite", rate_limit_per_10s=100, daily_limit=2) as sb:
        statuses = [upsert(sb, [f"a{i}@example.com"]) for i in range(3)]
        assert statuses[1].headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        assert_rate_limited(statuses[2], "DAILY")


def test_rate_limit_faults_from_admin_endpoint(sandbox):
    admin = f"{sandbox.hubspot_url}/_sandbox/faults"
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    requests.post(admin, json={"ten_secondly_429_seconds": 30}, headers=auth).raise_for_status()
    assert_rate_limited(upsert(sandbox, ["x@example.com"]), "TEN_SECONDLY_ROLLING")
    requests.delete(admin, headers=auth).raise_for_status()
    assert upsert(sandbox, ["x@example.com"]).status_code == 200
    sandbox.faults.set(daily_limit_exhausted=True)
    assert_rate_limited(upsert(sandbox, ["y@example.com"]), "DAILY")
    assert sandbox.store.count("contacts") == 1


def test_server_errors_next_n_and_share(sandbox, http):
    sandbox.faults.set(server_error_next=2, server_error_status=502)
    codes = [upsert(sandbox, ["s@example.com"]).status_code for _ in range(3)]
    assert codes == [502, 502, 200]
    sandbox.faults.set(server_error_share=1.0)
    describe = f"{sandbox.salesforce_url}/services/data/v59.0/sobjects/Lead/describe"
    response = http.get(describe)
    assert response.status_code == 502
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_slow_responses_time_out_the_client(sandbox):
    sandbox.faults.set(delay_seconds=2.0, delay_next=1)
    with pytest.raises(requests.Timeout):
        upsert(sandbox, ["slow@example.com"], timeout=0.2)
    assert upsert(sandbox, ["fast@example.com"], timeout=5).status_code == 200


def test_rejected_ids_and_shares(sandbox):
    sandbox.faults.set(reject_ids=["r3@example.com"])
    response = upsert(sandbox, [f"r{i}@example.com" for i in range(5)])
    assert response.status_code == 207
    assert [e["context"]["ids"] for e in response.json()["errors"]] == [["r3@example.com"]]

    sandbox.faults.set(reject_ids=[], reject_share=0.25)
    emails = [f"share{i}@example.com" for i in range(100)]
    first = {e["context"]["ids"][0] for e in upsert(sandbox, emails).json()["errors"]}
    second = {e["context"]["ids"][0] for e in upsert(sandbox, emails).json()["errors"]}
    assert 10 <= len(first) <= 40
    assert first == second  # a rejected key stays rejected while the fault is set


def test_empty_results_and_no_errors(sandbox, http):
    sandbox.faults.set(empty_results_next=2)
    response = upsert(sandbox, ["e@example.com"])
    assert response.status_code == 200
    assert response.json()["results"] == [] and "errors" not in response.json()
    collection = http.patch(
        f"{sandbox.salesforce_url}/services/data/v59.0/composite/sobjects/Lead/LS_Lead_Id__c",
        json={"records": [{"attributes": {"type": "Lead"}, "LS_Lead_Id__c": "E1",
                           "LastName": "D", "Company": "A"}]},
    )  # fmt: skip
    assert collection.status_code == 200 and collection.json() == []
    assert sandbox.store.count("contacts") == 0 and sandbox.store.count("sf:Lead") == 0
    assert upsert(sandbox, ["e@example.com"]).json()["results"]


def test_unknown_fault_is_refused_and_stats_and_reset(sandbox, http):
    bad = http.post(f"{sandbox.hubspot_url}/_sandbox/faults", json={"explode": True})
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    upsert(sandbox, ["st@example.com"])
    requests.get(f"{sandbox.hubspot_url}/crm/v3/objects/contacts")
    stats = http.get(f"{sandbox.hubspot_url}/_sandbox/stats").json()
    assert stats["requests"]["hubspot POST /crm/v3/objects/{object_type}/batch/{action}"] == {
        "200": 1
    }
    assert stats["requests"]["hubspot GET /crm/v3/objects/{object_type}"] == {"401": 1}
    assert stats["records"] == {"contacts": 1, "sf:User": 10}  # the org's users are seeded
    http.post(f"{sandbox.salesforce_url}/_sandbox/reset").raise_for_status()
    assert sandbox.stats()["records"] == {"sf:User": 10} and sandbox.stats()["total"] == 0


@pytest.mark.parametrize("server", ["hubspot_url", "salesforce_url"])
def test_admin_endpoints_need_the_sandbox_token(sandbox, server):
    base = f"{getattr(sandbox, server)}/_sandbox"
    verify = str(sandbox.ca_path)
    upsert(sandbox, ["kept@example.com"])
    calls = [
        ("post", "reset", {}),
        ("post", "faults", {"json": {"server_error_next": 5}}),
        ("delete", "faults", {}),
        ("get", "faults", {}),
        ("get", "stats", {}),
        ("get", "health", {}),
    ]
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic x"}):
        for method, path, kwargs in calls:
            response = requests.request(
                method, f"{base}/{path}", headers=headers, verify=verify, **kwargs
            )
            assert response.status_code == 401, (method, path, headers)
            assert "records" not in response.text
    assert sandbox.store.count("contacts") == 1
    assert sandbox.faults.snapshot() == sandbox.faults.__class__().snapshot()

    auth = {"Authorization": f"Bearer {sandbox.token}"}
    assert requests.get(f"{base}/stats", headers=auth, verify=verify).json()["records"] == {
        "contacts": 1, "sf:User": 10
    }
    requests.post(f"{base}/reset", headers=auth, verify=verify).raise_for_status()
    assert sandbox.store.count("contacts") == 0


def test_records_and_properties_survive_a_restart(tmp_path):
    store = tmp_path / "crm.sqlite"
    with start_sandbox(store) as sb:
        requests.post(
            f"{sb.hubspot_url}/crm/v3/properties/companies",
            json={"name": "ls_account_id", "label": "Id", "type": "string", "fieldType": "text",
                  "groupName": "companyinformation", "hasUniqueValue": True},
            headers={"Authorization": f"Bearer {sb.token}"},
        ).raise_for_status()  # fmt: skip
        first = upsert(sb, ["keep@example.com"]).json()["results"][0]["id"]
    with start_sandbox(store) as sb:
        assert sb.store.count("contacts") == 1
        again = upsert(sb, ["KEEP@example.com"]).json()["results"][0]
        assert again["id"] == first and again["new"] is False
        prop = requests.get(
            f"{sb.hubspot_url}/crm/v3/properties/companies/ls_account_id",
            headers={"Authorization": f"Bearer {sb.token}"},
        ).json()
        assert prop["hasUniqueValue"] is True


def test_simulator_bulk_load_is_served_and_indexed(tmp_path):
    from lead_scoring.crm_sandbox.store import CrmStore

    store = CrmStore(tmp_path / "crm.sqlite")
    loaded = store.bulk_load("contacts", [
        {"hs_object_id": "10", "email": "Seeded@Example.com",
         "lastmodifieddate": "2026-11-01T10:00:00Z"}])  # fmt: skip
    assert loaded == 1 and store.count("contacts") == 1
    store.close()
    with start_sandbox(tmp_path / "crm.sqlite") as sb:
        result = upsert(sb, ["seeded@example.com"]).json()["results"][0]
        assert result["id"] == "10" and result["new"] is False


def test_search_total_follows_writes_of_the_server_and_of_the_simulator(tmp_path):
    from lead_scoring.crm_sandbox.store import CrmStore

    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE",
                                           "value": "2026-01-01T00:00:00Z"}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "limit": 2}  # fmt: skip
    with start_sandbox(tmp_path / "crm.sqlite") as sb:

        def search() -> dict:
            url = f"{sb.hubspot_url}/crm/v3/objects/contacts/search"
            auth = {"Authorization": f"Bearer {sb.token}"}
            return requests.post(url, json=body, headers=auth).json()

        upsert(sb, ["a@example.com", "b@example.com", "c@example.com"]).raise_for_status()
        first = search()
        assert first["total"] == 3 and first["paging"]["next"]["after"] == "2"
        assert search()["total"] == 3  # the same page again (the count is remembered)

        simulator = CrmStore(sb.store_path)  # another connection, as the simulator's
        simulator.bulk_load("contacts", [{"hs_object_id": "100", "email": "d@example.com",
                                          "lastmodifieddate": "2026-06-01T00:00:00Z"}])  # fmt: skip
        simulator.close()
        second = search()
        assert second["total"] == 4
        assert [r["id"] for r in second["results"]] == ["100", "1"]

        upsert(sb, ["e@example.com"]).raise_for_status()
        assert search()["total"] == 5
