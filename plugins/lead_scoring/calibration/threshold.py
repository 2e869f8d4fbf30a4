"""The SDR-ready threshold: close rate in the target band, volume within SDR capacity.

For every candidate threshold the decided leads at or above it are the SDR-ready ones:
their close rate (won / SDR-ready) and their weekly volume (the SDR-ready share times the
leads created per week) trace the trade-off. The recommendation is the lowest threshold
(the most leads for sales) whose close rate is inside the band and whose volume the SDR
team can follow up within 48 hours (``capacity``: the roster's capacity times the measured
follow-up rate). When none is, the threshold that comes closest says
why: capacity-bound (raise it or hire) or band unreachable (the model cannot separate).
A threshold that every lead reaches is never recommended.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from lead_scoring.calibration.config import CalibrationConfig
from lead_scoring.calibration.rules import Rules

MAX_CANDIDATES = 400


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    status: str  # in_band | above_band_at_capacity | band_unreachable
    close_rate: float
    sdr_ready_leads: int
    sdr_ready_share: float
    volume_per_week: float
    profile_only_share: float  # leads SDR-ready on fit alone (target about 5%)
    bad_fit_low_pain_share: float  # of SDR-ready leads (should stay under 5%)

    def as_dict(self) -> dict:
        return asdict(self)


def tradeoff(scores: pd.DataFrame, is_won: pd.Series, leads_per_week: float) -> pd.DataFrame:
    """threshold, sdr_ready_leads, won, close_rate, share, volume_per_week per candidate."""
    lead_score = scores["lead_score"].to_numpy(dtype=float)
    won = is_won.reindex(scores.index).to_numpy(dtype=int)
    candidates = np.unique(np.floor(lead_score))
    if len(candidates) > MAX_CANDIDATES:
        candidates = np.unique(np.floor(np.quantile(lead_score, np.linspace(0, 1, MAX_CANDIDATES))))
    ready = lead_score[None, :] >= candidates[:, None]
    n_ready = ready.sum(axis=1)
    won_ready = (ready * won[None, :]).sum(axis=1)
    share = n_ready / max(len(lead_score), 1)
    return pd.DataFrame({
        "threshold": candidates,
        "sdr_ready_leads": n_ready,
        "won": won_ready,
        "close_rate": np.where(n_ready > 0, won_ready / np.maximum(n_ready, 1), np.nan),
        "share": share,
        "volume_per_week": share * leads_per_week,
    })  # fmt: skip


def choose_threshold(
    curve: pd.DataFrame, config: CalibrationConfig, capacity_per_week: float
) -> tuple[float | None, str]:
    """(threshold, status) on the trade-off ``curve`` for a team that follows up
    ``capacity_per_week`` SDR-ready leads a week within the SLA (None: no usable threshold)."""
    low, high = config.band
    # a threshold every lead reaches separates nothing: never recommended
    usable = curve[(curve["sdr_ready_leads"] >= config.min_samples) & (curve["share"] < 1)]
    if usable.empty:  # all scores (nearly) tied: no lead is SDR-ready
        return None, "band_unreachable"
    within = usable["volume_per_week"] <= capacity_per_week
    in_band = usable[within & usable["close_rate"].between(low, high)]
    if not in_band.empty:
        row, status = in_band.iloc[0], "in_band"
    elif (usable[within]["close_rate"] > high).any():
        row, status = usable[within].iloc[0], "above_band_at_capacity"
    else:
        pool = usable[within] if within.any() else usable.tail(1)
        distance = np.where(pool["close_rate"] < low, low - pool["close_rate"],
                            pool["close_rate"] - high)  # fmt: skip
        row, status = pool.iloc[int(np.argmin(distance))], "band_unreachable"
    return float(row["threshold"]), status


def recommend_threshold(
    scores: pd.DataFrame,
    is_won: pd.Series,
    leads_per_week: float,
    rules: Rules,
    config: CalibrationConfig,
    capacity_per_week: float,
) -> tuple[ThresholdChoice, pd.DataFrame]:
    """The recommended threshold for ``scores`` (fit/pain/lead_score per lead) and the curve,
    for a team that follows up ``capacity_per_week`` leads a week within the SLA."""
    curve = tradeoff(scores, is_won, leads_per_week)
    threshold, status = choose_threshold(curve, config, capacity_per_week)
    if threshold is None:
        threshold = float(np.floor(scores["lead_score"].max())) + 1
    return describe_threshold(scores, is_won, threshold, leads_per_week, rules,
                              status), curve  # fmt: skip


def describe_threshold(
    scores: pd.DataFrame,
    is_won: pd.Series,
    threshold: float,
    leads_per_week: float,
    rules: Rules,
    status: str = "current",
) -> ThresholdChoice:
    ready = scores["lead_score"] >= threshold
    n_ready = int(ready.sum())
    won = is_won.reindex(scores.index)
    good_fit, high_pain = rules.quadrant_cutoffs(threshold)
    bad_fit_low_pain = (scores["fit_score"] < good_fit) & (scores["pain_score"] < high_pain)
    share = n_ready / max(len(scores), 1)
    return ThresholdChoice(
        threshold=threshold,
        status=status,
        close_rate=float(won[ready].mean()) if n_ready else float("nan"),
        sdr_ready_leads=n_ready,
        sdr_ready_share=share,
        volume_per_week=share * leads_per_week,
        profile_only_share=float((scores["fit_score"] >= threshold).mean()),
        bad_fit_low_pain_share=float(bad_fit_low_pain[ready].mean()) if n_ready else 0.0,
    )
