"""Backtest: current rules vs proposed rules vs the challenger on a time split.

Calibration is repeated on the earlier decisions only (train); the later decisions (test)
are scored point in time with the current rules at the current threshold, with the rules
calibrated on train at the threshold recommended on train, and with the challenger fitted
on train (same candidate factors). Side by side: ROC AUC with its 95% interval, close rate
and weekly volume of the SDR-ready leads, the profile-only and bad-fit/low-pain shares,
and the lift of each score decile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from lead_scoring.calibration import challenger
from lead_scoring.calibration.config import CalibrationConfig, CalibrationError
from lead_scoring.calibration.dataset import CalibrationData
from lead_scoring.calibration.fit import design, propose
from lead_scoring.calibration.rules import Rules
from lead_scoring.calibration.scoring import score_leads
from lead_scoring.calibration.threshold import describe_threshold, recommend_threshold

Z95 = 1.96


@dataclass(frozen=True)
class Backtest:
    metrics: pd.DataFrame  # one row per model (current, proposed, challenger)
    deciles: pd.DataFrame  # model, decile (10 = highest scores), leads, won, close_rate, lift
    test_scores: pd.DataFrame  # lead_id x current/proposed/challenger score + is_won
    split: pd.DataFrame  # lead_id, split (train / test), is_won
    train_period: tuple[str, str]
    test_period: tuple[str, str]


def auc(is_won: pd.Series, score: pd.Series) -> float:
    y = is_won.reindex(score.index)
    return float(roc_auc_score(y, score)) if y.nunique() == 2 else float("nan")


def auc_interval(value: float, is_won: pd.Series) -> tuple[float, float]:
    """The 95% interval of an AUC (Hanley and McNeil's standard error)."""
    won = int(is_won.sum())
    lost = len(is_won) - won
    if np.isnan(value) or not won or not lost:
        return float("nan"), float("nan")
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    variance = (value * (1 - value) + (won - 1) * (q1 - value**2)
                + (lost - 1) * (q2 - value**2)) / (won * lost)  # fmt: skip
    half = Z95 * np.sqrt(max(variance, 0.0))
    return value - half, value + half


def decile_lift(is_won: pd.Series, score: pd.Series) -> pd.DataFrame:
    """Leads cut into ten groups by score, tied scores always in the same group (a group
    holds the leads ranked up to its tenth; with every score equal, all leads are in the
    top group and its lift is 1): close rate and its ratio to the overall close rate."""
    ranks = score.rank(method="max")
    decile = np.ceil(10 * ranks / len(score)).clip(1, 10).astype(int)
    won = is_won.reindex(score.index)
    table = won.groupby(decile).agg(leads="size", won="sum").reset_index(names="decile")
    table["close_rate"] = table["won"] / table["leads"]
    overall = won.mean()
    table["lift"] = table["close_rate"] / overall if overall else np.nan
    return table


def _period(data: CalibrationData) -> tuple[str, str]:
    dates = data.decided["decision_date"]
    return dates.min().date().isoformat(), dates.max().date().isoformat()


def run_backtest(
    data: CalibrationData, rules: Rules, config: CalibrationConfig, capacity_per_week: float
) -> Backtest:
    """Calibrate on the earlier decisions, test on the later ones; the proposed threshold is
    the one recommended for a team following up ``capacity_per_week`` leads a week."""
    train, test = data.time_split(config.test_share)
    if train.is_won.nunique() < 2 or test.is_won.nunique() < 2:
        raise CalibrationError(
            "backtest: the training or the test period has no won (or no lost) lead;"
            " lower test_share or wait for more outcomes"
        )
    _, train_rules, train_design = propose(train, rules, config)
    train_scores = score_leads(train_rules, train.attributes, train.decayed)
    chosen, _ = recommend_threshold(train_scores, train.is_won, data.leads_per_week,
                                    train_rules, config, capacity_per_week)  # fmt: skip
    model = challenger.fit_challenger(train_design.matrix, train.is_won)
    test_design = design(train_design.rules, rules, test.attributes, test.decayed)
    scored = {
        "current": (score_leads(rules, test.attributes, test.decayed), rules.threshold, rules),
        "proposed": (score_leads(train_rules, test.attributes, test.decayed),
                     chosen.threshold, train_rules),
    }  # fmt: skip
    rows, deciles, columns = [], [], {}
    for name, (scores, threshold, model_rules) in scored.items():
        at = describe_threshold(scores, test.is_won, threshold, data.leads_per_week, model_rules)
        value = auc(test.is_won, scores["lead_score"])
        low, high = auc_interval(value, test.is_won)
        rows.append({"model": name, "auc": value, "auc_low": low, "auc_high": high,
                     **{k: v for k, v in at.as_dict().items() if k != "status"}})  # fmt: skip
        deciles.append(decile_lift(test.is_won, scores["lead_score"]).assign(model=name))
        columns[name] = scores["lead_score"]
    probability = challenger.predict(model, test_design.matrix)
    value = auc(test.is_won, probability)
    low, high = auc_interval(value, test.is_won)
    rows.append({"model": "challenger", "auc": value, "auc_low": low, "auc_high": high})
    deciles.append(decile_lift(test.is_won, probability).assign(model="challenger"))
    columns["challenger"] = probability
    test_scores = pd.DataFrame(columns).assign(is_won=test.is_won)
    split = pd.concat([
        pd.DataFrame({"lead_id": train.decided.index, "split": "train",
                      "is_won": train.is_won.to_numpy()}),
        pd.DataFrame({"lead_id": test.decided.index, "split": "test",
                      "is_won": test.is_won.to_numpy()}),
    ], ignore_index=True)  # fmt: skip
    return Backtest(pd.DataFrame(rows), pd.concat(deciles, ignore_index=True), test_scores,
                    split, _period(train), _period(test))  # fmt: skip
