"""The run report on a small warehouse: top SDR-ready leads a rep can act on (name,
e-mail, company, score, reasons; customers left out), each heading once, the CRM sync as
a table, the routing (per-rep load and breaches) and the demo's summary lines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from lead_scoring.report import format_summary, load_latest, write_run_report
from lead_scoring.warehouse import open_warehouse

SYNCED = {
    "run_id": "manual__1", "target": "hubspot", "status": "partial", "dry_run": False,
    "planned": 40, "sent": 37, "inserted": 12, "updated": 21, "skipped": 900, "rejected": 4,
    "dead_lettered": 2, "pending": 3, "not_in_crm": 5, "duplicates": 0, "quarantined": 0,
    "requests": 9, "error_responses": 5, "message": "4 rows rejected (sync.rejections), 3 pending",
    "by_object": {}, "rows_considered": 1300, "rows_not_material": 360,
    "sent_by_reason": {"new": 12, "retry": 4, "score_moved": 15, "sdr_ready": 3, "owner": 2,
                       "<b>later</b>": 1},
}  # fmt: skip
GATE = {"records_quarantined": 3, "quarantine_rate": 0.01,
        "counts_by_rule": {"placeholder_name": 2, "invalid_email": 1},
        "data_docs_path": "/tmp/data_docs/index.html",
        "tables": {"crm_contacts": {"mode": "incremental", "records_checked": 1200},
                   "marketing_events": {"mode": "full (rules changed)",
                                        "records_checked": 30000}}}  # fmt: skip
EXTRACTED = {"rows_loaded": {"crm_contacts": 5, "crm_companies": 2}}


def lead(lead_id: str, score: float, **values) -> dict:
    row = {
        "lead_id": lead_id, "email": f"lead{lead_id}@acme-robotics.com", "account_id": "900",
        "fit_score": 40.0, "pain_score": score - 40.0, "lead_score": score,
        "is_sdr_ready": score >= 100, "grade": "A1", "lifecycle_stage": "sql",
        "score_reasons": "+25 created a document (2d ago); +20 VP title; -15 careers page (5d ago)",
        "model_version": "v1",
    }  # fmt: skip
    return row | values


def person(record_id: str, first: str, last: str, company: str = "Acme Robotics GmbH") -> dict:
    return {"hs_object_id": record_id, "firstname": first, "lastname": last, "company": company}


def write_warehouse(settings, leads, contacts, companies) -> None:
    with open_warehouse(settings) as wh:
        wh.write_df(pd.DataFrame(leads), "marts", "lead_scores", mode="replace")
        accounts = pd.DataFrame({"account_id": [c["account_id"] for c in companies]})
        wh.write_df(accounts, "marts", "account_scores", mode="replace")
        wh.write_df(pd.DataFrame(contacts), "raw", "crm_contacts", mode="replace")
        wh.write_df(pd.DataFrame(companies), "staging", "stg_crm__companies", mode="replace")


def render(settings, run_id="manual__1", extracted=EXTRACTED, gate=GATE, synced=SYNCED) -> str:
    summary = write_run_report(settings, run_id, datetime(2026, 11, 2, tzinfo=UTC), extracted,
                               gate, synced)  # fmt: skip
    with open(summary["report_path"], encoding="utf-8") as f:
        return f.read()


def _top_rows(html: str) -> list[str]:
    section = html.split("<h2>Top SDR-ready leads</h2>", 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><td>.*?</tr>", section, flags=re.S)


def test_top_leads_show_who_to_call_and_leave_customers_out(settings):
    write_warehouse(
        settings,
        leads=[
            lead("1", 150.0),
            lead("2", 180.0, lifecycle_stage="customer"),
            lead("3", 120.0, account_id="901", email="sean@obrien.ie"),
            lead("4", 110.0, account_id=None),
            lead("5", 60.0),  # not SDR-ready
        ],
        contacts=[
            person("1", "Zoë", "Saint-Clair"),
            person("2", "Cara", "Customer"),
            person("3", "Seán", "O'Brien", company="O'Brien Consulting"),
            person("5", "Not", "Ready"),
        ],  # fmt: skip
        companies=[
            {"account_id": "900", "company_name": "Acme Robotics"},
            {"account_id": "901", "company_name": None},
        ],  # fmt: skip
    )
    html = render(settings)
    rows = _top_rows(html)
    assert len(rows) == 3  # customers and leads under the threshold are not listed
    first, second, third = rows
    assert "Zoë Saint-Clair" in first and "lead1@acme-robotics.com" in first
    assert "Acme Robotics" in first and "150.0" in first
    assert first.count("<li>") == 3 and "<li>+25 created a document (2d ago)</li>" in first
    assert "Seán O&#39;Brien" in second and "sean@obrien.ie" in second
    assert "O&#39;Brien Consulting" in second  # the account has no name: the contact's field
    assert "(no name)" in third and "lead 4" in third  # no CRM contact row: the id is kept
    assert "Cara" not in html and "Not Ready" not in html


def test_each_heading_once_and_the_sync_as_a_table(settings):
    write_warehouse(settings, [lead("1", 150.0)], [person("1", "Ann", "Lee")],
                    [{"account_id": "900", "company_name": "Acme"}])  # fmt: skip
    html = render(settings)
    headings = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", html)
    assert len(headings) == len(set(headings)), headings
    assert headings.count("Calibration") == 1
    sync = html.split("<h2>CRM sync</h2>", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", sync)
    assert cells == ["Considered", "Sent", "Not material", "Created", "Updated", "Rejected",
                     "Retried next run", "Dead letters", "Not in the CRM", "1,300", "37", "360",
                     "12", "21", "4", "3", "2", "5"]  # fmt: skip
    reasons = _section(html, "CRM sync").split("</table>", 2)[1]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", reasons)
    # in the sync's order, a row under every reason that applies; unknown keys escaped
    assert cells == ["Sent because", "Rows", "New record", "12", "Rejected before", "4",
                     "Score moved", "15", "SDR-ready", "3", "Owner", "2",
                     "&lt;b&gt;later&lt;/b&gt;", "1"]  # fmt: skip
    assert "<b>later" not in html
    assert "planned=" not in html and "dead_lettered " not in html
    assert "9 requests, 5 error responses" in html
    assert 'href="file:///tmp/data_docs/index.html"' in html
    gate = html.split("<h3>Quality gate</h3>", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", gate)
    assert cells == ["Raw table", "Checked", "Records checked",
                     "<code>raw.crm_contacts</code>", "incremental", "1,200",
                     "<code>raw.marketing_events</code>", "full (rules changed)",
                     "30,000"]  # fmt: skip


def test_report_without_a_sync_result(settings):
    write_warehouse(settings, [lead("1", 150.0)], [person("1", "Ann", "Lee")],
                    [{"account_id": "900", "company_name": "Acme"}])  # fmt: skip
    html = render(settings, synced={})
    assert "not run" in html and "Sent because" not in html
    assert "rows synced to CRM  0 of 0 considered (status ?)" in format_summary(
        load_latest(settings)
    )


AS_OF = date(2026, 11, 2)  # the date render() reports as of


def rep(rep_id: str, name: str, team: str, **values) -> dict:
    """A marts.rep_workload row."""
    row = {
        "rep_id": rep_id, "name": name, "team": team, "daily_capacity": 20,
        "out_of_office": False, "assigned_today": 5, "assigned_30d": 60, "open_assignments": 3,
        "breaches_30d": 0, "followed_up_within_sla_share": 0.9, "as_of_date": AS_OF,
    }  # fmt: skip
    return row | values


def routed(lead_id: str, rep_id: str | None, team: str, **values) -> dict:
    """A marts.lead_routing row of AS_OF (rep_id None: waiting in the queue)."""
    row = {
        "lead_id": lead_id, "account_id": None, "lead_score": 120.0, "score_gain_7d": 0.0,
        "grade": "A1", "team": team, "rep_id": rep_id, "crm_owner_id": None,
        "routing_rule": "north_america_smb", "queue_position": None, "queued_since": None,
        "wait_days": None, "assigned_at": datetime(2026, 11, 2, 23, 59, 59),
        "assigned_reason": "rule north_america_smb: team na_smb, round-robin", "as_of_date": AS_OF,
    }  # fmt: skip
    return row | values


def follow_up(lead_id: str, rep_id: str, team: str, assigned_at: datetime, status: str) -> dict:
    """A marts.lead_follow_ups row: due 48 h after the assignment."""
    return {
        "lead_id": lead_id, "rep_id": rep_id, "assigned_at": assigned_at, "team": team,
        "sla_due_at": assigned_at + timedelta(hours=48), "first_follow_up_at": None,
        "hours_to_follow_up": None, "sla_status": status, "is_breached": status == "breached",
        "reassign_due": False, "as_of_date": AS_OF,
    }  # fmt: skip


def write_routing_marts(settings, reps=None, routing=None, follow_ups=None) -> None:
    """marts.rep_workload, lead_routing and lead_follow_ups with the given rows (a mart
    whose rows are None is left out)."""
    with open_warehouse(settings) as wh:
        for table, rows in (("rep_workload", reps), ("lead_routing", routing),
                            ("lead_follow_ups", follow_ups)):  # fmt: skip
            if rows is not None:
                frame = pd.DataFrame(list(rows))
                wh.write_df(frame, "marts", table, mode="replace")


def _section(html: str, heading: str) -> str:
    return html.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]


def test_routing_section_shows_per_rep_load_and_breaches_escaped(settings):
    write_warehouse(settings, [lead("1", 150.0)], [person("1", "Ann", "Lee")],
                    [{"account_id": "900", "company_name": "Acme"}])  # fmt: skip
    write_routing_marts(
        settings,
        reps=[
            rep(
                "rep_01",
                "Seán <b>O'Brien</b>",
                "na_smb",
                assigned_today=7,
                breaches_30d=2,
                open_assignments=4,
                followed_up_within_sla_share=0.75,
            ),
            rep("rep_02", "Ann & Bo", "na_smb", assigned_today=5, breaches_30d=1),
            rep("rep_04", "Zoë", "emea", out_of_office=True, assigned_today=0, daily_capacity=15),
        ],
        routing=[
            *[routed(f"r{i}", "rep_01", "na_smb") for i in range(7)],
            *[routed(f"s{i}", "rep_02", "na_smb") for i in range(4)],
            routed("f1", "rep_02", "na_smb", routing_rule="fast_lane"),
            routed("q1", None, "na_smb", queue_position=1, wait_days=2),
            routed("q2", None, "emea", queue_position=1, wait_days=0),
            routed("old", "rep_01", "na_smb", as_of_date=date(2026, 11, 1)),  # another day
        ],
    )
    alerted = {"breaches": 3, "new_breaches": 2, "alerts_sent": 2, "messages": 1}
    summary = write_run_report(settings, "manual__1", datetime(2026, 11, 2, tzinfo=UTC),
                               EXTRACTED, GATE, SYNCED, alerted)  # fmt: skip
    html = open(summary["report_path"], encoding="utf-8").read()
    section = _section(html, "Routing and follow-up")
    rows = re.findall(r"<tr><td>.*?</tr>", section, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    # reps by team, then id
    assert cells[0][:6] == ["Zoë<br><small>rep_04</small>", "emea", "0", "3", "15", "yes"]
    assert cells[1] == ["Seán &lt;b&gt;O&#39;Brien&lt;/b&gt;<br><small>rep_01</small>", "na_smb",
                        "7", "4", "20", "", "2", "75.0%"]  # fmt: skip
    assert cells[2][:3] == ["Ann &amp; Bo<br><small>rep_02</small>", "na_smb", "5"]
    # per team: reps, capacity of the reps in office, assigned today, open, breaches
    assert cells[3:] == [["emea", "1", "0", "0", "3", "0"], ["na_smb", "2", "40", "12", "7", "3"]]
    assert "<b>" not in section
    assert summary["routing"] == {
        "leads_routed": 12, "reps_routed_to": 2, "fast_lane": 1, "waiting_in_queue": 2,
        "longest_wait_days": 2, "breaches_30d": 3, "breaches_30d_by_team": {"na_smb": 3,
        "emea": 0}, "new_breaches": 2, "alerts_sent": 2, "alert_messages": 1,
    }  # fmt: skip
    lines = format_summary(load_latest(settings)).splitlines()
    ready = next(i for i, line in enumerate(lines) if line.startswith("SDR-ready leads"))
    assert lines[ready + 1 : ready + 4] == [
        "leads routed: 12 today (2 reps, 1 fast lane)",
        "waiting in queue: 2 (longest 2 days)",
        "SLA breaches: 2 new, 3 in 30 days (alerts sent: 2)",
    ]


def test_a_warehouse_without_routing_marts_still_reports(settings):
    write_warehouse(settings, [lead("1", 150.0)], [person("1", "Ann", "Lee")],
                    [{"account_id": "900", "company_name": "Acme"}])  # fmt: skip
    html = render(settings)
    assert "Not built yet: no <code>marts.lead_routing</code>" in html
    lines = format_summary(load_latest(settings)).splitlines()
    assert [line.split(":")[0] for line in lines[3:6]] == [
        "leads routed", "waiting in queue", "SLA breaches"]  # fmt: skip


def stage(name: str, rows_in, touched, seconds: float, waited: float = 0.0) -> dict:
    """A stage's summary, as ``lead_scoring.nightly.run_stage`` returns it."""
    return {"name": name, "rows_in": rows_in, "rows_touched": touched, "seconds": seconds,
            "waited": waited}  # fmt: skip


def test_an_hourly_report_shows_its_kind_and_what_each_stage_touched(settings):
    write_warehouse(settings, [lead("1", 150.0)], [person("1", "Ann", "Lee")],
                    [{"account_id": "900", "company_name": "Acme"}])  # fmt: skip
    summary = write_run_report(
        settings, "scheduled__2026-11-02T11:00:00+00:00", datetime(2026, 11, 2, 11, tzinfo=UTC),
        EXTRACTED | {"stage": stage("extract", 7, 7, 3.2, waited=41.0)},
        GATE | {"stage": stage("quality_gate", 31_200, 3, 12.5)},
        SYNCED | {"stage": stage("crm_sync", 1300, 37, 4.0)},
        {"breaches": 3, "alerts_sent": 0, "stage": stage("sla_alerts", 3, 0, 0.4)},
        kind="hourly", dbt=stage("dbt", 5, 20_400, 61.5) | {"full": False, "leads_rescored": 1},
    )  # fmt: skip
    assert (summary["run_kind"], summary["full_because"]) == ("hourly", [])
    assert summary["leads_rescored"] == 1
    assert summary["report_path"].endswith("run_2026-11-02_1100.html")  # one file per hour
    html = open(summary["report_path"], encoding="utf-8").read()
    assert "<h1>Lead scoring run 2026-11-02 (hourly)</h1>" in html
    assert "Leads rescored: 1 of 1 " in html
    table = html.split("<h3>Stages</h3>", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", table)
    assert cells == ["Stage", "Rows in", "Rows touched", "Seconds", "Waited",
                     "Extract", "7", "7", "3.2", "41.0",
                     "Quality gate", "31,200", "3", "12.5", "",
                     "dbt build", "5", "20,400", "61.5", "",
                     "CRM sync", "1,300", "37", "4.0", "",
                     "SLA alerts", "3", "0", "0.4", ""]  # fmt: skip
    assert [s["stage"] for s in load_latest(settings)["stages"]] == [
        "extract", "quality_gate", "dbt", "crm_sync", "sla_alerts"]  # fmt: skip
    assert "as-of date          2026-11-02 (hourly run)" in format_summary(load_latest(settings))


FULL_GATE = GATE | {"tables": {
    "crm_contacts": {"mode": "full (no earlier passed run)", "records_checked": 1200},
    "marketing_events": {"mode": "full (no earlier passed run)", "records_checked": 30000},
}}  # fmt: skip


@pytest.mark.parametrize(
    "gate, dbt, kind, because",
    [
        (GATE, {"full": False}, "nightly", []),  # one table in full (replaced): not a full run
        (FULL_GATE, {"full": False}, "full",
         ["the quality gate checked every raw table (no earlier passed run)"]),
        (GATE, {"full": True}, "full", ["dbt built every model from scratch"]),
        (FULL_GATE, None, "full",
         ["the quality gate checked every raw table (no earlier passed run)"]),
    ],
)  # fmt: skip
def test_a_run_is_full_when_the_gate_checked_everything_or_dbt_built_everything(
    settings, gate, dbt, kind, because
):
    write_warehouse(settings, [lead("1", 150.0)], [person("1", "Ann", "Lee")],
                    [{"account_id": "900", "company_name": "Acme"}])  # fmt: skip
    summary = write_run_report(settings, "scheduled__1", datetime(2026, 11, 2, tzinfo=UTC),
                               EXTRACTED, gate, SYNCED, kind="nightly", dbt=dbt)  # fmt: skip
    assert (summary["run_kind"], summary["full_because"]) == (kind, because)
    assert summary["report_path"].endswith("run_2026-11-02.html")  # nightly: one per date
    html = open(summary["report_path"], encoding="utf-8").read()
    assert f"<h1>Lead scoring run 2026-11-02 ({kind})</h1>" in html
    for reason in because:
        assert reason in html
