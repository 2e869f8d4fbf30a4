"""Every HTML page the product writes escapes what the data holds: an XSS corpus pushed
through each text field of the run report and of the calibration report comes out as
text, never as a tag, an attribute or a ``javascript:`` link."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from jinja2 import DictLoader
from markupsafe import escape
from test_report import lead, person, rep, routed, write_routing_marts, write_warehouse

from lead_scoring.calibration import calibration_summary_html
from lead_scoring.calibration.backtest import Backtest
from lead_scoring.calibration.proposals import APPLIED, SUMMARY, proposals_dir
from lead_scoring.calibration.report import write_report
from lead_scoring.rendering import html_environment, safe_url
from lead_scoring.report import write_run_report

CORPUS = [
    "<script>alert('x')</script>",
    "<ScRiPt src=//evil.example/x.js></sCrIpT>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus x='",
    "'><img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "</td></tr></table><iframe src=javascript:alert(1)>",
    "javascript:alert(1)",
    " JaVaScRiPt:alert(document.cookie)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "{{ 7*7 }}<b>{% raw %}",
]
# Tags and attributes the product's own templates use; anything else came from the data.
TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "code", "table",
        "tr", "th", "td", "a", "br", "small", "ul", "li", "section", "span", "div", "img",
        "strong"}  # fmt: skip
ATTRIBUTES = {"lang", "charset", "class", "colspan", "href", "src", "alt"}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_inert(html: str, values: dict[str, str]) -> None:
    """No tag or attribute beyond the template's own, no script link; each value shown."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag in TAGS, (tag, attrs)
        for name, value in attrs:
            assert name in ATTRIBUTES, (tag, name, value)
            if name in ("href", "src"):
                scheme = "".join(ch for ch in (value or "") if ch > " ").lower()
                assert not scheme.startswith(("javascript:", "data:", "vbscript:")), value
    assert "<script" not in html.lower() and "<img src=x" not in html.lower()
    assert not re.search(r"[\"'][\s/]*on\w+\s*=", html), "a quote broke out of an attribute"
    assert not re.search(r"(href|src)\s*=\s*[\"']\s*(javascript|data|vbscript):", html, flags=re.I)
    for field, value in values.items():
        assert str(escape(value.strip())) in html, f"{field} does not reach the page"


def _run_report(settings, payload: str) -> tuple[str, dict[str, str]]:
    fields = {name: f"{payload}~{name}" for name in (
        "lead_id", "first_name", "last_name", "email", "company", "contact_company",
        "reason", "grade", "stage", "model_version", "run_id", "rule", "table",
        "sync_status", "sync_target", "sync_message", "rep_id", "rep_name", "team")}  # fmt: skip
    write_warehouse(
        settings,
        leads=[
            lead(
                fields["lead_id"],
                150.0,
                email=fields["email"],
                score_reasons=f"{fields['reason']}; +5 {payload}",
                grade=fields["grade"],
                lifecycle_stage=fields["stage"],
                model_version=fields["model_version"],
            ),
            lead("2", 120.0, account_id="901", model_version=fields["model_version"]),
        ],
        contacts=[
            person(fields["lead_id"], fields["first_name"], fields["last_name"]),
            person("2", "Ann", "Lee", company=fields["contact_company"]),
        ],
        companies=[
            {"account_id": "900", "company_name": fields["company"]},
            {"account_id": "901", "company_name": None},
        ],
    )
    write_routing_marts(
        settings,
        reps=[rep(fields["rep_id"], fields["rep_name"], fields["team"], breaches_30d=1)],
        routing=[routed(fields["lead_id"], fields["rep_id"], fields["team"])],
    )
    gate = {"records_quarantined": 1, "quarantine_rate": 0.5,
            "counts_by_rule": {fields["rule"]: 1}, "data_docs_path": payload}  # fmt: skip
    synced = {"status": fields["sync_status"], "target": fields["sync_target"],
              "message": fields["sync_message"], "sent": 1}  # fmt: skip
    write_proposal(settings, payload)
    summary = write_run_report(settings, fields["run_id"], datetime(2026, 11, 2, tzinfo=UTC),
                               {"rows_loaded": {fields["table"]: 3}}, gate, synced)  # fmt: skip
    html = Path(summary["report_path"]).read_text(encoding="utf-8")
    # Reasons are listed one per item: the corpus's own ";" splits a reason too.
    reason = fields["reason"].split(";")[-1]
    return html, fields | {"reason": reason, "calibration_proposal": f"{payload}~proposal"}


def _calibration_summary(payload: str) -> dict:
    at = {"threshold": 100, "close_rate": 0.12, "volume_per_week": 80.0,
          "sdr_ready_share": 0.1, "profile_only_share": 0.05, "bad_fit_low_pain_share": 0.01,
          "sdr_ready_leads": 10}  # fmt: skip
    return {
        "proposal": f"{payload}~proposal", "as_of_date": f"{payload}~as_of",
        "created_at": f"{payload}~created", "decided_leads": 500, "won_leads": 60,
        "leads_per_week": 100, "threshold_status": f"{payload}~status",
        "seed_rule_violations": [f"{payload}~violation"], "proposed_threshold": 90,
        "current_threshold": 100, "factors_kept": 4, "signals_changed": 3, "candidates": 40,
        "no_signal": False, "current_score_floor": 0, "proposed_score_floor": None,
        "apply_command": f"lead-scoring calibration-apply '{payload}~apply'",
        "current_at_threshold": at, "proposed_at_threshold": at,
        "config": {"target_close_rate_low": 0.1, "target_close_rate_high": 0.15,
                   "sdr_capacity_per_week": 250, "min_lift_points": 5, "min_samples": 30,
                   "max_factors": 20},
        "suggested_vars": {f"{payload}~var": f"{payload}~var_value"},
        "backtest": {"train_period": [f"{payload}~train", "b"], "test_period": ["c", "d"]},
        "auc_current": 0.8, "auc_proposed": 0.85, "auc_challenger": 0.9,
        "auc_proposed_interval": [0.8, 0.9],
        "capacity": {"source": f"{payload}~capacity_source", "reps": 3, "per_week": 300.0,
                     "within_sla_rate": 0.5, "decided_assignments": 40,
                     "follow_up_per_week": 150.0, "binding": True,
                     "lowest_fitting_threshold": 120, "band_only_threshold": 90,
                     "raise_over_band": 30, "current_volume_per_week": 200.0,
                     "current_fits": False, "reason": f"{payload}~capacity_reason"},
    }  # fmt: skip


def write_proposal(settings, payload: str) -> Path:
    path = proposals_dir(settings) / "20261101T000000Z"
    path.mkdir(parents=True, exist_ok=True)
    (path / SUMMARY).write_text(json.dumps(_calibration_summary(payload)), encoding="utf-8")
    (path / APPLIED).write_text(json.dumps({"applied_at": f"{payload}~applied"}), "utf-8")
    return path


@pytest.mark.parametrize("payload", CORPUS)
def test_run_report_escapes_every_field(settings, payload):
    html, fields = _run_report(settings, payload)
    assert_inert(html, fields | {"applied": f"{payload}~applied"})


@pytest.mark.parametrize("payload", CORPUS)
def test_calibration_summary_escapes_every_field(settings, payload):
    write_proposal(settings, payload)
    html = str(calibration_summary_html(settings))
    s = _calibration_summary(payload)
    assert_inert(
        html,
        {
            "proposal": s["proposal"],
            "as_of": s["as_of_date"],
            "status": s["threshold_status"],
            "applied": f"{payload}~applied",
        },
    )
    (proposals_dir(settings) / "20261101T000000Z" / APPLIED).unlink()
    html = str(calibration_summary_html(settings))
    assert_inert(html, {"apply": s["apply_command"]})


@pytest.mark.parametrize("payload", CORPUS)
def test_calibration_report_escapes_every_field(tmp_path, monkeypatch, payload):
    from lead_scoring.calibration import plots

    for name in ("score_distribution", "conversion_by_band", "lift_chart", "calibration_plot",
                 "threshold_tradeoff"):  # fmt: skip
        monkeypatch.setattr(plots, name, lambda *args, **kwargs: payload)
    model = f"{payload}~model"
    decisions = pd.DataFrame({
        "signal": [f"{payload}~signal"], "category": [f"{payload}~category"], "n_with": [40],
        "close_rate_with": [0.2], "close_rate_without": [0.1], "lift_pp": [10.0],
        "ci_low_pp": [5.0], "ci_high_pp": [15.0], "weight": [0.4], "current_points": [5],
        "proposed_points": [10], "status": [f"{payload}~signal_status"],
    })  # fmt: skip
    backtest = Backtest(
        metrics=pd.DataFrame(
            {
                "model": [model],
                "auc": [0.8],
                "auc_low": [0.75],
                "auc_high": [0.85],
                "threshold": [100],
                "close_rate": [0.12],
                "volume_per_week": [80.0],
                "profile_only_share": [0.05],
                "bad_fit_low_pain_share": [0.01],
            }
        ),
        deciles=pd.DataFrame({"model": [model] * 2, "decile": [10, 9], "lift": [3.0, 2.0]}),
        test_scores=pd.DataFrame(),
        split=pd.DataFrame(),
        train_period=("a", "b"),
        test_period=("c", "d"),
    )
    scores = pd.DataFrame({"lead_score": [100.0]})
    summary = _calibration_summary(payload)
    report = write_report(tmp_path, summary, decisions, pd.DataFrame(), backtest, scores,
                          pd.Series([True]), scores)  # fmt: skip
    html = report.read_text(encoding="utf-8")
    assert_inert(html, {key: summary[key] for key in
                        ("proposal", "as_of_date", "created_at", "threshold_status")}
                 | {"violation": f"{payload}~violation", "var": f"{payload}~var",
                    "var_value": f"{payload}~var_value", "train": f"{payload}~train",
                    "model": model, "signal": f"{payload}~signal",
                    "category": f"{payload}~category",
                    "signal_status": f"{payload}~signal_status",
                    "capacity_source": f"{payload}~capacity_source",
                    "capacity_reason": f"{payload}~capacity_reason"})  # fmt: skip


@pytest.mark.parametrize(
    ("value", "url"),
    [("javascript:alert(1)", ""), (" JavaScript:alert(1)", ""), ("java\tscript:x", ""),
     ("java\nscript:x", ""), ("vbscript:x", ""), ("data:text/html,x", ""), ("", ""),
     (None, ""), ("&#106;avascript:alert(1)", ""), ("https://example.com/a?b=1&c=2",
     "https://example.com/a?b=1&c=2"), ("file:///tmp/x.html", "file:///tmp/x.html"),
     ("/tmp/data docs/index.html", "file:///tmp/data%20docs/index.html"),
     ("score_distribution.png", "score_distribution.png")],
)  # fmt: skip
def test_safe_url(value, url):
    assert safe_url(value) == url


def test_every_template_autoescapes_whatever_its_name():
    names = ("page.html.j2", "page.j2", "page.txt", "page")
    env = html_environment(DictLoader(dict.fromkeys(names, "{{ v }}")))
    for name in names:
        assert env.get_template(name).render(v="<b>") == "&lt;b&gt;", name
    assert env.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"
