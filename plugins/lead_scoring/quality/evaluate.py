"""Precision and recall of the gate per injected error class, against the simulator's truth.

A record counts as detected for a class when the quality tables hold a row of the class's
rule for it, whatever the policy (quarantine, flag, normalisation or duplicate list), so
the figures do not change when a policy does.

``impossible_company_size`` is injected into accounts and labelled on their leads that
carry no other label; a lead is detected when its company was caught, and leads labelled
with another class are left out of that class's precision (the simulator gives each lead
one label).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

# injected class -> the rules that detect it (the simulator's values that are no country
# include regions such as "Europe", which the gate flags rather than rejects)
LEAD_CLASSES = {
    "invalid_email": ("invalid_email",),
    "disposable_email": ("disposable_email",),
    "personal_email": ("personal_email",),
    "placeholder_name": ("placeholder_name",),
    "bad_country": ("bad_country", "country_is_region"),
    "normalisable_country": ("country_spelling",),
    "future_created_at": ("future_created_at",),
    "duplicate_lead": ("duplicate_lead",),
    "impossible_company_size": ("impossible_company_size",),
}
EVENT_CLASSES = ("unknown_lead", "future_event", "unknown_event_type")
ACCOUNT_CLASSES = frozenset({"impossible_company_size"})


class QualityEvalError(RuntimeError):
    """The truth files or the quality tables needed for the evaluation are missing."""


@dataclass(frozen=True)
class ClassScore:
    error_class: str
    injected: int
    detected: int
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.detected if self.detected else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.injected if self.injected else 1.0


def _detections(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    with open_warehouse(settings, read_only=True) as wh:
        if not wh.table_exists("quality", "runs"):
            raise QualityEvalError("no quality tables: run `lead-scoring quality-check` first")
        found = wh.query_df(
            "select record_type, record_id, rule from quality.quarantine"
            " union select record_type, record_id, rule from quality.record_flags"
            " union select record_type, record_id, rule from quality.normalised_values"
            " union select 'contact', record_id, 'duplicate_lead' from quality.duplicate_leads"
        )
        companies = wh.query_df("select hs_object_id, associatedcompanyid from raw.crm_contacts")
    return found, companies


def _truth(settings: Settings, name: str) -> pd.DataFrame | None:
    path = settings.truth_dir / name
    return pd.read_parquet(path) if path.exists() else None


def _score(name: str, truth_ids: set, detected: set, judged: set | None = None) -> ClassScore:
    detected = detected & judged if judged is not None else detected
    return ClassScore(name, len(truth_ids), len(detected), len(truth_ids & detected))


def evaluate(settings: Settings) -> list[ClassScore]:
    """One score per injected class present in the truth files."""
    leads = _truth(settings, "leads.parquet")
    if leads is None:
        raise QualityEvalError(
            f"no ground truth at {settings.truth_dir / 'leads.parquet'}: run `lead-scoring"
            " simulate` (evaluation needs simulated data)"
        )
    found, companies = _detections(settings)
    found["record_id"] = found["record_id"].astype(str)
    labels = leads.set_index(leads["contact_id"].astype(str))["injected_error"]
    scores = []
    for name, rules in LEAD_CLASSES.items():
        truth_ids = set(labels.index[labels == name])
        hit = found[found["rule"].isin(rules)]
        if name in ACCOUNT_CLASSES:
            bad = set(hit.loc[hit["record_type"] == "company", "record_id"])
            detected = set(
                companies.loc[companies["associatedcompanyid"].isin(bad), "hs_object_id"]
            )
            judged = set(labels.index[labels.isna() | (labels == name)])
            scores.append(_score(name, truth_ids, {str(i) for i in detected}, judged))
        else:
            detected = set(hit.loc[hit["record_type"] == "contact", "record_id"])
            scores.append(_score(name, truth_ids, detected))
    events = _truth(settings, "events.parquet")
    if events is not None:
        events = events.assign(record_type=events["source"] + "_event")
        for name in EVENT_CLASSES:
            truth = events[events["injected_error"] == name]
            truth_ids = set(zip(truth["record_type"], truth["event_id"].astype(str), strict=True))
            hit = found[(found["rule"] == name) & found["record_type"].str.endswith("_event")]
            detected = set(zip(hit["record_type"], hit["record_id"], strict=True))
            scores.append(_score(name, truth_ids, detected))
    return [s for s in scores if s.injected or s.detected]


def summary(scores: list[ClassScore]) -> dict[str, float]:
    """The lowest recall and precision over the classes (1.0 when there are none)."""
    return {
        "dq_recall_min": min((s.recall for s in scores if s.injected), default=1.0),
        "dq_precision_min": min((s.precision for s in scores if s.detected), default=1.0),
    }
