"""CRM records as HubSpot holds them: every property a string, datetimes ``...Z``."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from lead_scoring.simulator.catalogue import LEAD_SOURCES
from lead_scoring.simulator.frames import DAY, NEVER, Frame, wire_datetimes

APPOINTMENT_DAYS = 10  # an open deal moves from appointmentscheduled to qualifiedtobuy


Columns = dict[str, np.ndarray]


def records(columns: Columns) -> Iterator[dict[str, str]]:
    """Row dicts (HubSpot property -> string) from columns."""
    keys = list(columns)
    values = [np.asarray(c).tolist() for c in columns.values()]
    return (dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True))


def _ids(values: np.ndarray) -> np.ndarray:
    return np.where(values >= 0, values.astype(str), "").astype(object)


def company_columns(accounts: Frame) -> Columns:
    return {
        "hs_object_id": accounts["account_id"].astype(str),
        "name": accounts["name"],
        "domain": accounts["domain"],
        "industry": accounts["industry"],
        "numberofemployees": accounts["wire_employees"],
        "country": accounts["country"],
        "annualrevenue": accounts["annual_revenue"].astype(str),
        "ls_target_account": np.where(accounts["is_target"], "true", "false").astype(object),
        "createdate": wire_datetimes(accounts["created"]),
        "lastmodifieddate": wire_datetimes(accounts["lastmod"]),
    }


def contact_columns(leads: Frame, accounts: Frame) -> Columns:
    account = leads["account_idx"]
    account_id = np.where(account >= 0, accounts["account_id"][np.maximum(account, 0)], -1)
    sources = np.array([row[0] for row in LEAD_SOURCES], dtype=object)
    return {
        "hs_object_id": leads["contact_id"].astype(str),
        "email": leads["email"],
        "firstname": leads["firstname"],
        "lastname": leads["lastname"],
        "jobtitle": leads["jobtitle"],
        "phone": leads["phone"],
        "country": leads["wire_country"],
        "company": leads["company"],
        "associatedcompanyid": _ids(account_id),
        "hs_analytics_source": sources[leads["source"]],
        "bant_budget": leads["bant_budget"],
        "bant_authority": leads["bant_authority"],
        "bant_need": leads["bant_need"],
        "bant_timeline": leads["bant_timeline"],
        "createdate": wire_datetimes(leads["wire_created"]),
        "lastmodifieddate": wire_datetimes(leads["lastmod"]),
    }


def deal_state(leads: Frame, as_of: int) -> dict[str, np.ndarray]:
    """Stage, close date and last change of every lead's deal as of ``as_of``."""
    sql_at, close_at = leads["sql_at"], leads["close_at"]
    closed = close_at < as_of
    stage = np.select(
        [closed & leads["will_win"], closed, as_of - sql_at < APPOINTMENT_DAYS * DAY],
        ["closedwon", "closedlost", "appointmentscheduled"],
        "qualifiedtobuy",
    ).astype(object)
    moved = np.where(stage == "qualifiedtobuy", sql_at + APPOINTMENT_DAYS * DAY, sql_at)
    return {
        "stage": stage,
        "closedate": np.where(closed, close_at, NEVER),
        "lastmod": np.where(closed, close_at, moved),
    }


def deal_columns(leads: Frame, accounts: Frame, as_of: int) -> Columns:
    """One deal per lead that became an SQL before ``as_of`` (rows of ``leads`` given)."""
    state = deal_state(leads, as_of)
    account = leads["account_idx"]
    account_id = np.where(account >= 0, accounts["account_id"][np.maximum(account, 0)], -1)
    return {
        "hs_object_id": leads["deal_id"].astype(str),
        "dealname": np.array([f"{c} - New Business" for c in leads["company"]], dtype=object),
        "ls_contact_id": leads["contact_id"].astype(str),
        "associatedcompanyid": _ids(account_id),
        "dealstage": state["stage"],
        "amount": leads["amount"].astype(str),
        "createdate": wire_datetimes(leads["sql_at"]),
        "closedate": wire_datetimes(state["closedate"]),
        "lastmodifieddate": wire_datetimes(state["lastmod"]),
    }
