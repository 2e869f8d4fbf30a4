"""Each signal's lift in close probability, with its sample size and a 95% interval.

lift = P(won | the lead had the signal by its score date) - P(won | it had not), in
percentage points; the interval is Newcombe's hybrid score interval for a difference of
two proportions, built from Wilson intervals (scipy) of each side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

Z_LEVEL = 0.95
COLUMNS = ["signal", "n_with", "won_with", "n_without", "won_without", "close_rate_with",
           "close_rate_without", "lift_pp", "ci_low_pp", "ci_high_pp"]  # fmt: skip


def _wilson(successes: int, trials: int) -> tuple[float, float]:
    if trials == 0:
        return 0.0, 1.0
    interval = binomtest(successes, trials).proportion_ci(Z_LEVEL, method="wilson")
    return float(interval.low), float(interval.high)


def signal_lifts(has_signal: pd.DataFrame, is_won: pd.Series) -> pd.DataFrame:
    """One row per column of ``has_signal`` (0/1 per lead): n_with, won_with, n_without,
    won_without, close_rate_with, close_rate_without, lift_pp, ci_low_pp, ci_high_pp."""
    won = is_won.reindex(has_signal.index).to_numpy(dtype=int)
    present = has_signal.to_numpy() > 0
    n_with = present.sum(axis=0)
    won_with = (present * won[:, None]).sum(axis=0)
    n_without = len(won) - n_with
    won_without = int(won.sum()) - won_with
    rows = []
    for i, signal in enumerate(has_signal.columns):
        a, n1, b, n2 = int(won_with[i]), int(n_with[i]), int(won_without[i]), int(n_without[i])
        p1 = a / n1 if n1 else np.nan
        p2 = b / n2 if n2 else np.nan
        (l1, u1), (l2, u2) = _wilson(a, n1), _wilson(b, n2)
        diff = p1 - p2
        low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        rows.append({
            "signal": signal, "n_with": n1, "won_with": a, "n_without": n2, "won_without": b,
            "close_rate_with": p1, "close_rate_without": p2,
            "lift_pp": 100 * diff, "ci_low_pp": 100 * low, "ci_high_pp": 100 * high,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
