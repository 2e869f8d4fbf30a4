"""HubSpot's property model: the default properties and groups, and value validation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lead_scoring.crm_sandbox.emails import is_valid_email
from lead_scoring.crm_sandbox.reps import REPS, rep_email
from lead_scoring.crm_sandbox.store import canonical_datetime, iso_date, now_iso

# HubSpot's rule for a property's internal name; names reach the search SQL only if they pass.
PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]*")
PROPERTY_NAME_RULE = "lowercase letters, digits and underscores, starting with a letter"


def is_valid_property_name(name: object) -> bool:
    return isinstance(name, str) and PROPERTY_NAME.fullmatch(name) is not None


OBJECT_TYPES = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "calls": "0-48",
                "emails": "0-49", "meetings": "0-47", "tasks": "0-27"}  # fmt: skip
OBJECT_TYPE_IDS = {v: k for k, v in OBJECT_TYPES.items()}
# Sales activities: one id space (HubSpot's object ids are unique across the portal), their
# creation and change stamps named hs_createdate / hs_lastmodifieddate, hs_timestamp required
ENGAGEMENTS = ("calls", "emails", "meetings", "tasks")
DEFAULT_GROUPS = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
    **{name: f"{name[:-1]}information" for name in ENGAGEMENTS},
}
# What a list/search/read returns when the caller names no properties.
DEFAULT_RETURNED = {
    "contacts": ["email", "firstname", "lastname"],
    "companies": ["domain", "name"],
    "deals": ["amount", "closedate", "dealname", "dealstage", "pipeline"],
    **{name: [] for name in ENGAGEMENTS},
}
READ_ONLY = {"hs_object_id", "createdate", "lastmodifieddate", "hs_createdate",
             "hs_lastmodifieddate"}  # fmt: skip
REQUIRED_ON_CREATE = {name: ("hs_timestamp",) for name in ENGAGEMENTS}
# Association types HubSpot defines (category HUBSPOT_DEFINED): (from, to) -> (type id, label)
ASSOCIATION_TYPES = {
    ("calls", "contacts"): (194, "call_to_contact"),
    ("contacts", "calls"): (193, "contact_to_call"),
    ("emails", "contacts"): (198, "email_to_contact"),
    ("contacts", "emails"): (197, "contact_to_email"),
    ("meetings", "contacts"): (200, "meeting_event_to_contact"),
    ("contacts", "meetings"): (199, "contact_to_meeting_event"),
    ("tasks", "contacts"): (204, "task_to_contact"),
    ("contacts", "tasks"): (203, "contact_to_task"),
}
ASSOCIATION_LABELS = {type_id: label for type_id, label in ASSOCIATION_TYPES.values()}
OWNER_CREATED_AT = "2026-01-05T09:00:00.000Z"


def stamp_names(object_type: str) -> tuple[str, str]:
    """The creation and change stamp properties of ``object_type``."""
    if object_type in ENGAGEMENTS:
        return "hs_createdate", "hs_lastmodifieddate"
    return "createdate", "lastmodifieddate"


def always_returned(object_type: str) -> list[str]:
    created, modified = stamp_names(object_type)
    return [created, "hs_object_id", modified]


def id_space(object_type: str) -> tuple[str, ...]:
    """The object types whose records share ``object_type``'s ids."""
    return ENGAGEMENTS if object_type in ENGAGEMENTS else (object_type,)


def owners() -> list[dict[str, Any]]:
    """The portal's owners (GET /crm/v3/owners): the sandbox's reps, ids 1001..1009."""
    return [
        {"id": str(1000 + number), "email": rep_email(number), "type": "PERSON",
         "firstName": first, "lastName": last, "userId": 9_000_000 + number,
         "userIdIncludingInactive": 9_000_000 + number, "createdAt": OWNER_CREATED_AT,
         "updatedAt": OWNER_CREATED_AT, "archived": False, "teams": []}
        for number, (first, last) in enumerate(REPS, start=1)
    ]  # fmt: skip


LIFECYCLE_STAGES = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]
DEAL_STAGES = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
]
TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
FIELD_TYPES = {
    "string": {"text", "textarea", "file", "phonenumber", "html"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}

_S, _N, _DT = ("string", "text"), ("number", "number"), ("datetime", "date")
_E, _OWNER = ("enumeration", "select"), {"hubspot_owner_id": ("enumeration", "select")}
_ENGAGEMENT = {"hs_timestamp": _DT, **_OWNER}
_DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "contacts": {
        "email": _S, "firstname": _S, "lastname": _S, "jobtitle": _S, "phone": _S,
        "country": _S, "company": _S, "associatedcompanyid": _N, "hs_analytics_source": _S,
        "lifecyclestage": ("enumeration", "radio"), "bant_budget": _S, "bant_authority": _S,
        "bant_need": _S, "bant_timeline": _S, **_OWNER,
    },
    "companies": {
        "name": _S, "domain": _S, "industry": _S, "country": _S, "numberofemployees": _N,
        "annualrevenue": _N, "ls_target_account": ("bool", "booleancheckbox"), **_OWNER,
    },
    "deals": {
        "dealname": _S, "ls_contact_id": _S, "associatedcompanyid": _N, "amount": _N,
        "dealstage": ("enumeration", "radio"), "pipeline": ("enumeration", "select"),
        "closedate": _DT,
    },
    "calls": {**_ENGAGEMENT, "hs_call_title": _S, "hs_call_body": _S, "hs_call_status": _E,
              "hs_call_direction": _E, "hs_call_duration": _N},
    "emails": {**_ENGAGEMENT, "hs_email_subject": _S, "hs_email_text": _S,
               "hs_email_direction": _E, "hs_email_status": _E},
    "meetings": {**_ENGAGEMENT, "hs_meeting_title": _S, "hs_meeting_body": _S,
                 "hs_meeting_start_time": _DT, "hs_meeting_end_time": _DT,
                 "hs_meeting_outcome": _E},
    "tasks": {**_ENGAGEMENT, "hs_task_subject": _S, "hs_task_body": _S, "hs_task_status": _E,
              "hs_task_priority": _E, "hs_task_type": _E, "hs_task_completion_date": _DT},
}  # fmt: skip
_OPTIONS = {
    "lifecyclestage": LIFECYCLE_STAGES,
    "dealstage": DEAL_STAGES,
    "pipeline": ["default"],
    "hs_call_status": ["BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING",
                       "FAILED", "IN_PROGRESS", "NO_ANSWER", "QUEUED", "RINGING"],
    "hs_call_direction": ["INBOUND", "OUTBOUND"],
    "hs_email_direction": ["EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"],
    "hs_email_status": ["BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"],
    "hs_meeting_outcome": ["SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"],
    "hs_task_status": ["NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"],
    "hs_task_priority": ["LOW", "MEDIUM", "HIGH"],
    "hs_task_type": ["CALL", "EMAIL", "TODO"],
}  # fmt: skip
# Properties the simulator writes that HubSpot does not define itself.
CUSTOM_DEFAULTS = {"bant_budget", "bant_authority", "bant_need", "bant_timeline",
                   "ls_target_account", "ls_contact_id"}  # fmt: skip


def group_definition(name: str, label: str, display_order: int = -1) -> dict[str, Any]:
    return {"name": name, "label": label, "displayOrder": display_order, "archived": False}


def property_definition(
    object_type: str, name: str, type_: str, field_type: str, **extra: Any
) -> dict[str, Any]:
    stamp = now_iso()
    definition = {
        "name": name,
        "label": extra.pop("label", name.replace("_", " ").title()),
        "type": type_,
        "fieldType": field_type,
        "groupName": extra.pop("groupName", DEFAULT_GROUPS[object_type]),
        "description": extra.pop("description", ""),
        "options": extra.pop("options", []),
        "displayOrder": extra.pop("displayOrder", -1),
        "hasUniqueValue": extra.pop("hasUniqueValue", False),
        "hidden": extra.pop("hidden", False),
        "formField": extra.pop("formField", False),
        "calculated": False,
        "externalOptions": False,
        "hubspotDefined": extra.pop("hubspotDefined", False),
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": False,
        "modificationMetadata": {
            "archivable": True,
            "readOnlyDefinition": False,
            "readOnlyValue": name in READ_ONLY,
        },
    }
    definition.update(extra)
    return definition


def default_properties(object_type: str) -> dict[str, dict[str, Any]]:
    """HubSpot's built-in definitions of ``object_type`` (made once; they never change)."""
    return dict(_default_properties(object_type))


@cache
def _default_properties(object_type: str) -> dict[str, dict[str, Any]]:
    props = {}
    created, modified = stamp_names(object_type)
    specs = {**_DEFAULTS[object_type], created: _DT, modified: _DT, "hs_object_id": _N}
    for name, (type_, field_type) in specs.items():
        # HubSpot's owner property lists the owners (and refers to them: externalOptions)
        extra = {"label": "Owner", "externalOptions": True, "referencedObjectType": "OWNER"}
        props[name] = property_definition(
            object_type,
            name,
            type_,
            field_type,
            options=_options(name),
            hubspotDefined=name not in CUSTOM_DEFAULTS,
            hasUniqueValue=name == "email",
            **(extra if name == "hubspot_owner_id" else {}),
        )
    return props


def _options(name: str) -> list[dict[str, Any]]:
    """The options of a built-in enumeration property: the owners for hubspot_owner_id."""
    if name == "hubspot_owner_id":
        choices = [(o["id"], f"{o['firstName']} {o['lastName']}") for o in owners()]
    else:
        choices = [(o, o.replace("_", " ").title()) for o in _OPTIONS.get(name, [])]
    return [{"label": label, "value": value, "displayOrder": i, "hidden": False,
             "description": ""} for i, (value, label) in enumerate(choices)]  # fmt: skip


class InvalidValue(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def normalise_value(definition: dict[str, Any], raw: Any) -> str:
    """The value as HubSpot stores it; raises InvalidValue as HubSpot would refuse it."""
    name, type_ = definition["name"], definition["type"]
    if raw is None or raw == "":
        return ""
    value = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if name == "email":
        if not is_valid_email(value.strip()):
            raise InvalidValue("INVALID_EMAIL", f"Email address {value} is invalid")
        return value.strip().lower()
    if type_ == "number":
        try:
            number = float(value)
        except ValueError as exc:
            raise InvalidValue("INVALID_DOUBLE", f"{value} is not a valid number") from exc
        return str(int(number)) if number.is_integer() and "." not in value else value
    if type_ == "bool":
        if value.lower() not in ("true", "false"):
            raise InvalidValue("INVALID_BOOLEAN", f"{value} is not a valid boolean")
        return value.lower()
    if type_ == "datetime":
        try:
            return canonical_datetime(value)
        except ValueError as exc:
            raise InvalidValue("INVALID_DATETIME", f"{value} is not a valid datetime") from exc
    if type_ == "date":
        return _midnight_date(value)
    if type_ == "enumeration":
        allowed = {o["value"] for o in definition.get("options", [])}
        chosen = value.split(";") if definition["fieldType"] == "checkbox" else [value]
        bad = [c for c in chosen if c not in allowed]
        if bad:
            raise InvalidValue(
                "INVALID_OPTION",
                f"{bad[0]} was not one of the allowed options: {sorted(allowed)}",
            )
    return value


def _midnight_date(value: str) -> str:
    try:
        if value.strip().lstrip("-").isdigit():
            moment = datetime.fromtimestamp(int(value) / 1000, UTC)
            if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
                raise InvalidValue(
                    "INVALID_DATE", f"{value} is at {moment.time()} UTC, not midnight UTC"
                )
            return moment.strftime("%Y-%m-%d")
        return iso_date(value.strip())
    except ValueError as exc:
        raise InvalidValue("INVALID_DATE", f"{value} is not a valid date") from exc
