"""Point in time: a lead is judged on what happened before its decision, never after."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from lead_scoring.calibration.config import CalibrationConfig
from lead_scoring.calibration.dataset import INTAKE_WEEKS, prepare
from lead_scoring.calibration.inputs import ScoringInputs, load_inputs
from lead_scoring.calibration.outcomes import decided_leads
from lead_scoring.calibration.rules import load_rules
from lead_scoring.calibration.scoring import score_leads

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("calibration")

T = pd.Timestamp


def _leads(*rows):
    return pd.DataFrame(rows, columns=["lead_id", "created_at"]).astype(
        {"created_at": "datetime64[us]"}
    )


def _deals(*rows):
    frame = pd.DataFrame(rows, columns=["lead_id", "deal_id", "deal_stage", "created_at",
                                        "closed_at"])  # fmt: skip
    return frame.astype({"created_at": "datetime64[us]", "closed_at": "datetime64[us]"})


def test_decisions_sql_date_window_open_and_young_leads():
    leads = _leads(
        ("won", T("2026-01-01 09:00")), ("lost", T("2026-01-02")), ("open", T("2026-01-03")),
        ("never", T("2026-01-04")), ("young", T("2026-05-25")),
        ("won_later", T("2026-01-05")),
    )  # fmt: skip
    deals = _deals(
        ("won", "d1", "closedwon", T("2026-01-20 15:00"), T("2026-02-20")),
        ("lost", "d2", "closedlost", T("2026-01-25"), T("2026-03-01")),
        ("open", "d3", "qualifiedtobuy", T("2026-01-30"), None),
        ("won_later", "d4", "closedwon", T("2026-01-15"), T("2026-07-01")),
    )  # fmt: skip
    decided = decided_leads(leads, deals, date(2026, 6, 1), decision_window_days=30).set_index(
        "lead_id"
    )
    assert set(decided.index) == {"won", "lost", "never"}  # open, young and won later: undecided
    assert decided.loc["won", "is_won"] == 1 and decided.loc["lost", "is_won"] == 0
    assert decided.loc["never", "is_won"] == 0 and not decided.loc["never", "reached_sql"]
    assert decided.loc["won", "decision_date"] == T("2026-01-20")
    assert decided.loc["won", "score_date"] == T("2026-01-19")  # the night before the SQL
    assert decided.loc["never", "decision_date"] == T("2026-02-03")  # created + 30 days
    as_of_earlier = decided_leads(leads, deals, date(2026, 2, 1), 30, maturity_days=0)
    assert "won" not in set(as_of_earlier["lead_id"])  # its deal was still open then


def _with_events(inputs: ScoringInputs, extra: pd.DataFrame) -> ScoringInputs:
    events = pd.concat([inputs.events, extra], ignore_index=True)
    return ScoringInputs(inputs.leads, inputs.attributes, events, inputs.deals, inputs.as_of_date)


@pytest.fixture(scope="session")
def prepared(scored_home):
    rules = load_rules(scored_home.dbt_project_dir)
    inputs = load_inputs(scored_home)
    config = CalibrationConfig(min_decided_leads=50)
    return rules, inputs, config, prepare(inputs, rules, config)


def test_a_future_event_cannot_change_a_past_decision(prepared):
    rules, inputs, config, data = prepared
    decided = data.decided[data.decided["reached_sql"]]
    lead_id = decided.index[0]
    decision = decided.loc[lead_id, "decision_date"]
    weights = rules.event_table().set_index("event_type")["points"]
    unused = [t for t in weights.index[weights > 0] if data.counts.loc[lead_id, t] == 0]
    future = pd.DataFrame({"lead_id": [lead_id] * 3, "event_type": unused[0],
                           "occurred_on": [decision, decision + pd.Timedelta(days=1),
                                           pd.Timestamp(inputs.as_of_date)]})  # fmt: skip
    future["occurred_on"] = future["occurred_on"].astype("datetime64[s]")
    after = prepare(_with_events(inputs, future), rules, config)
    pd.testing.assert_frame_equal(after.decayed, data.decayed)
    pd.testing.assert_frame_equal(after.counts, data.counts)
    pd.testing.assert_frame_equal(
        score_leads(rules, after.attributes, after.decayed),
        score_leads(rules, data.attributes, data.decayed),
    )
    # ... while the same event the day before the decision does change it
    past = future.assign(occurred_on=decision - pd.Timedelta(days=1)).head(1)
    changed = prepare(_with_events(inputs, past), rules, config)
    before = score_leads(rules, data.attributes, data.decayed).loc[lead_id, "pain_score"]
    now = score_leads(rules, changed.attributes, changed.decayed).loc[lead_id, "pain_score"]
    assert now > before


def test_intake_of_a_history_is_measured_up_to_the_data_not_today():
    """Leads of 2024 calibrated as of today: the weekly intake is that of the 12 weeks
    before the data ends (the day of the last lead), not of the empty weeks before today."""
    created = pd.Series(pd.date_range("2024-01-01", periods=400, freq="12h")).astype(
        "datetime64[us]"
    )
    leads = pd.DataFrame({"lead_id": [f"L{i}" for i in range(400)], "created_at": created})
    deals = _deals(*(
        (f"L{i}", f"D{i}", "closedwon" if i % 10 == 0 else "closedlost",
         created[i] + pd.Timedelta(days=10), created[i] + pd.Timedelta(days=20))
        for i in range(0, 300, 5)
    ))  # fmt: skip
    fit = pd.DataFrame(
        {
            "lead_id": leads["lead_id"][::2],
            "attribute": "industry",
            "value": "software",
            "value_number": float("nan"),
            "kind": "fit",
        }
    )
    events = pd.DataFrame({"lead_id": pd.Series(dtype=str), "event_type": pd.Series(dtype=str),
                           "occurred_on": pd.Series(dtype="datetime64[s]")})  # fmt: skip
    inputs = ScoringInputs(leads, fit, events, deals, date.today())
    rules = load_rules(Path(__file__).resolve().parents[3] / "dbt_project")

    data = prepare(inputs, rules, CalibrationConfig())

    end = created.max().normalize() + pd.Timedelta(days=1)  # the day of the last lead, in full
    weeks = created[(created >= end - pd.Timedelta(weeks=INTAKE_WEEKS)) & (created < end)]
    assert data.as_of_date == date.today()  # outcomes are still read as of today
    assert data.leads_per_week > 0
    assert data.leads_per_week == len(weeks) / INTAKE_WEEKS == 14
