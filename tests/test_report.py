"""The run report on a small warehouse: top SDR-ready leads a rep can act on (name,
e-mail, company, score, reasons; customers left out), each heading once, the CRM sync as
a table."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd

from lead_scoring.report import write_run_report
from lead_scoring.warehouse import open_warehouse

SYNCED = {
    "run_id": "manual__1", "target": "hubspot", "status": "partial", "dry_run": False,
    "planned": 40, "sent": 37, "inserted": 12, "updated": 21, "skipped": 900, "rejected": 4,
    "dead_lettered": 2, "pending": 3, "not_in_crm": 5, "duplicates": 0, "quarantined": 0,
    "requests": 9, "error_responses": 5, "message": "4 rows rejected (sync.rejections), 3 pending",
    "by_object": {},
}  # fmt: skip
GATE = {"records_quarantined": 3, "quarantine_rate": 0.01,
        "counts_by_rule": {"placeholder_name": 2, "invalid_email": 1},
        "data_docs_path": "/tmp/data_docs/index.html"}  # fmt: skip
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
    assert cells == ["Sent", "Created", "Updated", "Rejected", "Retried next run",
                     "Dead letters", "Not in the CRM", "37", "12", "21", "4", "3", "2",
                     "5"]  # fmt: skip
    assert "planned=" not in html and "dead_lettered " not in html
    assert "9 requests, 5 error responses" in html
    assert 'href="file:///tmp/data_docs/index.html"' in html


def test_report_without_a_sync_result(settings):
    write_warehouse(settings, [lead("1", 150.0)], [person("1", "Ann", "Lee")],
                    [{"account_id": "900", "company_name": "Acme"}])  # fmt: skip
    html = render(settings, synced={})
    assert "not run" in html
