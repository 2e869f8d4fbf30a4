"""Hits -> the rows of the quality tables, by each rule's policy.

``reject`` rows go to the quarantine, ``flag`` rows to record_flags, ``normalise`` rows
to normalised_values; personal values are redacted in the last two (redaction.py), and in
the quarantine by the store, which knows how long a row has been there. Duplicate leads
(same normalised e-mail) keep the earliest-created contact as survivor (ties: the lowest
id); with ``merge`` the later ones are listed in duplicate_leads, with ``reject`` they are
quarantined.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lead_scoring.quality.checks import Batch
from lead_scoring.quality.config import QualityConfig
from lead_scoring.quality.redaction import redact_column
from lead_scoring.quality.rules import FLAG, MERGE, NORMALISE, REJECT
from lead_scoring.quality.store import KEY, empty
from lead_scoring.quality.validate import Hit


@dataclass
class Outcome:
    quarantine: pd.DataFrame  # without first/last seen (the store adds them)
    flags: pd.DataFrame
    normalised: pd.DataFrame
    duplicates: pd.DataFrame
    email_domains: pd.DataFrame


def survivors(checks: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """``record_id`` -> ``survivor_id`` for the later duplicates among ``ids``."""
    members = checks.loc[ids, ["email_key", "created_at"]].reset_index()
    members["number"] = pd.to_numeric(members["record_id"], errors="coerce")
    members = members.sort_values(
        ["email_key", "created_at", "number", "record_id"], na_position="last", kind="stable"
    )
    members["survivor_id"] = members.groupby("email_key")["record_id"].transform("first")
    later = members[members["record_id"] != members["survivor_id"]]
    return later[["record_id", "survivor_id"]].reset_index(drop=True)


def _rows(batch: Batch, hit: Hit, ids: list[str], run_id: str) -> pd.DataFrame:
    values = batch.values.loc[ids, hit.field]
    rows = pd.DataFrame({
        "record_type": batch.record_type,
        "record_id": ids,
        "rule": hit.rule,
        "field": batch.fields.get(hit.field, hit.field),
        "value": values.to_numpy(dtype=object),
        "run_id": run_id,
    })  # fmt: skip
    if hit.normalised:
        rows["normalised_value"] = batch.checks.loc[ids, hit.normalised].to_numpy(dtype=object)
    return rows


def _concat(frames: list[pd.DataFrame], table: str, key: list[str]) -> pd.DataFrame:
    if not frames:
        return empty(table)
    return pd.concat(frames, ignore_index=True).drop_duplicates(key)


def build_outcome(
    batches: list[Batch], hits: list[Hit], config: QualityConfig, run_id: str
) -> Outcome:
    by_type = {batch.record_type: batch for batch in batches}
    routed: dict[str, list[pd.DataFrame]] = {REJECT: [], FLAG: [], NORMALISE: [], MERGE: []}
    for hit in hits:
        batch = by_type[hit.record_type]
        policy = config.policy(hit.rule)
        ids = hit.record_ids
        if hit.rule == "duplicate_lead":
            pairs = survivors(batch.checks, ids)
            if policy == MERGE:
                routed[MERGE].append(pairs.assign(run_id=run_id))
                continue
            ids = pairs["record_id"].tolist()
        routed[policy].append(_rows(batch, hit, ids, run_id))
    quarantine = _concat(routed[REJECT], "quarantine", KEY)
    flags = redact_column(_concat(routed[FLAG], "record_flags", KEY), "value")
    normalised = _concat(routed[NORMALISE], "normalised_values", KEY)
    if len(normalised):
        normalised = normalised.rename(columns={"value": "original_value"})
        for column in ("original_value", "normalised_value"):
            normalised = redact_column(normalised, column)
    duplicates = _concat(routed[MERGE], "duplicate_leads", ["record_id"])
    return Outcome(quarantine, flags, normalised, duplicates, _email_domains(by_type))


def _email_domains(by_type: dict[str, Batch]) -> pd.DataFrame:
    contacts = by_type.get("contact")
    if contacts is None:
        return empty("email_domains")
    domains = contacts.checks[["email_domain", "email_domain_type"]].dropna()
    return domains.drop_duplicates("email_domain").rename(columns={"email_domain": "domain"})
