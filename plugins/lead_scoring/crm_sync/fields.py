"""Which mart column goes to which CRM property/field, and how values look on the wire.

One table per object (leads -> HubSpot contacts / Salesforce Lead; accounts -> HubSpot
companies / Salesforce Account). Dates and datetimes are converted from UTC instants,
never through the worker's local time zone: a ``date`` is the UTC calendar day at
midnight UTC, a ``datetime`` the exact instant.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

ValueKind = Literal["number", "bool", "date", "datetime", "enum", "text", "textarea"]

LIFECYCLE_ORDER = ("iql", "mql", "sql", "customer")
HUBSPOT_GROUP = "lead_scoring"
HUBSPOT_GROUP_LABEL = "Lead scoring"
EPOCH = pd.Timestamp(0, tz="UTC")
# The reason of the score field: compared in whole points, against a minimum move.
SCORE_MOVED = "score_moved"
# One reason of a lead's explanation: "+25 created a document (2d ago)" (points and the
# age of the latest event both change as events decay; see ``reason_labels``).
_REASON_RE = re.compile(r"([+-])\d+ (.*?)(?: \(-?\d+d ago\))?")


@dataclass(frozen=True)
class FieldSpec:
    column: str  # mart column
    hubspot: str  # HubSpot property name
    salesforce: str  # Salesforce field API name
    kind: ValueKind
    label: str
    options: tuple[str, ...] = ()
    hashed: bool = True  # part of the change hash (volatile run metadata is not)
    # The reason a change of this field alone sends the row (what a rep sees or a CRM
    # workflow acts on; docs/crm-sync.md "Material changes"); "": sent along, never alone.
    reason: str = ""


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
    FieldSpec(
        "lead_score", "ls_lead_score", "Lead_Score__c", "number", "Lead score", reason=SCORE_MOVED
    ),
    FieldSpec("fit_score", "ls_fit_score", "Fit_Score__c", "number", "Fit score"),
    FieldSpec("pain_score", "ls_pain_score", "Pain_Score__c", "number", "Pain score"),
    FieldSpec(
        "is_sdr_ready", "ls_is_sdr_ready", "SDR_Ready__c", "bool", "SDR-ready", reason="sdr_ready"
    ),
    FieldSpec("sdr_ready_at", "ls_sdr_ready_date", "SDR_Ready_Date__c", "date", "SDR-ready since"),
    FieldSpec(
        "lifecycle_stage",
        "ls_lifecycle_stage",
        "Lifecycle_Stage__c",
        "enum",
        "Lifecycle stage (scoring)",
        LIFECYCLE_ORDER,
        reason="stage",
    ),
    FieldSpec(
        "quadrant",
        "ls_quadrant",
        "Quadrant__c",
        "enum",
        "Fit/pain quadrant",
        ("yes", "maybe", "no"),
        reason="quadrant",
    ),
    FieldSpec(
        "nurture_track",
        "ls_nurture_track",
        "Nurture_Track__c",
        "text",
        "Nurture track",
        reason="nurture_track",
    ),
    FieldSpec("grade", "ls_grade", "Grade__c", "text", "Grade", reason="grade"),
    FieldSpec(
        "score_reasons",
        "ls_score_reasons",
        "Score_Reasons__c",
        "textarea",
        "Score explanation",
        reason="reasons",
    ),
    FieldSpec("model_version", "ls_model_version", "Model_Version__c", "text", "Model version"),
    FieldSpec("scored_at", "ls_scored_at", "Scored_At__c", "datetime", "Scored at", hashed=False),
)

ACCOUNT_FIELDS = (
    FieldSpec(
        "account_score",
        "ls_account_score",
        "Account_Score__c",
        "number",
        "Account score",
        reason=SCORE_MOVED,
    ),
    FieldSpec(
        "persona_coverage",
        "ls_persona_coverage",
        "Persona_Coverage__c",
        "number",
        "Persona coverage",
        reason="persona_coverage",
    ),
    FieldSpec(
        "is_sdr_ready",
        "ls_is_sdr_ready",
        "SDR_Ready__c",
        "bool",
        "SDR-ready account",
        reason="sdr_ready",
    ),
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
# Written by Id, a converted person's scores go to their Salesforce Contact, not the Lead.
SALESFORCE_CONTACT = "Contact"

# Fields Salesforce requires when a record is created; the marts do not carry names, so a new
# Lead/Account gets Salesforce's own web-to-lead placeholder (see docs/crm-sync.md).
NOT_PROVIDED = "[not provided]"


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def format_number(value: Any) -> str:
    number = round(float(value), 4)
    if number == int(number):
        return str(int(number))
    return f"{number:.4f}".rstrip("0").rstrip(".")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "t")
    return bool(value)


def _missing(values: pd.Series) -> np.ndarray:
    """Null, NaN, NaT or a blank string."""
    missing = values.isna().to_numpy(dtype=bool, copy=True)
    if values.dtype == object:
        blank = values.map(lambda v: isinstance(v, str) and not v.strip(), na_action="ignore")
        missing |= blank.fillna(False).to_numpy(dtype=bool)
    elif pd.api.types.is_string_dtype(values.dtype):
        missing |= values.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    return missing


def _utc(values: pd.Series) -> pd.Series:
    """UTC instants of dates, datetimes or ISO strings; naive values are UTC already."""
    return pd.Series(pd.to_datetime(values, utc=True), index=values.index)


def _rounded(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values).astype("float64").round(4) + 0.0  # + 0.0: no "-0"


def _number_text(numbers: pd.Series) -> np.ndarray:
    """``format_number`` for a column: integral values without ".0", else at most 4 places
    (the shortest repr of a value rounded to 4 places has no more than 4)."""
    whole = (numbers == np.floor(numbers)).to_numpy() & (numbers.abs() < 2**53).to_numpy()
    text = numbers.astype(str).to_numpy(dtype=object, copy=True)
    text[whole] = numbers[whole].astype("int64").astype(str).to_numpy(dtype=object, copy=True)
    return text


def _millis(moments: pd.Series) -> np.ndarray:
    return (
        ((moments - EPOCH) // pd.Timedelta(1, "ms"))
        .fillna(0)
        .astype("int64")
        .astype(str)
        .to_numpy(dtype=object, copy=True)
    )


def _bools(values: pd.Series) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    return values.map(_as_bool, na_action="ignore").fillna(False).to_numpy(dtype=bool)


def hubspot_values(spec: FieldSpec, values: pd.Series) -> list[str]:
    """Wire values of one mart column: HubSpot takes every property as a string; "" clears it.

    Dates go as epoch millis of midnight UTC of their UTC calendar day, datetimes as the
    exact instant's epoch millis.
    """
    missing = _missing(values)
    if spec.kind == "number":
        text = _number_text(_rounded(values.where(~missing)).fillna(0))
    elif spec.kind == "bool":
        text = np.where(_bools(values), "true", "false").astype(object)
    elif spec.kind == "date":
        text = _millis(_utc(values).dt.floor("D"))
    elif spec.kind == "datetime":
        text = _millis(_utc(values))
    else:
        text = values.astype(str).to_numpy(dtype=object, copy=True)
    text[missing] = ""
    return text.tolist()


def salesforce_values(spec: FieldSpec, values: pd.Series) -> list[Any]:
    """JSON-typed values of one mart column for sObject Collections (None nulls the field)."""
    missing = _missing(values)
    if spec.kind == "number":
        out = _rounded(values.where(~missing)).fillna(0).to_numpy(dtype=object, copy=True)
    elif spec.kind == "bool":
        out = _bools(values).astype(object)
    elif spec.kind == "date":
        out = _utc(values).dt.strftime("%Y-%m-%d").to_numpy(dtype=object, copy=True)
    elif spec.kind == "datetime":
        text = _utc(values).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").fillna("")
        out = (text.str[:-3] + "Z").to_numpy(dtype=object, copy=True)
    else:
        out = values.astype(str).to_numpy(dtype=object, copy=True)
    out[missing] = None
    return out.tolist()


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


def shown_score(value: Any) -> int | None:
    """A score's wire value as the CRM shows it: whole points, halves rounded up."""
    return None if is_missing(value) else math.floor(float(value) + 0.5)


def reason_labels(text: Any) -> str:
    """An explanation without its numbers and order: "+created a document; -careers page"
    for "+25 created a document (2d ago); -15 careers page (5d ago)". The ages grow and the
    points of decaying events shrink every night, and the order follows the points; what a
    rep reads as the reasons, each with its sign, stays."""
    if is_missing(text):
        return ""
    labels = []
    for item in str(text).split("; "):
        match = _REASON_RE.fullmatch(item)
        labels.append(match[1] + match[2] if match else item)
    return "; ".join(sorted(labels))


def later_stage(previous: str | None, new: str | None) -> str | None:
    """The further of two lifecycle stages (unknown stages never win over known ones)."""
    rank = {stage: i for i, stage in enumerate(LIFECYCLE_ORDER)}
    if previous not in rank:
        return new
    if new not in rank:
        return previous
    return previous if rank[previous] > rank[new] else new
