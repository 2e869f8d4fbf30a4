"""The run report's top SDR-ready leads read from a real dbt build: names from the CRM
contacts, companies from the accounts, no customers."""

import re
from datetime import UTC, datetime

from lead_scoring.report import TOP_LEADS, write_run_report
from lead_scoring.warehouse import open_warehouse


def test_top_leads_from_a_dbt_build(calibration_settings):
    settings = calibration_settings
    with open_warehouse(settings) as wh:  # the build stops at lead_scores
        wh.execute("create table marts.account_scores as select 'a' as account_id where false")
    synced = {"status": "success", "sent": 3}
    as_of = datetime(2026, 6, 1, tzinfo=UTC)
    summary = write_run_report(settings, "manual__1", as_of, {"rows_loaded": {}}, {}, synced)
    html = open(summary["report_path"], encoding="utf-8").read()
    section = html.split("<h2>Top SDR-ready leads</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)<br><small>lead (.*?)</small></td><td>(.*?)</td>"
                      r"<td>(.*?)</td>", section)  # fmt: skip
    with open_warehouse(settings) as wh:
        ready = wh.query_df(
            "select lead_id, email, lead_score, lifecycle_stage from marts.lead_scores"
            " where is_sdr_ready"
        )
    expected = (ready["lifecycle_stage"] != "customer").sum()
    top_any = ready.sort_values(["lead_score", "lead_id"], ascending=[False, True])
    assert (top_any.head(TOP_LEADS)["lifecycle_stage"] == "customer").any()  # left out below
    assert len(rows) == min(TOP_LEADS, expected) > 0
    stages = dict(zip(ready["lead_id"], ready["lifecycle_stage"], strict=True))
    emails = dict(zip(ready["lead_id"], ready["email"], strict=True))
    for name, lead_id, email, company in rows:
        assert stages[lead_id] != "customer"
        assert name and name != "(no name)" and company, (name, lead_id, company)
        assert email == (emails[lead_id] or "")
    assert html.count("<h2>Calibration</h2>") == 1
