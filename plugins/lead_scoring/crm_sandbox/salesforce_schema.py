"""Salesforce's side of the model: the objects, their fields, and value validation."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lead_scoring.crm_sandbox.emails import is_valid_email
from lead_scoring.crm_sandbox.store import iso_date

ID_PREFIX = {"Lead": "00Q", "Contact": "003", "Account": "001"}
REQUIRED = {"Lead": ("LastName", "Company"), "Contact": ("LastName",), "Account": ("Name",)}
LEAD_STATUSES = [
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
]


@dataclass
class SfField:
    name: str
    type: str  # id, string, email, phone, url, picklist, textarea, double, int, currency,
    # boolean, date, datetime, reference
    label: str = ""
    length: int = 255
    external_id: bool = False
    unique: bool = False
    picklist: list[str] = field(default_factory=list)
    restricted: bool = False
    default: str | None = None
    custom: bool = False
    updateable: bool = True

    @property
    def display_label(self) -> str:
        return self.label or self.name.removesuffix("__c").replace("_", " ")

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
            "nillable": self.name not in ("Id", "CreatedDate", "LastModifiedDate"),
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
            "referenceTo": ["Account"] if self.name == "AccountId" else [],
        }


_TEXT = {"string", "email", "phone", "url", "picklist", "textarea", "id", "reference"}


def _standard(obj: str) -> list[SfField]:
    system = [
        SfField("Id", "id", length=18, updateable=False),
        SfField("CreatedDate", "datetime", updateable=False),
        SfField("LastModifiedDate", "datetime", updateable=False),
    ]
    if obj == "Lead":
        fields = [
            SfField("FirstName", "string", length=40), SfField("LastName", "string", length=80),
            SfField("Email", "email", length=80), SfField("Company", "string"),
            SfField("Title", "string", length=128), SfField("Phone", "phone", length=40),
            SfField("Country", "string", length=80), SfField("LeadSource", "picklist"),
            SfField("Status", "picklist", length=40, picklist=LEAD_STATUSES,
                    default=LEAD_STATUSES[0]),
        ]  # fmt: skip
    elif obj == "Contact":
        fields = [
            SfField("FirstName", "string", length=40), SfField("LastName", "string", length=80),
            SfField("Email", "email", length=80), SfField("Title", "string", length=128),
            SfField("Phone", "phone", length=40), SfField("AccountId", "reference", length=18),
            SfField("MailingCountry", "string", length=80), SfField("LeadSource", "picklist"),
        ]  # fmt: skip
    else:
        fields = [
            SfField("Name", "string"), SfField("Website", "url"), SfField("Industry", "picklist"),
            SfField("NumberOfEmployees", "int"), SfField("AnnualRevenue", "currency"),
            SfField("BillingCountry", "string", length=80),
        ]  # fmt: skip
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


class UnknownFieldsError(ValueError):
    """``salesforce_fields`` names a custom field the sandbox does not know."""


class SalesforceSchema:
    """Objects and fields; ``custom_fields`` (names, ``Obj.Field`` or ``Field``) limits customs."""

    def __init__(self, custom_fields: Iterable[str] | None = None):
        wanted = None if custom_fields is None else set(custom_fields)
        self.objects: dict[str, dict[str, SfField]] = {}
        known = set()
        for obj in ID_PREFIX:
            fields = _standard(obj)
            for f in _custom(obj):
                known.update({f.name, f"{obj}.{f.name}"})
                if wanted is None or f.name in wanted or f"{obj}.{f.name}" in wanted:
                    fields.append(f)
            self.objects[obj] = {f.name: f for f in fields}
        if wanted is not None and wanted - known:
            raise UnknownFieldsError(
                f"unknown Salesforce custom field {sorted(wanted - known)[0]!r};"
                f" known: {', '.join(sorted(n for n in known if '.' not in n))}"
            )

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


def new_id(obj: str) -> str:
    return ID_PREFIX[obj] + "5g" + secrets.token_hex(5).upper() + "AAA"


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
    if f.type in ("double", "currency", "int"):
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
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
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
