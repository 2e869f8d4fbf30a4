"""The gate's configuration: one small typed object read from ``LEAD_SCORING_DQ_*`` variables.

| variable | default | meaning |
|---|---|---|
| ``LEAD_SCORING_DQ_MAX_QUARANTINE_RATE`` | ``0.10`` | stop when a larger share is quarantined |
| ``LEAD_SCORING_DQ_RATE_MIN_RECORDS`` | ``100`` | record types smaller than this only count
  towards the overall rate |
| ``LEAD_SCORING_DQ_MAX_VOLUME_DROP`` | ``0.50`` | stop when a raw table shrank by more than
  this share against the previous passed run |
| ``LEAD_SCORING_DQ_MAX_SOURCE_AGE_HOURS`` | ``72`` | stop when a source's newest change is older |
| ``LEAD_SCORING_DQ_MAX_COMPANY_SIZE`` | ``3000000`` | largest believable ``numberofemployees`` |
| ``LEAD_SCORING_DQ_DEFAULT_PHONE_REGION`` | ``US`` | region for phone numbers without ``+``
  when the contact has no country |
| ``LEAD_SCORING_DQ_WORKERS`` | CPU count | processes for phone-number parsing |
| ``LEAD_SCORING_DQ_POLICY_<RULE>`` | see ``rules.py`` | e.g. ``..._DISPOSABLE_EMAIL=reject`` |
| ``LEAD_SCORING_DQ_KEEP_VALUES`` | ``false`` | keep quarantined values in full (redacted otherwise,
  ``redaction.py``); needs ``..._VALUE_RETENTION_DAYS`` |
| ``LEAD_SCORING_DQ_VALUE_RETENTION_DAYS`` | unset | days a quarantined value is kept in full,
  counted from the row's ``first_seen_at``; then the next gate run redacts it |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from lead_scoring.quality.rules import RULES

PREFIX = "LEAD_SCORING_DQ_"


class QualityConfigError(ValueError):
    """A ``LEAD_SCORING_DQ_*`` variable holds a value the gate cannot use."""


@dataclass(frozen=True)
class QualityConfig:
    max_quarantine_rate: float = 0.10
    rate_min_records: int = 100
    max_volume_drop: float = 0.50
    max_source_age_hours: float = 72.0
    max_company_size: int = 3_000_000
    default_phone_region: str = "US"
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    policies: Mapping[str, str] = field(default_factory=dict)
    keep_values: bool = False
    value_retention_days: int | None = None

    def policy(self, rule: str) -> str:
        return self.policies.get(rule, RULES[rule].default)


def _number(env: Mapping[str, str], name: str, kind, default, low, high):
    raw = env.get(PREFIX + name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise QualityConfigError(
            f"{PREFIX}{name}={raw!r}: expected a {kind.__name__} between {low} and {high}"
        )
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(PREFIX + name) or "").strip().lower()
    if raw in ("", "false", "0", "no", "off"):
        return False
    if raw in ("true", "1", "yes", "on"):
        return True
    raise QualityConfigError(f"{PREFIX}{name}={env[PREFIX + name]!r}: expected true or false")


def _kept_values(env: Mapping[str, str]) -> tuple[bool, int | None]:
    """Full quarantined values only when asked for, and then only for a stated time."""
    keep = _flag(env, "KEEP_VALUES")
    days = _number(env, "VALUE_RETENTION_DAYS", int, None, 1, 36_500)
    if keep and days is None:
        raise QualityConfigError(
            f"{PREFIX}KEEP_VALUES=true keeps personal values of quarantined records in full:"
            f" set {PREFIX}VALUE_RETENTION_DAYS to the days they may be kept (e.g. 30)"
        )
    return keep, days


def _policies(env: Mapping[str, str]) -> dict[str, str]:
    policies = {}
    for key, raw in env.items():
        if not key.startswith(PREFIX + "POLICY_"):
            continue
        rule = key.removeprefix(PREFIX + "POLICY_").lower()
        if rule not in RULES:
            raise QualityConfigError(f"{key}: no rule {rule!r} (rules: {', '.join(sorted(RULES))})")
        value = raw.strip().lower()
        if value not in RULES[rule].allowed:
            raise QualityConfigError(
                f"{key}={raw!r}: allowed policies are {', '.join(RULES[rule].allowed)}"
            )
        policies[rule] = value
    return policies


def _phone_regions() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def load_config(env: Mapping[str, str] | None = None) -> QualityConfig:
    """The configuration from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    region = (env.get(PREFIX + "DEFAULT_PHONE_REGION") or "US").strip().upper()
    if region not in _phone_regions():
        raise QualityConfigError(
            f"{PREFIX}DEFAULT_PHONE_REGION={region!r}: not a phonenumbers region (e.g. US, DE)"
        )
    keep, days = _kept_values(env)
    return QualityConfig(
        max_quarantine_rate=_number(env, "MAX_QUARANTINE_RATE", float, 0.10, 0.0, 1.0),
        rate_min_records=_number(env, "RATE_MIN_RECORDS", int, 100, 0, 10**12),
        max_volume_drop=_number(env, "MAX_VOLUME_DROP", float, 0.50, 0.0, 1.0),
        max_source_age_hours=_number(env, "MAX_SOURCE_AGE_HOURS", float, 72.0, 0.0, 10**6),
        max_company_size=_number(env, "MAX_COMPANY_SIZE", int, 3_000_000, 1, 10**12),
        default_phone_region=region,
        workers=_number(env, "WORKERS", int, os.cpu_count() or 1, 1, 256),
        policies=_policies(env),
        keep_values=keep,
        value_retention_days=days,
    )
