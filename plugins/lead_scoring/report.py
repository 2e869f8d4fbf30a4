"""The run report: what one scoring run did, as HTML for people and JSON for tools.

It names the run's kind (``nightly``, ``hourly``, or ``full`` when the quality gate checked
every raw table or dbt built every model from scratch) and what each stage touched (rows
in, rows touched, seconds). The HTML lists the top SDR-ready leads a rep can act on
(name, e-mail, company, score, reasons; customers left out), the routing (leads routed,
the queue, per-rep load and SLA breaches, from ``marts.lead_routing``/``rep_workload``
when they are built) and the CRM sync outcome as a table. It is rendered with the
product's autoescaping environment (``lead_scoring.rendering``). The JSON holds counts
only, no personal data.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
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
    ("rows_considered", "Considered"),
    ("sent", "Sent"),
    ("rows_not_material", "Not material"),
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


ROUTED_SQL = """
select count(*) as routed, count(distinct rep_id) as reps,
    sum(case when routing_rule = 'fast_lane' then 1 else 0 end) as fast_lane
from marts.lead_routing
where as_of_date = ? and rep_id is not null
"""
QUEUE_SQL = """
select count(*) as waiting, max(wait_days) as longest_wait_days
from marts.lead_routing
where as_of_date = ? and rep_id is null
"""
REPS_SQL = """
select rep_id, name, team, daily_capacity, out_of_office, assigned_today, open_assignments,
    breaches_30d, followed_up_within_sla_share
from marts.rep_workload
order by team, rep_id
"""


def _count(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _routing(wh: Warehouse, as_of: date, alerted: dict) -> tuple[dict | None, list, list]:
    """Routing counts for the summary, per-rep rows and per-team rows (None, [], [] when
    the routing marts are not built)."""
    if not wh.table_exists("marts", "lead_routing"):
        return None, [], []
    routed = wh.query_df(ROUTED_SQL, [as_of]).iloc[0]
    queue = wh.query_df(QUEUE_SQL, [as_of]).iloc[0]
    reps = (
        wh.query_df(REPS_SQL).to_dict(orient="records")
        if wh.table_exists("marts", "rep_workload")
        else []
    )
    for rep in reps:
        rep["out_of_office"] = str(rep["out_of_office"]).strip().lower() in ("true", "1")
    teams: dict[str, dict] = {}
    for rep in reps:
        team = teams.setdefault(_text(rep["team"]), {"team": _text(rep["team"]), "reps": 0,
                                "capacity": 0, "assigned_today": 0, "open_assignments": 0,
                                "breaches_30d": 0})  # fmt: skip
        team["reps"] += 1
        team["capacity"] += 0 if rep["out_of_office"] else _count(rep["daily_capacity"]) or 0
        for key in ("assigned_today", "open_assignments", "breaches_30d"):
            team[key] += _count(rep[key]) or 0
    summary = {
        "leads_routed": _count(routed["routed"]) or 0,
        "reps_routed_to": _count(routed["reps"]) or 0,
        "fast_lane": _count(routed["fast_lane"]) or 0,
        "waiting_in_queue": _count(queue["waiting"]) or 0,
        "longest_wait_days": _count(queue["longest_wait_days"]),
        "breaches_30d": sum(t["breaches_30d"] for t in teams.values()) if reps else None,
        "breaches_30d_by_team": {name: t["breaches_30d"] for name, t in teams.items()},
        "new_breaches": alerted.get("new_breaches"),
        "alerts_sent": alerted.get("alerts_sent"),
        "alert_messages": alerted.get("messages"),
    }
    return summary, reps, sorted(teams.values(), key=lambda t: t["team"])


# Why rows were sent (``crm_sync.engine.SEND_REASONS``), as the report names them.
SEND_REASON_LABELS = {
    "new": "New record",
    "retry": "Rejected before",
    "identity": "Another CRM record",
    "state_upgrade": "Confirmed by an older version",
    "score_moved": "Score moved",
    "sdr_ready": "SDR-ready",
    "stage": "Lifecycle stage",
    "quadrant": "Quadrant",
    "nurture_track": "Nurture track",
    "grade": "Grade",
    "reasons": "Reasons",
    "persona_coverage": "Persona coverage",
    "owner": "Owner",
}


def sync_table(synced: dict) -> list[tuple[str, int]]:
    """(label, rows) for each column of the CRM sync table."""
    return [(label, int(synced.get(key) or 0)) for key, label in SYNC_COLUMNS]


def sync_reasons(synced: dict) -> list[tuple[str, int]]:
    """(label, rows sent) for each reason rows were sent for, in the sync's order."""
    by_reason = synced.get("sent_by_reason") or {}
    return [(SEND_REASON_LABELS.get(key, key), int(n)) for key, n in by_reason.items()]


# The stages the report lists, in run order: (key of the stage's result, label).
STAGES = (
    ("extract", "Extract"),
    ("quality_gate", "Quality gate"),
    ("dbt", "dbt build"),
    ("crm_sync", "CRM sync"),
    ("sla_alerts", "SLA alerts"),
)


def run_kind(kind: str, gate: dict, dbt: dict | None) -> tuple[str, list[str]]:
    """The run's kind: ``full`` when the quality gate checked every raw table in full or
    dbt built every model from scratch, else the DAG's kind (``nightly``, ``hourly``); and
    why it was full."""
    reasons = []
    modes = [table.get("mode", "") for table in (gate.get("tables") or {}).values()]
    if modes and all(mode.startswith("full") for mode in modes):
        why = sorted({mode.partition("(")[2].rstrip(")") for mode in modes} - {""})
        reasons.append(
            "the quality gate checked every raw table" + (f" ({'; '.join(why)})" if why else "")
        )
    if dbt and dbt.get("full"):
        reasons.append("dbt built every model from scratch")
    return ("full" if reasons else kind), reasons


def stage_rows(results: dict[str, dict | None]) -> list[dict]:
    """Each stage that ran, in run order: label, rows in, rows touched, seconds, seconds
    waited for the warehouse lock (``results``: stage key -> its ``stage`` summary)."""
    rows = []
    for key, label in STAGES:
        stage = results.get(key)
        if stage:
            rows.append({"stage": key, "label": label} | {
                field: stage.get(field) for field in ("rows_in", "rows_touched", "seconds",
                                                      "waited")})  # fmt: skip
    return rows


def _scores_summary(settings: Settings, as_of: date, alerted: dict) -> tuple[dict, list, tuple]:
    with open_warehouse(settings) as wh:
        totals = wh.query_df(
            "select count(*) as leads_scored,"
            " sum(case when is_sdr_ready then 1 else 0 end) as sdr_ready_leads,"
            " avg(lead_score) as mean_lead_score, max(model_version) as model_version"
            " from marts.lead_scores"
        ).iloc[0]
        accounts = wh.scalar("select count(*) from marts.account_scores")
        top = _top_leads(wh)
        routing = _routing(wh, as_of, alerted)
    summary = {
        "leads_scored": int(totals["leads_scored"]),
        "sdr_ready_leads": int(totals["sdr_ready_leads"] or 0),
        "mean_lead_score": round(float(totals["mean_lead_score"] or 0), 2),
        "accounts_scored": int(accounts or 0),
        "model_version": totals["model_version"],
        "routing": routing[0],
    }
    return summary, top, routing[1:]


def write_run_report(
    settings: Settings,
    run_id: str,
    logical_date: datetime | None,
    extracted: dict,
    gate: dict,
    synced: dict,
    alerted: dict | None = None,
    kind: str = "nightly",
    dbt: dict | None = None,
) -> dict:
    """Write the run's report, ``run_<date>.html``/``.json`` for a nightly run,
    ``run_<date>_<HHMM>.html``/``.json`` for an hourly one (and ``latest.json``); return the
    summary. ``logical_date`` is the run's as-of time, ``kind`` the DAG's run kind,
    ``alerted`` the ``sla_alerts`` task's result and ``dbt`` the dbt build's stage summary."""
    as_of_time = logical_date or datetime.now(UTC)
    as_of_date = as_of_time.date()
    scores, top_leads, (reps, teams) = _scores_summary(settings, as_of_date, alerted or {})
    as_of = as_of_date.isoformat()
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    name = f"run_{as_of}" if kind == "nightly" else f"run_{as_of}_{as_of_time:%H%M}"
    html_path = settings.reports_dir / f"{name}.html"
    shown_kind, full_because = run_kind(kind, gate, dbt)
    results = {"extract": extracted, "quality_gate": gate, "crm_sync": synced,
               "sla_alerts": alerted or {}}  # fmt: skip
    stages = stage_rows({key: r.get("stage") for key, r in results.items()} | {"dbt": dbt})
    summary = {
        "run_id": run_id,
        "run_kind": shown_kind,
        "full_because": full_because,
        "as_of_date": as_of,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows_extracted": sum(extracted.get("rows_loaded", {}).values()),
        **scores,
        "rows_quarantined": gate.get("records_quarantined"),
        "quarantine_rate": gate.get("quarantine_rate"),
        "quarantine_by_rule": gate.get("counts_by_rule", {}),
        "gate_tables": gate.get("tables", {}),
        "stages": stages,
        "leads_rescored": (dbt or {}).get("leads_rescored"),
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
            sync_reasons=sync_reasons(synced),
            reps=reps,
            teams=teams,
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
        f"as-of date          {summary['as_of_date']} ({summary.get('run_kind', 'nightly')} run)",
        f"leads scored        {summary['leads_scored']:,}",
        f"SDR-ready leads     {summary['sdr_ready_leads']:,}",
        *routing_lines(summary.get("routing")),
        f"accounts scored     {summary['accounts_scored']:,}",
        f"rows quarantined    {summary['rows_quarantined']:,}",
        f"rows synced to CRM  {sync.get('sent', 0):,} of {sync.get('rows_considered', 0):,}"
        f" considered (status {sync.get('status', '?')})",
        f"report              {summary['report_path']}",
        f"data docs           {summary['data_docs_path']}",
        f"warehouse           {summary['warehouse']}",
    ]
    return "\n".join(lines)


def routing_lines(routing: dict | None) -> list[str]:
    """The demo's ``leads routed``, ``waiting in queue`` and ``SLA breaches`` lines."""
    if routing is None:
        return [
            "leads routed: none (marts.lead_routing is not built)",
            "waiting in queue: none",
            "SLA breaches: none (marts.lead_follow_ups is not built)",
        ]
    longest = routing["longest_wait_days"]
    wait = "" if longest is None else f" (longest {longest} day{'' if longest == 1 else 's'})"
    in_30d = "" if routing["breaches_30d"] is None else f", {routing['breaches_30d']:,} in 30 days"
    alerts = routing["alerts_sent"]
    return [
        f"leads routed: {routing['leads_routed']:,} today ({routing['reps_routed_to']} reps,"
        f" {routing['fast_lane']:,} fast lane)",
        f"waiting in queue: {routing['waiting_in_queue']:,}{wait}",
        f"SLA breaches: {routing['new_breaches'] or 0:,} new{in_30d} (alerts sent:"
        f" {'not run' if alerts is None else f'{alerts:,}'})",
    ]


def load_latest(settings: Settings) -> dict:
    path: Path = settings.reports_dir / "latest.json"
    return json.loads(path.read_text(encoding="utf-8"))
