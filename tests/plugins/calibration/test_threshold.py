"""The threshold recommendation: close rate in the band, volume within SDR capacity."""

from pathlib import Path

import numpy as np
import pandas as pd

from lead_scoring.calibration.config import CalibrationConfig
from lead_scoring.calibration.rules import load_rules
from lead_scoring.calibration.threshold import describe_threshold, recommend_threshold

PROJECT = Path(__file__).resolve().parents[3] / "dbt_project"


def _leads(n=4_000, seed=3):
    """Scores 0..99; the close probability rises with the score (0.5% .. 25%)."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(0, 100, n)
    won = rng.random(n) < 0.005 + 0.245 * (score / 100) ** 2
    index = pd.Index([f"l{i}" for i in range(n)], name="lead_id")
    scores = pd.DataFrame({"lead_score": score, "fit_score": score * 0.3,
                           "pain_score": score * 0.7}, index=index)  # fmt: skip
    return scores, pd.Series(won.astype(int), index=index)


def test_lowest_threshold_inside_the_band_and_capacity():
    scores, won = _leads()
    rules = load_rules(PROJECT)
    choice, curve = recommend_threshold(scores, won, 300, rules, CalibrationConfig(), 250)
    assert choice.status == "in_band"
    assert 0.10 <= choice.close_rate <= 0.15
    assert choice.volume_per_week <= 250
    lower = curve[curve["threshold"] < choice.threshold]
    assert not (lower["close_rate"].between(0.10, 0.15) & (lower["volume_per_week"] <= 250)
                & (lower["sdr_ready_leads"] >= 30)).any()  # fmt: skip


def test_small_sdr_team_raises_the_threshold_above_the_band():
    scores, won = _leads()
    rules = load_rules(PROJECT)
    roomy, _ = recommend_threshold(scores, won, 1_000, rules, CalibrationConfig(), 250)
    tight, _ = recommend_threshold(scores, won, 1_000, rules, CalibrationConfig(), 40)
    assert tight.threshold > roomy.threshold
    assert tight.volume_per_week <= 40
    assert tight.status in ("above_band_at_capacity", "in_band")


def test_band_unreachable_is_said_so():
    scores, won = _leads()
    rules = load_rules(PROJECT)
    config = CalibrationConfig(target_close_rate_low=0.6, target_close_rate_high=0.7)
    choice, _ = recommend_threshold(scores, won, 1_000, rules, config, 250)
    assert choice.status == "band_unreachable"


def test_profile_only_and_bad_fit_low_pain_shares():
    rules = load_rules(PROJECT)  # good fit 40, high pain 30 at threshold 100
    index = pd.Index(["a", "b", "c", "d"])
    scores = pd.DataFrame({"fit_score": [120, 10, 50, 0], "pain_score": [0, 95, 60, 20]},
                          index=index)  # fmt: skip
    scores["lead_score"] = scores.sum(axis=1)
    won = pd.Series([1, 0, 1, 0], index=index)
    at = describe_threshold(scores, won, 100, 10, rules)
    assert at.sdr_ready_leads == 3 and at.close_rate == 2 / 3
    assert at.profile_only_share == 0.25  # a: 120 fit points alone
    assert at.bad_fit_low_pain_share == 0.0
    # on a scale ten times smaller the quadrant cut-offs follow (4 and 3 points)
    small = scores / 10
    at_small = describe_threshold(small, won, 10, 10, rules)
    assert at_small.sdr_ready_leads == 3 and at_small.bad_fit_low_pain_share == 0.0
    tricky = pd.DataFrame({"fit_score": [3.0], "pain_score": [2.0], "lead_score": [12.0]},
                          index=["x"])  # fmt: skip
    assert describe_threshold(tricky, pd.Series([0], index=["x"]), 10, 1, rules
                              ).bad_fit_low_pain_share == 1.0  # fmt: skip
