"""What calibration reads from the warehouse, as the last dbt build resolved it.

Leads, their profile signals, their events and their deals come from the dbt models, so
calibration sees exactly the clean, de-duplicated leads that scoring sees (quarantined
records and merged duplicates resolved the same way). Profile signals are the ones known
as of the build (the profile is mostly static); events carry their dates, and each lead is
judged only on the events before its decision (see ``outcomes``).
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
FIT_SIGNALS_SQL = """
select lead_id, signal
from intermediate.int_lead_fit_signals_scored
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
    ("intermediate", "int_lead_fit_signals_scored"),
    ("intermediate", "int_events_unioned"),
    ("intermediate", "int_event_subjects_resolved"),
    ("intermediate", "int_contacts_mapped_to_leads"),
    ("staging", "stg_crm__deals"),
    ("marts", "lead_scores"),
]


@dataclass(frozen=True)
class ScoringInputs:
    """leads: lead_id, created_at; fit_signals: lead_id, signal ('dimension:value');
    events: lead_id, event_type, occurred_on (date); deals: lead_id, deal_id, deal_stage,
    created_at (the SQL date), closed_at; as_of_date: the date of the dbt build."""

    leads: pd.DataFrame
    fit_signals: pd.DataFrame
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
            fit_signals = wh.query_df(FIT_SIGNALS_SQL)
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
    fit_signals = fit_signals.astype({"lead_id": str, "signal": str})
    events["lead_id"] = events["lead_id"].astype(str)
    events["occurred_on"] = _dates(events["occurred_on"])
    deals = deals.astype({"lead_id": str, "deal_id": str})
    deals["deal_stage"] = deals["deal_stage"].fillna("").astype(str)
    for column in ("created_at", "closed_at"):
        deals[column] = pd.to_datetime(deals[column]).astype("datetime64[us]")
    log.info(
        "calibration inputs as of %s: %s leads, %s profile signals, %s events, %s deals",
        as_of, len(leads), len(fit_signals), len(events), len(deals),
    )  # fmt: skip
    return ScoringInputs(leads, fit_signals, events, deals, pd.Timestamp(as_of).date())
