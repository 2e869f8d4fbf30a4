"""From lifts to proposed points: the policy, one status per signal.

* points = the lift in percentage points, rounded (domain: +25 pp of close probability is
  worth 25 points). For an event type the lift is that of having done it at least once;
  its cap (max_points) is scaled with its points, so the cap stays worth as many events.
* dropped (0 points): lift under ``min_lift_points`` in absolute value, fewer than
  ``min_samples`` leads with (or without) the signal, or beyond the ``max_factors``
  strongest signals (the negative signals, always kept, count towards that limit);
* trivial actions (opens, clicks, page views) stay at 0 whatever their lift: they are
  curiosity, not pain; a positive-category event with a negative lift is dropped (its
  category says it is engagement: review it);
* negative signals (careers page, unsubscribe, bounce) must stay negative (the seed tests
  require it): they take their measured lift, at least 1 point, when it is a clear penalty
  (enough samples and the whole 95% interval below 0, however small the lift: a penalty is
  never dropped, so it is sized by the data like any other signal), and otherwise keep
  their current points;
* product engagement must outweigh marketing engagement (a seed test, and the domain's
  "strongest signal"): when the lifts disagree, the largest marketing points are lowered
  one at a time until the strongest and the average product event weigh more.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from lead_scoring.calibration.config import CalibrationConfig
from lead_scoring.calibration.rules import Rules, format_points

POINTS_RANGE = (-100, 100)
MAX_CAP = 500


def _status(row, config: CalibrationConfig) -> tuple[float, str]:
    """(proposed points, status) for one signal before the factor limit."""
    lift, current = row["lift_pp"], row["current_points"]
    enough = min(row["n_with"], row["n_without"]) >= config.min_samples
    strong = enough and not np.isnan(lift) and abs(lift) >= config.min_lift_points
    category = row["category"]
    if category == "trivial":
        return 0.0, "dropped: trivial action (never scored)"
    if category == "negative":
        if enough and row["ci_high_pp"] < 0:
            return float(np.clip(min(round(lift), -1), *POINTS_RANGE)), "kept: measured penalty"
        return current, "kept current penalty: no clear measured penalty (interval reaches 0)"
    if not enough:
        return 0.0, f"dropped: too few samples (fewer than {config.min_samples})"
    if not strong:
        return 0.0, f"dropped: lift under {format_points(config.min_lift_points)} points"
    if category != "fit" and lift < 0:
        return 0.0, "dropped: negative lift for an engagement signal (review its category)"
    return float(np.clip(round(lift), *POINTS_RANGE)), "kept"


def propose_points(lifts: pd.DataFrame, config: CalibrationConfig) -> pd.DataFrame:
    """``lifts`` (signal, kind, category, current_points, lift statistics) with
    proposed_points and status; at most ``max_factors`` signals keep non-zero points."""
    table = lifts.copy()
    decided = [_status(row, config) for _, row in table.iterrows()]
    table["proposed_points"] = [points for points, _ in decided]
    table["status"] = [status for _, status in decided]
    required = (table["category"] == "negative") & (table["proposed_points"] != 0)
    scored = table[(table["proposed_points"] != 0) & ~required]
    strength = scored["lift_pp"].abs().fillna(0).sort_values(ascending=False, kind="stable")
    beyond = strength.index[max(config.max_factors - int(required.sum()), 0) :]
    table.loc[beyond, "proposed_points"] = 0.0
    table.loc[beyond, "status"] = f"dropped: beyond the {config.max_factors} strongest factors"
    return _product_outweighs_marketing(table)


def _product_outweighs_marketing(table: pd.DataFrame) -> pd.DataFrame:
    positive = table["proposed_points"] > 0
    product = table.index[positive & (table["source"] == "product")]
    if product.empty:
        return table
    lowered = set()
    while True:
        marketing = table.index[(table["proposed_points"] > 0) & (table["source"] == "marketing")]
        if marketing.empty:
            break
        points = table["proposed_points"]
        if points[product].max() > points[marketing].max() and (
            points[product].mean() > points[marketing].mean()
        ):
            break
        top = points[marketing].idxmax()
        table.loc[top, "proposed_points"] -= 1
        lowered.add(top)
    for i in lowered:
        table.loc[i, "status"] = (
            "lowered: product engagement must outweigh marketing (seed rule)"
            if table.loc[i, "proposed_points"] > 0
            else "dropped: product engagement must outweigh marketing (seed rule)"
        )
    return table


def proposed_rules(rules: Rules, decisions: pd.DataFrame) -> Rules:
    """``rules`` with the proposed points; caps scaled with the points; all else verbatim."""
    points = decisions.set_index("signal")["proposed_points"]
    events = rules.event_weights.copy()
    for i, row in events.iterrows():
        new = float(points.get(row["event_type"], float(row["points"])))
        old = float(row["points"])
        events.at[i, "points"] = format_points(new)
        if row["max_points"] != "" and old != 0 and new != 0:
            cap = min(abs(float(row["max_points"]) / old * new), MAX_CAP)
            events.at[i, "max_points"] = format_points(round(cap))
    fits = rules.fit_rules.copy()
    signal = fits["dimension"] + ":" + fits["dimension_value"]
    fits["points"] = [
        format_points(points.get(s, float(p))) for s, p in zip(signal, fits["points"], strict=True)
    ]
    return replace(rules, event_weights=events, fit_rules=fits)


def seed_rule_violations(rules: Rules) -> list[str]:
    """What in ``rules`` the dbt seed tests would reject (empty: nothing)."""
    events = rules.event_table()
    problems = []
    for _, row in events.iterrows():
        if not POINTS_RANGE[0] <= row["points"] <= POINTS_RANGE[1]:
            problems.append(f"event_weights {row['event_type']}: points outside -100..100")
        if (row["signal_category"] == "negative") != (row["points"] < 0):
            problems.append(
                f"event_weights {row['event_type']}: negative points exactly for negative signals"
            )
    positive = events[events["points"] > 0].groupby(
        rules.event_weights.loc[events.index, "event_source"]
    )["points"]
    if {"product", "marketing"} <= set(positive.groups):
        top, mean = positive.max(), positive.mean()
        if top["product"] <= top["marketing"] or mean["product"] <= mean["marketing"]:
            problems.append(
                "event_weights: product engagement must outweigh marketing engagement"
                " (seed test assert_product_engagement_outweighs_marketing)"
            )
    fits = rules.fit_table()
    outside = fits[(fits["points"] < POINTS_RANGE[0]) | (fits["points"] > POINTS_RANGE[1])]
    problems += [f"fit_rules {s}: points outside -100..100" for s in outside["signal"]]
    return problems
