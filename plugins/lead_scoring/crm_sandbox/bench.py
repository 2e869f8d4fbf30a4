"""Benchmark of the CRM sandbox: ``python -m lead_scoring.crm_sandbox.bench`` prints name=value."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def bench(contacts: int = 10_000, bulk_rows: int = 20_000) -> dict[str, float]:
    import requests

    from lead_scoring.crm_sandbox.server import start_sandbox, verified_session

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        handle = start_sandbox(Path(tmp) / "crm.sqlite", rate_limit_per_10s=1_000_000)
        figures["crm_sandbox_start_s"] = time.perf_counter() - started
        with handle:
            hs = requests.Session()
            hs.headers["Authorization"] = f"Bearer {handle.token}"
            url = f"{handle.hubspot_url}/crm/v3/objects/contacts"
            started = time.perf_counter()
            for start in range(0, contacts, 100):
                inputs = [
                    {"id": f"bench{i}@example.com", "idProperty": "email",
                     "properties": {"firstname": f"B{i}", "lifecyclestage": "lead"}}
                    for i in range(start, min(start + 100, contacts))
                ]  # fmt: skip
                hs.post(f"{url}/batch/upsert", json={"inputs": inputs}).raise_for_status()
            elapsed = time.perf_counter() - started
            figures["crm_sandbox_hubspot_upsert_rows_per_s"] = contacts / elapsed
            figures["crm_sandbox_hubspot_upsert_batch_ms"] = elapsed / (contacts / 100) * 1000

            started, pages, after = time.perf_counter(), 0, None
            while True:
                body = {
                    "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                                   "operator": "GT", "value": "0"}]}],
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "properties": ["email", "firstname"], "limit": 100,
                }  # fmt: skip
                if after:
                    body["after"] = after
                page = hs.post(f"{url}/search", json=body).json()
                pages += 1
                after = (page.get("paging") or {}).get("next", {}).get("after")
                if not after or int(after) >= 10_000:
                    break
            figures["crm_sandbox_hubspot_search_page_ms"] = (
                (time.perf_counter() - started) / pages * 1000
            )

            from simple_salesforce import Salesforce

            sf = Salesforce(instance_url=handle.salesforce_url, session_id=handle.token,
                            session=verified_session(handle.ca_path))  # fmt: skip
            records = [
                {"LS_Lead_Id__c": f"L{i}", "LastName": "Doe", "Company": "Acme",
                 "Lead_Score__c": str(i % 100), "Lifecycle_Stage__c": "mql"}
                for i in range(bulk_rows)
            ]  # fmt: skip
            started = time.perf_counter()
            sf.bulk2.Lead.upsert(records=records, external_id_field="LS_Lead_Id__c", wait=0)
            figures["crm_sandbox_bulk2_upsert_rows_per_s"] = bulk_rows / (
                time.perf_counter() - started
            )
    return figures


def main() -> None:
    for name, value in bench().items():
        print(f"{name}={value:.3f}")


if __name__ == "__main__":
    main()
