"""Salesforce's side of the model: the objects, their fields, and value validation."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lead_scoring.crm_sandbox.emails import is_valid_email
from lead_scoring.crm_sandbox.store import CrmStore, iso_date

ID_PREFIX = {
    "Lead": "00Q", "Contact": "003", "Account": "001", "Opportunity": "006",
    "OpportunityContactRole": "00K", "Campaign": "701", "CampaignMember": "00v", "Task": "00T",
    "Event": "00U", "User": "005",
}  # fmt: skip
OBJECT_OF_PREFIX = {prefix: obj for obj, prefix in ID_PREFIX.items()}
REQUIRED = {
    "Lead": ("LastName", "Company"), "Contact": ("LastName",), "Account": ("Name",),
    "Opportunity": ("Name", "StageName", "CloseDate"),
    "OpportunityContactRole": ("OpportunityId", "ContactId"), "Campaign": ("Name",),
    "CampaignMember": ("CampaignId",), "Task": (), "Event": ("StartDateTime", "EndDateTime"),
    "User": ("LastName", "Email", "Username"),
}  # fmt: skip
LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
]
CONVERTED_STATUS = LEAD_STATUSES[2]
# StageName -> (IsClosed, IsWon), as in a new org's sales process
OPPORTUNITY_STAGES = {
    "Prospecting": (False, False), "Qualification": (False, False),
    "Needs Analysis": (False, False), "Value Proposition": (False, False),
    "Id. Decision Makers": (False, False), "Perception Analysis": (False, False),
    "Proposal/Price Quote": (False, False), "Negotiation/Review": (False, False),
    "Closed Won": (True, True), "Closed Lost": (True, False),
}  # fmt: skip
# Fields Salesforce sets itself on every object
SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")
# Custom field types a user can declare
CUSTOM_TYPES = ("string", "email", "phone", "url", "picklist", "textarea", "double", "int",
                "currency", "percent", "boolean", "date", "datetime")  # fmt: skip


@dataclass
class SfField:
    name: str
    type: str  # id, string, email, phone, url, picklist, textarea, double, int, currency,
    # percent, boolean, date, datetime, reference
    label: str = ""
    length: int = 255
    external_id: bool = False
    unique: bool = False
    picklist: list[str] = field(default_factory=list)
    restricted: bool = False
    default: str | None = None
    custom: bool = False
    updateable: bool = True
    reference_to: str | None = None  # the parent object of a reference field
    also_to: tuple[str, ...] = ()  # a polymorphic reference's other parents (WhoId: Contact)

    @property
    def display_label(self) -> str:
        return self.label or self.name.removesuffix("__c").replace("_", " ")

    @property
    def relationship_name(self) -> str | None:
        """``AccountId`` -> ``Account``: the name a query uses for the parent's fields."""
        return self.name.removesuffix("Id") if self.reference_to else None

    @property
    def parents(self) -> tuple[str, ...]:
        """The objects a reference field may point to (one, or more if polymorphic)."""
        return (self.reference_to, *self.also_to) if self.reference_to else ()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.display_label,
            "type": self.type,
            "length": self.length if self.type in _TEXT else 0,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.external_id or self.name == "Id",
            "custom": self.custom,
            "nillable": self.type != "boolean" and self.name not in SYSTEM_FIELDS,
            "createable": self.updateable,
            "updateable": self.updateable,
            "restrictedPicklist": self.restricted,
            "defaultValue": self.default,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": v == self.default,
                    "label": v,
                    "value": v,
                    "validFor": None,
                }
                for v in self.picklist
            ],  # fmt: skip
            "referenceTo": sorted(self.parents),
            "relationshipName": self.relationship_name,
        }


_TEXT = {"string", "email", "phone", "url", "picklist", "textarea", "id", "reference"}


def _ref(name: str, parent: str, *others: str, updateable: bool = True) -> SfField:
    return SfField(name, "reference", length=18, reference_to=parent, also_to=others,
                   updateable=updateable)  # fmt: skip


def _flag(name: str, updateable: bool = True, default: str = "false") -> SfField:
    return SfField(name, "boolean", default=default, updateable=updateable)


def _standard(obj: str) -> list[SfField]:
    system = [
        SfField("Id", "id", length=18, updateable=False), _flag("IsDeleted", updateable=False),
        SfField("CreatedDate", "datetime", updateable=False),
        SfField("LastModifiedDate", "datetime", updateable=False),
        SfField("SystemModstamp", "datetime", updateable=False),
    ]  # fmt: skip
    person = [
        SfField("FirstName", "string", length=40), SfField("LastName", "string", length=80),
        SfField("Email", "email", length=80), SfField("Title", "string", length=128),
        SfField("Phone", "phone", length=40), SfField("LeadSource", "picklist"),
        _ref("OwnerId", "User"),
    ]  # fmt: skip
    firmographics = [
        SfField("Website", "url"), SfField("Industry", "picklist"),
        SfField("NumberOfEmployees", "int"), SfField("AnnualRevenue", "currency"),
    ]  # fmt: skip
    fields = {
        "Lead": [
            *person, SfField("Company", "string"), *firmographics,
            SfField("Country", "string", length=80),
            SfField("Status", "picklist", length=40, picklist=LEAD_STATUSES,
                    default=LEAD_STATUSES[0]),
            _flag("IsConverted", updateable=False),
            SfField("ConvertedDate", "date", updateable=False),
            _ref("ConvertedContactId", "Contact", updateable=False),
            _ref("ConvertedAccountId", "Account", updateable=False),
            _ref("ConvertedOpportunityId", "Opportunity", updateable=False),
        ],
        "Contact": [*person, _ref("AccountId", "Account"),
                    SfField("MailingCountry", "string", length=80)],
        "Account": [SfField("Name", "string"), *firmographics,
                    SfField("BillingCountry", "string", length=80), _ref("OwnerId", "User")],
        "Opportunity": [
            SfField("Name", "string", length=120), _ref("AccountId", "Account"),
            SfField("StageName", "picklist", length=40, picklist=list(OPPORTUNITY_STAGES)),
            _flag("IsWon", updateable=False), _flag("IsClosed", updateable=False),
            SfField("CloseDate", "date"), SfField("Amount", "currency"),
            SfField("LeadSource", "picklist"), _ref("OwnerId", "User"),
        ],
        "OpportunityContactRole": [
            _ref("OpportunityId", "Opportunity"), _ref("ContactId", "Contact"),
            _flag("IsPrimary"), SfField("Role", "picklist", length=40),
        ],
        "Campaign": [SfField("Name", "string", length=80), SfField("Type", "picklist", length=40),
                     _ref("OwnerId", "User")],
        "CampaignMember": [
            _ref("CampaignId", "Campaign"), _ref("LeadId", "Lead"), _ref("ContactId", "Contact"),
            SfField("Status", "picklist", length=40), _flag("HasResponded"),
            SfField("FirstRespondedDate", "date"),
        ],
        "Task": [
            _ref("WhoId", "Lead", "Contact"), _ref("WhatId", "Account"),
            SfField("Subject", "string"),
            SfField("Status", "picklist", length=40), _flag("IsClosed", updateable=False),
            SfField("ActivityDate", "date"), SfField("CompletedDateTime", "datetime"),
            SfField("TaskSubtype", "picklist", length=40), _ref("OwnerId", "User"),
        ],
        "Event": [
            _ref("WhoId", "Lead", "Contact"), _ref("WhatId", "Account"),
            SfField("Subject", "string"),
            SfField("StartDateTime", "datetime"), SfField("EndDateTime", "datetime"),
            SfField("ActivityDateTime", "datetime"), _ref("OwnerId", "User"),
        ],
        "User": [
            SfField("Username", "string", length=80), SfField("FirstName", "string", length=40),
            SfField("LastName", "string", length=80), SfField("Email", "email", length=128),
            _flag("IsActive", default="true"),  # a new User is active
        ],
    }[obj]  # fmt: skip
    return system + fields


def _custom(obj: str) -> list[SfField]:
    def c(name: str, type_: str, **kw: Any) -> SfField:
        return SfField(name, type_, custom=True, **kw)

    if obj == "Account":
        return [
            c("LS_Account_Id__c", "string", length=64, external_id=True, unique=True),
            c("Account_Score__c", "double"), c("Persona_Coverage__c", "double"),
            c("SDR_Ready__c", "boolean", default="false"),
            c("Model_Version__c", "string", length=40), c("Scored_At__c", "datetime"),
        ]  # fmt: skip
    if obj not in ("Lead", "Contact"):
        return []
    return [
        c("LS_Lead_Id__c", "string", length=64, external_id=True, unique=True),
        c("Lead_Score__c", "double"), c("Fit_Score__c", "double"), c("Pain_Score__c", "double"),
        c("SDR_Ready__c", "boolean", default="false"), c("SDR_Ready_Date__c", "date"),
        c("Lifecycle_Stage__c", "picklist", length=40, restricted=True,
          picklist=["iql", "mql", "sql", "customer"]),
        c("Quadrant__c", "picklist", length=40, restricted=True, picklist=["yes", "maybe", "no"]),
        c("Nurture_Track__c", "string", length=80), c("Grade__c", "string", length=2),
        c("Score_Reasons__c", "textarea", length=1024),
        c("Model_Version__c", "string", length=40), c("Scored_At__c", "datetime"),
    ]  # fmt: skip


def declare_custom_field(
    store: CrmStore,
    obj: str,
    name: str,
    type_: str,
    *,
    label: str = "",
    length: int = 255,
    external_id: bool = False,
    picklist: Iterable[str] = (),
) -> dict[str, Any]:
    """Add a user-defined custom field (``Name__c``) to ``obj``; kept in the store, so the
    running sandbox's describe and queries see it. Returns the stored definition."""
    if obj not in ID_PREFIX:
        raise ValueError(f"unknown Salesforce object {obj!r}; known: {', '.join(ID_PREFIX)}")
    if not re.fullmatch(r"[A-Za-z]\w*__c", name) or "__" in name[:-3]:
        raise ValueError(f"custom field name {name!r}: expected a name like My_Field__c")
    if type_ not in CUSTOM_TYPES:
        raise ValueError(f"custom field type {type_!r}; known: {', '.join(CUSTOM_TYPES)}")
    definition = {"name": name, "type": type_, "label": label, "length": length,
                  "external_id": external_id, "picklist": list(picklist)}  # fmt: skip
    store.save_property_def(f"sf:{obj}", definition)
    return definition


class UnknownFieldsError(ValueError):
    """``salesforce_fields`` names a custom field the sandbox does not know."""


class SalesforceSchema:
    """Objects and fields; ``custom_fields`` (names, ``Obj.Field`` or ``Field``) limits the
    product's custom fields. Fields declared with ``declare_custom_field`` come from the
    store on ``refresh``."""

    def __init__(self, custom_fields: Iterable[str] | None = None):
        wanted = None if custom_fields is None else set(custom_fields)
        self.base: dict[str, dict[str, SfField]] = {}
        known = set()
        for obj in ID_PREFIX:
            fields = _standard(obj)
            for f in _custom(obj):
                known.update({f.name, f"{obj}.{f.name}"})
                if wanted is None or f.name in wanted or f"{obj}.{f.name}" in wanted:
                    fields.append(f)
            self.base[obj] = {f.name: f for f in fields}
        if wanted is not None and wanted - known:
            raise UnknownFieldsError(
                f"unknown Salesforce custom field {sorted(wanted - known)[0]!r};"
                f" known: {', '.join(sorted(n for n in known if '.' not in n))}"
            )
        self.objects = self.base
        self._declared: dict[str, dict[str, dict[str, Any]]] = {}

    def refresh(self, store: CrmStore) -> None:
        """Pick up the custom fields declared in the store since the last call."""
        declared = store.property_defs_by_type("sf:")
        if declared == self._declared:
            return
        self._declared = declared
        self.objects = {
            obj: {**fields, **{
                name: SfField(name, d["type"], label=d["label"], length=d["length"],
                              external_id=d["external_id"], unique=d["external_id"],
                              picklist=d["picklist"], custom=True,
                              default="false" if d["type"] == "boolean" else None)
                for name, d in declared.get(f"sf:{obj}", {}).items() if name not in fields
            }}
            for obj, fields in self.base.items()
        }  # fmt: skip

    def fields(self, obj: str) -> dict[str, SfField] | None:
        return self.objects.get(obj)

    def field(self, obj: str, name: str) -> SfField | None:
        """Case-insensitive, as in Salesforce."""
        fields = self.objects.get(obj) or {}
        return fields.get(name) or next(
            (f for n, f in fields.items() if n.lower() == name.lower()), None
        )

    def describe(self, obj: str) -> dict[str, Any]:
        return {
            "name": obj,
            "label": obj,
            "custom": False,
            "createable": True,
            "updateable": True,
            "queryable": True,
            "keyPrefix": ID_PREFIX[obj],
            "fields": [f.describe() for f in self.objects[obj].values()],
            "urls": {"describe": f"/services/data/v59.0/sobjects/{obj}/describe"},
        }


def derive(obj: str, properties: dict[str, Any]) -> None:
    """Fields Salesforce computes: an Opportunity's IsClosed/IsWon from its stage, a
    Task's IsClosed from its status."""
    if obj == "Opportunity":
        closed, won = OPPORTUNITY_STAGES.get(properties.get("StageName") or "", (False, False))
        properties.update(IsClosed=closed, IsWon=won)
    elif obj == "Task":
        properties["IsClosed"] = properties.get("Status") == "Completed"


def salesforce_datetime(moment: datetime) -> str:
    """Salesforce's wire format: ``2026-12-06T19:00:00.000+0000`` (UTC)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def sf_now() -> str:
    return salesforce_datetime(datetime.now(UTC))


def new_id(obj: str) -> str:
    return ID_PREFIX[obj] + "5g" + secrets.token_hex(5).upper() + "AAA"


class SalesforceError(Exception):
    """A request-level error: ``[{"message": ..., "errorCode": ...}]`` with ``status``."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code

    def response(self) -> Any:
        from fastapi.responses import JSONResponse  # the loader imports this module too

        return JSONResponse([{"message": str(self), "errorCode": self.code}], self.status)


class FieldError(Exception):
    def __init__(self, code: str, message: str, fields: list[str]):
        super().__init__(message)
        self.code, self.fields = code, fields

    def as_dict(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": str(self), "fields": self.fields}

    def as_csv(self) -> str:
        return f"{self.code}:{self}:{','.join(self.fields)} --"


def coerce(f: SfField, raw: Any) -> Any:
    """A JSON or CSV value as Salesforce stores it; raises FieldError as Salesforce would."""
    if raw is None or raw == "":
        return None

    def bad() -> FieldError:
        return FieldError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{f.display_label}: value not of required type: {raw}",
            [f.name],
        )

    if f.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "1"):
            return True
        if str(raw).lower() in ("false", "0"):
            return False
        raise bad()
    if f.type in ("double", "currency", "percent", "int"):
        try:
            number = float(raw)
        except (TypeError, ValueError) as exc:
            raise bad() from exc
        return int(number) if f.type == "int" else number
    if f.type == "date":
        try:
            return iso_date(str(raw)[:10])
        except ValueError as exc:
            raise bad() from exc
    if f.type == "datetime":
        try:
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError as exc:
            raise bad() from exc
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return salesforce_datetime(moment)
    text = str(raw)
    if f.type == "email":
        if not is_valid_email(text.strip()):
            raise FieldError(
                "INVALID_EMAIL_ADDRESS",
                f"{f.display_label}: invalid email address: {text}",
                [f.name],
            )
    if f.type == "picklist" and f.restricted and text not in f.picklist:
        raise FieldError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.display_label}: bad value for restricted picklist field: {text}",
            [f.name],
        )
    if len(text) > f.length:
        raise FieldError(
            "STRING_TOO_LONG",
            f"{f.display_label}: data value too large: {text[:20]}... (max length={f.length})",
            [f.name],
        )
    return text
