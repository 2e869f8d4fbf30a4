"""Lead conversion as Salesforce does it (in its UI or Apex; the REST API has no endpoint):
the Lead becomes a Contact on an Account (a new one named after the Lead's Company, or
one given), optionally with an Opportunity on that Account whose primary contact role is
the new Contact; the Lead is marked converted and can no longer be updated.

``conversion`` builds the records (the funnel loader uses it in bulk), ``convert_lead``
converts one stored Lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lead_scoring.crm_sandbox.salesforce_schema import (
    CONVERTED_STATUS,
    SalesforceError,
    derive,
    new_id,
    sf_now,
)
from lead_scoring.crm_sandbox.store import CrmStore, Record

OPENING_STAGE = "Prospecting"
# Lead field -> the field it maps to on the new Contact and on the new Account
CONTACT_FIELDS = {"FirstName": "FirstName", "LastName": "LastName", "Email": "Email",
                  "Title": "Title", "Phone": "Phone", "LeadSource": "LeadSource",
                  "OwnerId": "OwnerId", "Country": "MailingCountry"}  # fmt: skip
ACCOUNT_FIELDS = {"Company": "Name", "Website": "Website", "Industry": "Industry",
                  "NumberOfEmployees": "NumberOfEmployees", "AnnualRevenue": "AnnualRevenue",
                  "Country": "BillingCountry", "OwnerId": "OwnerId"}  # fmt: skip
EXTERNAL_IDS = {"Lead": "LS_Lead_Id__c", "Contact": "LS_Lead_Id__c", "Account": "LS_Account_Id__c"}


@dataclass
class Conversion:
    lead: dict[str, Any]  # the Lead's fields after conversion
    contact: dict[str, Any]
    account: dict[str, Any] | None  # None: converted onto an existing Account
    opportunity: dict[str, Any] | None
    role: dict[str, Any] | None  # the Opportunity's primary OpportunityContactRole


def conversion(
    lead: dict[str, Any],
    ids: dict[str, str],
    stamp: str,
    *,
    account_id: str | None = None,
    opportunity: bool = True,
    opportunity_name: str | None = None,
) -> Conversion:
    """The records converting ``lead`` makes; ``ids``: the new records' ids by object
    (Contact, Account, Opportunity, OpportunityContactRole); ``stamp``: when."""
    dates = {"CreatedDate": stamp, "LastModifiedDate": stamp}
    account = None
    if account_id is None:
        account_id = ids["Account"]
        account = {"Id": account_id, **dates,
                   **{to: lead.get(name) for name, to in ACCOUNT_FIELDS.items()}}  # fmt: skip
    contact = {
        "Id": ids["Contact"], **dates, "AccountId": account_id,
        **{to: lead.get(name) for name, to in CONTACT_FIELDS.items()},
        **{name: value for name, value in lead.items() if name.endswith("__c")},
    }  # fmt: skip
    deal = role = None
    if opportunity:
        deal = {
            "Id": ids["Opportunity"], **dates, "AccountId": account_id,
            "Name": opportunity_name or f"{lead.get('Company') or lead.get('LastName')}-",
            "StageName": OPENING_STAGE,
            "CloseDate": stamp[:10], "LeadSource": lead.get("LeadSource"),
            "OwnerId": lead.get("OwnerId"),
        }  # fmt: skip
        derive("Opportunity", deal)
        role = {"Id": ids["OpportunityContactRole"], **dates, "OpportunityId": deal["Id"],
                "ContactId": contact["Id"], "IsPrimary": True, "Role": None}  # fmt: skip
    converted = {
        **lead, "IsConverted": True, "Status": CONVERTED_STATUS, "ConvertedDate": stamp[:10],
        "ConvertedContactId": contact["Id"], "ConvertedAccountId": account_id,
        "ConvertedOpportunityId": deal["Id"] if deal else None, "LastModifiedDate": stamp,
    }  # fmt: skip
    return Conversion(converted, contact, account, deal, role)


def stored(obj: str, fields: dict[str, Any], updated_at: str) -> tuple[Record, dict[str, Any]]:
    """A record as ``CrmStore.put_many`` takes it: with its external id as a unique key."""
    external = EXTERNAL_IDS.get(obj)
    keys = {external: fields.get(external)} if external else {}
    return Record(f"sf:{obj}", fields["Id"], fields, fields["CreatedDate"], updated_at), keys


def conversion_records(result: Conversion, updated_at: str) -> list[tuple[Record, dict[str, Any]]]:
    """The records of a conversion as ``CrmStore.put_many`` takes them, SystemModstamp
    ``updated_at``."""
    parts = [
        ("Lead", result.lead),
        ("Contact", result.contact),
        ("Account", result.account),
        ("Opportunity", result.opportunity),
        ("OpportunityContactRole", result.role),
    ]
    return [stored(obj, fields, updated_at) for obj, fields in parts if fields]


def convert_lead(
    store: CrmStore,
    lead_id: str,
    *,
    account_id: str | None = None,
    create_opportunity: bool = True,
    opportunity_name: str | None = None,
) -> dict[str, str | None]:
    """Convert the stored Lead ``lead_id``; returns the ids: leadId, contactId, accountId,
    opportunityId (None without one). SalesforceError if the Lead or Account is unknown or
    the Lead was converted already."""
    lead = store.get("sf:Lead", lead_id)
    if lead is None:
        raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", f"no Lead with Id {lead_id}")
    if lead.properties.get("IsConverted"):
        raise SalesforceError(
            400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead"
        )
    if account_id is not None and store.get("sf:Account", account_id) is None:
        raise SalesforceError(
            400, "INVALID_CROSS_REFERENCE_KEY", f"no Account with Id {account_id}"
        )
    ids = {obj: new_id(obj) for obj in ("Contact", "Account", "Opportunity",
                                        "OpportunityContactRole")}  # fmt: skip
    stamp = sf_now()
    result = conversion(
        lead.properties,
        ids,
        stamp,
        account_id=account_id,
        opportunity=create_opportunity,
        opportunity_name=opportunity_name,
    )
    store.put_many(conversion_records(result, stamp))
    return {
        "leadId": lead_id,
        "contactId": result.contact["Id"],
        "accountId": result.lead["ConvertedAccountId"],
        "opportunityId": result.lead["ConvertedOpportunityId"],
    }
