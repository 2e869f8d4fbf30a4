"""Capacity feeds the threshold: the roster's reps in office x daily capacity x 5 days,
times the follow-up rate measured in marts.lead_follow_ups, is what the SDR-ready volume
must fit; when it does not, the threshold goes up to the lowest one that fits, and the
proposal says by how much and why."""

from datetime import datetime, timedelta

import pandas as pd
import pytest
from test_threshold import PROJECT, _leads

from lead_scoring.calibration.capacity import (
    TeamCapacity,
    team_capacity,
    threshold_within_capacity,
)
from lead_scoring.calibration.config import CalibrationConfig, CalibrationError
from lead_scoring.calibration.rules import load_rules
from lead_scoring.calibration.threshold import describe_threshold
from lead_scoring.warehouse import open_warehouse


def _roster(*reps: tuple[int, bool]) -> pd.DataFrame:
    return pd.DataFrame({
        "rep_id": [f"rep_{i:02}" for i in range(len(reps))],
        "daily_capacity": [capacity for capacity, _ in reps],
        "out_of_office": [away for _, away in reps],
    })  # fmt: skip


def _follow_ups(met: int, breached: int, open_: int) -> pd.DataFrame:
    statuses = ["met"] * met + ["breached"] * breached + ["open"] * open_
    assigned = datetime(2026, 5, 1)
    return pd.DataFrame({
        "lead_id": [str(i) for i in range(len(statuses))], "rep_id": "rep_00",
        "assigned_at": assigned, "sla_due_at": assigned + timedelta(hours=48),
        "sla_status": statuses, "is_breached": [s == "breached" for s in statuses],
    })  # fmt: skip


def test_capacity_from_the_warehouse_roster_and_the_measured_rate(settings):
    with open_warehouse(settings) as wh:
        roster = _roster((20, False), (15, False), (25, True), (0, False))
        wh.write_df(roster, "scoring_rules", "sales_reps", mode="replace")
        wh.write_df(_follow_ups(met=30, breached=10, open_=7), "marts", "lead_follow_ups")
    capacity = team_capacity(settings, CalibrationConfig())
    assert capacity.source == "scoring_rules.sales_reps"
    assert (capacity.reps, capacity.per_week) == (2, 175.0)  # (20 + 15) x 5, away rep left out
    assert (capacity.within_sla_rate, capacity.decided_assignments) == (0.75, 40)
    assert capacity.follow_up_per_week == pytest.approx(131.25)

    setting = team_capacity(settings, CalibrationConfig(sdr_capacity_per_week=80))
    assert (setting.follow_up_per_week, setting.reps) == (80, None)  # the override wins


def test_without_a_build_the_seed_file_and_no_rate(settings):
    capacity = team_capacity(settings, CalibrationConfig())
    seed = pd.read_csv(PROJECT / "seeds" / "sales_reps.csv")
    in_office = seed[~seed["out_of_office"]]
    assert capacity.source == "seeds/sales_reps.csv"
    assert capacity.per_week == in_office["daily_capacity"].sum() * 5
    assert capacity.within_sla_rate is None
    assert capacity.follow_up_per_week == capacity.per_week


def test_a_roster_without_capacity_is_one_clear_error(settings):
    with open_warehouse(settings) as wh:
        wh.write_df(_roster((0, False), (30, True)), "scoring_rules", "sales_reps")
    with pytest.raises(CalibrationError, match="has no capacity: every rep is out of office"):
        team_capacity(settings, CalibrationConfig())


WEEKLY = 300


def _capacity(per_week: float, rate: float | None) -> TeamCapacity:
    follow_up = per_week * rate if rate is not None else per_week
    return TeamCapacity("scoring_rules.sales_reps", 3, per_week, rate, 200, follow_up)


@pytest.fixture(scope="module")
def leads():
    """4,000 leads whose close rate rises with the score; 300 new leads a week."""
    scores, won = _leads()
    rules = load_rules(PROJECT)
    current = describe_threshold(scores, won, 50, WEEKLY, rules)
    return scores, won, rules, current


def test_capacity_not_binding_keeps_the_band_threshold(leads):
    scores, won, rules, current = leads
    choice, _, verdict = threshold_within_capacity(scores, won, WEEKLY, rules, CalibrationConfig(),
                                                   _capacity(600, 0.9), current)  # fmt: skip
    assert choice.status == "in_band" and choice.volume_per_week <= 540
    assert not verdict["binding"] and verdict["raise_over_band"] is None
    assert verdict["band_only_threshold"] == choice.threshold
    assert verdict["reason"].startswith("Capacity does not bind:")


def test_capacity_binding_raises_to_the_lowest_threshold_that_fits(leads):
    scores, won, rules, current = leads
    roomy, _, _ = threshold_within_capacity(scores, won, WEEKLY, rules, CalibrationConfig(),
                                            _capacity(600, 0.9), current)  # fmt: skip
    # 3 reps taking 100 a week, 40% of them followed up within the SLA: 40 a week in time
    choice, curve, verdict = threshold_within_capacity(
        scores, won, WEEKLY, rules, CalibrationConfig(), _capacity(100, 0.4), current
    )
    assert verdict["binding"] and verdict["follow_up_per_week"] == 40
    assert verdict["band_only_threshold"] == roomy.threshold
    assert choice.volume_per_week <= 40 < roomy.volume_per_week
    fits = curve[(curve["volume_per_week"] <= 40) & (curve["sdr_ready_leads"] >= 30)]
    assert choice.threshold == fits["threshold"].min() == verdict["lowest_fitting_threshold"]
    raise_by = choice.threshold - roomy.threshold
    assert verdict["raise_over_band"] == raise_by > 0
    reason = verdict["reason"]
    assert reason.startswith("SDRs cannot follow up every SDR-ready lead within the SLA:")
    assert f"raises the threshold to {choice.threshold:g} ({raise_by:+g} points)" in reason
    assert "x 40% followed up within the SLA (200 decided assignments) = 40" in reason

    # no follow-up measured yet: capacity alone must fit
    alone, _, unmeasured = threshold_within_capacity(
        scores, won, WEEKLY, rules, CalibrationConfig(), _capacity(100, None), current
    )
    assert unmeasured["binding"] and alone.volume_per_week <= 100
    assert alone.threshold < choice.threshold
    assert "no follow-up measured yet" in unmeasured["reason"]
