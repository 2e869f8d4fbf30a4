"""The run report: what one nightly run did, as HTML for people and JSON for tools."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from lead_scoring.calibration import calibration_summary_html
from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

TOP_LEADS = 25


def _scores_summary(settings: Settings) -> tuple[dict, list[dict]]:
    with open_warehouse(settings) as wh:
        totals = wh.query_df(
            "select count(*) as leads_scored,"
            " sum(case when is_sdr_ready then 1 else 0 end) as sdr_ready_leads,"
            " avg(lead_score) as mean_lead_score, max(model_version) as model_version"
            " from marts.lead_scores"
        ).iloc[0]
        accounts = wh.scalar("select count(*) from marts.account_scores")
        top = wh.query_df(
            "select lead_id, lead_score, fit_score, pain_score, grade, lifecycle_stage,"
            " score_reasons from marts.lead_scores where is_sdr_ready"
            f" order by lead_score desc limit {TOP_LEADS}"
        )
    summary = {
        "leads_scored": int(totals["leads_scored"]),
        "sdr_ready_leads": int(totals["sdr_ready_leads"] or 0),
        "mean_lead_score": round(float(totals["mean_lead_score"] or 0), 2),
        "accounts_scored": int(accounts or 0),
        "model_version": totals["model_version"],
    }
    return summary, top.to_dict(orient="records")


def write_run_report(
    settings: Settings,
    run_id: str,
    logical_date: datetime | None,
    extracted: dict,
    gate: dict,
    synced: dict,
) -> dict:
    """Write ``run_<date>.html``/``.json`` (and ``latest.json``); return the summary."""
    scores, top_leads = _scores_summary(settings)
    as_of = (logical_date or datetime.now(UTC)).date().isoformat()
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    html_path = settings.reports_dir / f"run_{as_of}.html"
    summary = {
        "run_id": run_id,
        "as_of_date": as_of,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows_extracted": sum(extracted.get("rows_loaded", {}).values()),
        **scores,
        "rows_quarantined": gate.get("records_quarantined"),
        "quarantine_rate": gate.get("quarantine_rate"),
        "quarantine_by_rule": gate.get("counts_by_rule", {}),
        "crm_sync": synced,
        "report_path": str(html_path),
        "data_docs_path": gate.get("data_docs_path"),
        "warehouse": str(settings.warehouse_path)
        if settings.warehouse == "duckdb"
        else settings.warehouse,
    }
    env = Environment(loader=PackageLoader("lead_scoring"), autoescape=select_autoescape())
    html = env.get_template("run_report.html.j2").render(
        s=summary,
        extracted=extracted,
        top_leads=top_leads,
        calibration=Markup(calibration_summary_html(settings)),
    )
    html_path.write_text(html, encoding="utf-8")
    payload = json.dumps(summary, indent=2, default=str)
    html_path.with_suffix(".json").write_text(payload, encoding="utf-8")
    (settings.reports_dir / "latest.json").write_text(payload, encoding="utf-8")
    return json.loads(payload)


def format_summary(summary: dict) -> str:
    sync = summary.get("crm_sync") or {}
    lines = [
        f"as-of date          {summary['as_of_date']}",
        f"leads scored        {summary['leads_scored']:,}",
        f"SDR-ready leads     {summary['sdr_ready_leads']:,}",
        f"accounts scored     {summary['accounts_scored']:,}",
        f"rows quarantined    {summary['rows_quarantined']:,}",
        f"rows synced to CRM  {sync.get('sent', 0):,} (status {sync.get('status', '?')})",
        f"report              {summary['report_path']}",
        f"data docs           {summary['data_docs_path']}",
        f"warehouse           {summary['warehouse']}",
    ]
    return "\n".join(lines)


def load_latest(settings: Settings) -> dict:
    path: Path = settings.reports_dir / "latest.json"
    return json.loads(path.read_text(encoding="utf-8"))
