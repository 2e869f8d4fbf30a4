"""The points formula of the dbt models, in pandas, for any rules and any score dates.

A signal rule (signal_rules.csv, docs/signals.md) matches a lead's attribute by its
transform: ``equals`` (the value; several rows of one signal make an in-list), ``between``
(min_value <= the value as a number < max_value, an empty bound open), ``present``,
``missing``. Then

fit_score  = sum of the points of the matched fit rules;
pain_score = the matched pain rules' points + the sum over event types of
             cap(points * decayed count, max_points), the cap on the absolute value and
             applied after the sum (empty max_points: no cap);
lead_score = fit_score + pain_score, raised to the score floor var when one is set.

tests/plugins/calibration/test_scoring_consistency.py proves this reproduces
marts.lead_scores for the as-of date of a dbt build, so the two cannot drift apart.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from lead_scoring.calibration.rules import Rules


def rule_matches(rules: pd.DataFrame, attributes: pd.DataFrame, lead_ids: pd.Index) -> pd.DataFrame:
    """lead_id, signal: every (lead, signal) whose rule matches one of the lead's attributes.
    ``rules``: signal, attribute, transform, value, min_value, max_value (numbers or NaN);
    ``attributes``: lead_id, attribute, value, value_number."""
    known = attributes[attributes["lead_id"].isin(lead_ids)]
    by = rules.groupby("transform")
    parts = [pd.DataFrame({"lead_id": pd.Series(dtype=str), "signal": pd.Series(dtype=str)})]
    if "equals" in by.groups:
        equals = by.get_group("equals")[["signal", "attribute", "value"]]
        parts.append(equals.merge(known, on=["attribute", "value"]))
    if "between" in by.groups:
        between = by.get_group("between")[["signal", "attribute", "min_value", "max_value"]]
        pairs = between.merge(known[known["value_number"].notna()], on="attribute")
        number = pairs["value_number"]
        inside = (pairs["min_value"].isna() | (number >= pairs["min_value"])) & (
            pairs["max_value"].isna() | (number < pairs["max_value"])
        )
        parts.append(pairs[inside])
    if "present" in by.groups:
        parts.append(by.get_group("present")[["signal", "attribute"]].merge(known, on="attribute"))
    if "missing" in by.groups:
        missing = by.get_group("missing")[["signal", "attribute"]]
        every = pd.MultiIndex.from_product([lead_ids, missing.index], names=["lead_id", "row"])
        pairs = every.to_frame(index=False).merge(missing, left_on="row", right_index=True)
        had = pd.MultiIndex.from_frame(known[["lead_id", "attribute"]])
        parts.append(pairs[~pd.MultiIndex.from_frame(pairs[["lead_id", "attribute"]]).isin(had)])
    matched = pd.concat([p[["lead_id", "signal"]] for p in parts], ignore_index=True)
    return matched.drop_duplicates(ignore_index=True)


def signal_matrix(
    rules: pd.DataFrame, attributes: pd.DataFrame, lead_ids: pd.Index
) -> pd.DataFrame:
    """0/1 per lead (rows, ``lead_ids``) and signal of ``rules`` (columns, in rule order)."""
    matched = rule_matches(rules, attributes, lead_ids)
    matrix = pd.crosstab(matched["lead_id"], matched["signal"]).clip(upper=1)
    columns = rules["signal"].drop_duplicates()
    return matrix.reindex(index=lead_ids, columns=columns, fill_value=0).astype(np.int8)


def attribute_scores(rules: Rules, attributes: pd.DataFrame, lead_ids: pd.Index) -> pd.DataFrame:
    """fit and pain points per lead of ``lead_ids`` from the signal rules."""
    table = rules.signal_table()
    matched = rule_matches(table, attributes, lead_ids)
    per_signal = table.drop_duplicates("signal").set_index("signal")[["kind", "points"]]
    matched = matched.join(per_signal, on="signal")
    sums = matched.pivot_table(index="lead_id", columns="kind", values="points", aggfunc="sum")
    return sums.reindex(index=lead_ids, columns=["fit", "pain"]).fillna(0.0)


def event_points(rules: Rules, decayed: pd.DataFrame) -> pd.DataFrame:
    """Capped points per lead (rows) and event type (columns)."""
    table = rules.event_table().set_index("event_type").reindex(decayed.columns)
    raw = decayed.to_numpy() * table["points"].fillna(0.0).to_numpy()
    cap = table["max_points"].to_numpy(dtype=float)
    capped = np.where(np.isnan(cap), raw, np.sign(raw) * np.minimum(np.abs(raw), cap))
    return pd.DataFrame(capped, index=decayed.index, columns=decayed.columns)


def score_leads(rules: Rules, attributes: pd.DataFrame, decayed: pd.DataFrame) -> pd.DataFrame:
    """fit_score, pain_score, lead_score per lead of ``decayed`` (its index: lead_id)."""
    by_kind = attribute_scores(rules, attributes, decayed.index)
    fit = by_kind["fit"]
    pain = by_kind["pain"] + event_points(rules, decayed).sum(axis=1)
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
