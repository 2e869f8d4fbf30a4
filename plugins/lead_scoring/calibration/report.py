"""The calibration report (static HTML + PNGs in the proposal folder) and the short section
the nightly run report embeds (``calibration_summary_html``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from lead_scoring.settings import Settings

TEMPLATES = Path(__file__).parent


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]))
    env.filters["pct"] = lambda v: "-" if v is None or v != v else f"{100 * float(v):.1f}%"
    env.filters["num"] = lambda v, d=1: "-" if v is None or v != v else f"{float(v):,.{d}f}"
    return env


def write_report(path: Path, summary: dict, decisions: pd.DataFrame, unruled: pd.DataFrame,
                 curve: pd.DataFrame, backtest, proposed_scores: pd.DataFrame,
                 is_won: pd.Series, current_scores: pd.DataFrame) -> Path:  # fmt: skip
    from lead_scoring.calibration import plots

    config = summary["config"]
    band = (config["target_close_rate_low"], config["target_close_rate_high"])
    images = {
        "distribution": plots.score_distribution(proposed_scores["lead_score"], is_won,
                                                 summary["proposed_threshold"],
                                                 path / "score_distribution.png"),
        "bands": plots.conversion_by_band(
            {"current": current_scores["lead_score"], "proposed": proposed_scores["lead_score"]},
            is_won, path / "conversion_by_band.png"),
        "lift": plots.lift_chart(backtest.deciles, path / "lift_chart.png"),
        "calibration": plots.calibration_plot(backtest.test_scores, path / "calibration_curve.png"),
        "tradeoff": plots.threshold_tradeoff(curve, band, config["sdr_capacity_per_week"],
                                             summary["proposed_at_threshold"],
                                             summary["current_at_threshold"],
                                             path / "threshold_tradeoff.png"),
    }  # fmt: skip
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            s=summary,
            images=images,
            signals=decisions.sort_values(
                "lift_pp", key=abs, ascending=False, na_position="last"
            ).to_dict(orient="records"),
            unruled=unruled.head(15).to_dict(orient="records"),
            metrics=backtest.metrics.to_dict(orient="records"),
            deciles=backtest.deciles.pivot(index="decile", columns="model", values="lift")
            .sort_index(ascending=False)
            .reset_index()
            .to_dict(orient="records"),
        )
    )
    report = path / "report.html"
    report.write_text(html, encoding="utf-8")
    return report


def calibration_summary_html(settings: Settings) -> str:
    """A short HTML section on the latest calibration proposal, for the run report."""
    from lead_scoring.calibration.proposals import APPLIED, latest_proposal, read_summary

    path = latest_proposal(settings)
    if path is None:
        return Markup(
            "<section class='calibration'><h2>Calibration</h2><p>No calibration proposal yet"
            " (run <code>lead-scoring calibrate</code>).</p></section>"
        )
    s = read_summary(path)
    applied = (
        json.loads((path / APPLIED).read_text(encoding="utf-8"))["applied_at"]
        if (path / APPLIED).exists()
        else None
    )
    at = s["proposed_at_threshold"]
    state = (
        f"applied {applied}"
        if applied
        else f"not applied: <code>{escape(s['apply_command'])}</code>"
    )

    def auc(value) -> str:
        return "-" if value is None or value != value else f"{value:.3f}"

    return Markup(
        "<section class='calibration'><h2>Calibration</h2>"
        f"<p>Latest proposal <a href='{escape((path / 'report.html').as_uri())}'>"
        f"{escape(s['proposal'])}</a> (outcomes as of {escape(s['as_of_date'])},"
        f" {s['decided_leads']:,} decided leads, {s['won_leads']:,} won), {state}.</p>"
        "<table><tr><th></th><th>current</th><th>proposed</th><th>challenger</th></tr>"
        f"<tr><td>backtest AUC</td><td>{auc(s['auc_current'])}</td>"
        f"<td>{auc(s['auc_proposed'])}</td><td>{auc(s['auc_challenger'])}</td></tr>"
        f"<tr><td>SDR-ready threshold</td><td>{s['current_threshold']:g}</td>"
        f"<td>{s['proposed_threshold']:g} ({escape(s['threshold_status'])})</td><td></td></tr>"
        f"<tr><td>close rate of SDR-ready leads</td>"
        f"<td>{_pct(s['current_at_threshold']['close_rate'])}</td>"
        f"<td>{_pct(at['close_rate'])}</td><td></td></tr></table></section>"
    )


def _pct(value) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f}%"
