"""How many SDR-ready leads a week the team follows up within the SLA, and whether that
binds the threshold (domain: every SDR-ready lead is followed up within 48 hours).

Capacity per week = the daily capacity of the roster's reps not out of office x 5 working
days, from the roster the last dbt build loaded (``scoring_rules.sales_reps``) or else
``seeds/sales_reps.csv``. Measured within-SLA rate = met / (met + breached) assignments in
``marts.lead_follow_ups`` (open ones are not decided yet). The team follows up within the
SLA capacity x rate leads a week (capacity alone before any assignment is decided). An
explicit ``sdr_capacity_per_week`` setting replaces both.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from lead_scoring.calibration.config import CalibrationConfig, CalibrationError
from lead_scoring.calibration.rules import Rules
from lead_scoring.calibration.threshold import (
    ThresholdChoice,
    choose_threshold,
    describe_threshold,
    recommend_threshold,
)
from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

WORKING_DAYS = 5
ROSTER_TABLE = ("scoring_rules", "sales_reps")
SLA_SQL = """
select sum(case when sla_status = 'met' then 1 else 0 end) as met,
    sum(case when sla_status = 'breached' then 1 else 0 end) as breached
from marts.lead_follow_ups
"""


@dataclass(frozen=True)
class TeamCapacity:
    source: str  # where the capacity comes from (a table, the seed file or the setting)
    reps: int | None  # reps not out of office (None: the setting)
    per_week: float  # leads a week the reps can take
    within_sla_rate: float | None  # measured share of decided assignments followed up in time
    decided_assignments: int
    follow_up_per_week: float  # leads a week followed up within the SLA: what must fit

    def as_dict(self) -> dict:
        return asdict(self)


def _in_office(value) -> bool:
    return str(value).strip().lower() not in ("true", "1", "yes", "t")


def roster_capacity(roster: pd.DataFrame, source: str) -> tuple[int, float]:
    """(reps not out of office, their leads per week); a roster without any is an error."""
    available = roster[roster["out_of_office"].map(_in_office)]
    daily = pd.to_numeric(available["daily_capacity"], errors="coerce").fillna(0)
    if daily.sum() <= 0:
        raise CalibrationError(
            f"the roster ({source}) has no capacity: every rep is out of office or has"
            " daily_capacity 0; fix the roster or set"
            " LEAD_SCORING_CALIBRATION_SDR_CAPACITY_PER_WEEK"
        )
    return int((daily > 0).sum()), float(daily.sum() * WORKING_DAYS)


def team_capacity(settings: Settings, config: CalibrationConfig) -> TeamCapacity:
    """The team's follow-up capacity: the setting when given, else roster x measured rate."""
    if config.sdr_capacity_per_week is not None:
        per_week = float(config.sdr_capacity_per_week)
        return TeamCapacity("setting sdr_capacity_per_week", None, per_week, None, 0, per_week)
    with open_warehouse(settings) as wh:
        if wh.table_exists(*ROSTER_TABLE):
            source = ".".join(ROSTER_TABLE)
            roster = wh.query_df(f"select daily_capacity, out_of_office from {source}")
        else:
            path = settings.dbt_project_dir / "seeds" / "sales_reps.csv"
            source = f"seeds/{path.name}"
            roster = pd.read_csv(path, dtype=str)
        decided = (
            wh.query_df(SLA_SQL).fillna(0).iloc[0]
            if wh.table_exists("marts", "lead_follow_ups")
            else pd.Series({"met": 0, "breached": 0})
        )
    reps, per_week = roster_capacity(roster, source)
    n = int(decided["met"] + decided["breached"])
    rate = float(decided["met"]) / n if n else None
    follow_up = per_week * rate if rate is not None else per_week
    return TeamCapacity(source, reps, per_week, rate, n, follow_up)


def capacity_verdict(
    capacity: TeamCapacity,
    curve: pd.DataFrame,
    current: dict,
    band_only: dict | None,
    chosen: dict | None,
) -> dict:
    """The capacity block of a proposal: whether capacity binds the threshold, the lowest
    threshold whose volume fits, and why, in a sentence.

    ``current`` is the threshold in force, ``band_only`` the one the close-rate band alone
    recommends (capacity ignored), ``chosen`` the recommendation (each a
    ``ThresholdChoice.as_dict()``; ``band_only``/``chosen`` None when the scores carry no
    signal); ``curve`` is the proposed points' threshold trade-off.
    """
    follow_up = capacity.follow_up_per_week
    fits = curve[(curve["volume_per_week"] <= follow_up) & (curve["sdr_ready_leads"] > 0)]
    lowest_fitting = float(fits["threshold"].min()) if not fits.empty else None
    binding = band_only is not None and band_only["volume_per_week"] > follow_up
    how = (
        f"the setting sdr_capacity_per_week, {follow_up:,.0f} a week"
        if capacity.reps is None
        else f"{capacity.reps} reps' daily capacity x {WORKING_DAYS} days ="
        f" {capacity.per_week:,.0f} a week from {capacity.source}"
        + (
            f", x {100 * capacity.within_sla_rate:.0f}% followed up within the SLA"
            f" ({capacity.decided_assignments:,} decided assignments) = {follow_up:,.0f}"
            if capacity.within_sla_rate is not None
            else ", no follow-up measured yet"
        )
    )
    if band_only is None or chosen is None:
        reason = (
            f"No threshold is recommended (no signal). At the current threshold"
            f" {current['threshold']:g}, {current['volume_per_week']:,.0f} leads a week are"
            f" SDR-ready; the team follows up {follow_up:,.0f} a week within the SLA ({how})."
        )
    elif not binding:
        reason = (
            f"Capacity does not bind: {band_only['volume_per_week']:,.0f} SDR-ready leads a"
            f" week at threshold {band_only['threshold']:g} fit the {follow_up:,.0f} a week"
            f" the team follows up within the SLA ({how})."
        )
    else:
        reason = (
            f"SDRs cannot follow up every SDR-ready lead within the SLA: at threshold"
            f" {band_only['threshold']:g} (where the close-rate band alone puts it)"
            f" {band_only['volume_per_week']:,.0f} leads a week would be SDR-ready, but the"
            f" team follows up {follow_up:,.0f} a week in time ({how}). "
            + (
                f"The proposal raises the threshold to {chosen['threshold']:g}"
                f" ({chosen['threshold'] - band_only['threshold']:+g} points), whose"
                f" {chosen['volume_per_week']:,.0f} leads a week fit"
                if chosen["volume_per_week"] <= follow_up
                else f"No threshold with enough SDR-ready leads (min_samples) fits: the"
                f" proposal goes to {chosen['threshold']:g}, the closest"
            )
            + f" ({chosen['threshold'] - current['threshold']:+g} points on the"
            f" {current['threshold']:g} in force)."
        )
    return capacity.as_dict() | {
        "binding": binding,
        "lowest_fitting_threshold": lowest_fitting,
        "band_only_threshold": None if band_only is None else band_only["threshold"],
        "raise_over_band": None if not binding else chosen["threshold"] - band_only["threshold"],
        "current_volume_per_week": current["volume_per_week"],
        "current_fits": current["volume_per_week"] <= follow_up,
        "reason": reason,
    }


def threshold_within_capacity(
    scores: pd.DataFrame,
    is_won: pd.Series,
    leads_per_week: float,
    rules: Rules,
    config: CalibrationConfig,
    capacity: TeamCapacity,
    current: ThresholdChoice,
) -> tuple[ThresholdChoice, pd.DataFrame, dict]:
    """The recommended threshold for the team's follow-up capacity, the trade-off curve and
    the capacity block (``capacity_verdict``) saying whether and by how much it raised it."""
    choice, curve = recommend_threshold(scores, is_won, leads_per_week, rules, config,
                                        capacity.follow_up_per_week)  # fmt: skip
    band_threshold = choose_threshold(curve, config, math.inf)[0]
    if band_threshold is None:  # no usable threshold at all: the choice's fallback
        band_threshold = choice.threshold
    band_only = describe_threshold(scores, is_won, band_threshold, leads_per_week, rules)
    verdict = capacity_verdict(capacity, curve, current.as_dict(), band_only.as_dict(),
                               choice.as_dict())  # fmt: skip
    return choice, curve, verdict
