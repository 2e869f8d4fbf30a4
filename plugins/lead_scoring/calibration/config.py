"""What a calibration aims for and how strict it is: one typed object, read from the environment.

Every field has an environment variable ``LEAD_SCORING_CALIBRATION_<FIELD>`` (upper case),
so the weekly DAG and the CLI share one configuration; CLI options override it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from datetime import date

ENV_PREFIX = "LEAD_SCORING_CALIBRATION_"


class CalibrationError(RuntimeError):
    """A calibration problem a user can fix (no outcomes, bad option, missing proposal...)."""


@dataclass(frozen=True)
class CalibrationConfig:
    # Close rate of SDR-ready leads the threshold aims for (domain: 10-15%).
    target_close_rate_low: float = 0.10
    target_close_rate_high: float = 0.15
    # SDR-ready leads per week the SDR team can follow up within 48 hours. None: the roster's
    # capacity (reps not out of office x daily capacity x 5 days) times the follow-up rate
    # measured in marts.lead_follow_ups (see ``capacity``); a number overrides both.
    sdr_capacity_per_week: float | None = None
    # A signal is dropped (0 points) below this lift in percentage points ...
    min_lift_points: float = 5.0
    # ... or with fewer leads than this having it (or lacking it).
    min_samples: int = 30
    # At most this many signals keep non-zero points (domain: 15-20).
    max_factors: int = 20
    # A lead that never reached SQL is judged on what it did in its first N days
    # (None: the median days from creation to SQL, so both groups are seen as long).
    decision_window_days: int | None = None
    # Leads created in the last N days are too young to judge (their deals may be open).
    maturity_days: int = 60
    # Share of decided leads (the latest decisions) held out by the backtest.
    test_share: float = 0.3
    # Fewer decided leads than this (or fewer than 10 won) and calibration refuses to run.
    min_decided_leads: int = 200
    # The date the outcomes are read as of (None: the as-of date of the last dbt build).
    as_of_date: date | None = None

    def __post_init__(self) -> None:
        checks = [
            (0 < self.target_close_rate_low < self.target_close_rate_high < 1,
             "target close-rate band must satisfy 0 < low < high < 1"),
            (self.sdr_capacity_per_week is None or self.sdr_capacity_per_week > 0,
             "sdr_capacity_per_week must be positive"),
            (self.min_lift_points >= 0, "min_lift_points must not be negative"),
            (self.min_samples >= 1, "min_samples must be at least 1"),
            (self.max_factors >= 1, "max_factors must be at least 1"),
            (self.decision_window_days is None or self.decision_window_days >= 1,
             "decision_window_days must be at least 1"),
            (self.maturity_days >= 0, "maturity_days must not be negative"),
            (0.05 <= self.test_share <= 0.5, "test_share must be between 0.05 and 0.5"),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise CalibrationError(f"calibration config: {message} (got {self})")

    @property
    def band(self) -> tuple[float, float]:
        return self.target_close_rate_low, self.target_close_rate_high

    def with_overrides(self, **overrides) -> CalibrationConfig:
        """This config with the given fields replaced; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def config_from_env(environ: dict[str, str] | None = None) -> CalibrationConfig:
    """Defaults, overridden by ``LEAD_SCORING_CALIBRATION_<FIELD>`` variables."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(CalibrationConfig):
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw in (None, ""):
            continue
        try:
            if f.name == "as_of_date":
                values[f.name] = date.fromisoformat(raw)
            elif f.type in ("int", "int | None"):
                values[f.name] = int(raw)
            else:
                values[f.name] = float(raw)
        except ValueError as exc:
            raise CalibrationError(
                f"environment variable {ENV_PREFIX + f.name.upper()}: cannot read {raw!r}"
                f" as a {'date' if f.name == 'as_of_date' else f.type}"
            ) from exc
    return CalibrationConfig(**values)
