"""Seeding the store with a funnel as Salesforce records, in bulk (no HTTP).

The funnel comes as the simulator writes it to HubSpot (companies, contacts and deals, every
property a string): companies become Accounts; contacts become Leads (Company, Website and
firmographics from their Account); a contact with a deal is a converted Lead (its Contact
on its Account, and the deal as an Opportunity whose primary contact role is that Contact).
Ids are derived from the funnel's ids (``salesforce_id``), so loading a record again
replaces it; each Lead and Contact keeps the funnel's contact id in ``LS_Lead_Id__c``, each
Account the company id in ``LS_Account_Id__c``.

Users (``seed_users``; every sandbox org has them): 1 is the Integration User, which owns
every Lead, Contact and Account the funnel makes (nobody has taken them yet); 2..10 are
the sandbox's reps (``reps.REPS``). A later
day's load (``merge``) keeps the owner a stored Lead or Account has (e.g. a rep the sync
assigned), and a Lead converting then hands its owner to its Contact.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from lead_scoring.crm_sandbox.reps import REPS, rep_email
from lead_scoring.crm_sandbox.salesforce_convert import conversion, conversion_records, stored
from lead_scoring.crm_sandbox.salesforce_schema import (
    ID_PREFIX,
    LEAD_STATUSES,
    declare_custom_field,
    derive,
    sf_now,
)
from lead_scoring.crm_sandbox.store import CrmStore, Record

STAGES = {"appointmentscheduled": "Prospecting", "qualifiedtobuy": "Qualification",
          "closedwon": "Closed Won", "closedlost": "Closed Lost"}  # fmt: skip
# The funnel's BANT answers, as custom fields an org would add for them
BANT_FIELDS = {"bant_budget": "BANT_Budget__c", "bant_authority": "BANT_Authority__c",
               "bant_need": "BANT_Need__c", "bant_timeline": "BANT_Timeline__c"}  # fmt: skip
CHUNK = 50_000  # records written per transaction


def salesforce_id(obj: str, number: Any, marker: str = "0") -> str:
    """An 18-character Id for the funnel record ``number`` (``marker`` tells apart records
    of one object derived from different funnel records)."""
    return f"{ID_PREFIX[obj]}{marker}{int(number):011d}AAA"


INTEGRATION_USER = "005000000000001AAA"  # salesforce_id("User", 1)
USERS = [
    ("Integration", "User", "integration@example.com"),
    *((first, last, rep_email(n)) for n, (first, last) in enumerate(REPS, start=1)),
]


def _datetime(wire: str) -> str | None:
    """HubSpot's ``2026-11-01T10:00:00.000Z`` as Salesforce's ``...T10:00:00.000+0000``."""
    return wire[:-1] + "+0000" if wire else None


def _number(text: str, kind: type = float) -> Any:
    try:
        return kind(float(text))
    except (TypeError, ValueError):
        return None


@functools.cache
def _lead_source(hubspot_source: str) -> str | None:
    """``ORGANIC_SEARCH`` -> ``Organic Search``."""
    return hubspot_source.replace("_", " ").title() or None


def seed_users(store: CrmStore, stamp: str | None = None) -> int:
    """Write the org's Users the store lacks (1 the Integration User, 2..10 the reps,
    rep01@example.com ...), created at ``stamp`` (default now); how many were written.
    Users the store holds are left as they are (e.g. deactivated through the API)."""
    users = _users(stamp or sf_now())
    known = store.get_many("sf:User", [record.id for record, _ in users], deleted=True)
    missing = [(record, keys) for record, keys in users if record.id not in known]
    store.put_many(missing)
    return len(missing)


def _users(stamp: str) -> list[tuple[Record, dict[str, Any]]]:
    return [
        stored(
            "User",
            {
                "Id": salesforce_id("User", number),
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "FirstName": first,
                "LastName": last,
                "Username": email,
                "Email": email,
                "IsActive": True,
            },
            stamp,
        )  # fmt: skip
        for number, (first, last, email) in enumerate(USERS, start=1)
    ]


def _account(company: dict[str, str], owner: str | None = None) -> dict[str, Any]:
    domain = company.get("domain") or ""
    number = company["hs_object_id"]
    return {
        "Id": salesforce_id("Account", number),
        "CreatedDate": _datetime(company["createdate"]),
        "LastModifiedDate": _datetime(company["lastmodifieddate"]),
        "Name": company.get("name") or None,
        "Website": f"https://{domain}" if domain else None,
        "Industry": company.get("industry") or None,
        "NumberOfEmployees": _number(company.get("numberofemployees"), int),
        "AnnualRevenue": _number(company.get("annualrevenue")),
        "BillingCountry": company.get("country") or None,
        "OwnerId": owner or INTEGRATION_USER,
        "LS_Account_Id__c": number,
    }


def _lead(
    contact: dict[str, str], account: dict[str, Any] | None, owner: str | None = None
) -> dict[str, Any]:
    number = contact["hs_object_id"]
    account = account or {}
    return {
        "Id": salesforce_id("Lead", number),
        "CreatedDate": _datetime(contact["createdate"]),
        "LastModifiedDate": _datetime(contact["lastmodifieddate"]),
        "FirstName": contact.get("firstname") or None,
        "LastName": contact.get("lastname") or None,
        "Email": contact.get("email") or None,
        "Title": contact.get("jobtitle") or None,
        "Phone": contact.get("phone") or None,
        "Country": contact.get("country") or None,
        "Company": account.get("Name") or contact.get("company") or None,
        "Website": account.get("Website"),
        "Industry": account.get("Industry"),
        "NumberOfEmployees": account.get("NumberOfEmployees"),
        "AnnualRevenue": account.get("AnnualRevenue"),
        "LeadSource": _lead_source(contact.get("hs_analytics_source") or ""),
        "Status": LEAD_STATUSES[0],
        "OwnerId": owner or INTEGRATION_USER,
        "IsConverted": False,
        "LS_Lead_Id__c": number,
        **{to: contact.get(name) or None for name, to in BANT_FIELDS.items()},
    }


def _converted(
    lead: dict[str, Any],
    deal: dict[str, str],
    account: dict[str, Any] | None,
    owners: dict[str, str],
) -> list[tuple[Record, dict[str, Any]]]:
    """The records of a converted Lead, onto its Account (a new one without), its deal as
    the Opportunity; each record's SystemModstamp is its LastModifiedDate. The Contact and
    new Account keep the owner ``owners`` has for them (stored ones), else the Lead's."""
    contact_number = deal["ls_contact_id"]
    ids = {
        "Contact": salesforce_id("Contact", contact_number),
        "Account": salesforce_id("Account", contact_number, marker="L"),
        "Opportunity": salesforce_id("Opportunity", deal["hs_object_id"]),
        "OpportunityContactRole": salesforce_id("OpportunityContactRole", deal["hs_object_id"]),
    }
    converted_at = _datetime(deal["createdate"])
    result = conversion(
        lead,
        ids,
        converted_at,
        account_id=account["Id"] if account else None,
        opportunity_name=deal.get("dealname"),
    )
    result.opportunity.update(_deal_fields(deal))
    for obj, record in (("Contact", result.contact), ("Account", result.account)):
        if record is not None and ids[obj] in owners:
            record["OwnerId"] = owners[ids[obj]]
    changed = max(lead["LastModifiedDate"] or "", converted_at)
    result.lead["LastModifiedDate"] = result.contact["LastModifiedDate"] = changed
    records = conversion_records(result, converted_at)
    for record, _ in records:
        record.updated_at = record.properties["LastModifiedDate"]
    return records


def load_funnel(
    store: CrmStore,
    companies: Iterable[dict[str, str]],
    contacts: Iterable[dict[str, str]],
    deals: Iterable[dict[str, str]],
    *,
    merge: bool = False,
) -> dict[str, int]:
    """Write a funnel as Salesforce records; returns how many records of each object.

    ``merge``: keep the fields a stored record has beyond the funnel's (e.g. synced
    scores), for a later day's changes. Accounts the contacts and deals refer to but
    ``companies`` lacks are read from the store.
    """
    companies, contacts = list(companies), list(contacts)
    stamp = _datetime(min((c["createdate"] for c in companies), default="")) or ""
    for name in BANT_FIELDS.values():
        for obj in ("Lead", "Contact"):
            declare_custom_field(store, obj, name, "string", length=40)
    deals_by_contact = {d["ls_contact_id"]: d for d in deals}
    owners = _stored_owners(store, companies, contacts, deals_by_contact) if merge else {}
    accounts = {
        c["hs_object_id"]: _account(c, owners.get(salesforce_id("Account", c["hs_object_id"])))
        for c in companies
    }
    seed_users(store, stamp)
    writes = [stored("Account", a, a["LastModifiedDate"]) for a in accounts.values()]
    wanted = {c["associatedcompanyid"] for c in contacts if c.get("associatedcompanyid")}
    stored_accounts = store.get_many(
        "sf:Account", [salesforce_id("Account", n) for n in wanted - set(accounts)]
    )
    lookup = {**{r.properties["LS_Account_Id__c"]: r.properties
                 for r in stored_accounts.values()}, **accounts}  # fmt: skip
    for contact in contacts:
        account = lookup.get(contact.get("associatedcompanyid") or "")
        lead = _lead(contact, account, owners.get(salesforce_id("Lead", contact["hs_object_id"])))
        deal = deals_by_contact.pop(contact["hs_object_id"], None)
        if deal is None:
            writes.append(stored("Lead", lead, lead["LastModifiedDate"]))
        else:
            writes.extend(_converted(lead, deal, account, owners))
    for deal in deals_by_contact.values():  # deals whose contact did not change: stage, close
        writes.append(_opportunity_update(deal))
    return _write(store, writes, merge)


def _stored_owners(
    store: CrmStore,
    companies: list[dict[str, str]],
    contacts: list[dict[str, str]],
    deals_by_contact: dict[str, dict[str, str]],
) -> dict[str, str]:
    """Record id -> OwnerId of the stored Accounts, Leads and Contacts a later day's load
    writes again: their owner is the CRM's now (e.g. a rep the sync assigned)."""
    numbers = [c["hs_object_id"] for c in contacts]
    converted = [n for n in numbers if n in deals_by_contact]
    ids = {
        "Account": [*(salesforce_id("Account", c["hs_object_id"]) for c in companies),
                    *(salesforce_id("Account", n, marker="L") for n in converted)],
        "Lead": [salesforce_id("Lead", n) for n in numbers],
        "Contact": [salesforce_id("Contact", n) for n in converted],
    }  # fmt: skip
    return {
        record.id: record.properties["OwnerId"]
        for obj, wanted in ids.items()
        for record in store.get_many(f"sf:{obj}", wanted).values()
        if record.properties.get("OwnerId")
    }


def _deal_fields(deal: dict[str, str]) -> dict[str, Any]:
    """What a deal's stage, amount and close say of its Opportunity."""
    fields = {
        "StageName": STAGES[deal["dealstage"]],
        "Amount": _number(deal.get("amount")),
        "CloseDate": (deal.get("closedate") or deal["createdate"])[:10],
        "LastModifiedDate": _datetime(deal["lastmodifieddate"]),
    }
    derive("Opportunity", fields)
    return fields


def _opportunity_update(deal: dict[str, str]) -> tuple[Record, dict[str, Any]]:
    """A later day's stage and close of a deal whose contact did not change."""
    fields = {"Id": salesforce_id("Opportunity", deal["hs_object_id"]),
              "CreatedDate": _datetime(deal["createdate"]), **_deal_fields(deal)}  # fmt: skip
    return stored("Opportunity", fields, fields["LastModifiedDate"])


def _write(
    store: CrmStore, writes: list[tuple[Record, dict[str, Any]]], merge: bool
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for start in range(0, len(writes), CHUNK):
        chunk = writes[start : start + CHUNK]
        if merge:
            for object_type in {record.object_type for record, _ in chunk}:
                mine = [record for record, _ in chunk if record.object_type == object_type]
                known = store.get_many(object_type, [r.id for r in mine])
                for record in mine:
                    if record.id in known:
                        record.properties = {**known[record.id].properties, **record.properties}
        store.put_many(chunk)
        for record, _ in chunk:
            obj = record.object_type.removeprefix("sf:")
            counts[obj] = counts.get(obj, 0) + 1
    return counts
