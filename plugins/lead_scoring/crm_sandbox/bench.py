"""Benchmark of the CRM sandbox: ``python -m lead_scoring.crm_sandbox.bench [stored]``.

Seeds ``stored`` contacts (default 200,000), then prints ``name=value`` lines: start time,
HubSpot batch upsert rows/s and the HubSpot server thread's CPU per 100-input batch (new
and existing contacts), search pages/s and CPU per page when paging through every contact
as the extractor does (``lastmodifieddate`` GTE filter and sort, 100 a page, re-anchored
at 10,000), and Bulk 2.0 upsert rows/s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

CONTACT_PROPERTIES = ["hs_object_id", "email", "firstname", "lastname", "jobtitle", "phone",
                      "country", "company", "createdate", "lastmodifieddate"]  # fmt: skip


def _seed(store_path: Path, stored: int) -> None:
    from lead_scoring.crm_sandbox.store import CrmStore

    store = CrmStore(store_path)
    for start in range(1, stored + 1, 50_000):
        store.bulk_load("contacts", (
            {"hs_object_id": str(i), "email": f"seed{i}@example{i % 97}.com", "firstname": "Ann",
             "lastname": "Lee", "company": "Acme", "jobtitle": "VP Sales",
             "lastmodifieddate": f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"}
            for i in range(start, min(start + 50_000, stored + 1))
        ))  # fmt: skip
    store.close()


def _inputs(emails: list[str]) -> list[dict]:
    return [
        {"id": email, "idProperty": "email",
         "properties": {"firstname": "Bea", "lastname": "Ng", "jobtitle": "Head of Data",
                        "company": "Initech", "phone": "+44 20 7946 0000", "country": "GB",
                        "lifecyclestage": "lead", "bant_budget": "yes", "bant_authority": "no",
                        "bant_need": "yes", "bant_timeline": "q1", "associatedcompanyid": "42"}}
        for email in emails
    ]  # fmt: skip


def bench(stored: int = 200_000, batches: int = 100, pages: int = 300,
          bulk_rows: int = 20_000) -> dict[str, float]:  # fmt: skip
    import requests

    from lead_scoring.crm_sandbox.server import start_sandbox, verified_session

    figures: dict[str, float] = {"crm_sandbox_stored_contacts": stored}
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "crm.sqlite"
        _seed(store_path, stored)
        started = time.perf_counter()
        handle = start_sandbox(store_path, rate_limit_per_10s=1_000_000, daily_limit=10**9)
        figures["crm_sandbox_start_s"] = time.perf_counter() - started
        with handle:

            def server_cpu() -> float:
                return handle.server_cpu_s()["hubspot"]

            hs = requests.Session()
            hs.headers["Authorization"] = f"Bearer {handle.token}"
            url = f"{handle.hubspot_url}/crm/v3/objects/contacts"
            for label, emails in (
                ("new", [f"bench{i}@example{i % 97}.com" for i in range(batches * 100)]),
                ("existing", [f"seed{i}@example{i % 97}.com" for i in range(1, batches * 100 + 1)]),
            ):
                started, cpu = time.perf_counter(), server_cpu()
                for start in range(0, len(emails), 100):
                    body = {"inputs": _inputs(emails[start : start + 100])}
                    hs.post(f"{url}/batch/upsert", json=body).raise_for_status()
                elapsed = time.perf_counter() - started
                figures[f"crm_sandbox_hubspot_upsert_{label}_rows_per_s"] = len(emails) / elapsed
                figures[f"crm_sandbox_hubspot_upsert_{label}_cpu_ms_per_batch"] = (
                    (server_cpu() - cpu) / batches * 1000
                )

            since, after, done = "1970-01-01T00:00:00.000Z", None, 0
            started, cpu = time.perf_counter(), server_cpu()
            while done < pages:
                body = {
                    "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                                   "operator": "GTE", "value": since}]}],
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "properties": CONTACT_PROPERTIES, "limit": 100,
                }  # fmt: skip
                if after:
                    body["after"] = after
                page = hs.post(f"{url}/search", json=body)
                page.raise_for_status()
                answer = page.json()
                done += 1
                after = (answer.get("paging") or {}).get("next", {}).get("after")
                if not after:
                    break
                if int(after) >= 10_000:
                    since, after = answer["results"][-1]["properties"]["lastmodifieddate"], None
            elapsed = time.perf_counter() - started
            figures["crm_sandbox_hubspot_search_pages_per_s"] = done / elapsed
            figures["crm_sandbox_hubspot_search_cpu_ms_per_page"] = (
                (server_cpu() - cpu) / done * 1000
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
    stored = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    for name, value in bench(stored).items():
        print(f"{name}={value:.3f}", flush=True)


if __name__ == "__main__":
    main()
