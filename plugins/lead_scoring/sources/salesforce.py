"""CRM records from Salesforce (REST API v59.0 through simple-salesforce), landed in the same
raw tables as HubSpot's (docs/data-contracts.md section 2), incremental on ``SystemModstamp``.

Why not dlt's verified Salesforce source: it reads every object through Bulk API 1.0
(``sf.bulk.<Object>.query_all``; REST only when the org has no Async API), reloads Lead and
Contact in full on every run, keeps deleted records as rows flagged ``IsDeleted`` and lands
one table per object with every field. The scoring needs one row per person whether the
person is a Lead or a Contact, deleted records gone, and the HubSpot contract's columns.

How it reads: one dlt resource per object (Lead, Contact, Account, Opportunity,
OpportunityContactRole, CampaignMember, Task, Event) asks for the records whose
``SystemModstamp`` is at or after its cursor (kept in dlt state; records at the cursor are
read again and de-duplicated by dlt), deleted ones included (``queryAll``). When a REST
``SELECT COUNT()`` of those records reaches ``BULK_THRESHOLD`` (typically the first extract
of a large org), they come from a Bulk API 2.0 ``queryAll`` job, paged by locator; else
from REST ``queryAll``, 2,000 a page, oldest first. A transformer per object maps the pages
into raw rows; a deleted record becomes a row flagged ``is_deleted`` (dlt's ``hard_delete``
hint), which removes the record's row from its table.

A person is one row of ``raw.crm_contacts``, Lead or Contact: the person key
(``hs_object_id``) is the Id of the Lead the person started as (the earliest Lead whose
``ConvertedContactId`` is the Contact), else the Contact Id, so the key stays when a Lead
converts. ``crm_object`` and ``crm_record_id`` name the record the person is now. Deals,
campaign members and activities name people by the same key. A person's and an Account's
owner (``OwnerId``) lands in ``hubspot_owner_id``; the Users land in ``raw.crm_owners``,
read in full on every run.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import dlt
import requests
from dlt.sources.helpers.requests import Client
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from lead_scoring.privacy.tombstones import Tombstones
from lead_scoring.settings import ATTRIBUTE_ENV
from lead_scoring.sources import attributes, crm
from lead_scoring.sources.crm import DELETED, EPOCH, PROPERTIES, RETRY, check_listed
from lead_scoring.sources.errors import SourceUnavailable
from lead_scoring.sources.unchanged import UnchangedRecords

if TYPE_CHECKING:
    from lead_scoring.sources.extract import CrmSource

log = logging.getLogger(__name__)

API_VERSION = "59.0"
BULK_THRESHOLD = 10_000  # changed records of one object from which Bulk API 2.0 reads them
BULK_PAGE_SIZE = 50_000  # records per Bulk API 2.0 result page (maxRecords)
BULK_POLL_S = 0.5  # seconds between Bulk job status checks
IDS_PER_QUERY = 200  # ids in one ``IN (...)`` lookup: keeps the query URL short
CONTACT_PREFIX = "003"  # the key prefix of Salesforce Contact ids
SYSTEM = ["SystemModstamp", "IsDeleted"]
FIELDS = {
    "Lead": ["Id", "FirstName", "LastName", "Email", "Title", "Phone", "Country", "Company",
             "LeadSource", "OwnerId", "IsConverted", "ConvertedContactId", "CreatedDate"],
    "Contact": ["Id", "FirstName", "LastName", "Email", "Title", "Phone", "MailingCountry",
                "AccountId", "Account.Name", "LeadSource", "OwnerId", "CreatedDate"],
    "Account": ["Id", "Name", "Website", "Industry", "NumberOfEmployees", "BillingCountry",
                "AnnualRevenue", "OwnerId", "CreatedDate"],
    "Opportunity": ["Id", "Name", "AccountId", "IsClosed", "IsWon", "Amount", "CloseDate",
                    "CreatedDate"],
    "OpportunityContactRole": ["Id", "OpportunityId"],
    "CampaignMember": ["Id", "CampaignId", "Campaign.Name", "LeadId", "ContactId", "Status",
                       "HasResponded", "FirstRespondedDate", "CreatedDate"],
    "Task": ["Id", "WhoId", "Subject", "Status", "TaskSubtype", "ActivityDate",
             "CompletedDateTime", "OwnerId", "CreatedDate"],
    "Event": ["Id", "WhoId", "Subject", "StartDateTime", "EndDateTime", "OwnerId",
              "CreatedDate"],
}  # fmt: skip
# raw.crm_contacts column -> (Lead field, Contact field)
PERSON = {
    "email": ("Email", "Email"), "firstname": ("FirstName", "FirstName"),
    "lastname": ("LastName", "LastName"), "jobtitle": ("Title", "Title"),
    "phone": ("Phone", "Phone"), "country": ("Country", "MailingCountry"),
    "company": ("Company", "Account.Name"), "associatedcompanyid": (None, "AccountId"),
    "hs_analytics_source": ("LeadSource", "LeadSource"),
    "hubspot_owner_id": ("OwnerId", "OwnerId"),
}  # fmt: skip
# The objects whose fields a listed attribute may be, per attribute setting
ATTRIBUTE_OBJECTS = {"contacts": ("Lead", "Contact"), "companies": ("Account",)}
# Tables beside the HubSpot contract's: their columns, the key first
TABLES = {
    "crm_contacts": [*PROPERTIES["contacts"], "crm_object", "crm_record_id"],
    "crm_companies": PROPERTIES["companies"],
    "crm_deals": PROPERTIES["deals"],
    "crm_campaign_members": ["id", "contact_id", "campaign_id", "campaign_name", "status",
                             "has_responded", "first_responded_at", "createdate",
                             "lastmodifieddate"],
    "crm_activities": crm.ACTIVITY_COLUMNS,
}  # fmt: skip
# raw table -> its columns, the key first (sources/unchanged.py)
TRACKED = {table: TABLES[table] for table in ("crm_contacts", "crm_companies", "crm_deals")}
# Created empty when nothing feeds them (extract.create_missing_tables): routing reads them.
EXTRA_TABLES = crm.EXTRA_TABLES | {
    "crm_campaign_members": dict.fromkeys(TABLES["crm_campaign_members"], "text")
    | {DELETED: "boolean"},
}
# A datetime as REST (``2026-11-01T10:00:00.000+0000``) or Bulk (``...000Z``) writes it
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")
TASK_TYPES = {"Call": "call", "Email": "email", "ListEmail": "email"}  # TaskSubtype; else task


def connect(source: CrmSource) -> Salesforce:
    """A client on the instance URL with the session (access) token; requests are retried on
    429 and 5xx, and verified with the source's CA bundle when it has one."""
    session = Client(**RETRY).session
    if source.ca_bundle:  # per request: REQUESTS_CA_BUNDLE would override session.verify
        session.request = partial(session.request, verify=source.ca_bundle)
    return Salesforce(instance_url=source.base_url, session_id=source.token,
                      version=API_VERSION, session=session)  # fmt: skip


@contextmanager
def _answers(sf: Salesforce) -> Iterator[None]:
    """Unreachable instance and refused token as SourceUnavailable naming the instance."""
    where = f"Salesforce at https://{sf.sf_instance}"
    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        raise SourceUnavailable(f"{where} is unreachable: {exc.__class__.__name__}") from exc
    except SalesforceError as exc:
        if exc.status not in (401, 403):
            raise
        raise SourceUnavailable(
            f"{where} refused the session token (HTTP {exc.status}): use a valid access token"
        ) from exc


def _text(value) -> str | None:
    """A value as text, as HubSpot sends every property and Bulk API 2.0 writes it: booleans
    ``true``/``false``, empty as None."""
    if value is None or value == "":
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _stamp(value: str | None) -> str | None:
    """A Salesforce date or datetime as the contract's wire datetime
    (``2026-11-01T10:00:00.000Z``; a date at midnight UTC)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _record(fields: dict) -> dict[str, str | None]:
    """A REST or Bulk record as field -> text (parent fields as ``Account.Name``), datetimes
    as wire datetimes: the same record reads the same through either API (the cursor and
    dlt's de-duplication at the cursor compare them)."""
    flat = {}
    for name, value in fields.items():
        if name == "attributes":  # REST's type and URL of the record
            continue
        if isinstance(value, dict):  # a parent record (REST)
            flat.update({f"{name}.{k}": _text(v) for k, v in value.items() if k != "attributes"})
        else:
            flat[name] = _text(value)
    return {name: _stamp(v) if v and DATETIME.match(v) else v for name, v in flat.items()}


def _soql(obj: str, fields: Iterable[str], where: str) -> str:
    return f"SELECT {', '.join(fields)} FROM {obj} WHERE {where}"


def _rest_pages(sf: Salesforce, soql: str) -> Iterator[list[dict]]:
    """The records of a query, deleted ones included, a page (up to 2,000) at a time."""
    with _answers(sf):
        page = sf.query(soql, include_deleted=True)
        while True:
            yield [_record(r) for r in page["records"]]
            if page["done"]:
                return
            page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)


def _bulk_pages(sf: Salesforce, obj: str, soql: str) -> Iterator[list[dict]]:
    """The records of a Bulk API 2.0 ``queryAll`` job, a result page at a time."""
    with _answers(sf):
        job = getattr(sf.bulk2, obj)
        for page in job.query_all(soql, max_records=BULK_PAGE_SIZE, wait=BULK_POLL_S):
            yield [_record(row) for row in csv.DictReader(io.StringIO(page))]


def _changed(sf: Salesforce, obj: str, fields: list[str], since: str) -> Iterator[list[dict]]:
    """Records of ``obj`` changed at or after ``since`` (deleted ones too), in pages."""
    where = f"SystemModstamp >= {since[:19]}Z"  # SOQL's literal: whole seconds, UTC
    with _answers(sf):
        count = sf.query(f"SELECT COUNT() FROM {obj} WHERE {where}", include_deleted=True)
    soql = _soql(obj, [*fields, *SYSTEM], where)
    if count["totalSize"] >= BULK_THRESHOLD:
        log.info("reading %d changed %s records with Bulk API 2.0", count["totalSize"], obj)
        yield from _bulk_pages(sf, obj, soql)
    else:
        yield from _rest_pages(sf, f"{soql} ORDER BY SystemModstamp")


def _lookup(
    sf: Salesforce, obj: str, fields: list[str], column: str, values: Iterable, also: str = ""
) -> list[dict]:
    """Records of ``obj`` (deleted ones too) whose ``column`` is one of ``values`` and that
    meet the ``also`` condition, IDS_PER_QUERY values a query."""
    values = sorted({v for v in values if v})
    found = []
    for start in range(0, len(values), IDS_PER_QUERY):
        listed = ", ".join(f"'{v}'" for v in values[start : start + IDS_PER_QUERY])
        where = f"{also + ' AND ' if also else ''}{column} IN ({listed})"
        for page in _rest_pages(sf, _soql(obj, fields, where)):
            found += page
    return found


def _deleted(record: dict) -> bool:
    return record.get("IsDeleted") == "true"


def _gone(table: str, ids: Iterable[str]) -> list[dict]:
    """Rows that remove ``ids`` from ``table``."""
    return [{TABLES[table][0]: i, DELETED: True} for i in sorted(set(ids))]


def _field_names(sf: Salesforce, obj: str) -> dict[str, str]:
    """The fields of ``obj`` (its describe()): lower-cased name -> API name."""
    with _answers(sf):
        return {f["name"].lower(): f["name"] for f in getattr(sf, obj).describe()["fields"]}


def custom_fields(
    sf: Salesforce, listed: dict[str, dict[str, str]]
) -> dict[str, dict[str, tuple[str, str]]]:
    """The listed attributes (object type -> field -> fit / pain) as Salesforce object ->
    field API name -> (attribute name, kind), ``Budget__c`` -> ``budget_c``. Each name is
    checked against the describe() of the objects it may belong to (Lead and Contact for
    contacts, Account for companies); one that none of them has stops the extract with one
    message naming it and the objects."""
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for object_type, fields in listed.items():
        if not fields:
            continue
        objects = ATTRIBUTE_OBJECTS[object_type]
        where = f"{ATTRIBUTE_ENV[object_type]} ({', '.join(objects)})"
        check_listed(where, fields, attributes.snake_case)
        described = {obj: _field_names(sf, obj) for obj in objects}
        unknown = [f for f in fields if not any(f.lower() in names for names in described.values())]
        if unknown:
            raise SourceUnavailable(
                f"{where}: Salesforce has no {' or '.join(objects)} field"
                f"{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; list fields by their"
                " API names (e.g. Budget__c)"
            )
        for obj, names in described.items():
            found[obj] = {
                names[f.lower()]: (attributes.snake_case(f), kind)
                for f, kind in fields.items()
                if f.lower() in names
            }
    return found


class Reader:
    """Maps pages of changed Salesforce records to raw rows, as (table, rows) pairs.

    Holds the client, the custom fields read as attributes (object -> field API name ->
    (attribute, kind)) and the tombstones of forgotten people, whose rows it leaves out."""

    def __init__(
        self,
        sf: Salesforce,
        custom: dict[str, dict[str, tuple[str, str]]],
        tombstones: Tombstones | None = None,
    ):
        self.sf, self.custom, self.tombstones = sf, custom, tombstones
        self.deals: set[str] = set()  # Opportunities this extract read

    def fields(self, obj: str) -> list[str]:
        """The fields read of ``obj``: the mapped ones and its custom attributes."""
        return list(dict.fromkeys([*FIELDS[obj], *self.custom.get(obj, {})]))

    # -- people: Lead and Contact -> raw.crm_contacts ----------------------------------------
    def leads(self, page: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        """Open Leads are people of their own. A converted Lead's person is its Contact,
        read by the Contact resource: a conversion creates or updates the Contact (a new
        SystemModstamp), and a converted Lead cannot be edited any more."""
        yield from self._people(
            "Lead", [(lead, []) for lead in page if lead["IsConverted"] != "true"]
        )

    def contacts(self, page: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        leads = self._converted_leads(contact["Id"] for contact in page)
        yield from self._people("Contact", [(contact, leads[contact["Id"]]) for contact in page])

    def _converted_leads(self, contact_ids: Iterable[str]) -> dict[str, list[dict]]:
        """Contact id -> the Leads converted into it (deleted ones too), earliest first."""
        ids = {i for i in contact_ids if i}
        fields = ["Id", "CreatedDate", "ConvertedContactId"]
        leads = _lookup(self.sf, "Lead", fields, "ConvertedContactId", ids)
        found: dict[str, list[dict]] = {i: [] for i in ids}
        for lead in sorted(leads, key=lambda lead: (lead["CreatedDate"], lead["Id"])):
            found[lead["ConvertedContactId"]].append(lead)
        return found

    def _person_keys(self, ids: Iterable[str | None]) -> dict[str, str]:
        """Lead or Contact id -> its person key (a Lead's is its own Id)."""
        ids = {i for i in ids if i}
        contacts = self._converted_leads(i for i in ids if i.startswith(CONTACT_PREFIX))
        return {i: i for i in ids} | {
            contact: leads[0]["Id"] for contact, leads in contacts.items() if leads
        }

    def _people(
        self, obj: str, records: list[tuple[dict, list[dict]]]
    ) -> Iterator[tuple[str, list[dict]]]:
        """Person rows of Leads or Contacts, each with the Leads it started as (earliest
        first); rows removing the person's other possible keys and deleted people; the
        person's attribute rows."""
        column = 1 if obj == "Contact" else 0
        people, sources, gone = [], {}, []
        for record, leads in records:
            first = leads[0] if leads else record
            key = first["Id"]
            gone += [i for i in (record["Id"], *(lead["Id"] for lead in leads)) if i != key]
            if _deleted(record):
                gone.append(key)
                continue
            people.append(
                {"hs_object_id": key}
                | {name: record.get(fields[column]) for name, fields in PERSON.items()}
                | {
                    "createdate": first["CreatedDate"],
                    "lastmodifieddate": record["SystemModstamp"],
                    "crm_object": obj,
                    "crm_record_id": record["Id"],
                }
            )
            sources[key] = record
        people = self._keep("crm_contacts", people)
        yield "crm_contacts", people + _gone("crm_contacts", gone)
        yield self._attributes(obj, people, [sources[p["hs_object_id"]] for p in people])

    def _attributes(
        self, obj: str, rows: list[dict], records: list[dict]
    ) -> tuple[str, list[dict]]:
        """The attribute rows of ``rows`` (contacts or companies), read from their
        ``records`` (aligned), versioned by the rows' lastmodifieddate."""
        import pandas as pd

        table = attributes.TABLES["companies" if obj == "Account" else "contacts"]
        fields = self.custom.get(obj)
        if not fields or not rows:
            return table, []
        values = pd.DataFrame(
            [[record.get(f) for f in fields] for record in records],
            columns=[name for name, _ in fields.values()],
            dtype="string",
        )
        ids = pd.Series([row["hs_object_id"] for row in rows], dtype="string")
        valid_from = pd.Series([row["lastmodifieddate"] for row in rows], dtype="string")
        activity = {name for name, kind in fields.values() if kind == attributes.PAIN}
        return table, attributes.long_rows(ids, valid_from, values, activity).to_dict("records")

    # -- Account -> raw.crm_companies ----------------------------------------------------------
    def accounts(self, page: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        kept = [account for account in page if not _deleted(account)]
        companies = [
            {
                "hs_object_id": a["Id"], "name": a["Name"], "domain": _domain(a["Website"]),
                "industry": a["Industry"], "numberofemployees": a["NumberOfEmployees"],
                "country": a["BillingCountry"], "annualrevenue": a["AnnualRevenue"],
                "hubspot_owner_id": a["OwnerId"], "createdate": a["CreatedDate"],
                "lastmodifieddate": a["SystemModstamp"],
            }
            for a in kept
        ]  # fmt: skip
        gone = _gone("crm_companies", [a["Id"] for a in page if _deleted(a)])
        yield "crm_companies", companies + gone
        yield self._attributes("Account", companies, kept)

    # -- Opportunity (and its contact roles) -> raw.crm_deals ----------------------------------
    def opportunities(self, page: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        """Deals; the person of a deal is its primary contact role's Contact, else the
        Contact of the Lead converted into it."""
        ids = [o["Id"] for o in page]
        self.deals.update(ids)
        primary = "IsPrimary = true AND IsDeleted = false"
        roles = _lookup(self.sf, "OpportunityContactRole", ["OpportunityId", "ContactId"],
                        "OpportunityId", ids, also=primary)  # fmt: skip
        leads = _lookup(self.sf, "Lead", ["ConvertedOpportunityId", "ConvertedContactId"],
                        "ConvertedOpportunityId", ids)  # fmt: skip
        contact_of = {lead["ConvertedOpportunityId"]: lead["ConvertedContactId"] for lead in leads}
        contact_of |= {role["OpportunityId"]: role["ContactId"] for role in roles}
        keys = self._person_keys(contact_of.values())
        yield self._rows("crm_deals", page, lambda o: {
            "hs_object_id": o["Id"], "dealname": o["Name"],
            "ls_contact_id": keys.get(contact_of.get(o["Id"])),
            "associatedcompanyid": o["AccountId"], "dealstage": _deal_stage(o),
            "amount": o["Amount"], "createdate": o["CreatedDate"],
            "closedate": _stamp(o["CloseDate"]) if o["IsClosed"] == "true" else None,
            "lastmodifieddate": o["SystemModstamp"],
        })  # fmt: skip

    def contact_roles(self, page: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        """A changed contact role may change its Opportunity's person: the deal is read
        again, unless this extract read it already (after its roles changed)."""
        fields = [*FIELDS["Opportunity"], *SYSTEM]
        ids = [role["OpportunityId"] for role in page if role["OpportunityId"] not in self.deals]
        yield from self.opportunities(_lookup(self.sf, "Opportunity", fields, "Id", ids))

    # -- CampaignMember, Task, Event -------------------------------------------------------------
    def campaign_members(self, page: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        keys = self._person_keys(m["ContactId"] or m["LeadId"] for m in page)
        yield self._rows("crm_campaign_members", page, lambda m: {
            "id": m["Id"], "contact_id": keys.get(m["ContactId"] or m["LeadId"]),
            "campaign_id": m["CampaignId"], "campaign_name": m.get("Campaign.Name"),
            "status": m["Status"], "has_responded": m["HasResponded"],
            "first_responded_at": _stamp(m["FirstRespondedDate"]),
            "createdate": m["CreatedDate"], "lastmodifieddate": m["SystemModstamp"],
        })  # fmt: skip

    def activities(self, obj: str, page: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        """Tasks (call, email or task, by TaskSubtype) and Events (meeting): when they happen
        (a Task's ActivityDate, an Event's start) and were done (CompletedDateTime, the
        Event's end)."""
        keys = self._person_keys(r["WhoId"] for r in page)
        yield self._rows("crm_activities", page, lambda r: {
            "id": r["Id"], "contact_id": keys.get(r["WhoId"]), "crm_object": obj,
            "activity_type": TASK_TYPES.get(r.get("TaskSubtype"), "task")
            if obj == "Task" else "meeting",
            "subject": r["Subject"], "status": r.get("Status"),
            "occurred_at": _stamp(r.get("ActivityDate") or r.get("StartDateTime")),
            "completed_at": r.get("CompletedDateTime") or r.get("EndDateTime"),
            "owner_id": r["OwnerId"], "createdate": r["CreatedDate"],
            "lastmodifieddate": r["SystemModstamp"],
        })  # fmt: skip

    def _rows(self, table: str, page: list[dict], row) -> tuple[str, list[dict]]:
        """``table``'s rows of a page: ``row`` of each live record, forgotten people left
        out, and a deletion row for each deleted record."""
        rows = self._keep(table, [row(record) for record in page if not _deleted(record)])
        return table, rows + _gone(table, [record["Id"] for record in page if _deleted(record)])

    def _keep(self, table: str, rows: list[dict]) -> list[dict]:
        """``rows`` without those of forgotten people (privacy.tombstones.IDENTIFIERS)."""
        return rows if self.tombstones is None else self.tombstones.drop(table, rows)


def _domain(website: str | None) -> str | None:
    """``https://www.acme.com/about`` -> ``acme.com``."""
    if not website:
        return None
    host = urlsplit(website if "://" in website else f"http://{website}").hostname or ""
    return host.removeprefix("www.") or None


def _deal_stage(opportunity: dict) -> str:
    """The contract's stage: closedwon, closedlost, or qualifiedtobuy for any open stage (as
    ``lead-scoring import`` maps stages; the scoring reads only won, lost and open)."""
    if opportunity["IsWon"] == "true":
        return "closedwon"
    return "closedlost" if opportunity["IsClosed"] == "true" else "qualifiedtobuy"


def _hints(table: str):
    """dlt hints of a raw table: merged on its key, every column text; a row flagged
    ``is_deleted`` removes the row with its key."""
    if table in attributes.TABLES.values():
        return dlt.mark.make_hints(
            table_name=table,
            primary_key=list(attributes.KEY),
            write_disposition="merge",
            columns=attributes.column_hints(),
        )
    return dlt.mark.make_hints(table_name=table, primary_key=TABLES[table][0],
                               write_disposition="merge",
                               columns=crm.text_columns(TABLES[table], deleted=True))  # fmt: skip


def _resource(
    sf: Salesforce, obj: str, fields: list[str], mapper, unchanged: UnchangedRecords | None
):
    """The changed records of ``obj`` (cursor ``SystemModstamp`` in dlt state), mapped to
    raw rows by ``mapper``; rows raw holds unchanged (``unchanged``) left out."""

    @dlt.resource(name=f"salesforce_{obj.lower()}", selected=False)
    def changed(cursor=dlt.sources.incremental("SystemModstamp", initial_value=EPOCH)):
        yield from _changed(sf, obj, fields, cursor.last_value)

    @dlt.transformer
    def raw_rows(page: list[dict]):
        for table, rows in mapper(page):
            if unchanged is not None and table in TRACKED:
                rows = unchanged.drop(table, rows)
            if rows:
                yield dlt.mark.with_hints(rows, _hints(table), create_table_variant=True)

    return (changed | raw_rows).with_name(f"salesforce_{obj.lower()}_rows")


def _users(sf: Salesforce):
    """The org's Users into raw.crm_owners (read in full: an org has few)."""

    def pages() -> Iterator[list[dict]]:
        for page in _rest_pages(sf, "SELECT Id, Email, FirstName, LastName, IsActive FROM User"):
            yield [crm.owner_row(u["Id"], u["Email"], u["FirstName"], u["LastName"],
                                 u["IsActive"] == "true", "User") for u in page]  # fmt: skip

    return crm.owners_resource("salesforce_users", pages)


def salesforce_resources(
    source: CrmSource,
    listed: dict[str, dict[str, str]],
    tombstones: Tombstones | None = None,
    unchanged: UnchangedRecords | None = None,
) -> list:
    """One resource per Salesforce object, into crm_contacts, crm_companies, crm_deals, the
    attribute tables, crm_campaign_members and crm_activities, and the Users into crm_owners.
    The ``listed`` custom fields (settings.crm_attributes) are checked against Salesforce
    before anything is read. Records read again unchanged (``unchanged``) are not loaded."""
    sf = connect(source)
    reader = Reader(sf, custom_fields(sf, listed), tombstones)
    mappers = {
        "Lead": reader.leads, "Contact": reader.contacts, "Account": reader.accounts,
        "Opportunity": reader.opportunities, "OpportunityContactRole": reader.contact_roles,
        "CampaignMember": reader.campaign_members,
        "Task": partial(reader.activities, "Task"), "Event": partial(reader.activities, "Event"),
    }  # fmt: skip
    return [
        *(
            _resource(sf, obj, reader.fields(obj), mapper, unchanged)
            for obj, mapper in mappers.items()
        ),
        _users(sf),
    ]
