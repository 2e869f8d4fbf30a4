"""``quality-check`` and ``quality-eval`` from the command line."""

import typer
from typer.testing import CliRunner

from lead_scoring.quality.cli import quality_check, quality_eval

app = typer.Typer()
app.command("quality-check")(quality_check)
app.command("quality-eval")(quality_eval)


def test_quality_check_prints_counts_per_rule(settings, clean_raw):
    from quality_rows import contact

    clean_raw(crm_contacts=[contact(1), contact(2, email="kim@mailinator.com")])
    result = CliRunner().invoke(app, ["quality-check", "--as-of", "2026-11-01T06:00:00",
                                      "--run-id", "cli-1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "disposable_email" in result.output and "quality gate cli-1: passed" in result.output
    assert (settings.reports_dir / "data_docs" / "cli-1" / "index.html").exists()


def test_quality_check_exits_non_zero_when_a_gate_fails(settings, clean_raw):
    result = CliRunner().invoke(app, ["quality-check", "--as-of", "2027-06-01"])
    assert result.exit_code == 1
    assert "gate failed" in result.output and "stale" in result.output


def test_quality_eval_without_simulated_truth_says_what_to_do(settings, clean_raw):
    CliRunner().invoke(app, ["quality-check", "--as-of", "2026-11-01T06:00:00"])
    result = CliRunner().invoke(app, ["quality-eval"])
    assert result.exit_code == 1
    assert "no ground truth" in result.output and "simulate" in result.output


def test_quality_check_full_validates_every_row_again(settings, clean_raw):
    args = ["quality-check", "--as-of", "2026-11-01T06:00:00"]
    assert "checked 7," in CliRunner().invoke(app, [*args, "--run-id", "cli-1"]).output
    assert "checked 0," in CliRunner().invoke(app, [*args, "--run-id", "cli-2"]).output
    result = CliRunner().invoke(app, [*args, "--run-id", "cli-3", "--full"])
    assert result.exit_code == 0 and "checked 7," in result.output
