"""The data-quality gate: Great Expectations suites over the raw schema, a quarantine with
reasons, and batch-level gates that stop the nightly run. See docs/quality.md."""

from lead_scoring.quality.config import QualityConfig, QualityConfigError, load_config
from lead_scoring.quality.gate import GateResult, QualityGateFailed, run_quality_gate

__all__ = [
    "GateResult",
    "QualityConfig",
    "QualityConfigError",
    "QualityGateFailed",
    "load_config",
    "run_quality_gate",
]
