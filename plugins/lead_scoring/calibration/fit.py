"""From outcomes to points: factors chosen on an L1 path, points fitted jointly.

1. Candidates: every rule ``candidates.discover`` finds (attribute values, numeric
   thresholds, missing values, the rules in force) as 0/1 columns, and every event type
   that is not a trivial action as its decayed count, capped where its seed caps it
   (points x decayed count, capped at max_points, is points x min(decayed count, cap)).
2. The lift floor: a candidate is eligible when at least ``min_samples`` leads have it and
   as many lack it, and its lift (close rate with minus without) is at least
   ``min_lift_points`` percentage points either way; a penalty event (careers page,
   unsubscribe, bounce) whose whole 95% interval is below 0 is eligible however small
   its lift (negative scoring is required). Engagement events with a negative lift and
   penalty events with a positive one are not eligible (their category says otherwise:
   review it).
3. Selection: an L1-penalised logistic regression over the eligible candidates
   (standardised), its penalty relaxed step by step; the factors are those of the last
   step with at most ``max_factors`` non-zero weights (every eligible candidate when
   there are no more than that).
4. Points: a plain logistic regression refitted on the chosen factors; its weights scaled
   so the strongest is worth ``POINTS_SCALE`` points, rounded to whole points. Events
   whose weight comes out against their category are dropped and the rest refitted.
   Each factor's lift stays in the table as its explanation; the points come from the
   joint fit, so correlated factors are not counted twice. When the weights break the
   seed rule that product engagement outweighs marketing engagement, the regression is
   refitted with that rule as a constraint (``product_first``).
5. Seed rules: trivial actions stay at 0; a penalty event that is not chosen gets -1,
   the least penalty (the seed tests demand negative points for them); should rounding
   still break the product rule, the largest marketing points are lowered until it holds.
6. The score floor: when the proposed points put a decided lead under the floor var, the
   proposal drops the floor (null): a floor would tie every lead under it, and a model of
   penalties alone would score every lead the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import l1_min_c

from lead_scoring.calibration.candidates import discover
from lead_scoring.calibration.config import CalibrationConfig
from lead_scoring.calibration.lift import signal_lifts
from lead_scoring.calibration.rules import Rules, format_points
from lead_scoring.calibration.scoring import score_leads, signal_matrix

POINTS_SCALE = 30  # the strongest factor's points (domain: integers in -30..30 lose ~nothing)
POINTS_RANGE = (-100, 100)
MAX_CAP = 500
PATH_STEPS = 30
PATH_ROWS = 60_000  # the L1 path runs on a sample this large at most (seeded)
EVENT = "event:"
ENGAGEMENT = ("product_engagement", "marketing_engagement")


@dataclass(frozen=True)
class Design:
    """The candidate factors of a set of leads: ``rules`` (candidate rule rows, in the
    format of signal_rules.csv) and ``matrix`` (lead x factor: 0/1 per attribute signal,
    capped decayed count per event type, column ``event:<type>``)."""

    rules: pd.DataFrame
    matrix: pd.DataFrame


def event_caps(rules: Rules) -> pd.Series:
    """Per event type that is not trivial: the decayed count its cap allows (inf: none)."""
    table = rules.event_table().set_index("event_type")
    table = table[table["signal_category"] != "trivial"]
    points = table["points"].abs().replace(0, np.nan)
    return (table["max_points"] / points).fillna(np.inf)


def design(candidate_rules: pd.DataFrame, rules: Rules, attributes: pd.DataFrame,
           decayed: pd.DataFrame) -> Design:  # fmt: skip
    """The factor matrix of the leads of ``decayed`` (its index)."""
    caps = event_caps(rules)
    events = decayed.reindex(columns=caps.index, fill_value=0.0).clip(upper=caps, axis=1)
    matrix = pd.concat(
        [signal_matrix(candidate_rules, attributes, decayed.index).astype(float),
         events.add_prefix(EVENT)], axis=1,
    )  # fmt: skip
    return Design(candidate_rules, matrix)


def _catalogue(candidate_rules: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """One row per factor: signal, attribute, transform, kind, category, source,
    current_points."""
    current = rules.signal_table().drop_duplicates("signal").set_index("signal")["points"]
    signals = candidate_rules.drop_duplicates("signal")
    events = rules.event_table().merge(
        rules.event_weights[["event_type", "event_source"]], on="event_type"
    )
    events = events[events["signal_category"] != "trivial"]
    return pd.concat([
        pd.DataFrame({"signal": signals["signal"], "attribute": signals["attribute"],
                      "transform": signals["transform"], "kind": signals["kind"],
                      "category": signals["kind"], "source": "attribute",
                      "current_points": signals["signal"].map(current).fillna(0.0)}),
        pd.DataFrame({"signal": EVENT + events["event_type"], "attribute": events["event_type"],
                      "transform": "decayed count", "kind": "pain",
                      "category": events["signal_category"], "source": events["event_source"],
                      "current_points": events["points"]}),
    ], ignore_index=True)  # fmt: skip


def _eligible(row, config: CalibrationConfig) -> str | None:
    """Why a factor is not eligible (None: it is)."""
    if min(row["n_with"], row["n_without"]) < config.min_samples:
        return f"dropped: too few samples (fewer than {config.min_samples})"
    lift = row["lift_pp"]
    if row["category"] == "negative" and row["ci_high_pp"] < 0:
        return None  # a clear penalty, however small: sized by the data, never floored
    if np.isnan(lift) or abs(lift) < config.min_lift_points:
        return f"dropped: lift under {format_points(config.min_lift_points)} points"
    if row["category"] in ENGAGEMENT and lift < 0:
        return "dropped: negative lift for an engagement signal (review its category)"
    if row["category"] == "negative" and lift > 0:
        return "dropped: positive lift for a penalty signal (review its category)"
    return None


def same_as_earlier(matrix: pd.DataFrame) -> dict[str, str]:
    """Factors that hold exactly the leads of an earlier one, or exactly the others (a
    yes/no attribute's two values; a field copied into another): factor -> the earlier one.
    Only the first of each such group is a candidate of the joint fit."""
    seen: dict[bytes, str] = {}
    same = {}
    for name in matrix.columns:
        column = matrix[name].to_numpy()
        if not np.isin(column, (0.0, 1.0)).all():
            continue
        keys = (column.astype(np.int8).tobytes(), (1 - column).astype(np.int8).tobytes())
        earlier = next((seen[k] for k in keys if k in seen), None)
        if earlier is None:
            seen[keys[0]] = name
        else:
            same[name] = earlier
    return same


def l1_path(matrix: pd.DataFrame, is_won: pd.Series, max_factors: int) -> list[str]:
    """The factors of the last L1 step with at most ``max_factors`` non-zero weights (all
    of them when there are no more than that)."""
    if matrix.shape[1] <= max_factors:
        return list(matrix.columns)  # no choice to make: the refit weighs them all
    sample = matrix
    if len(matrix) > PATH_ROWS:
        sample = matrix.sample(PATH_ROWS, random_state=0)
    y = is_won.reindex(sample.index).to_numpy()
    x = StandardScaler().fit_transform(sample.to_numpy(dtype=float))
    x = np.nan_to_num(x)
    chosen: list[str] = []
    for c in l1_min_c(x, y, loss="log") * np.logspace(0.05, 3, PATH_STEPS):
        model = LogisticRegression(l1_ratio=1.0, solver="liblinear", C=c, max_iter=500)
        weights = model.fit(x, y).coef_[0]
        nonzero = [name for name, w in zip(matrix.columns, weights, strict=True) if w != 0]
        if len(nonzero) > max_factors:
            break
        chosen = nonzero
    return chosen


def refit(matrix: pd.DataFrame, is_won: pd.Series) -> pd.Series:
    """A plain logistic regression on ``matrix``: its weight per column."""
    model = LogisticRegression(max_iter=2000)
    model.fit(matrix.to_numpy(dtype=float), is_won.reindex(matrix.index).to_numpy())
    return pd.Series(model.coef_[0], index=matrix.columns)


def _joint_weights(matrix: pd.DataFrame, is_won: pd.Series, chosen: list[str],
                   category: pd.Series) -> tuple[pd.Series, dict[str, str]]:  # fmt: skip
    """Refitted weights of ``chosen``; events whose weight contradicts their category are
    dropped and the rest refitted (dropped factor -> status)."""
    dropped: dict[str, str] = {}
    while chosen:
        weights = refit(matrix[chosen], is_won)
        against = [f for f in chosen if f.startswith(EVENT) and (
            (category[f] in ENGAGEMENT and weights[f] < 0)
            or (category[f] == "negative" and weights[f] > 0))]  # fmt: skip
        if not against:
            return weights, dropped
        for factor in against:
            dropped[factor] = "dropped: its joint weight contradicts its category"
        chosen = [f for f in chosen if f not in against]
    return pd.Series(dtype=float), dropped


def product_first(matrix: pd.DataFrame, is_won: pd.Series, weights: pd.Series,
                  source: pd.Series) -> pd.Series:  # fmt: skip
    """``weights`` refitted under the seed rule that product engagement outweighs marketing
    engagement (the strongest and the average positive product event weigh at least as
    much as their marketing counterparts; a tie left by rounding is broken afterwards by
    ``product_outweighs_marketing``), when the free fit breaks it: one logistic
    regression with those linear constraints (scipy's SLSQP), so the other factors take
    up what the rule moves instead of the marketing points being cut after the fit."""
    product = [f for f in weights.index if source[f] == "product" and weights[f] > 0]
    marketing = [f for f in weights.index if source[f] == "marketing" and weights[f] > 0]
    if not product or not marketing:
        return weights
    top = max(product, key=lambda f: weights[f])
    if (weights[marketing].max() < weights[top]
            and weights[product].mean() > weights[marketing].mean()):  # fmt: skip
        return weights
    x = matrix[weights.index].to_numpy(dtype=float)
    y = is_won.reindex(matrix.index).to_numpy(dtype=float)
    n, at = len(y), {f: i for i, f in enumerate(weights.index)}

    def loss(theta):
        z = x @ theta[:-1] + theta[-1]
        return (np.logaddexp(0, z) - y * z).sum() / n + theta[:-1] @ theta[:-1] / (2 * n)

    def gradient(theta):
        residual = expit(x @ theta[:-1] + theta[-1]) - y
        return np.append((x.T @ residual + theta[:-1]) / n, residual.sum() / n)

    def row(pairs):  # a linear form over the weights (the intercept has none)
        vector = np.zeros(len(at) + 1)
        for factor, coefficient in pairs:
            vector[at[factor]] += coefficient
        return vector

    forms = [row([(top, 1), (m, -1)]) for m in marketing]
    forms.append(row([(p, 1 / len(product)) for p in product]
                     + [(m, -1 / len(marketing)) for m in marketing]))  # fmt: skip
    constraints = [{"type": "ineq", "fun": lambda t, a=a: a @ t, "jac": lambda t, a=a: a}
                   for a in forms]  # fmt: skip
    bounds = [(0, None) if f in product or f in marketing else (None, None)
              for f in weights.index] + [(None, None)]  # fmt: skip
    start = np.append(weights.to_numpy(), np.log(y.mean() / (1 - y.mean())))
    result = minimize(loss, start, jac=gradient, bounds=bounds, constraints=constraints,
                      method="SLSQP", options={"maxiter": 500})  # fmt: skip
    return pd.Series(result.x[:-1], index=weights.index)


def propose(data, rules: Rules, config: CalibrationConfig) -> tuple[pd.DataFrame, Rules, Design]:
    """(decisions: one row per candidate factor with its lift, weight, current and proposed
    points and status; the proposed rules; the candidate design) for the decided leads of
    ``data`` (a CalibrationData)."""
    candidate_rules = discover(data.attributes, data.decided.index, rules, config.min_samples)
    factors = design(candidate_rules, rules, data.attributes, data.decayed)
    table = _catalogue(candidate_rules, rules)
    lifts = signal_lifts((factors.matrix > 0).astype(np.int8), data.is_won)
    table = table.merge(lifts, on="signal", how="left")
    table["status"] = [_eligible(row, config) for _, row in table.iterrows()]
    eligible = table.loc[table["status"].isna(), "signal"].tolist()
    same = same_as_earlier(factors.matrix[eligible])
    for factor, earlier in same.items():
        table.loc[table["signal"] == factor, "status"] = f"dropped: the same leads as {earlier}"
    eligible = [f for f in eligible if f not in same]
    chosen = l1_path(factors.matrix[eligible], data.is_won, config.max_factors)
    table.loc[table["signal"].isin(eligible) & ~table["signal"].isin(chosen), "status"] = (
        f"dropped: not among the factors chosen jointly (at most {config.max_factors})"
    )
    category = table.set_index("signal")["category"]
    weights, dropped = _joint_weights(factors.matrix, data.is_won, chosen, category)
    weights = product_first(factors.matrix, data.is_won, weights,
                            table.set_index("signal")["source"])  # fmt: skip
    for factor, status in dropped.items():
        table.loc[table["signal"] == factor, "status"] = status
    scale = POINTS_SCALE / weights.abs().max() if len(weights) and weights.abs().max() else 0.0
    points = (weights * scale).round().clip(*POINTS_RANGE)
    table["weight"] = table["signal"].map(weights)
    table["proposed_points"] = table["signal"].map(points).fillna(0.0)
    zero = table["signal"].isin(weights.index) & (table["proposed_points"] == 0)
    table.loc[zero, "status"] = "dropped: its joint weight rounds to 0 points"
    table.loc[table["proposed_points"] != 0, "status"] = "kept"
    penalty = (table["category"] == "negative") & (table["proposed_points"] == 0)
    table.loc[penalty, "proposed_points"] = -1.0
    table.loc[penalty, "status"] += "; -1, the least penalty (penalty events stay negative)"
    table = product_outweighs_marketing(table)
    proposed = proposed_rules(rules, table, candidate_rules)
    if rules.score_floor is not None:
        unfloored = score_leads(proposed.with_floor(None), data.attributes, data.decayed)
        if (unfloored["lead_score"] < rules.score_floor).any():
            proposed = proposed.with_floor(None)  # a floor would tie the leads under it
    return table, proposed, factors


def product_outweighs_marketing(table: pd.DataFrame) -> pd.DataFrame:
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


def _bound(value: float) -> str:
    return "" if pd.isna(value) else format_points(value)


def proposed_rules(rules: Rules, decisions: pd.DataFrame, candidate_rules: pd.DataFrame) -> Rules:
    """signal_rules: every row of each attribute signal with points; event_weights: the
    current rows with the proposed points and their caps (the same number of events)."""
    points = decisions.set_index("signal")["proposed_points"]
    kept = candidate_rules[candidate_rules["signal"].map(points).fillna(0) != 0].copy()
    kept["points"] = kept["signal"].map(points).map(format_points)
    for column in ("min_value", "max_value"):
        kept[column] = kept[column].map(_bound)
    kept = kept.fillna("").astype(str).reset_index(drop=True)
    events = rules.event_weights.copy()
    caps = event_caps(rules)
    for i, row in events.iterrows():
        new = float(points.get(EVENT + row["event_type"], 0.0))
        events.at[i, "points"] = format_points(new)
        cap = caps.get(row["event_type"], np.inf)
        if new != 0:  # a cap the seed did not give (points 0, cap empty) stays open
            capped = np.isfinite(cap)
            events.at[i, "max_points"] = (
                format_points(min(round(abs(new) * cap), MAX_CAP)) if capped else ""
            )
    return replace(rules, event_weights=events, signal_rules=kept)


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
    signals = rules.signal_table()
    outside = signals[(signals["points"] < POINTS_RANGE[0]) | (signals["points"] > POINTS_RANGE[1])]
    problems += [f"signal_rules {s}: points outside -100..100" for s in outside["signal"].unique()]
    return problems
