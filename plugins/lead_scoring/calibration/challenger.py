"""The predictive challenger: a logistic regression on every candidate factor.

Features, all point in time: the calibration's candidate factors (``fit.design``: a 0/1
column per candidate attribute rule, the capped decayed count per event type), not only
the chosen ones. It is reported beside the points model; with ``--mode challenger`` its
close probabilities for today's leads are written to ``calibration.challenger_scores``
(the points model stays the one that is synced).
"""

from __future__ import annotations

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

SCHEMA, TABLE = "calibration", "challenger_scores"


def fit_challenger(features: pd.DataFrame, is_won: pd.Series) -> Pipeline:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    return model.fit(features.to_numpy(dtype=float), is_won.reindex(features.index).to_numpy())


def predict(model: Pipeline, features: pd.DataFrame) -> pd.Series:
    return pd.Series(model.predict_proba(features.to_numpy(dtype=float))[:, 1],
                     index=features.index, name="close_probability")  # fmt: skip


def coefficients(model: Pipeline, columns: pd.Index) -> pd.DataFrame:
    """Standardised coefficients, strongest first (what the challenger relies on)."""
    coef = model[-1].coef_[0]
    table = pd.DataFrame({"feature": columns, "coefficient": coef})
    return table.reindex(table["coefficient"].abs().sort_values(ascending=False).index)
