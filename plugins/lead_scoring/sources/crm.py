"""CRM records (HubSpot CRM v3 search API), incremental on ``lastmodifieddate``.

The search endpoint is paged with ``after``; HubSpot stops a single search at
10,000 results. When a search window is full, every record sharing the window's last
``lastmodifieddate`` is read by ``hs_object_id`` (re-anchored every 10,000 ids, so any
number of records may share one timestamp), and the search goes on strictly after that
timestamp. Rows at the cursor's boundary are read again on the next run and de-duplicated
by dlt.

Extra contact and company properties listed in the settings are read the same way into the
long attribute tables (sources/attributes.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import dlt
import pandas as pd
import requests
from dlt.sources.helpers.requests import Client

from lead_scoring.privacy.tombstones import Tombstones
from lead_scoring.settings import ATTRIBUTE_ENV
from lead_scoring.sources import attributes
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


def _request(session, url: str, token: str, body: dict | None = None) -> dict:
    """A POST of ``body`` (a GET without one) to the CRM; its JSON answer."""
    try:
        response = session.request(
            "POST" if body is not None else "GET",
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
    except requests.exceptions.ConnectionError as exc:
        raise SourceUnavailable(f"CRM at {url} is unreachable: {exc.__class__.__name__}") from exc
    if response.status_code in (401, 403):
        raise SourceUnavailable(
            f"CRM at {url} refused the credentials (HTTP {response.status_code})"
        )
    response.raise_for_status()
    return response.json()


def _filter(name: str, operator: str, value: str) -> dict:
    return {"propertyName": name, "operator": operator, "value": value}


def _pages(
    base_url: str,
    token: str,
    object_type: str,
    properties: list[str],
    max_requests_per_second: float,
    since: str,
) -> Iterator[list[dict]]:
    """Pages of records (property -> value) modified at or after ``since``, oldest first,
    each record once, paced under the CRM's search rate limit."""
    url = f"{base_url.rstrip('/')}/crm/v3/objects/{object_type}/search"
    session = Client(**RETRY).session
    interval, last_request = 1.0 / max_requests_per_second, 0.0
    operator, after = "GTE", None
    tied: str | None = None  # a timestamp read by id: a full window ended on it
    anchor = last_id = "0"  # reading `tied`: ids after `anchor`; the last id read
    # The latest timestamp of the current window and its ids (while `tied` is read by id:
    # the records at `tied` already read in that window).
    last_stamp, ids_at_last_stamp = None, set()
    while True:
        time.sleep(max(0.0, last_request + interval - time.monotonic()))
        last_request = time.monotonic()
        if tied is None:
            filters = [_filter("lastmodifieddate", operator, since)]
            sort = "lastmodifieddate"
        else:
            filters = [
                _filter("lastmodifieddate", "EQ", tied),
                _filter("hs_object_id", "GT", anchor),
            ]
            sort = "hs_object_id"
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": PAGE_SIZE,
        }
        if after:
            body["after"] = after
        page = _request(session, url, token, body)
        rows = [
            {name: (record.get("properties") or {}).get(name) for name in properties}
            | {"hs_object_id": str(record["id"])}
            for record in page.get("results", [])
        ]
        if tied is None:
            for row in rows:
                if row["lastmodifieddate"] != last_stamp:
                    last_stamp, ids_at_last_stamp = row["lastmodifieddate"], set()
                ids_at_last_stamp.add(row["hs_object_id"])
        elif rows:
            last_id = rows[-1]["hs_object_id"]
            rows = [row for row in rows if row["hs_object_id"] not in ids_at_last_stamp]
        if rows:
            yield rows
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if after and int(after) < SEARCH_WINDOW:
            continue
        after = None
        if tied is not None:
            if page.get("paging"):  # the next 10,000 ids
                anchor = last_id
            else:  # every record at `tied` read: go past it
                since, operator, tied = tied, "GT", None
                last_stamp, ids_at_last_stamp = None, set()
            continue
        if not page.get("paging"):
            return
        tied, anchor = last_stamp, "0"


def crm_resource(
    base_url: str,
    token: str,
    object_type: str,
    max_requests_per_second: float,
    tombstones: Tombstones | None = None,
):
    """Contacts, companies or deals, paced under the CRM's search rate limit; records of
    forgotten people (``tombstones``) are left out."""
    properties = PROPERTIES[object_type]
    table = f"crm_{object_type}"

    @dlt.resource(
        name=table,
        primary_key="hs_object_id",
        write_disposition="merge",
        columns={name: {"data_type": "text", "nullable": True} for name in properties},
    )
    def records(
        cursor=dlt.sources.incremental("lastmodifieddate", initial_value=EPOCH),
    ) -> Iterator[list[dict]]:
        for rows in _pages(
            base_url, token, object_type, properties, max_requests_per_second, cursor.last_value
        ):
            rows = tombstones.drop(table, rows) if tombstones else rows
            if rows:
                yield rows

    return records


def check_listed(
    where: str, listed: dict[str, str], attribute_name: Callable[[str], str] = str
) -> None:
    """Stop with one message (starting with ``where``) when a listed field does not give an
    attribute name (``attribute_name`` of it) or has a kind other than fit / pain."""
    for name, kind in listed.items():
        problem = attributes.name_problem(attribute_name(name))
        if problem:
            raise SourceUnavailable(f"{where}: {problem}")
        if kind not in (attributes.FIT, attributes.PAIN):
            raise SourceUnavailable(
                f"{where}: {name}:{kind}: the only suffix is :pain (activity aggregates)"
            )


def check_attributes(base_url: str, token: str, object_type: str, listed: dict[str, str]) -> None:
    """Stop with one message when a listed property is no attribute name, has a kind other
    than fit / pain, or is not a property of ``object_type`` in the CRM (its property list:
    GET /crm/v3/properties/{object_type})."""
    where = f"{ATTRIBUTE_ENV[object_type]} ({object_type})"
    check_listed(where, listed)
    url = f"{base_url.rstrip('/')}/crm/v3/properties/{object_type}"
    known = {p["name"] for p in _request(Client(**RETRY).session, url, token)["results"]}
    unknown = [name for name in listed if name not in known]
    if unknown:
        raise SourceUnavailable(
            f"{where}: the CRM has no {object_type} propert{'y' if len(unknown) == 1 else 'ies'}"
            f" {', '.join(unknown)}; list {object_type} properties by their internal names"
        )


def crm_attribute_resource(
    base_url: str,
    token: str,
    object_type: str,
    listed: dict[str, str],
    max_requests_per_second: float,
    tombstones: Tombstones | None = None,
):
    """The ``listed`` properties (name -> fit / pain) of contacts or companies as attribute
    rows (sources/attributes.py), incremental on their version (``valid_from``, the
    record's ``lastmodifieddate``). Checks the names against the CRM first. Contacts'
    e-mails are read too, so the records of forgotten people are left out."""
    check_attributes(base_url, token, object_type, listed)
    table = attributes.TABLES[object_type]
    identity = ["email"] if object_type == "contacts" else []
    properties = list(dict.fromkeys([*listed, *identity, "createdate", "lastmodifieddate"]))
    activity = {name for name, kind in listed.items() if kind == attributes.PAIN}

    @dlt.resource(
        name=table,
        primary_key=list(attributes.KEY),
        write_disposition="merge",
        columns=attributes.column_hints(),
    )
    def attribute_rows(
        cursor=dlt.sources.incremental("valid_from", initial_value=EPOCH),
    ) -> Iterator[list[dict]]:
        for rows in _pages(
            base_url, token, object_type, properties, max_requests_per_second, cursor.last_value
        ):
            rows = tombstones.drop(table, rows) if tombstones else rows
            if not rows:
                continue
            frame = pd.DataFrame(rows, dtype="string")
            valid_from = frame["lastmodifieddate"].fillna(frame["createdate"])
            long = attributes.long_rows(
                frame["hs_object_id"], valid_from, frame[list(listed)], activity
            )
            yield long.to_dict("records")

    return attribute_rows
