"""Closed-loop calibration: weights and threshold from won/lost history, proposed, backtested,
reported, and applied only on request (see docs/calibration.md)."""

from lead_scoring.calibration.config import CalibrationConfig, CalibrationError, config_from_env
from lead_scoring.calibration.proposals import apply_proposal
from lead_scoring.calibration.report import calibration_summary_html
from lead_scoring.calibration.run import CalibrationResult, run_calibration

__all__ = [
    "CalibrationConfig",
    "CalibrationError",
    "CalibrationResult",
    "apply_proposal",
    "calibration_summary_html",
    "config_from_env",
    "run_calibration",
]
