"""The gate on simulated sources, end to end (simulate -> extract -> gate): precision and
recall of every injected error class against the simulator's ground truth."""

from datetime import UTC

from lead_scoring.quality.evaluate import evaluate, summary
from lead_scoring.quality.gate import run_quality_gate
from lead_scoring.sources.extract import CrmSource, extract


def test_injected_errors_are_found_with_high_precision_and_recall(settings, monkeypatch):
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.simulator import simulate

    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "0.10")
    rates = {"invalid_email": 0.02, "disposable_email": 0.02, "personal_email": 0.03,
             "placeholder_name": 0.02, "impossible_company_size": 0.03, "bad_country": 0.02,
             "normalisable_country": 0.02, "duplicate_lead": 0.02, "future_created_at": 0.02,
             "unknown_lead": 0.01, "future_event": 0.01, "unknown_event_type": 0.01}  # fmt: skip
    summary_ = simulate(settings, leads=1_500, accounts=200, events=15_000, days=60, seed=11,
                        error_rates=rates)  # fmt: skip
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10_000) as sb:
        extract(settings, CrmSource(sb.hubspot_url, sb.token, max_requests_per_second=500))
    as_of = summary_.end if summary_.end.tzinfo else summary_.end.replace(tzinfo=UTC)
    result = run_quality_gate(settings, "simulated", as_of)
    assert result.status == "passed", result.message
    assert result.records_checked > 15_000

    scores = {s.error_class: s for s in evaluate(settings)}
    for name in ("invalid_email", "disposable_email", "personal_email", "placeholder_name",
                 "bad_country", "normalisable_country", "duplicate_lead", "future_created_at",
                 "impossible_company_size", "unknown_lead", "future_event",
                 "unknown_event_type"):  # fmt: skip
        score = scores[name]
        assert score.injected > 0, name
        assert score.recall >= 0.99, (name, score)
        assert score.precision >= 0.99, (name, score)
    assert summary(list(scores.values()))["dq_recall_min"] >= 0.99

    import typer
    from typer.testing import CliRunner

    from lead_scoring.quality.cli import quality_eval

    app = typer.Typer()
    app.command()(quality_eval)
    printed = CliRunner().invoke(app, []).output
    assert "dq_recall_min=1.0000" in printed and "dq_precision_min=1.0000" in printed
    assert "impossible_company_size" in printed
