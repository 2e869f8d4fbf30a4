"""Raw tables -> check frames: one row per record (index ``record_id``), the helper columns
the expectation suites test, and the raw values the quality tables report.

Helper columns hold statuses and reason codes, never personal data, so the Data Docs
show record ids and codes only; the offending raw value is looked up by record id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from lead_scoring.quality.config import QualityConfig
from lead_scoring.quality.countries import country_status
from lead_scoring.quality.emails import email_domains, email_status
from lead_scoring.quality.names import name_issues
from lead_scoring.quality.phones import phone_status, regions_for
from lead_scoring.sources import attributes as attribute_rows

DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "closedwon", "closedlost")
PRODUCT_EVENT_TYPES = ("trial_signup", "login", "core_action", "first_value",
                       "invite_teammate", "integration_connected", "billing_page_view")  # fmt: skip
MARKETING_EVENT_TYPES = ("whitepaper_download", "webinar_registration", "pricing_page_view",
                         "docs_page_view", "faq_page_view", "demo_request",
                         "contact_sales_request", "careers_page_view", "page_view",
                         "email_open", "email_click", "unsubscribe", "email_bounce")  # fmt: skip
ATTRIBUTE_KINDS = (attribute_rows.FIT, attribute_rows.PAIN)
INDEX = "record_id"


@dataclass
class Batch:
    """One record type's checks, ready for its expectation suite."""

    record_type: str
    suite: str
    checks: pd.DataFrame  # index record_id: helper columns
    values: pd.DataFrame  # index record_id: raw values, by the field names rules report
    fields: dict[str, str] = field(default_factory=dict)  # suite field -> raw column


def age_seconds(moments: pd.Series, as_of: datetime) -> pd.Series:
    """Seconds from each moment to ``as_of`` (negative: in the future; NaN: no moment).

    The suites bound ages, not datetimes: GX compares numbers vectorised but datetimes
    one by one."""
    return (pd.Timestamp(as_of) - moments).dt.total_seconds()


def _codes(values: pd.Series) -> pd.Categorical:
    """Status codes as a categorical: cheap for GX to hash and test."""
    return pd.Categorical(values)


def _group_ids(keys: pd.Series) -> pd.Series:
    """One number per distinct key (NaN for no key): uniqueness of keys, cheaply."""
    codes, _ = pd.factorize(keys)
    return pd.Series(codes, index=keys.index, dtype="float64").where(codes >= 0)


def wire_time(values: pd.Series) -> pd.Series:
    """HubSpot wire datetimes (ISO-8601 text) -> naive UTC; unparseable -> NaT."""
    text = values.astype("str").fillna("").str.strip()
    return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601").dt.tz_localize(None)


def db_time(values: pd.Series) -> pd.Series:
    """Warehouse timestamps (naive UTC or zone-aware) -> naive UTC."""
    return pd.to_datetime(values, utc=True, errors="coerce").dt.tz_localize(None)


def record_ids(values: pd.Series) -> pd.Index:
    """Record ids as an object index: GX looks ids up in it, and hashes it, many times."""
    return pd.Index(
        values.astype("str").fillna("").to_numpy(dtype=object), name=INDEX, dtype=object
    )


def _frame(index: pd.Index, **columns) -> pd.DataFrame:
    """Columns (row-aligned Series or arrays, kept in their own dtype) on ``index``."""
    frame = pd.DataFrame(
        {k: v.array if isinstance(v, pd.Series) else v for k, v in columns.items()}
    )
    frame.index = index
    return frame


def _text(values: pd.Series) -> pd.Series:
    return values.astype("str").fillna("")


def contacts(raw: pd.DataFrame, config: QualityConfig, as_of: datetime) -> Batch:
    index = record_ids(raw["hs_object_id"])
    email = email_status(raw["email"])
    domains = email_domains(email["email_key"])
    typed = _text(raw["email"]).str.strip().str.lower()
    local = typed.str.replace(r"@[^@]*$", "", regex=True).where(typed.str.contains("@"), "")
    country = country_status(raw["country"])
    regions = regions_for(country["country_iso2"], config.default_phone_region)
    phone = phone_status(raw["phone"], regions, config.workers)
    first, last = _text(raw["firstname"]), _text(raw["lastname"])
    created = wire_time(raw["createdate"])
    checks = _frame(
        index,
        email_status=_codes(email["email_status"]),
        email_key=email["email_key"],
        email_key_id=_group_ids(email["email_key"]),
        email_domain=domains["email_domain"],
        email_domain_type=_codes(domains["email_domain_type"]),
        name_issue=_codes(name_issues(first, last, local)),
        phone_status=_codes(phone["phone_status"]),
        phone_e164=phone["phone_e164"],
        country_status=_codes(country["country_status"]),
        country_iso2=country["country_iso2"],
        created_at=created,
        created_age_s=age_seconds(created, as_of),
    )
    values = _frame(
        index,
        email=_text(raw["email"]),
        name=(first.str.strip() + " " + last.str.strip()).str.strip(),
        phone=_text(raw["phone"]),
        country=_text(raw["country"]),
        createdate=_text(raw["createdate"]),
    )
    return Batch("contact", "raw_leads", checks, values)


def _employees(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = _text(values).str.strip().str.replace(",", "", regex=False)
    number = text.str.fullmatch(r"[+-]?\d+(?:\.0+)?")
    status = pd.Series("not_a_number", index=values.index, dtype="str")
    status[number] = "number"
    status[text == ""] = "empty"
    count = pd.to_numeric(text.where(number), errors="coerce")
    return status, count


def companies(raw: pd.DataFrame, as_of: datetime) -> Batch:
    index = record_ids(raw["hs_object_id"])
    status, count = _employees(raw["numberofemployees"])
    country = country_status(raw["country"])
    checks = _frame(
        index,
        employees_status=_codes(status),
        employees=count.astype("float64"),
        country_status=_codes(country["country_status"]),
        country_iso2=country["country_iso2"],
        created_age_s=age_seconds(wire_time(raw["createdate"]), as_of),
    )
    values = _frame(
        index,
        numberofemployees=_text(raw["numberofemployees"]),
        country=_text(raw["country"]),
        createdate=_text(raw["createdate"]),
    )
    return Batch("company", "raw_accounts", checks, values)


def deals(raw: pd.DataFrame, contact_ids: pd.Index, as_of: datetime) -> Batch:
    index = record_ids(raw["hs_object_id"])
    lead = _text(raw["ls_contact_id"]).str.strip()
    checks = _frame(
        index,
        dealstage=_codes(_text(raw["dealstage"])),
        lead_known=lead.isin(contact_ids),
        created_age_s=age_seconds(wire_time(raw["createdate"]), as_of),
    )
    values = _frame(
        index,
        dealstage=_text(raw["dealstage"]),
        ls_contact_id=_text(raw["ls_contact_id"]),
        createdate=_text(raw["createdate"]),
    )
    return Batch("deal", "raw_outcomes", checks, values)


def product_users(raw: pd.DataFrame, as_of: datetime) -> Batch:
    index = record_ids(raw["user_id"])
    email = email_status(raw["email"])
    signed_up = db_time(raw["signed_up_at"])
    checks = _frame(
        index,
        email_status=_codes(email["email_status"]),
        created_age_s=age_seconds(signed_up, as_of),
    )
    values = _frame(
        index,
        email=_text(raw["email"]),
        createdate=signed_up.astype("str").replace("NaT", ""),
    )
    return Batch("product_user", "raw_product_users", checks, values,
                 {"createdate": "signed_up_at"})  # fmt: skip


def attributes(raw: pd.DataFrame, record_type: str) -> Batch:
    """Attribute rows; a row's record id is ``<hs_object_id>|<attribute>|<valid_from>``."""
    record, name = _text(raw["hs_object_id"]), _text(raw["attribute"])
    kind, valid_from = _text(raw["kind"]), _text(raw["valid_from"])
    index = record_ids(record + "|" + name + "|" + valid_from)
    checks = _frame(
        index,
        has_record_id=record.str.strip() != "",
        name_ok=name.str.fullmatch(attribute_rows.NAME.pattern),
        kind=_codes(kind),
        valid_from_ok=(valid_from == "") | wire_time(valid_from).notna(),
    )
    values = _frame(index, hs_object_id=record, attribute=name, kind=kind, valid_from=valid_from)
    return Batch(record_type, "raw_attributes", checks, values)


def events(
    raw: pd.DataFrame,
    record_type: str,
    lead_column: str,
    known_leads,
    known_types: tuple,
    as_of: datetime,
) -> Batch:
    index = record_ids(raw["event_id"])
    occurred = db_time(raw["occurred_at"])
    event_type = _text(raw["event_type"])
    checks = _frame(
        index,
        lead_known=raw[lead_column].isin(known_leads).to_numpy(dtype=bool),
        occurred_age_s=age_seconds(occurred, as_of),
        event_type_known=event_type.isin(known_types),
    )
    values = _frame(
        index,
        lead_id=_text(raw[lead_column]),
        occurred_at=occurred.astype("str").replace("NaT", ""),
        event_type=event_type,
    )
    return Batch(record_type, "raw_events", checks, values, {"lead_id": lead_column})
