"""The calibration data set: decided leads with their point-in-time features and signals."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from lead_scoring.calibration.config import CalibrationConfig, CalibrationError
from lead_scoring.calibration.features import event_features
from lead_scoring.calibration.inputs import ScoringInputs
from lead_scoring.calibration.outcomes import decided_leads
from lead_scoring.calibration.rules import Rules

log = logging.getLogger(__name__)

MIN_WON = 10
INTAKE_WEEKS = 12  # leads per week: the average over the 12 weeks up to the data's end


@dataclass(frozen=True)
class CalibrationData:
    """decided: one row per decided lead (index lead_id: is_won, reached_sql, created_at,
    decision_date, score_date), in decision order; decayed / counts: lead x event type at
    the score date; attributes: lead_id, attribute, value, value_number, kind (long);
    leads_per_week: recent intake of new leads."""

    decided: pd.DataFrame
    decayed: pd.DataFrame
    counts: pd.DataFrame
    attributes: pd.DataFrame
    leads_per_week: float
    as_of_date: date

    @property
    def is_won(self) -> pd.Series:
        return self.decided["is_won"]

    def subset(self, lead_ids: pd.Index) -> CalibrationData:
        return CalibrationData(
            self.decided.loc[lead_ids], self.decayed.loc[lead_ids], self.counts.loc[lead_ids],
            self.attributes[self.attributes["lead_id"].isin(lead_ids)],
            self.leads_per_week, self.as_of_date,
        )  # fmt: skip

    def time_split(self, test_share: float) -> tuple[CalibrationData, CalibrationData]:
        """Train on the earlier decisions, test on the later ones (``decided`` is sorted;
        leads decided on the same day in an order set by a hash of their id, so a snapshot
        export whose decisions share one date splits at random, yet reproducibly)."""
        cut = int(round(len(self.decided) * (1 - test_share)))
        return self.subset(self.decided.index[:cut]), self.subset(self.decided.index[cut:])


def data_as_of(inputs: ScoringInputs, as_of: date) -> date:
    """The last day the data records anything (a lead created, an event, a deal created or
    closed) up to ``as_of``: an imported history read as of today ends on its own date."""
    end = pd.Timestamp(as_of + timedelta(days=1))
    moments = [inputs.leads["created_at"], inputs.events["occurred_on"],
               inputs.deals["created_at"], inputs.deals["closed_at"]]  # fmt: skip
    newest = pd.Series([m[m < end].max() for m in moments], dtype="datetime64[us]").max()
    return as_of if pd.isna(newest) else min(as_of, newest.date())


def leads_per_week(leads: pd.DataFrame, as_of: date) -> float:
    """New leads per week over the ``INTAKE_WEEKS`` weeks up to ``as_of`` (inclusive)."""
    end = pd.Timestamp(as_of + timedelta(days=1))
    start = end - pd.Timedelta(weeks=INTAKE_WEEKS)
    recent = leads[(leads["created_at"] >= start) & (leads["created_at"] < end)]
    return len(recent) / INTAKE_WEEKS


def prepare(inputs: ScoringInputs, rules: Rules, config: CalibrationConfig) -> CalibrationData:
    as_of = config.as_of_date or inputs.as_of_date
    decided = decided_leads(
        inputs.leads, inputs.deals, as_of, config.decision_window_days, config.maturity_days
    )
    won = int(decided["is_won"].sum())
    if len(decided) < config.min_decided_leads or won < MIN_WON:
        raise CalibrationError(
            f"only {len(decided)} decided leads ({won} won) as of {as_of}: calibration needs at"
            f" least {config.min_decided_leads} and {MIN_WON} won (won/lost deals in"
            " staging.stg_crm__deals and leads older than maturity_days)"
        )
    tie = pd.util.hash_pandas_object(decided["lead_id"], index=False)
    decided = (decided.assign(tie=tie.to_numpy()).sort_values(["decision_date", "tie"])
               .drop(columns="tie").set_index("lead_id"))  # fmt: skip
    half_lives = rules.event_table().set_index("event_type")["half_life_days"]
    decayed, counts = event_features(inputs.events, decided["score_date"], half_lives)
    intake_end = data_as_of(inputs, as_of)
    if intake_end < as_of:
        log.info("the data ends on %s: intake is measured up to then", intake_end)
    attributes = inputs.attributes[inputs.attributes["lead_id"].isin(decided.index)]
    return CalibrationData(
        decided, decayed, counts, attributes, leads_per_week(inputs.leads, intake_end), as_of,
    )  # fmt: skip
