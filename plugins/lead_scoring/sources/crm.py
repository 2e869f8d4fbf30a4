"""CRM records (HubSpot CRM v3 search API), incremental on ``lastmodifieddate``.

The search endpoint is paged with ``after``; HubSpot stops a single search at
10,000 results, so the cursor is moved forward and the search restarted there.
Rows at the cursor's boundary are read again and de-duplicated by dlt.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import dlt
import requests
from dlt.sources.helpers.requests import Client

from lead_scoring.sources.errors import SourceUnavailable

PROPERTIES = {
    "contacts": [
        "hs_object_id",
        "email",
        "firstname",
        "lastname",
        "jobtitle",
        "phone",
        "country",
        "company",
        "associatedcompanyid",
        "hs_analytics_source",
        "bant_budget",
        "bant_authority",
        "bant_need",
        "bant_timeline",
        "createdate",
        "lastmodifieddate",
    ],
    "companies": [
        "hs_object_id",
        "name",
        "domain",
        "industry",
        "numberofemployees",
        "country",
        "annualrevenue",
        "ls_target_account",
        "createdate",
        "lastmodifieddate",
    ],
    "deals": [
        "hs_object_id",
        "dealname",
        "ls_contact_id",
        "associatedcompanyid",
        "dealstage",
        "amount",
        "createdate",
        "closedate",
        "lastmodifieddate",
    ],
}
PAGE_SIZE = 100
SEARCH_WINDOW = 10_000
EPOCH = "1970-01-01T00:00:00.000Z"
# 429 and 5xx are retried with backoff (Retry-After respected); an unreachable host fails fast.
RETRY = {"request_max_attempts": 4, "request_backoff_factor": 0.5, "raise_for_status": False}


def _search(session, url: str, token: str, body: dict) -> dict:
    try:
        response = session.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
    except requests.exceptions.ConnectionError as exc:
        raise SourceUnavailable(f"CRM at {url} is unreachable: {exc.__class__.__name__}") from exc
    if response.status_code in (401, 403):
        raise SourceUnavailable(
            f"CRM at {url} refused the credentials (HTTP {response.status_code})"
        )
    response.raise_for_status()
    return response.json()


def crm_resource(base_url: str, token: str, object_type: str, max_requests_per_second: float):
    """Contacts, companies or deals, paced under the CRM's search rate limit."""
    properties = PROPERTIES[object_type]
    url = f"{base_url.rstrip('/')}/crm/v3/objects/{object_type}/search"

    @dlt.resource(
        name=f"crm_{object_type}",
        primary_key="hs_object_id",
        write_disposition="merge",
        columns={name: {"data_type": "text", "nullable": True} for name in properties},
    )
    def records(
        cursor=dlt.sources.incremental("lastmodifieddate", initial_value=EPOCH),
    ) -> Iterator[list[dict]]:
        session = Client(**RETRY).session
        since, after = cursor.last_value, None
        interval, last_request = 1.0 / max_requests_per_second, 0.0
        while True:
            time.sleep(max(0.0, last_request + interval - time.monotonic()))
            last_request = time.monotonic()
            body = {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": since}
                        ]
                    }
                ],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "properties": properties,
                "limit": PAGE_SIZE,
            }
            if after:
                body["after"] = after
            page = _search(session, url, token, body)
            rows = [
                {name: (record.get("properties") or {}).get(name) for name in properties}
                | {"hs_object_id": str(record["id"])}
                for record in page.get("results", [])
            ]
            if rows:
                yield rows
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            if int(after) >= SEARCH_WINDOW:
                since, after = rows[-1]["lastmodifieddate"], None

    return records
