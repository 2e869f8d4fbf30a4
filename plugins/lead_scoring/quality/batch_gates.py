"""Batch-level gates: each returns the messages of the checks that should stop the run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from lead_scoring.quality.config import QualityConfig

TOP_VALUES = 5  # the most frequent unknown event types a message names


def type_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Quality-table ``rows`` of unknown event types, counted: record_type, rule, value, n
    (what ``unknown_event_types`` needs, in little memory)."""
    unknown = rows[rows["rule"] == "unknown_event_type"].astype({"value": "str"})
    return unknown.groupby(["record_type", "rule", "value"]).size().rename("n").reset_index()


def unknown_event_types(rows: pd.DataFrame, top: int = TOP_VALUES) -> str:
    """The unknown event types among quality-table ``rows`` (rule, value; with ``n``, the
    rows each stands for), most frequent first: "unknown event types: 'webinar_v2' (120),
    'foo' (3)"; "" when there are none."""
    unknown = rows[rows["rule"] == "unknown_event_type"]
    if unknown.empty:
        return ""
    weights = unknown["n"] if "n" in unknown else pd.Series(1, index=unknown.index)
    by_value = weights.groupby(unknown["value"].astype("str")).sum()
    counts = sorted(by_value.items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{value!r} ({n})" for value, n in counts[:top])
    rest = counts[top:]
    if rest:
        named += f" and {len(rest)} more ({sum(n for _, n in rest)} events)"
    return f"unknown event types: {named}"


def quarantine_rate(
    checked: dict[str, int],
    quarantined: dict[str, int],
    config: QualityConfig,
    quarantine: pd.DataFrame,
) -> list[str]:
    """Overall, and per record type with at least ``rate_min_records`` rows; a message
    names the unknown event types among the ``quarantine`` rows it counts."""
    limit = config.max_quarantine_rate
    messages = []
    total, bad = sum(checked.values()), sum(quarantined.values())
    if total and bad / total > limit:
        messages.append(_with(
            f"quarantine rate {bad / total:.1%} ({bad} of {total} records) is above {limit:.1%}",
            unknown_event_types(quarantine),
        ))  # fmt: skip
    for record_type, count in sorted(checked.items()):
        share = quarantined.get(record_type, 0) / count if count else 0.0
        if count >= config.rate_min_records and share > limit:
            messages.append(_with(
                f"{share:.1%} of {record_type} records quarantined"
                f" ({quarantined[record_type]} of {count}), above {limit:.1%}",
                unknown_event_types(quarantine[quarantine["record_type"] == record_type]),
            ))  # fmt: skip
    return messages


def _with(message: str, detail: str) -> str:
    return f"{message}: {detail}" if detail else message


def volume_drop(
    current: pd.DataFrame, previous: dict[str, int], config: QualityConfig
) -> list[str]:
    """A raw table that shrank by more than ``max_volume_drop`` since the last passed run."""
    now = dict(zip(current["table_name"], current["row_count"], strict=True))
    messages = []
    for table, before in sorted(previous.items()):
        after = int(now.get(table, 0))
        if before > 0 and (before - after) / before > config.max_volume_drop:
            messages.append(
                f"raw.{table} dropped from {before} to {after} rows"
                f" ({(before - after) / before:.0%}, limit {config.max_volume_drop:.0%})"
            )
    return messages


# A source is fresh when any of its tables changed recently: a small CRM may go days
# without a company edit while its contacts change every hour.
SOURCES = {
    "CRM": (
        "crm_contacts",
        "crm_companies",
        "crm_deals",
        "crm_contact_attributes",
        "crm_company_attributes",
    ),
    "product database": ("product_users", "product_events"),
    "marketing exports": ("marketing_events",),
}


def freshness(current: pd.DataFrame, as_of: datetime, config: QualityConfig) -> list[str]:
    """A source whose newest change is older than ``max_source_age_hours`` at ``as_of``."""
    limit = timedelta(hours=config.max_source_age_hours)
    messages = []
    for source, tables in SOURCES.items():
        rows = current[current["table_name"].isin(tables) & (current["row_count"] > 0)]
        if rows.empty:
            continue
        newest = pd.to_datetime(rows["newest_at"]).max()
        listed = ", ".join(f"raw.{t}" for t in rows["table_name"])
        if pd.isna(newest):
            messages.append(f"{source} ({listed}) has no change dated at or before {as_of}")
        elif as_of - newest > limit:
            age = (as_of - newest).total_seconds() / 3600
            messages.append(
                f"{source} is stale: the newest change in {listed} is {newest}, {age:.0f} h"
                f" before the as-of time (limit {config.max_source_age_hours:g} h)"
            )
    return messages
