"""Which mart column goes to which CRM property/field, and how values look on the wire.

One table per object (leads -> HubSpot contacts / Salesforce Lead; accounts -> HubSpot
companies / Salesforce Account). Dates and datetimes are converted from UTC instants,
never through the worker's local time zone: a ``date`` is the UTC calendar day at
midnight UTC, a ``datetime`` the exact instant.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import pandas as pd

ValueKind = Literal["number", "bool", "date", "datetime", "enum", "text", "textarea"]

LIFECYCLE_ORDER = ("iql", "mql", "sql", "customer")
HUBSPOT_GROUP = "lead_scoring"
HUBSPOT_GROUP_LABEL = "Lead scoring"


@dataclass(frozen=True)
class FieldSpec:
    column: str  # mart column
    hubspot: str  # HubSpot property name
    salesforce: str  # Salesforce field API name
    kind: ValueKind
    label: str
    options: tuple[str, ...] = ()
    hashed: bool = True  # part of the change hash (volatile run metadata is not)


@dataclass(frozen=True)
class ObjectSpec:
    name: str  # "leads" / "accounts"
    table: str  # marts table
    key_column: str  # record id column in the mart
    hubspot_object: str
    salesforce_object: str
    salesforce_external_id: str
    hubspot_match_property: str  # default idProperty; contacts may override (SyncOptions)
    fields: tuple[FieldSpec, ...]


LEAD_FIELDS = (
    FieldSpec("lead_score", "ls_lead_score", "Lead_Score__c", "number", "Lead score"),
    FieldSpec("fit_score", "ls_fit_score", "Fit_Score__c", "number", "Fit score"),
    FieldSpec("pain_score", "ls_pain_score", "Pain_Score__c", "number", "Pain score"),
    FieldSpec("is_sdr_ready", "ls_is_sdr_ready", "SDR_Ready__c", "bool", "SDR-ready"),
    FieldSpec("sdr_ready_at", "ls_sdr_ready_date", "SDR_Ready_Date__c", "date", "SDR-ready since"),
    FieldSpec(
        "lifecycle_stage",
        "ls_lifecycle_stage",
        "Lifecycle_Stage__c",
        "enum",
        "Lifecycle stage (scoring)",
        LIFECYCLE_ORDER,
    ),
    FieldSpec(
        "quadrant",
        "ls_quadrant",
        "Quadrant__c",
        "enum",
        "Fit/pain quadrant",
        ("yes", "maybe", "no"),
    ),
    FieldSpec("nurture_track", "ls_nurture_track", "Nurture_Track__c", "text", "Nurture track"),
    FieldSpec("grade", "ls_grade", "Grade__c", "text", "Grade"),
    FieldSpec(
        "score_reasons", "ls_score_reasons", "Score_Reasons__c", "textarea", "Score explanation"
    ),
    FieldSpec("model_version", "ls_model_version", "Model_Version__c", "text", "Model version"),
    FieldSpec("scored_at", "ls_scored_at", "Scored_At__c", "datetime", "Scored at", hashed=False),
)

ACCOUNT_FIELDS = (
    FieldSpec("account_score", "ls_account_score", "Account_Score__c", "number", "Account score"),
    FieldSpec(
        "persona_coverage",
        "ls_persona_coverage",
        "Persona_Coverage__c",
        "number",
        "Persona coverage",
    ),
    FieldSpec("is_sdr_ready", "ls_is_sdr_ready", "SDR_Ready__c", "bool", "SDR-ready account"),
    FieldSpec("model_version", "ls_model_version", "Model_Version__c", "text", "Model version"),
)

LEADS = ObjectSpec(
    name="leads",
    table="lead_scores",
    key_column="lead_id",
    hubspot_object="contacts",
    salesforce_object="Lead",
    salesforce_external_id="LS_Lead_Id__c",
    hubspot_match_property="email",
    fields=LEAD_FIELDS,
)
ACCOUNTS = ObjectSpec(
    name="accounts",
    table="account_scores",
    key_column="account_id",
    hubspot_object="companies",
    salesforce_object="Account",
    salesforce_external_id="LS_Account_Id__c",
    hubspot_match_property="ls_account_id",
    fields=ACCOUNT_FIELDS,
)
OBJECTS = (LEADS, ACCOUNTS)

# Fields Salesforce requires when a record is created; the marts do not carry names, so a new
# Lead/Account gets Salesforce's own web-to-lead placeholder (see docs/crm-sync.md).
NOT_PROVIDED = "[not provided]"


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def to_utc(value: Any) -> datetime | None:
    """An aware UTC datetime; naive values are UTC already (the warehouse stores UTC)."""
    if is_missing(value):
        return None
    if isinstance(value, str):
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"not a date or timestamp: {value!r}")


def epoch_millis(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (no local-time arithmetic)."""
    utc = moment.astimezone(UTC)
    return calendar.timegm(utc.timetuple()) * 1000 + utc.microsecond // 1000


def utc_day(value: Any) -> date | None:
    moment = to_utc(value)
    return None if moment is None else moment.date()


def format_number(value: Any) -> str:
    number = round(float(value), 4)
    if number == int(number):
        return str(int(number))
    return f"{number:.4f}".rstrip("0").rstrip(".")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "t")
    return bool(value)


def hubspot_value(spec: FieldSpec, value: Any) -> str:
    """HubSpot takes every property as a string; "" clears it."""
    if is_missing(value):
        return ""
    if spec.kind == "number":
        return format_number(value)
    if spec.kind == "bool":
        return "true" if _as_bool(value) else "false"
    if spec.kind == "date":  # midnight UTC of the UTC calendar day, in epoch millis
        day = utc_day(value)
        return str(epoch_millis(datetime(day.year, day.month, day.day, tzinfo=UTC)))
    if spec.kind == "datetime":
        return str(epoch_millis(to_utc(value)))
    return str(value)


def salesforce_value(spec: FieldSpec, value: Any) -> Any:
    """JSON-typed values for sObject Collections (None sets the field to null)."""
    if is_missing(value):
        return None
    if spec.kind == "number":
        return float(format_number(value))
    if spec.kind == "bool":
        return _as_bool(value)
    if spec.kind == "date":
        return utc_day(value).isoformat()
    if spec.kind == "datetime":
        moment = to_utc(value)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return str(value)


def csv_value(value: Any) -> str:
    """Bulk API 2.0 CSV cell: an empty cell leaves a field unchanged, ``#N/A`` nulls it."""
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def payload_hash(properties: dict[str, Any]) -> str:
    text = json.dumps(properties, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def later_stage(previous: str | None, new: str | None) -> str | None:
    """The further of two lifecycle stages (unknown stages never win over known ones)."""
    rank = {stage: i for i, stage in enumerate(LIFECYCLE_ORDER)}
    if previous not in rank:
        return new
    if new not in rank:
        return previous
    return previous if rank[previous] > rank[new] else new
