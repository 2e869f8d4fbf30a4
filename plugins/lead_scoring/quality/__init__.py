"""The data-quality gate: Great Expectations suites over the raw schema, a quarantine with
reasons, and batch-level gates that stop the nightly run. See docs/quality.md.

Names are imported on first use, so a phone-checking worker process that imports a
submodule does not pay for pandas, the warehouse and Great Expectations.
"""

from __future__ import annotations

from importlib import import_module

_EXPORTS = {
    "GateResult": "lead_scoring.quality.gate",
    "QualityGateFailed": "lead_scoring.quality.gate",
    "run_quality_gate": "lead_scoring.quality.gate",
    "QualityConfig": "lead_scoring.quality.config",
    "QualityConfigError": "lead_scoring.quality.config",
    "load_config": "lead_scoring.quality.config",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
