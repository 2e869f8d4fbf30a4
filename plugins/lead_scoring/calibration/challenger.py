"""The predictive challenger: a logistic regression on the points model's own features.

Features, all point in time: log(1 + decayed count) per event type of event_weights and a
0/1 column per profile signal of fit_rules. It is reported beside the points model; with
``--mode challenger`` its close probabilities for today's leads are written to
``calibration.challenger_scores`` (the points model stays the one that is synced).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

SCHEMA, TABLE = "calibration", "challenger_scores"


def challenger_features(decayed: pd.DataFrame, fit_matrix: pd.DataFrame) -> pd.DataFrame:
    events = np.log1p(decayed.clip(lower=0)).add_prefix("event:")
    return pd.concat([events, fit_matrix.reindex(decayed.index, fill_value=0)], axis=1)


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
