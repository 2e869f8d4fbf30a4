"""Candidate signals: every rule the calibration may propose, discovered from the attributes.

From every attribute the leads carry (built-in and custom, docs/signals.md), as rows in the
format of signal_rules.csv:

* a numeric attribute (nearly every value a number, more than a few distinct ones): one
  threshold rule per decile edge, ``attribute>=edge`` (``between`` with an open top), so a
  step function of any shape can be fitted from them;
* any other attribute: one ``equals`` rule per value held by at least ``min_samples``
  leads (the 40 most common at most); the rarer values grouped into one in-list rule,
  ``attribute:other``, when together they are that common;
* ``attribute:missing`` when enough leads have the attribute and enough have not;
* the rules of the current signal_rules.csv, so a rule in force is always judged too.

An attribute holding a different value for most leads (an id, a name, free text) gives no
candidate. Event types are candidates of their own (see ``fit``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lead_scoring.calibration.rules import SIGNAL_COLUMNS, Rules, format_points

NUMERIC_SHARE = 0.95  # an attribute is numeric when this share of its values are numbers
MIN_DISTINCT_NUMBERS = 6  # ... and it has more distinct ones than this (else: categories)
MAX_LEVELS = 40
MAX_LABEL = 60  # reason labels reps read (the seed's test)
IDENTIFIER_SHARE = 0.5  # distinct values above this share of the leads: an identifier
QUANTILES = np.linspace(0.1, 0.9, 9)


def _rule(signal, attribute, transform, kind, label, value="", min_value=np.nan,
          max_value=np.nan) -> dict:  # fmt: skip
    return {"signal": signal, "attribute": attribute, "transform": transform, "value": value,
            "min_value": min_value, "max_value": max_value, "kind": kind, "points": 0.0,
            "reason_label": label[:MAX_LABEL]}  # fmt: skip


def _numeric_rules(attribute: str, kind: str, numbers: pd.Series, leads: int,
                   min_samples: int) -> list[dict]:  # fmt: skip
    rules = []
    for edge in np.unique(np.quantile(numbers.to_numpy(), QUANTILES, method="lower")):
        at_least = int((numbers >= edge).sum())
        if min(at_least, leads - at_least) >= min_samples:
            text = format_points(edge)
            rules.append(_rule(f"{attribute}>={text}", attribute, "between", kind,
                               f"{attribute} {text} or more", min_value=float(edge)))  # fmt: skip
    return rules


def _category_rules(attribute: str, kind: str, values: pd.Series, leads: int,
                    min_samples: int) -> list[dict]:  # fmt: skip
    counts = values.value_counts()
    common = counts[(counts >= min_samples) & (leads - counts >= min_samples)].head(MAX_LEVELS)
    rules = [_rule(f"{attribute}:{value}", attribute, "equals", kind, f"{attribute} {value}",
                   value=value) for value in common.index]  # fmt: skip
    rare = counts[~counts.index.isin(common.index)]
    if min(rare.sum(), leads - rare.sum()) >= min_samples and len(rare) > 0:
        signal = f"{attribute}:other"
        rules += [_rule(signal, attribute, "equals", kind, f"{attribute} other values",
                        value=value) for value in rare.index]  # fmt: skip
    return rules


def discover(attributes: pd.DataFrame, lead_ids: pd.Index, rules: Rules,
             min_samples: int) -> pd.DataFrame:  # fmt: skip
    """Candidate rules (SIGNAL_COLUMNS, points 0) for the leads of ``lead_ids``."""
    known = attributes[attributes["lead_id"].isin(lead_ids)]
    leads = len(lead_ids)
    found: list[dict] = []
    for attribute, rows in known.groupby("attribute", sort=True):
        values = rows.drop_duplicates("lead_id")
        kind = values["kind"].mode().iloc[0]
        numbers = values["value_number"].dropna()
        distinct = values["value"].nunique()
        if distinct > IDENTIFIER_SHARE * leads and len(numbers) < NUMERIC_SHARE * len(values):
            continue
        if (len(numbers) >= NUMERIC_SHARE * len(values)
                and numbers.nunique() > MIN_DISTINCT_NUMBERS):  # fmt: skip
            found += _numeric_rules(attribute, kind, numbers, leads, min_samples)
        else:
            found += _category_rules(attribute, kind, values["value"], leads, min_samples)
        if min(len(values), leads - len(values)) >= min_samples:
            found.append(_rule(f"{attribute}:missing", attribute, "missing", kind,
                               f"no {attribute}"))  # fmt: skip
    current = rules.signal_table()
    candidates = pd.concat([current.assign(points=0.0),
                            pd.DataFrame(found, columns=list(SIGNAL_COLUMNS))],
                           ignore_index=True)  # fmt: skip
    # a current rule keeps its own rows and label; a discovered one of the same name yields
    in_force = candidates["signal"].isin(current["signal"]) & (candidates.index >= len(current))
    return candidates[~in_force].reset_index(drop=True)
