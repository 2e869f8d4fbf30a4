"""The report's plots as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_predict  # noqa: E402

COLORS = {"current": "#8c8c8c", "proposed": "#1f6fb4", "challenger": "#d9822b"}
BAND_MIN_LEADS = 20


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def score_distribution(scores: pd.Series, is_won: pd.Series, threshold: float, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    won = is_won.reindex(scores.index).astype(bool)
    bins = np.histogram_bin_edges(scores, bins=40)
    ax.hist(scores[~won], bins=bins, density=True, alpha=0.6, label="not won", color="#8c8c8c")
    ax.hist(scores[won], bins=bins, density=True, alpha=0.6, label="won", color=COLORS["proposed"])
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:g}")
    ax.set(title="Lead score at the decision (proposed rules)", xlabel="lead score",
           ylabel="share of leads (density)")  # fmt: skip
    ax.legend()
    return _save(fig, path)


def _bands(scores: pd.Series, is_won: pd.Series, width: float) -> pd.DataFrame:
    band = np.floor(scores / width) * width
    table = is_won.reindex(scores.index).groupby(band).agg(leads="size", won="sum")
    table = table[table["leads"] >= BAND_MIN_LEADS]
    table["close_rate"] = table["won"] / table["leads"]
    return table


def conversion_by_band(scored: dict[str, pd.Series], is_won: pd.Series, path: Path) -> str:
    fig, axes = plt.subplots(1, len(scored), figsize=(4.2 * len(scored), 3.6), squeeze=False)
    for ax, (name, scores) in zip(axes[0], scored.items(), strict=True):
        width = max(5.0, float(np.ceil((scores.quantile(0.99) - scores.min()) / 12 / 5) * 5))
        table = _bands(scores, is_won, width)
        ax.bar(table.index, 100 * table["close_rate"], width=width * 0.9, align="edge",
               color=COLORS.get(name, "#1f6fb4"))  # fmt: skip
        ax.set(title=f"Close rate by score band ({name})",
               xlabel=f"lead score (bands of {width:g})",
               ylabel="close rate (%)")  # fmt: skip
    return _save(fig, path)


def lift_chart(deciles: pd.DataFrame, path: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for name, table in deciles.groupby("model", sort=False):
        ax.plot(table["decile"], table["lift"], marker="o", label=name, color=COLORS.get(name))
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set(title="Lift by score decile (test period)", xlabel="decile (10 = highest scores)",
           ylabel="close rate / overall close rate", xticks=range(1, 11))  # fmt: skip
    ax.legend()
    return _save(fig, path)


def calibration_plot(test_scores: pd.DataFrame, path: Path) -> str:
    """Predicted vs observed close rate on the test period: the challenger's probabilities,
    and the proposed points turned into probabilities by a cross-validated logistic fit."""
    y = test_scores["is_won"].to_numpy(dtype=int)
    points = test_scores[["proposed"]].to_numpy(dtype=float)
    folds = int(min(5, np.bincount(y, minlength=2).min()))
    series = {"challenger": test_scores["challenger"].to_numpy(dtype=float)}
    if folds >= 2:
        series["proposed (points -> logistic)"] = cross_val_predict(
            LogisticRegression(), points, y, cv=folds, method="predict_proba"
        )[:, 1]
    fig, ax = plt.subplots(figsize=(5, 4.2))
    top = 0.0
    for name, predicted in series.items():
        observed, mean_predicted = calibration_curve(y, predicted, n_bins=8, strategy="quantile")
        top = max(top, observed.max(), mean_predicted.max())
        ax.plot(mean_predicted, observed, marker="o", label=name,
                color=COLORS["challenger" if name == "challenger" else "proposed"])  # fmt: skip
    ax.plot([0, top], [0, top], color="black", linestyle=":", label="perfectly calibrated")
    ax.set(title="Calibration (test period)", xlabel="predicted close probability",
           ylabel="observed close rate")  # fmt: skip
    ax.legend(fontsize=8)
    return _save(fig, path)


def threshold_tradeoff(curve: pd.DataFrame, band: tuple[float, float], capacity: float,
                       chosen: dict, current: dict, path: Path) -> str:  # fmt: skip
    fig, ax = plt.subplots(figsize=(7, 4))
    usable = curve[curve["sdr_ready_leads"] > 0]
    ax.plot(usable["volume_per_week"], 100 * usable["close_rate"], color=COLORS["proposed"],
            label="proposed rules, one point per threshold")  # fmt: skip
    ax.axhspan(100 * band[0], 100 * band[1], color="#2ca02c", alpha=0.15, label="target band")
    ax.axvline(capacity, color="#c0392b", linestyle="--", label=f"SDR capacity {capacity:g}/week")
    ax.scatter([chosen["volume_per_week"]], [100 * chosen["close_rate"]], color="black", zorder=3,
               label=f"recommended: {chosen['threshold']:g}")  # fmt: skip
    if current["sdr_ready_leads"]:
        ax.scatter([current["volume_per_week"]], [100 * current["close_rate"]], marker="s",
                   color=COLORS["current"], zorder=3,
                   label=f"current rules at {current['threshold']:g}")  # fmt: skip
    ax.set_xscale("symlog", linthresh=10)
    ax.set(
        title="Threshold trade-off: close rate vs SDR-ready volume",
        xlabel="SDR-ready leads per week",
        ylabel="close rate of SDR-ready leads (%)",
    )
    ax.legend(fontsize=8)
    return _save(fig, path)
