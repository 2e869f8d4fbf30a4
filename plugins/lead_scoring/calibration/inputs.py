"""What calibration reads from the warehouse, as the last dbt build resolved it.

Leads, their attributes (built-in and custom, docs/signals.md), their events and their
deals come from the dbt models, so calibration sees exactly the clean, de-duplicated leads
that scoring sees (quarantined records and merged duplicates resolved the same way).
Attributes are the ones known as of the build (a profile is mostly static; a snapshot
export holds nothing else); events carry their dates, and each lead is judged only on the
events before its decision (see ``outcomes``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import pandas as pd

from lead_scoring.calibration.config import CalibrationError
from lead_scoring.settings import Settings
from lead_scoring.warehouse import WarehouseError, open_warehouse

log = logging.getLogger(__name__)

LEADS_SQL = """
select lead_id, lead_created_at as created_at
from intermediate.int_lead_profiles_resolved
where offset_days = 0
"""
ATTRIBUTES_SQL = """
select lead_id, attribute, attribute_value as value, value_number, attribute_kind as kind
from intermediate.int_lead_attributes_resolved
where offset_days = 0
"""
EVENTS_SQL = """
select subjects.lead_id, events.event_type, events.occurred_on
from intermediate.int_events_unioned as events
inner join intermediate.int_event_subjects_resolved as subjects
    on subjects.event_source = events.event_source
    and subjects.subject_id = events.subject_id
"""
DEALS_SQL = """
select mapped.lead_id, deals.deal_id, deals.deal_stage, deals.created_at, deals.closed_at
from staging.stg_crm__deals as deals
inner join intermediate.int_contacts_mapped_to_leads as mapped
    on mapped.contact_id = deals.contact_id
"""
AS_OF_SQL = "select max(as_of_date) from marts.lead_scores"
REQUIRED = [
    ("intermediate", "int_lead_profiles_resolved"),
    ("intermediate", "int_lead_attributes_resolved"),
    ("intermediate", "int_events_unioned"),
    ("intermediate", "int_event_subjects_resolved"),
    ("intermediate", "int_contacts_mapped_to_leads"),
    ("staging", "stg_crm__deals"),
    ("marts", "lead_scores"),
]


@dataclass(frozen=True)
class ScoringInputs:
    """leads: lead_id, created_at; attributes: lead_id, attribute, value (text),
    value_number (the value as a number, else NaN), kind (fit / pain);
    events: lead_id, event_type, occurred_on (date); deals: lead_id, deal_id, deal_stage,
    created_at (the SQL date), closed_at; as_of_date: the date of the dbt build."""

    leads: pd.DataFrame
    attributes: pd.DataFrame
    events: pd.DataFrame
    deals: pd.DataFrame
    as_of_date: date


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.normalize().astype("datetime64[s]")


def _describe(settings: Settings) -> str:
    return str(settings.warehouse_path) if settings.warehouse == "duckdb" else "postgres"


def load_inputs(settings: Settings) -> ScoringInputs:
    """Read the scoring inputs of the last dbt build (fails clearly when there is none)."""
    try:
        with open_warehouse(settings) as wh:
            missing = [f"{s}.{t}" for s, t in REQUIRED if not wh.table_exists(s, t)]
            if missing:
                raise CalibrationError(
                    f"warehouse {_describe(settings)}: {', '.join(missing)} missing;"
                    " run the nightly pipeline (extract, quality gate, dbt build) first"
                )
            as_of = wh.scalar(AS_OF_SQL)
            leads = wh.query_df(LEADS_SQL)
            attributes = wh.query_df(ATTRIBUTES_SQL)
            events = wh.query_df(EVENTS_SQL)
            deals = wh.query_df(DEALS_SQL)
    except WarehouseError as exc:
        raise CalibrationError(str(exc)) from exc
    if as_of is None or leads.empty:
        raise CalibrationError(
            "marts.lead_scores is empty: there are no scored leads to learn from"
        )
    leads["lead_id"] = leads["lead_id"].astype(str)
    leads["created_at"] = pd.to_datetime(leads["created_at"]).astype("datetime64[us]")
    attributes = attributes.astype({"lead_id": str, "attribute": str, "value": str, "kind": str})
    attributes["value_number"] = pd.to_numeric(attributes["value_number"]).astype(float)
    events["lead_id"] = events["lead_id"].astype(str)
    events["occurred_on"] = _dates(events["occurred_on"])
    deals = deals.astype({"lead_id": str, "deal_id": str})
    deals["deal_stage"] = deals["deal_stage"].fillna("").astype(str)
    for column in ("created_at", "closed_at"):
        deals[column] = pd.to_datetime(deals[column]).astype("datetime64[us]")
    log.info(
        "calibration inputs as of %s: %s leads, %s attribute values, %s events, %s deals",
        as_of, len(leads), len(attributes), len(events), len(deals),
    )  # fmt: skip
    return ScoringInputs(leads, attributes, events, deals, pd.Timestamp(as_of).date())
