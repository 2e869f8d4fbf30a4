"""Configuration from the environment, and the CLI commands' clear errors."""

import pytest
import typer
from typer.testing import CliRunner

from lead_scoring.calibration.cli import calibrate, calibration_apply
from lead_scoring.calibration.config import CalibrationConfig, CalibrationError, config_from_env


def test_config_from_env_and_overrides():
    config = config_from_env({"LEAD_SCORING_CALIBRATION_SDR_CAPACITY_PER_WEEK": "80",
                              "LEAD_SCORING_CALIBRATION_MAX_FACTORS": "12",
                              "LEAD_SCORING_CALIBRATION_AS_OF_DATE": "2026-05-01"})  # fmt: skip
    assert config.sdr_capacity_per_week == 80 and config.max_factors == 12
    assert config.as_of_date.isoformat() == "2026-05-01"
    assert config.with_overrides(max_factors=None, min_samples=5).min_samples == 5
    with pytest.raises(CalibrationError, match="LEAD_SCORING_CALIBRATION_MAX_FACTORS"):
        config_from_env({"LEAD_SCORING_CALIBRATION_MAX_FACTORS": "many"})
    with pytest.raises(CalibrationError, match="band"):
        CalibrationConfig(target_close_rate_low=0.2, target_close_rate_high=0.1)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("calibrate")(calibrate)
    app.command("calibration-apply")(calibration_apply)
    return app


def test_cli_errors_are_one_clear_line(settings):
    runner = CliRunner()
    result = runner.invoke(_app(), ["calibrate"])
    assert result.exit_code == 1
    assert "missing; run the nightly pipeline" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(_app(), ["calibration-apply", "latest"])
    assert result.exit_code == 1 and "no proposal in" in result.output
