"""The calibration report (static HTML + PNGs in the proposal folder) and the short section
the nightly run report embeds (``calibration_summary_html``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from lead_scoring.rendering import html_environment
from lead_scoring.settings import Settings

TEMPLATES = Path(__file__).parent
# The run report's calibration section (rendered with autoescaping like every page).
SUMMARY_TEMPLATE = """<section class="calibration"><h2>Calibration</h2>
{%- if s is none %}<p>No calibration proposal yet (run <code>lead-scoring calibrate</code>).</p>
{%- else %}{% set url = report_url | safe_url %}
<p>Latest proposal {% if url %}<a href="{{ url }}">{{ s.proposal }}</a>
{%- else %}{{ s.proposal }}{% endif %} (outcomes as of {{ s.as_of_date }},
 {{ "{:,}".format(s.decided_leads) }} decided leads, {{ "{:,}".format(s.won_leads) }} won),
 {% if applied %}applied {{ applied }}{% else %}not applied: <code>{{ s.apply_command }}</code>
{%- endif %}.</p>
<table><tr><th></th><th>current</th><th>proposed</th><th>challenger</th></tr>
{%- for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</table>{% endif %}</section>"""


def _environment() -> Environment:
    return html_environment(FileSystemLoader(TEMPLATES))


def write_report(path: Path, summary: dict, decisions: pd.DataFrame, curve: pd.DataFrame,
                 backtest, proposed_scores: pd.DataFrame, is_won: pd.Series,
                 current_scores: pd.DataFrame) -> Path:  # fmt: skip
    from lead_scoring.calibration import plots

    config = summary["config"]
    band = (config["target_close_rate_low"], config["target_close_rate_high"])
    capacity = (summary.get("capacity") or {}).get("follow_up_per_week")
    images = {
        "distribution": plots.score_distribution(proposed_scores["lead_score"], is_won,
                                                 summary["proposed_threshold"],
                                                 path / "score_distribution.png"),
        "bands": plots.conversion_by_band(
            {"current": current_scores["lead_score"], "proposed": proposed_scores["lead_score"]},
            is_won, path / "conversion_by_band.png"),
        "lift": plots.lift_chart(backtest.deciles, path / "lift_chart.png"),
        "calibration": plots.calibration_plot(backtest.test_scores, path / "calibration_curve.png"),
        "tradeoff": plots.threshold_tradeoff(curve, band,
                                             capacity or config["sdr_capacity_per_week"],
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
            signals=_signal_rows(decisions),
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


def _signal_rows(decisions: pd.DataFrame, shown: int = 60) -> list[dict]:
    """The chosen factors first (strongest points first), then the other candidates by
    the size of their lift, ``shown`` rows in all (signals.csv has every one)."""
    table = decisions.assign(
        chosen=decisions["proposed_points"] != 0,
        strength=decisions["proposed_points"].abs(),
        size=decisions["lift_pp"].abs().fillna(-1),
    ).sort_values(["chosen", "strength", "size"], ascending=False)
    return table.head(shown).to_dict(orient="records")


def calibration_summary_html(settings: Settings) -> Markup:
    """A short HTML section on the latest calibration proposal, for the run report."""
    from lead_scoring.calibration.proposals import APPLIED, latest_proposal, read_summary

    template = _environment().from_string(SUMMARY_TEMPLATE)
    path = latest_proposal(settings)
    if path is None:
        return Markup(template.render(s=None))
    s = read_summary(path)
    applied = (
        json.loads((path / APPLIED).read_text(encoding="utf-8"))["applied_at"]
        if (path / APPLIED).exists()
        else None
    )

    def auc(value) -> str:
        return "-" if value is None or value != value else f"{value:.3f}"

    rows = [
        ("backtest AUC", auc(s["auc_current"]), auc(s["auc_proposed"]),
         auc(s["auc_challenger"])),
        ("SDR-ready threshold", f"{s['current_threshold']:g}",
         "none: no signal" if s.get("no_signal")
         else f"{s['proposed_threshold']:g} ({s['threshold_status']})", ""),
        ("close rate of SDR-ready leads", _pct(s["current_at_threshold"]["close_rate"]),
         _pct(s["proposed_at_threshold"]["close_rate"]), ""),
    ]  # fmt: skip
    if capacity := s.get("capacity"):
        rows.append((
            f"SDR-ready leads a week (the team follows up"
            f" {capacity['follow_up_per_week']:,.0f} within the SLA)",
            f"{s['current_at_threshold']['volume_per_week']:,.0f}",
            f"{s['proposed_at_threshold']['volume_per_week']:,.0f}", "",
        ))  # fmt: skip
    return Markup(
        template.render(s=s, applied=applied, rows=rows, report_url=(path / "report.html").as_uri())
    )


def _pct(value) -> str:
    return "-" if value is None or value != value else f"{100 * value:.1f}%"
