"""The calibration scorer and the dbt models compute the same scores: given the current
seeds and the as-of date of a dbt build, it reproduces marts.lead_scores."""

import pandas as pd
import pytest

from lead_scoring.calibration.features import event_features
from lead_scoring.calibration.inputs import load_inputs
from lead_scoring.calibration.rules import load_rules
from lead_scoring.calibration.scoring import as_points, score_leads
from lead_scoring.warehouse import open_warehouse

# the scored home (conftest.py) is session-scoped: built at most once per worker
pytestmark = pytest.mark.xdist_group("calibration")

TOLERANCE = 1e-6


def test_scorer_reproduces_marts_lead_scores(scored_home):
    inputs = load_inputs(scored_home)
    rules = load_rules(scored_home.dbt_project_dir)
    lead_ids = pd.Index(inputs.leads["lead_id"], name="lead_id")
    dates = pd.Series(pd.Timestamp(inputs.as_of_date), index=lead_ids)
    decayed, _ = event_features(
        inputs.events, dates, rules.event_table().set_index("event_type")["half_life_days"]
    )
    ours = score_leads(rules, inputs.attributes, decayed)
    with open_warehouse(scored_home) as wh:
        marts = wh.query_df(
            "select lead_id, fit_score, pain_score, lead_score from marts.lead_scores"
        )
    marts = marts.astype({"lead_id": str}).set_index("lead_id").astype(float)
    assert len(marts) > 1_000
    assert set(marts.index) == set(ours.index)
    assert (marts["pain_score"] != 0).mean() > 0.3, "the data set exercises decay and caps"
    ours = ours.loc[marts.index]
    for column in ("fit_score", "pain_score", "lead_score"):
        difference = (as_points(ours[column]) - marts[column]).abs()
        assert difference.max() <= TOLERANCE, (column, difference.idxmax())


def test_a_changed_weight_changes_the_scores(scored_home):
    """The comparison above can fail: one event weight more and the scores move."""
    rules = load_rules(scored_home.dbt_project_dir)
    inputs = load_inputs(scored_home)
    lead_ids = pd.Index(inputs.leads["lead_id"], name="lead_id")
    dates = pd.Series(pd.Timestamp(inputs.as_of_date), index=lead_ids)
    half_lives = rules.event_table().set_index("event_type")["half_life_days"]
    decayed, _ = event_features(inputs.events, dates, half_lives)
    before = score_leads(rules, inputs.attributes, decayed)["pain_score"]
    events = rules.event_weights.copy()
    events.loc[events["event_type"] == "login", "points"] = "4"
    changed = score_leads(
        type(rules)(**{**rules.__dict__, "event_weights": events}), inputs.attributes, decayed
    )["pain_score"]
    assert (changed != before).sum() > 10
