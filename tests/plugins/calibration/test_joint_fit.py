"""The calibration's factor discovery, joint fit and verdicts on synthetic outcomes (no
warehouse): what a proposal holds when factors are correlated, all negative, absent."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lead_scoring.calibration.backtest import decile_lift, run_backtest
from lead_scoring.calibration.candidates import discover
from lead_scoring.calibration.config import CalibrationConfig
from lead_scoring.calibration.dataset import CalibrationData
from lead_scoring.calibration.fit import propose
from lead_scoring.calibration.rules import SIGNAL_COLUMNS, Rules, read_seed
from lead_scoring.calibration.run import judge_signal
from lead_scoring.calibration.scoring import rule_matches, score_leads
from lead_scoring.calibration.threshold import recommend_threshold

SEEDS = Path(__file__).parents[3] / "dbt_project" / "seeds"


def _rules(signal_rules: pd.DataFrame | None = None, floor: float | None = 0.0) -> Rules:
    empty = pd.DataFrame(columns=list(SIGNAL_COLUMNS))
    return Rules(read_seed(SEEDS / "event_weights.csv"),
                 empty if signal_rules is None else signal_rules, 100.0, floor, 40.0, 30.0,
                 100.0)  # fmt: skip


def _data(frame: pd.DataFrame, is_won: np.ndarray) -> CalibrationData:
    """Leads with the attributes of ``frame`` (one column each, NaN: missing), no events,
    all decided on one day (a snapshot)."""
    ids = pd.Index([f"L{i:05d}" for i in range(len(frame))], name="lead_id")
    frame = frame.set_axis(ids)
    long = frame.rename_axis("lead_id").reset_index().melt(
        id_vars="lead_id", var_name="attribute", value_name="value").dropna()  # fmt: skip
    long["value"] = long["value"].astype(str)
    long["value_number"] = pd.to_numeric(long["value"], errors="coerce")
    long["kind"] = "fit"
    day = pd.Timestamp("2026-01-10")
    tie = pd.util.hash_pandas_object(pd.Series(ids), index=False).to_numpy()
    decided = pd.DataFrame({"created_at": day - pd.Timedelta(days=30), "is_won": is_won,
                            "reached_sql": True, "decision_date": day,
                            "score_date": day - pd.Timedelta(days=1), "tie": tie},
                           index=ids).sort_values("tie").drop(columns="tie")  # fmt: skip
    events = read_seed(SEEDS / "event_weights.csv")["event_type"]
    decayed = pd.DataFrame(0.0, index=decided.index, columns=events)
    return CalibrationData(decided, decayed, decayed.astype(int), long, 50.0, date(2026, 2, 1))


def _draw(logit: np.ndarray, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).random(len(logit)) < 1 / (1 + np.exp(-logit))).astype(int)


def test_discovery_thresholds_levels_other_missing_and_no_identifiers():
    rng = np.random.default_rng(0)
    n = 2_000
    frame = pd.DataFrame({
        "visits": rng.integers(0, 100, n).astype(float),
        "plan": rng.choice(["a", "b", "c", "rare1", "rare2"], n, p=[0.4, 0.3, 0.27, 0.015, 0.015]),
        "email_id": [f"x{i}" for i in range(n)],
    })  # fmt: skip
    frame.loc[:299, "plan"] = np.nan
    data = _data(frame, np.zeros(n, dtype=int))
    found = discover(data.attributes, data.decided.index, _rules(), min_samples=30)
    signals = set(found["signal"])
    assert {"plan:a", "plan:b", "plan:c", "plan:other", "plan:missing"} <= signals
    assert set(found.loc[found["signal"] == "plan:other", "value"]) == {"rare1", "rare2"}
    thresholds = found[found["attribute"] == "visits"]
    assert 5 <= len(thresholds) <= 9 and (thresholds["transform"] == "between").all()
    assert thresholds["max_value"].isna().all() and thresholds["min_value"].is_monotonic_increasing
    assert not (found["attribute"] == "email_id").any()  # an identifier is no signal


def test_each_transform_matches_as_documented():
    attributes = pd.DataFrame({
        "lead_id": ["a", "a", "b", "c"], "attribute": ["plan", "visits", "plan", "visits"],
        "value": ["pro", "12", "free", "3"], "value_number": [np.nan, 12.0, np.nan, 3.0],
    })  # fmt: skip
    rules = pd.DataFrame({
        "signal": ["plan:paid", "plan:paid", "visits>=10", "visits:few", "plan:missing",
                   "visits:present"],
        "attribute": ["plan", "plan", "visits", "visits", "plan", "visits"],
        "transform": ["equals", "equals", "between", "between", "missing", "present"],
        "value": ["pro", "team", "", "", "", ""],
        "min_value": [np.nan, np.nan, 10.0, np.nan, np.nan, np.nan],
        "max_value": [np.nan, np.nan, np.nan, 10.0, np.nan, np.nan],
    })  # fmt: skip
    matched = rule_matches(rules, attributes, pd.Index(["a", "b", "c"]))
    got = set(map(tuple, matched[["lead_id", "signal"]].to_numpy()))
    assert got == {
        ("a", "plan:paid"),
        ("a", "visits>=10"),
        ("a", "visits:present"),
        ("c", "visits:few"),
        ("c", "plan:missing"),
        ("c", "visits:present"),
    }


def test_correlated_factors_are_not_counted_twice():
    rng = np.random.default_rng(2)
    n = 6_000
    trial = rng.random(n) < 0.3
    frame = pd.DataFrame({"trial": np.where(trial, "yes", "no"),
                          "login": np.where(trial, "yes", "no"),  # always with the trial
                          "noise": rng.choice(["p", "q"], n)})  # fmt: skip
    data = _data(frame, _draw(-2.0 + 1.5 * trial))
    decisions, proposed, _ = propose(data, _rules(), CalibrationConfig())
    kept = decisions[decisions["status"] == "kept"]
    assert len(kept) == 1 and kept["attribute"].iloc[0] in {"trial", "login"}, kept
    copies = decisions[decisions["status"].str.startswith("dropped: the same leads as")]
    assert len(copies) == 3
    # the two copies share the weight of one factor: the points of a trial lead equal one
    # factor's worth, not two
    scores = score_leads(proposed, data.attributes, data.decayed)["lead_score"]
    gap = scores[trial].mean() - scores[~trial].mean()
    assert 0 < gap <= 31
    both = decisions[
        decisions["attribute"].isin(["trial", "login"]) & (decisions["source"] == "attribute")
    ]
    assert (both["lift_pp"].abs() > 10).all()  # each one's lift stays as its explanation


def test_a_model_of_penalties_alone_keeps_its_ranking_and_drops_the_floor():
    rng = np.random.default_rng(3)
    n = 6_000
    student = rng.random(n) < 0.3
    competitor = rng.random(n) < 0.2
    # flags a CRM sets only when true: the factors are the flags, the penalties negative
    frame = pd.DataFrame({"student": np.where(student, "yes", None),
                          "competitor": np.where(competitor, "yes", None)})  # fmt: skip
    is_won = _draw(-1.0 - 1.5 * student - 2.0 * competitor)
    data = _data(frame, is_won)
    decisions, proposed, _ = propose(data, _rules(floor=0.0), CalibrationConfig())
    kept = decisions[decisions["status"] == "kept"]
    assert set(kept["signal"]) == {"student:yes", "competitor:yes"}
    assert (kept["proposed_points"] < 0).all()
    assert proposed.score_floor is None
    scores = score_leads(proposed, data.attributes, data.decayed)["lead_score"]
    assert scores.nunique() >= 3
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(data.is_won, scores.reindex(data.decided.index)) > 0.65


def test_no_signal_is_reported_and_no_threshold_makes_everyone_ready():
    rng = np.random.default_rng(4)
    n = 4_000
    frame = pd.DataFrame({"colour": rng.choice(list("abcdefgh"), n),
                          "size": rng.integers(1, 500, n).astype(float)})  # fmt: skip
    data = _data(frame, (rng.random(n) < 0.4).astype(int))
    config = CalibrationConfig()
    backtest = run_backtest(data, _rules(), config, 250.0)
    decisions, proposed, _ = propose(data, _rules(), config)
    assert judge_signal(backtest, decisions)
    scores = score_leads(proposed, data.attributes, data.decayed)
    choice, _ = recommend_threshold(scores, data.is_won, 50.0, proposed, config, 250.0)
    assert choice.sdr_ready_share < 1


def test_ties_rank_as_ties_in_the_decile_lift():
    is_won = pd.Series([1, 0, 0, 0] * 50)
    table = decile_lift(is_won, pd.Series(7.0, index=is_won.index))
    assert len(table) == 1 and table["lift"].iloc[0] == pytest.approx(1.0)
    assert table["leads"].sum() == len(is_won)
