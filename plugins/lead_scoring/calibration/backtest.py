"""Backtest: current rules vs proposed rules vs the challenger on a time split.

Calibration is repeated on the earlier decisions only (train); the later decisions (test)
are scored point in time with the current rules at the current threshold, with the rules
calibrated on train at the threshold recommended on train, and with the challenger fitted
on train. Side by side: ROC AUC, close rate and weekly volume of the SDR-ready leads,
the profile-only and bad-fit/low-pain shares, and the lift of each score decile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from lead_scoring.calibration import challenger
from lead_scoring.calibration.config import CalibrationConfig, CalibrationError
from lead_scoring.calibration.dataset import CalibrationData
from lead_scoring.calibration.lift import rule_lifts
from lead_scoring.calibration.propose import propose_points, proposed_rules
from lead_scoring.calibration.rules import Rules
from lead_scoring.calibration.scoring import score_leads
from lead_scoring.calibration.threshold import describe_threshold, recommend_threshold


@dataclass(frozen=True)
class Backtest:
    metrics: pd.DataFrame  # one row per model (current, proposed, challenger)
    deciles: pd.DataFrame  # model, decile (10 = highest scores), leads, won, close_rate, lift
    test_scores: pd.DataFrame  # lead_id x current/proposed/challenger score + is_won
    train_period: tuple[str, str]
    test_period: tuple[str, str]


def auc(is_won: pd.Series, score: pd.Series) -> float:
    y = is_won.reindex(score.index)
    return float(roc_auc_score(y, score)) if y.nunique() == 2 else float("nan")


def decile_lift(is_won: pd.Series, score: pd.Series) -> pd.DataFrame:
    """Leads cut into ten equal groups by score (ties by lead order): close rate and its
    ratio to the overall close rate."""
    ranks = score.rank(method="first")
    decile = pd.qcut(ranks, 10, labels=range(1, 11)).astype(int)
    won = is_won.reindex(score.index)
    table = won.groupby(decile).agg(leads="size", won="sum").reset_index(names="decile")
    table["close_rate"] = table["won"] / table["leads"]
    overall = won.mean()
    table["lift"] = table["close_rate"] / overall if overall else np.nan
    return table


def _period(data: CalibrationData) -> tuple[str, str]:
    dates = data.decided["decision_date"]
    return dates.min().date().isoformat(), dates.max().date().isoformat()


def run_backtest(data: CalibrationData, rules: Rules, config: CalibrationConfig) -> Backtest:
    train, test = data.time_split(config.test_share)
    if train.is_won.nunique() < 2 or test.is_won.nunique() < 2:
        raise CalibrationError(
            "backtest: the training or the test period has no won (or no lost) lead;"
            " lower test_share or wait for more outcomes"
        )
    decisions = propose_points(rule_lifts(train.signals, train.is_won, rules), config)
    train_rules = proposed_rules(rules, decisions)
    train_scores = score_leads(train_rules, train.fit_signals, train.decayed)
    chosen, _ = recommend_threshold(train_scores, train.is_won, data.leads_per_week,
                                    train_rules, config)  # fmt: skip
    model = challenger.fit_challenger(features(train, rules), train.is_won)
    test_features = features(test, rules)
    scored = {
        "current": (score_leads(rules, test.fit_signals, test.decayed), rules.threshold, rules),
        "proposed": (score_leads(train_rules, test.fit_signals, test.decayed),
                     chosen.threshold, train_rules),
    }  # fmt: skip
    rows, deciles, columns = [], [], {}
    for name, (scores, threshold, model_rules) in scored.items():
        at = describe_threshold(scores, test.is_won, threshold, data.leads_per_week, model_rules)
        rows.append({"model": name, "auc": auc(test.is_won, scores["lead_score"]),
                     **{k: v for k, v in at.as_dict().items() if k != "status"}})  # fmt: skip
        deciles.append(decile_lift(test.is_won, scores["lead_score"]).assign(model=name))
        columns[name] = scores["lead_score"]
    probability = challenger.predict(model, test_features)
    rows.append({"model": "challenger", "auc": auc(test.is_won, probability)})
    deciles.append(decile_lift(test.is_won, probability).assign(model="challenger"))
    columns["challenger"] = probability
    test_scores = pd.DataFrame(columns).assign(is_won=test.is_won)
    return Backtest(pd.DataFrame(rows), pd.concat(deciles, ignore_index=True), test_scores,
                    _period(train), _period(test))  # fmt: skip


def features(data: CalibrationData, rules: Rules) -> pd.DataFrame:
    """The challenger's features: the points model's signals (every event type and every
    profile signal a fit rule can score)."""
    fit = data.signals.reindex(columns=rules.fit_table()["signal"], fill_value=0)
    return challenger.challenger_features(data.decayed, fit)
