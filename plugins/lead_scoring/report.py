"""The run report: what one nightly run did, as HTML for people and JSON for tools.

The HTML lists the top SDR-ready leads a rep can act on (name, e-mail, company, score,
reasons; customers left out) and the CRM sync outcome as a table. It is rendered with the
product's autoescaping environment (``lead_scoring.rendering``). The JSON holds counts
only, no personal data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import PackageLoader

from lead_scoring.calibration import calibration_summary_html
from lead_scoring.rendering import html_environment
from lead_scoring.settings import Settings
from lead_scoring.warehouse import Warehouse, open_warehouse

TOP_LEADS = 25
# SDR-ready leads a rep can call: names from the CRM contact, company from the account
# (the contact's own company field when the account has no name), customers left out.
TOP_LEADS_SQL = """
select
    scores.lead_id, scores.email, contacts.firstname as first_name,
    contacts.lastname as last_name, {account_name} as account_name,
    contacts.company as contact_company, scores.lead_score, scores.fit_score,
    scores.pain_score, scores.grade, scores.lifecycle_stage, scores.score_reasons
from marts.lead_scores as scores
left join raw.crm_contacts as contacts
    on cast(contacts.hs_object_id as varchar) = scores.lead_id
{companies_join}
where scores.is_sdr_ready and coalesce(scores.lifecycle_stage, '') <> 'customer'
order by scores.lead_score desc, scores.lead_id
limit {limit}
"""
COMPANIES_JOIN = """left join staging.stg_crm__companies as companies
    on companies.account_id = scores.account_id"""
# The CRM sync table: (result key, column label). Counts are rows, not requests.
SYNC_COLUMNS = (
    ("sent", "Sent"),
    ("inserted", "Created"),
    ("updated", "Updated"),
    ("rejected", "Rejected"),
    ("pending", "Retried next run"),
    ("dead_lettered", "Dead letters"),
    ("not_in_crm", "Not in the CRM"),
)


def _text(value) -> str:
    """A warehouse value as trimmed text ("" for null/NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _top_leads(wh: Warehouse) -> list[dict]:
    has_companies = wh.table_exists("staging", "stg_crm__companies")
    top = wh.query_df(
        TOP_LEADS_SQL.format(
            account_name="companies.company_name" if has_companies else "null",
            companies_join=COMPANIES_JOIN if has_companies else "",
            limit=TOP_LEADS,
        )
    )
    leads = []
    for row in top.to_dict(orient="records"):
        name = " ".join(p for p in (_text(row["first_name"]), _text(row["last_name"])) if p)
        reasons = [r.strip() for r in _text(row["score_reasons"]).split(";") if r.strip()]
        leads.append({
            "lead_id": _text(row["lead_id"]),
            "name": name,
            "email": _text(row["email"]),
            "company": _text(row["account_name"]) or _text(row["contact_company"]),
            "lead_score": row["lead_score"],
            "fit_score": row["fit_score"],
            "pain_score": row["pain_score"],
            "grade": _text(row["grade"]),
            "lifecycle_stage": _text(row["lifecycle_stage"]),
            "reasons": reasons,
        })  # fmt: skip
    return leads


def sync_table(synced: dict) -> list[tuple[str, int]]:
    """(label, rows) for each column of the CRM sync table."""
    return [(label, int(synced.get(key) or 0)) for key, label in SYNC_COLUMNS]


def _scores_summary(settings: Settings) -> tuple[dict, list[dict]]:
    with open_warehouse(settings) as wh:
        totals = wh.query_df(
            "select count(*) as leads_scored,"
            " sum(case when is_sdr_ready then 1 else 0 end) as sdr_ready_leads,"
            " avg(lead_score) as mean_lead_score, max(model_version) as model_version"
            " from marts.lead_scores"
        ).iloc[0]
        accounts = wh.scalar("select count(*) from marts.account_scores")
        top = _top_leads(wh)
    summary = {
        "leads_scored": int(totals["leads_scored"]),
        "sdr_ready_leads": int(totals["sdr_ready_leads"] or 0),
        "mean_lead_score": round(float(totals["mean_lead_score"] or 0), 2),
        "accounts_scored": int(accounts or 0),
        "model_version": totals["model_version"],
    }
    return summary, top


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
    html = (
        html_environment(PackageLoader("lead_scoring"))
        .get_template("run_report.html.j2")
        .render(
            s=summary,
            extracted=extracted,
            top_leads=top_leads,
            sync=sync_table(synced),
            calibration=calibration_summary_html(settings),
        )
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
