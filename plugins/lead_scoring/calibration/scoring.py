"""The points formula of the dbt models, in pandas, for any rules and any score dates.

fit_score  = sum of fit_rules points of the lead's profile signals (no rule: 0 points);
pain_score = sum over event types of cap(points * decayed count, max_points), the cap on
             the absolute value and applied after the sum (empty max_points: no cap);
lead_score = fit_score + pain_score, raised to the score floor var when one is set.

tests/plugins/calibration/test_scoring_consistency.py proves this reproduces
marts.lead_scores for the as-of date of a dbt build, so the two cannot drift apart.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from lead_scoring.calibration.rules import Rules


def fit_scores(rules: Rules, fit_signals: pd.DataFrame, lead_ids: pd.Index) -> pd.Series:
    points = rules.fit_table().set_index("signal")["points"]
    known = fit_signals[fit_signals["lead_id"].isin(lead_ids)]
    per_signal = known["signal"].map(points).fillna(0.0)
    return per_signal.groupby(known["lead_id"]).sum().reindex(lead_ids, fill_value=0.0)


def event_points(rules: Rules, decayed: pd.DataFrame) -> pd.DataFrame:
    """Capped points per lead (rows) and event type (columns)."""
    table = rules.event_table().set_index("event_type").reindex(decayed.columns)
    raw = decayed.to_numpy() * table["points"].fillna(0.0).to_numpy()
    cap = table["max_points"].to_numpy(dtype=float)
    capped = np.where(np.isnan(cap), raw, np.sign(raw) * np.minimum(np.abs(raw), cap))
    return pd.DataFrame(capped, index=decayed.index, columns=decayed.columns)


def score_leads(rules: Rules, fit_signals: pd.DataFrame, decayed: pd.DataFrame) -> pd.DataFrame:
    """fit_score, pain_score, lead_score per lead of ``decayed`` (its index: lead_id)."""
    fit = fit_scores(rules, fit_signals, decayed.index)
    pain = event_points(rules, decayed).sum(axis=1)
    lead = fit + pain
    if rules.score_floor is not None:
        lead = lead.clip(lower=rules.score_floor)
    return pd.DataFrame({"fit_score": fit, "pain_score": pain, "lead_score": lead})


def as_points(values: pd.Series) -> pd.Series:
    """Round like the marts: to 6 decimals, then to 2, halves away from zero."""
    six, two = Decimal("0.000001"), Decimal("0.01")

    def one(value: float) -> float:
        exact = Decimal(repr(float(value))).quantize(six, rounding=ROUND_HALF_UP)
        return float(exact.quantize(two, rounding=ROUND_HALF_UP))

    return values.map(one)
