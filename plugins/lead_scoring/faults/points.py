"""The kill points: where inside each nightly stage the run is killed (SIGKILL).

Each point names a stage and what to watch: a line the stage prints, a state its effects
reach (load packages in the warehouse, records updated in the CRM), or a pause point in a
library's code for a window too short to hit from outside (``faults.pause``). During the
CRM sync the sandbox answers every request ``crm_delay_s`` late, so batches are in flight
(sent, maybe written, not yet confirmed) when the kill lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from lead_scoring.faults.stages import (
    Watch,
    crm_records_updated,
    dlt_packages,
)


@dataclass(frozen=True)
class KillPoint:
    stage: str
    name: str
    what: str  # where the kill lands, in words
    watch: Watch
    crm_delay_s: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.stage}/{self.name}"


def _dbt_node(status: str, node: str) -> str:
    """A `dbt build` progress line: ``12 of 229 START sql table model marts.x ...``."""
    return rf"\d+ of \d+ {status} .*\b{node.replace('.', '[.]')}\b"


KILL_POINTS: tuple[KillPoint, ...] = (
    KillPoint("extract", "crm_read", "CRM contacts read, companies being read",
              Watch(line=r"^extracting crm_companies\b")),
    KillPoint("extract", "mid_normalize", "dlt committed the first normalized load package,"
              " its extracted copy not yet deleted",
              Watch(pause="after dlt.common.storages.load_storage:LoadStorage"
                          ".commit_new_load_package")),
    KillPoint("extract", "mid_load", "two of six load packages loaded into raw, the rest not",
              Watch(condition=partial(dlt_packages, "loaded", 2))),
    KillPoint("gate", "validating", "Great Expectations validating the check frames",
              Watch(line=r"^check frames built")),
    KillPoint("gate", "writing", "the first table's results written inside the gate's one"
              " transaction, not yet committed",
              Watch(line=r"^quality gate: raw\.crm_contacts ")),
    KillPoint("dbt", "after_event_staging", "incremental event staging built, nothing scored",
              Watch(line=_dbt_node("OK", "staging.stg_product__events"))),
    KillPoint("dbt", "mid_decay_state", "inside the incremental decay state model",
              Watch(line=_dbt_node("START", "intermediate.int_subject_events_decayed"))),
    KillPoint("dbt", "after_history", "lead_score_history written, lead_scores not yet",
              Watch(line=_dbt_node("OK", "marts.lead_score_history"))),
    KillPoint("dbt", "after_first_crossings", "first crossings carried, lead_scores not yet",
              Watch(line=_dbt_node("OK", "intermediate.int_lead_thresholds_first_crossed"))),
    KillPoint("sync", "mid_contacts", "40% of contacts updated, batches in flight",
              Watch(condition=partial(crm_records_updated, "contacts", 0.4)), crm_delay_s=0.1),
    KillPoint("sync", "mid_companies", "contacts done, 25% of companies updated",
              Watch(condition=partial(crm_records_updated, "companies", 0.25)),
              crm_delay_s=0.1),
)  # fmt: skip


class UnknownKillPoint(ValueError):
    """A --only value that names no stage or kill point."""


def select(only: list[str] | None) -> list[KillPoint]:
    """The kill points named by ``only`` (a stage, or ``stage/point``); all when empty."""
    if not only:
        return list(KILL_POINTS)
    chosen = [p for p in KILL_POINTS if p.stage in only or p.label in only]
    stages = {p.stage for p in KILL_POINTS}
    known = {p.label for p in KILL_POINTS} | stages
    unknown = [name for name in only if name not in known]
    if unknown or not chosen:
        name = unknown[0] if unknown else ", ".join(only)
        raise UnknownKillPoint(
            f"no kill point {name!r}; choose a stage ({', '.join(sorted(stages))}) or one"
            f" of {', '.join(p.label for p in KILL_POINTS)}"
        )
    return chosen
