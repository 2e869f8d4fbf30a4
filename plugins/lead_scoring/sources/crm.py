"""CRM records (HubSpot CRM v3 search API), incremental on ``lastmodifieddate``.

The search endpoint is paged with ``after``; HubSpot stops a single search at
10,000 results. When a search window is full, every record sharing the window's last
``lastmodifieddate`` is read by ``hs_object_id`` (re-anchored every 10,000 ids, so any
number of records may share one timestamp), and the search goes on strictly after that
timestamp. Rows at the cursor's boundary are read again on the next run and de-duplicated
by dlt.

Extra contact and company properties listed in the settings are read the same way into the
long attribute tables (sources/attributes.py). Sales activities (the calls, emails,
meetings and tasks engagements) are searched the same way on ``hs_lastmodifieddate``, each
page's contacts read with one v4 associations batch read, into ``raw.crm_activities``; the
owners are read in full into ``raw.crm_owners`` on every run. HubSpot's search never
returns archived (deleted) records, so a deleted engagement keeps its row.

Every request of one extract goes through one ``HubSpotApi``, paced under its rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlencode

import dlt
import pandas as pd
import requests
from dlt.sources.helpers.requests import Client

from lead_scoring.privacy.tombstones import Tombstones
from lead_scoring.settings import ATTRIBUTE_ENV
from lead_scoring.sources import attributes
from lead_scoring.sources.errors import SourceUnavailable
from lead_scoring.sources.unchanged import UnchangedRecords, after_cursor

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
        "hubspot_owner_id",
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
        "hubspot_owner_id",
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
# Engagement -> (activity_type, subject, status, completed_at property) of raw.crm_activities;
# occurred_at is hs_timestamp (a meeting's start, a task's due time)
ACTIVITIES = {
    "calls": ("call", "hs_call_title", "hs_call_status", None),
    "emails": ("email", "hs_email_subject", "hs_email_direction", None),
    "meetings": ("meeting", "hs_meeting_title", "hs_meeting_outcome", "hs_meeting_end_time"),
    "tasks": ("task", "hs_task_subject", "hs_task_status", "hs_task_completion_date"),
}
EMAIL_STATUS = {"EMAIL": "sent", "FORWARDED_EMAIL": "sent", "INCOMING_EMAIL": "received"}
PAGE_SIZE = 100
OWNERS_PAGE_SIZE = 500
SEARCH_WINDOW = 10_000
EPOCH = "1970-01-01T00:00:00.000Z"
# 429 and 5xx are retried with backoff (Retry-After respected); an unreachable host fails fast.
RETRY = {"request_max_attempts": 4, "request_backoff_factor": 0.5, "raise_for_status": False}
DELETED = "is_deleted"  # a row flagged so removes the row with its key (dlt's hard_delete)
ACTIVITY_COLUMNS = ["id", "contact_id", "crm_object", "activity_type", "subject", "status",
                    "occurred_at", "completed_at", "owner_id", "createdate",
                    "lastmodifieddate"]  # fmt: skip
OWNER_COLUMNS = {"id": "text", "email": "text", "first_name": "text", "last_name": "text",
                 "is_active": "boolean", "crm_object": "text"}  # fmt: skip
# Raw tables every CRM's extract leaves (table -> column -> SQL type), created empty when
# nothing feeds them (extract.create_missing_tables): routing and the SLA read them.
EXTRA_TABLES = {
    "crm_activities": dict.fromkeys(ACTIVITY_COLUMNS, "text") | {DELETED: "boolean"},
    "crm_owners": OWNER_COLUMNS,
}


def text_columns(names: Iterable[str], deleted: bool = False) -> dict[str, dict]:
    """dlt column hints: every column text; ``deleted``: with the ``is_deleted`` flag."""
    columns = {name: {"data_type": "text", "nullable": True} for name in names}
    if deleted:
        columns[DELETED] = {"data_type": "bool", "nullable": True, "hard_delete": True}
    return columns


class HubSpotApi:
    """Requests to one HubSpot account: authenticated, retried, and paced under
    ``max_requests_per_second`` (HubSpot allows 5 search requests a second) across every
    resource of an extract that shares it."""

    def __init__(self, base_url: str, token: str, max_requests_per_second: float):
        self.base_url, self.token = base_url.rstrip("/"), token
        self.interval, self.last_request = 1.0 / max_requests_per_second, 0.0
        self.session = Client(**RETRY).session

    def call(self, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        """A POST of ``body`` (a GET without one) to ``path``; its JSON answer."""
        time.sleep(max(0.0, self.last_request + self.interval - time.monotonic()))
        self.last_request = time.monotonic()
        query = f"?{urlencode(params)}" if params else ""
        return _request(self.session, f"{self.base_url}{path}{query}", self.token, body)


def owner_row(
    owner_id: str,
    email: str | None,
    first: str | None,
    last: str | None,
    active: bool,
    crm_object: str,
) -> dict:
    """A row of raw.crm_owners."""
    return {"id": str(owner_id), "email": email, "first_name": first, "last_name": last,
            "is_active": active, "crm_object": crm_object}  # fmt: skip


def owners_resource(name: str, pages: Callable[[], Iterator[list[dict]]]):
    """raw.crm_owners, replaced in full by every run, from ``pages`` of owner rows."""
    columns = {n: {"data_type": "bool" if kind == "boolean" else "text", "nullable": True}
               for n, kind in OWNER_COLUMNS.items()}  # fmt: skip

    @dlt.resource(name=name, table_name="crm_owners", primary_key="id",
                  write_disposition="replace", columns=columns)  # fmt: skip
    def owners() -> Iterator[list[dict]]:
        yield from pages()

    return owners


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
    api: HubSpotApi,
    object_type: str,
    properties: list[str],
    since: str,
    modified: str = "lastmodifieddate",
) -> Iterator[list[dict]]:
    """Pages of records (property -> value) modified (``modified``: the property of the
    change time) at or after ``since``, oldest first, each record once."""
    path = f"/crm/v3/objects/{object_type}/search"
    operator, after = "GTE", None
    tied: str | None = None  # a timestamp read by id: a full window ended on it
    anchor = last_id = "0"  # reading `tied`: ids after `anchor`; the last id read
    # The latest timestamp of the current window and its ids (while `tied` is read by id:
    # the records at `tied` already read in that window).
    last_stamp, ids_at_last_stamp = None, set()
    while True:
        if tied is None:
            filters = [_filter(modified, operator, since)]
            sort = modified
        else:
            filters = [
                _filter(modified, "EQ", tied),
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
        page = api.call(path, body)
        rows = [
            {name: (record.get("properties") or {}).get(name) for name in properties}
            | {"hs_object_id": str(record["id"])}
            for record in page.get("results", [])
        ]
        if tied is None:
            for row in rows:
                if row[modified] != last_stamp:
                    last_stamp, ids_at_last_stamp = row[modified], set()
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


# raw table -> its columns, the key first (sources/unchanged.py)
TRACKED = {f"crm_{object_type}": properties for object_type, properties in PROPERTIES.items()}


def crm_resource(
    api: HubSpotApi,
    object_type: str,
    tombstones: Tombstones | None = None,
    unchanged: UnchangedRecords | None = None,
):
    """Contacts, companies or deals; records of forgotten people (``tombstones``) are left
    out, and so are records read again with only their modification time moved
    (``unchanged``), after the cursor has seen them."""
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
        for rows in _pages(api, object_type, properties, cursor.last_value):
            rows = tombstones.drop(table, rows) if tombstones else rows
            if rows:
                yield rows

    if unchanged is not None:  # the cursor moves past them
        records.add_step(after_cursor(lambda row: unchanged.is_new(table, row)))
    return records


def activity_resource(api: HubSpotApi, object_type: str, tombstones: Tombstones | None = None):
    """One engagement type (calls, emails, meetings or tasks) as raw.crm_activities rows,
    incremental on ``hs_lastmodifieddate``; the person is the engagement's (first)
    associated contact. Activities of forgotten people are left out."""
    activity_type, subject, status, completed = ACTIVITIES[object_type]
    properties = [name for name in ("hs_object_id", "hs_timestamp", "hubspot_owner_id", subject,
                                    status, completed, "hs_createdate", "hs_lastmodifieddate")
                  if name]  # fmt: skip
    statuses = EMAIL_STATUS if object_type == "emails" else None

    @dlt.resource(
        name=f"crm_{object_type}",
        table_name="crm_activities",
        primary_key="id",
        write_disposition="merge",
        columns=text_columns(ACTIVITY_COLUMNS, deleted=True),
    )
    def activities(
        cursor=dlt.sources.incremental("lastmodifieddate", initial_value=EPOCH),
    ) -> Iterator[list[dict]]:
        pages = _pages(api, object_type, properties, cursor.last_value, "hs_lastmodifieddate")
        for page in pages:
            contacts = _contacts_of(api, object_type, [r["hs_object_id"] for r in page])
            rows = [
                {"id": r["hs_object_id"], "contact_id": contacts.get(r["hs_object_id"]),
                 "crm_object": object_type, "activity_type": activity_type,
                 "subject": r[subject],
                 "status": statuses.get(r[status]) if statuses else r[status],
                 "occurred_at": r["hs_timestamp"],
                 "completed_at": r[completed] if completed else None,
                 "owner_id": r["hubspot_owner_id"], "createdate": r["hs_createdate"],
                 "lastmodifieddate": r["hs_lastmodifieddate"]}
                for r in page
            ]  # fmt: skip
            rows = tombstones.drop("crm_activities", rows) if tombstones else rows
            if rows:
                yield rows

    return activities


def _contacts_of(api: HubSpotApi, object_type: str, ids: list[str]) -> dict[str, str]:
    """Engagement id -> its associated contact (the lowest id, if several), by one v4
    associations batch read; engagements without a contact are left out."""
    answer = api.call(
        f"/crm/v4/associations/{object_type}/contacts/batch/read",
        {"inputs": [{"id": i} for i in ids]},
    )
    return {
        str(r["from"]["id"]): str(min(int(t["toObjectId"]) for t in r["to"]))
        for r in answer.get("results", [])
        if r.get("to")
    }


def hubspot_owners(api: HubSpotApi):
    """The account's owners, active and archived (``is_active`` false), into raw.crm_owners."""

    def pages() -> Iterator[list[dict]]:
        for archived in (False, True):
            params = {"limit": OWNERS_PAGE_SIZE, "archived": str(archived).lower()}
            while True:
                page = api.call("/crm/v3/owners", params=params)
                yield [
                    owner_row(o["id"], o.get("email"), o.get("firstName"), o.get("lastName"),
                              not archived, "owner")
                    for o in page.get("results", [])
                ]  # fmt: skip
                after = ((page.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
                params["after"] = after

    return owners_resource("crm_owners", pages)


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


def check_attributes(api: HubSpotApi, object_type: str, listed: dict[str, str]) -> None:
    """Stop with one message when a listed property is no attribute name, has a kind other
    than fit / pain, or is not a property of ``object_type`` in the CRM (its property list:
    GET /crm/v3/properties/{object_type})."""
    where = f"{ATTRIBUTE_ENV[object_type]} ({object_type})"
    check_listed(where, listed)
    known = {p["name"] for p in api.call(f"/crm/v3/properties/{object_type}")["results"]}
    unknown = [name for name in listed if name not in known]
    if unknown:
        raise SourceUnavailable(
            f"{where}: the CRM has no {object_type} propert{'y' if len(unknown) == 1 else 'ies'}"
            f" {', '.join(unknown)}; list {object_type} properties by their internal names"
        )


def crm_attribute_resource(
    api: HubSpotApi,
    object_type: str,
    listed: dict[str, str],
    tombstones: Tombstones | None = None,
):
    """The ``listed`` properties (name -> fit / pain) of contacts or companies as attribute
    rows (sources/attributes.py), incremental on their version (``valid_from``, the
    record's ``lastmodifieddate``). Checks the names against the CRM first. Contacts'
    e-mails are read too, so the records of forgotten people are left out."""
    check_attributes(api, object_type, listed)
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
        for rows in _pages(api, object_type, properties, cursor.last_value):
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
