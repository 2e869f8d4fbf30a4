"""The simulated sales team: the reps of the project's roster (``seeds/sales_reps.csv``),
who are the CRM sandbox's owners, and how each rep follows up the leads the pipeline
assigns to them (docs/simulator.md).

A rep's CRM owner is found as the dbt project finds it (``int_sales_reps_resolved``): the
seed's ``crm_owner_id`` when set, else the one active CRM owner with the rep's e-mail; the
default roster's ``rep01@example.com``.. are the sandbox's owners. ``simulate`` writes the
follow-up rates (``sources/simulation/reps.json``). ``simulate_rep_follow_ups`` is the
team at work: it reads over HTTP the CRM's owners and which leads they own, takes a lead
it had not seen with that owner as assigned at ``now``, plans its follow-up from the seed
and the lead id alone, and logs through the CRM API every planned activity whose time has
come. Ground truth: ``sources/truth/follow_ups.parquet``, one row per assignment.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import logging
import math
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from lead_scoring.settings import Settings
from lead_scoring.simulator.errors import SimulatorError

if TYPE_CHECKING:
    from lead_scoring.sources.extract import CrmSource

log = logging.getLogger("lead_scoring.simulator")

ROSTER = "sales_reps.csv"  # the dbt project's seed: the reps, their e-mails and capacities
BEHAVIOUR = "reps.json"  # in <home>/sources/simulation: the rates the team follows up at
FOLLOW_UPS = "follow_ups.parquet"  # state in sources/simulation, truth in sources/truth
KINDS = ("call", "email", "task", "meeting")  # follow-ups; drawn with KIND_WEIGHTS
KIND_WEIGHTS = (0.40, 0.30, 0.15, 0.15)
DECOYS = {"hubspot": ("received_email", "open_task"), "salesforce": ("open_task",)}
TASK_DUE_HOURS = 24  # a task is created due a day after the assignment
MEETING_MINUTES = 30
HUBSPOT_BATCH = 100
SALESFORCE_BATCH = 200
SEARCH_PAGE = 200
# HubSpot-defined association types from an engagement to a contact
HUBSPOT_ASSOCIATION = {"calls": 194, "emails": 198, "meetings": 200, "tasks": 204}
COLUMNS = {
    "lead_id": "string", "crm_record_id": "string", "rep_id": "string",
    "crm_owner_id": "string", "assignment": "int64", "assigned_at": "datetime64[ns, UTC]",
    "due_at": "datetime64[ns, UTC]", "outcome": "string", "kind": "string",
    "planned_delay_h": "float64", "follow_up_at": "datetime64[ns, UTC]",
    "within_48h": "bool", "breached": "bool", "decoy_kind": "string",
    "decoy_at": "datetime64[ns, UTC]", "follow_up_logged": "bool", "decoy_logged": "bool",
    "follow_up_activity_id": "string", "decoy_activity_id": "string",
    "ended_at": "datetime64[ns, UTC]",
}  # fmt: skip


@dataclass(frozen=True)
class FollowUpRates:
    """How a rep follows up an assigned lead. ``on_time`` + ``late`` + ``never`` = 1.

    On time: within ``sla_hours`` (a delay drawn uniformly from 1 h to ``sla_hours`` - 1 h,
    or, for ``at_due`` of them, exactly ``sla_hours``); late: ``sla_hours`` + 1 h to
    ``late_max_hours``. ``decoy``: the share of assignments that also get an activity that
    is not a follow-up (an incoming e-mail or an open task) before the due time."""

    on_time: float = 0.80
    late: float = 0.10
    never: float = 0.10
    at_due: float = 0.05
    decoy: float = 0.25
    sla_hours: int = 48
    late_max_hours: int = 120

    def __post_init__(self) -> None:
        for name in ("on_time", "late", "never", "at_due", "decoy"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SimulatorError(f"follow-up rate {name} must be in [0, 1], got {value!r}")
        total = self.on_time + self.late + self.never
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise SimulatorError(
                f"follow-up rates on_time + late + never must add up to 1, got {total:g}"
                f" ({self.on_time:g} + {self.late:g} + {self.never:g})"
            )
        if not 2 <= self.sla_hours < self.late_max_hours:
            raise SimulatorError(
                f"follow-up sla_hours must be at least 2 and below late_max_hours"
                f" ({self.late_max_hours}), got {self.sla_hours!r}"
            )

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> FollowUpRates:
        """Rates from NAME -> value (the rest default); an unknown name is an error."""
        values = dict(values or {})
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise SimulatorError(
                f"unknown follow-up rate {unknown[0]!r} (choose from {', '.join(known)})"
            )
        try:
            typed = {k: int(v) if k.endswith("hours") else float(v) for k, v in values.items()}
        except ValueError as exc:
            raise SimulatorError(f"follow-up rates: {exc}") from None
        return cls(**typed)


# -- the roster -------------------------------------------------------------------------------
def read_roster(settings: Settings) -> pd.DataFrame:
    """The project's roster, ``seeds/sales_reps.csv`` (every column as text)."""
    path = settings.dbt_project_dir / "seeds" / ROSTER
    if not path.exists():
        raise SimulatorError(f"no roster at {path}: the sales team is the dbt project's roster")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def rep_owners(roster: pd.DataFrame, owners: list[dict[str, Any]]) -> dict[str, str]:
    """CRM owner id -> rep id, as ``int_sales_reps_resolved`` resolves them: a rep's
    ``crm_owner_id`` when the roster sets one, else the one active owner (``owners``: id,
    email, active) whose e-mail is the rep's, compared without case; none when no owner, or
    several, have it."""
    by_email: dict[str, list[str]] = {}
    for owner in owners:
        email = (owner.get("email") or "").strip().lower()
        if owner.get("active") and email:
            by_email.setdefault(email, []).append(str(owner["id"]))
    found: dict[str, str] = {}
    for rep in roster.itertuples():
        explicit = str(getattr(rep, "crm_owner_id", "") or "").strip()
        matches = by_email.get(str(getattr(rep, "email", "") or "").strip().lower(), [])
        owner_id = explicit or (matches[0] if len(matches) == 1 else "")
        if owner_id:
            found.setdefault(owner_id, rep.rep_id)
    return found


def write_team(
    settings: Settings,
    crm: str,
    seed: int,
    rates: FollowUpRates | None = None,
    rep_rates: dict[str, FollowUpRates] | None = None,
) -> Path:
    """The sales team's follow-up rates, per rep of the roster (``rep_rates`` by rep id, the
    rest ``rates``), with the CRM it works in and the seed of its plans. Returns the file."""
    reps = list(read_roster(settings)["rep_id"])
    rates = rates or FollowUpRates()
    unknown = sorted(set(rep_rates or {}) - set(reps))
    if unknown:
        raise SimulatorError(f"follow-up rates for {unknown[0]!r}, which is not in"
                             f" {settings.dbt_project_dir / 'seeds' / ROSTER}")  # fmt: skip
    behaviour = {
        "crm": crm,
        "seed": seed,
        "rates": {rep: asdict((rep_rates or {}).get(rep, rates)) for rep in reps},
    }
    state = _state_dir(settings)
    state.mkdir(parents=True, exist_ok=True)
    path = state / BEHAVIOUR
    path.write_text(json.dumps(behaviour, indent=2), encoding="utf-8")
    for stale in (state / FOLLOW_UPS, settings.truth_dir / FOLLOW_UPS):
        stale.unlink(missing_ok=True)  # a new simulation: no assignment seen yet
    return path


def team_path(settings: Settings) -> Path:
    return _state_dir(settings) / BEHAVIOUR


def _state_dir(settings: Settings) -> Path:
    from lead_scoring.simulator.run import STATE_DIR

    return settings.sources_dir / STATE_DIR


def _behaviour(settings: Settings) -> dict[str, Any]:
    path = _state_dir(settings) / BEHAVIOUR
    if not path.exists():
        raise SimulatorError(f"no sales team in {path}: run `lead-scoring simulate` first")
    behaviour = json.loads(path.read_text(encoding="utf-8"))
    behaviour["rates"] = {k: FollowUpRates(**v) for k, v in behaviour["rates"].items()}
    return behaviour


# -- the plan of one assignment ---------------------------------------------------------------
def _uniforms(seed: int, lead_id: str, assignment: int, count: int) -> list[float]:
    """``count`` numbers in [0, 1) that depend only on the seed, the lead and which of its
    assignments this is (not on the order the leads are seen in)."""
    digest = hashlib.blake2b(f"{seed}|{lead_id}|{assignment}".encode(), digest_size=8 * count)
    raw = digest.digest()
    return [int.from_bytes(raw[8 * i : 8 * i + 8], "big") / 2**64 for i in range(count)]


def plan_follow_up(
    seed: int,
    lead_id: str,
    assignment: int,
    assigned_at: datetime,
    rates: FollowUpRates,
    crm: str = "hubspot",
) -> dict[str, Any]:
    """What the rep will do about one assignment: the follow-up (kind and time, or none)
    and maybe a decoy activity that is not a follow-up. Delays are whole minutes."""
    u = _uniforms(seed, lead_id, assignment, 7)
    sla = rates.sla_hours * 60
    if u[0] < rates.on_time:
        outcome = "on_time"
        minutes = sla if u[1] < rates.at_due else 60 + int(u[2] * (sla - 120))
    elif u[0] < rates.on_time + rates.late:
        outcome = "late"
        minutes = sla + 60 + int(u[2] * (rates.late_max_hours * 60 - sla - 60))
    else:
        outcome, minutes = "never", None
    kind = None
    if minutes is not None:
        kind = KINDS[min(bisect.bisect(list(itertools.accumulate(KIND_WEIGHTS)), u[3]),
                         len(KINDS) - 1)]  # fmt: skip
    decoys = DECOYS[crm]
    decoy = decoys[int(u[5] * len(decoys))] if u[4] < rates.decoy else None
    due_at = assigned_at + timedelta(minutes=sla)
    follow_up_at = assigned_at + timedelta(minutes=minutes) if minutes is not None else None
    return {
        "assignment": assignment,
        "assigned_at": assigned_at,
        "due_at": due_at,
        "outcome": outcome,
        "kind": kind,
        "planned_delay_h": minutes / 60 if minutes is not None else math.nan,
        "follow_up_at": follow_up_at,
        "within_48h": follow_up_at is not None and follow_up_at <= due_at,
        "breached": not (follow_up_at is not None and follow_up_at <= due_at),
        "decoy_kind": decoy,
        "decoy_at": assigned_at + timedelta(minutes=60 + int(u[6] * (sla - 120)))
        if decoy else None,
    }  # fmt: skip


# -- the team at work -------------------------------------------------------------------------
@dataclass(frozen=True)
class FollowUpDay:
    """What one ``simulate_rep_follow_ups`` call did."""

    now: datetime
    owned: int  # leads the CRM shows owned by a rep
    assigned: int  # of them, new assignments
    ended: int  # assignments whose lead now has another owner, or none
    follow_ups: int  # follow-up activities logged
    decoys: int  # other activities logged

    def line(self) -> str:
        return (
            f"reps at {self.now:%Y-%m-%d %H:%M}: {self.owned:,} leads owned,"
            f" {self.assigned:,} newly assigned, {self.ended:,} ended, {self.follow_ups:,}"
            f" follow-ups and {self.decoys:,} other activities logged"
        )


def simulated_now(settings: Settings) -> datetime:
    """The end of the simulation (00:00 UTC after its last day)."""
    from lead_scoring.simulator import files
    from lead_scoring.simulator.run import MANIFEST

    manifest = files.load_manifest(settings.sources_dir / MANIFEST)
    return datetime.fromtimestamp(int(manifest["as_of"]), UTC)


def load_follow_ups(settings: Settings, truth: bool = False) -> pd.DataFrame:
    """Every assignment the team has seen (the state), or its truth file."""
    path = (settings.truth_dir if truth else _state_dir(settings)) / FOLLOW_UPS
    if not path.exists():
        return _typed(pd.DataFrame(columns=list(COLUMNS)))
    return _typed(pd.read_parquet(path))


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name, kind in COLUMNS.items():
        values = frame[name] if name in frame else pd.Series([None] * len(frame), dtype=object)
        if kind.startswith("datetime"):
            out[name] = pd.to_datetime(values, utc=True)
        elif kind == "bool":
            out[name] = values.fillna(False).astype(bool)
        elif kind == "string":
            out[name] = values.astype("string")
        else:
            out[name] = values.astype(kind)
    return pd.DataFrame(out, index=frame.index)


def simulate_rep_follow_ups(
    settings: Settings, crm: CrmSource, now: datetime | None = None
) -> FollowUpDay:
    """The sales team at ``now`` (default: the simulation's end, 00:00 UTC after its last
    day): read from the CRM over HTTP which leads a rep owns; a lead not seen with that
    owner before is assigned at ``now`` (its earlier assignment, if any, ends); log every
    planned activity due at or before ``now`` whose assignment has not ended.

    Call it after the owners are written (the pipeline's CRM sync) with the run's as-of end
    moment, and after each simulated day, before extracting, with that day's end: the
    activities of the day are then in the CRM before the pipeline reads them."""
    now = (now or simulated_now(settings)).astimezone(UTC)
    behaviour = _behaviour(settings)
    kind = behaviour["crm"]
    if crm.kind != kind:
        raise SimulatorError(
            f"the simulated sales team works in {kind}, not in the {crm.kind} CRM at {crm.base_url}"
        )
    client = _client(crm)
    reps = rep_owners(read_roster(settings), client.owners())  # one read of the owners a day
    if not reps:
        raise SimulatorError(
            f"no rep of {settings.dbt_project_dir / 'seeds' / ROSTER} is an owner in the"
            f" {kind} CRM at {crm.base_url} (by crm_owner_id or by e-mail)"
        )
    state = load_follow_ups(settings)
    owned = client.owned(sorted(reps))

    live = state[state["ended_at"].isna()]
    current = {row.lead_id: row for row in live.itertuples()}
    ended_rows = [i for i, row in live.iterrows() if owned.get(row["lead_id"], ("", ""))[1]
                  != row["crm_owner_id"]]  # fmt: skip
    state.loc[ended_rows, "ended_at"] = now
    counts = state.groupby("lead_id").size().to_dict() if len(state) else {}
    new_rows = []
    for lead_id, (record_id, owner) in sorted(owned.items()):
        seen = current.get(lead_id)
        if seen is not None and seen.crm_owner_id == owner:
            continue
        rep_id = reps[owner]
        rates = behaviour["rates"].get(rep_id, FollowUpRates())
        number = counts.get(lead_id, 0) + 1
        plan = plan_follow_up(behaviour["seed"], lead_id, number, now, rates, kind)
        new_rows.append({"lead_id": lead_id, "crm_record_id": record_id, "rep_id": rep_id,
                         "crm_owner_id": owner, **plan})  # fmt: skip
    if new_rows:
        state = pd.concat([state, _typed(pd.DataFrame(new_rows))], ignore_index=True)

    live = state["ended_at"].isna()
    due_follow_ups = state.index[
        live & ~state["follow_up_logged"] & state["follow_up_at"].notna()
        & (state["follow_up_at"] <= now)
    ]  # fmt: skip
    due_decoys = state.index[
        live & ~state["decoy_logged"] & state["decoy_at"].notna() & (state["decoy_at"] <= now)
    ]
    activities = [_activity(state.loc[i], "follow_up") for i in due_follow_ups] + [
        _activity(state.loc[i], "decoy") for i in due_decoys
    ]
    ids = client.log(activities)
    state.loc[due_follow_ups, "follow_up_activity_id"] = ids[: len(due_follow_ups)]
    state.loc[due_follow_ups, "follow_up_logged"] = True
    state.loc[due_decoys, "decoy_activity_id"] = ids[len(due_follow_ups) :]
    state.loc[due_decoys, "decoy_logged"] = True
    _save(settings, state)
    day = FollowUpDay(now, len(owned), len(new_rows), len(ended_rows), len(due_follow_ups),
                      len(due_decoys))  # fmt: skip
    log.info("simulate: %s", day.line())
    return day


def _save(settings: Settings, state: pd.DataFrame) -> None:
    state = _typed(state.reset_index(drop=True))
    for directory in (_state_dir(settings), settings.truth_dir):
        directory.mkdir(parents=True, exist_ok=True)
        state.to_parquet(directory / FOLLOW_UPS, index=False)


def _activity(row: pd.Series, which: str) -> dict[str, Any]:
    """One activity to log: what it is, on whom, by whom, when."""
    if which == "decoy":
        kind, at = row["decoy_kind"], row["decoy_at"].to_pydatetime()
    else:
        kind, at = row["kind"], row["follow_up_at"].to_pydatetime()
    assigned_at = row["assigned_at"].to_pydatetime()
    return {
        "kind": kind,
        "at": at,
        "task_due_at": assigned_at + timedelta(hours=TASK_DUE_HOURS) if kind == "task" else at,
        "record_id": row["crm_record_id"],
        "owner_id": row["crm_owner_id"],
        "subject": f"{kind.replace('_', ' ')} ({row['lead_id']}, assignment {row['assignment']})",
    }


# -- the CRMs ---------------------------------------------------------------------------------
def crm_owners(crm: CrmSource) -> list[dict[str, Any]]:
    """The CRM's owners, read over HTTP (HubSpot owners, Salesforce Users): id, email,
    active."""
    return _client(crm).owners()


def _client(crm: CrmSource) -> _HubSpot | _Salesforce:
    return _Salesforce(crm) if crm.kind == "salesforce" else _HubSpot(crm)


def _hubspot_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _HubSpot:
    """Contacts' owners by search; engagements by batch create, associated with the contact."""

    def __init__(self, crm: CrmSource):
        from dlt.sources.helpers.requests import Client

        from lead_scoring.sources.crm import RETRY

        self.base = crm.base_url.rstrip("/")
        self.session = Client(**RETRY).session
        self.session.headers["Authorization"] = f"Bearer {crm.token}"

    def _post(self, path: str, body: dict) -> dict:
        response = self.session.post(f"{self.base}{path}", json=body, timeout=60)
        if response.status_code >= 400:
            raise SimulatorError(
                f"HubSpot at {self.base} answered {response.status_code} to {path}:"
                f" {response.text[:500]}"
            )
        return response.json()

    def owners(self) -> list[dict[str, Any]]:
        """The account's active owners (``/crm/v3/owners``, paged): id, email, active."""
        found, params = [], {"limit": 500}
        while True:
            response = self.session.get(f"{self.base}/crm/v3/owners", params=params, timeout=60)
            if response.status_code >= 400:
                raise SimulatorError(f"HubSpot at {self.base} answered {response.status_code}"
                                     f" to /crm/v3/owners: {response.text[:500]}")  # fmt: skip
            page = response.json()
            found += [{"id": str(o["id"]), "email": o.get("email"), "active": True}
                      for o in page.get("results", [])]  # fmt: skip
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return found
            params["after"] = after

    def owned(self, owner_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Contact id -> (contact id, owner) for every contact owned by one of ``owner_ids``
        (searched in ``hs_object_id`` order, so past the search's 10,000-result window)."""
        found: dict[str, tuple[str, str]] = {}
        after = "0"
        while True:
            body = {
                "filterGroups": [{"filters": [
                    {"propertyName": "hubspot_owner_id", "operator": "IN", "values": owner_ids},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": after},
                ]}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": ["hubspot_owner_id"],
                "limit": SEARCH_PAGE,
            }  # fmt: skip
            results = self._post("/crm/v3/objects/contacts/search", body)["results"]
            for record in results:
                found[record["id"]] = (record["id"], record["properties"]["hubspot_owner_id"])
            if len(results) < SEARCH_PAGE:
                return found
            after = results[-1]["id"]

    def log(self, activities: list[dict[str, Any]]) -> list[str]:
        """Create the engagements; their ids, in the order given."""
        ids: list[str | None] = [None] * len(activities)
        by_type: dict[str, list[int]] = {}
        for index, activity in enumerate(activities):
            by_type.setdefault(self._object_type(activity["kind"]), []).append(index)
        for object_type, indexes in by_type.items():
            for start in range(0, len(indexes), HUBSPOT_BATCH):
                chunk = indexes[start : start + HUBSPOT_BATCH]
                inputs = [self._input(object_type, activities[i]) for i in chunk]
                answer = self._post(
                    f"/crm/v3/objects/{object_type}/batch/create", {"inputs": inputs}
                )
                results = answer.get("results") or []
                if len(results) != len(chunk) or answer.get("errors"):
                    raise SimulatorError(
                        f"HubSpot created {len(results)} of {len(chunk)} {object_type}:"
                        f" {json.dumps(answer.get('errors'))[:500]}"
                    )
                for index, result in zip(chunk, results, strict=True):
                    ids[index] = str(result["id"])
        return [str(i) for i in ids]

    @staticmethod
    def _object_type(kind: str) -> str:
        return {"call": "calls", "email": "emails", "received_email": "emails",
                "meeting": "meetings", "task": "tasks", "open_task": "tasks"}[kind]  # fmt: skip

    def _input(self, object_type: str, activity: dict[str, Any]) -> dict[str, Any]:
        kind, at = activity["kind"], _hubspot_time(activity["at"])
        common = {"hs_timestamp": at, "hubspot_owner_id": activity["owner_id"]}
        subject = activity["subject"]
        properties = {
            "call": {"hs_call_title": subject, "hs_call_status": "COMPLETED",
                     "hs_call_direction": "OUTBOUND"},
            "email": {"hs_email_subject": subject, "hs_email_direction": "EMAIL",
                      "hs_email_status": "SENT"},
            "received_email": {"hs_email_subject": subject,
                               "hs_email_direction": "INCOMING_EMAIL"},
            "meeting": {"hs_meeting_title": subject, "hs_meeting_outcome": "COMPLETED",
                        "hs_meeting_start_time": at,
                        "hs_meeting_end_time": _hubspot_time(
                            activity["at"] + timedelta(minutes=MEETING_MINUTES))},
            "task": {"hs_task_subject": subject, "hs_task_status": "COMPLETED",
                     "hs_timestamp": _hubspot_time(activity["task_due_at"]),
                     "hs_task_completion_date": at},
            "open_task": {"hs_task_subject": subject, "hs_task_status": "NOT_STARTED"},
        }[kind]  # fmt: skip
        association = {"associationCategory": "HUBSPOT_DEFINED",
                       "associationTypeId": HUBSPOT_ASSOCIATION[object_type]}  # fmt: skip
        return {
            "properties": common | properties,
            "associations": [{"to": {"id": activity["record_id"]}, "types": [association]}],
        }


def _salesforce_time(moment: datetime) -> str:
    from lead_scoring.crm_sandbox.salesforce_schema import salesforce_datetime

    return salesforce_datetime(moment)


class _Salesforce:
    """Leads' and Contacts' owners by SOQL; Tasks and Events (WhoId) by sObject Collections."""

    def __init__(self, crm: CrmSource):
        from lead_scoring.sources.salesforce import connect

        self.sf = connect(crm)

    def _query(self, soql: str) -> list[dict]:
        return self.sf.query_all(soql)["records"]

    def owners(self) -> list[dict[str, Any]]:
        """The org's Users: id, email, active."""
        users = self._query("SELECT Id, Email, IsActive FROM User")
        return [{"id": u["Id"], "email": u.get("Email"),
                 "active": u.get("IsActive") in (True, "true")} for u in users]  # fmt: skip

    def owned(self, owner_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Person key (the first Lead's Id) -> (the Lead or Contact, owner) for every open
        Lead and every Contact owned by one of ``owner_ids``."""
        owners = ", ".join(f"'{o}'" for o in owner_ids)
        found = {
            r["Id"]: (r["Id"], r["OwnerId"])
            for r in self._query(
                f"SELECT Id, OwnerId FROM Lead WHERE IsConverted = false AND OwnerId IN ({owners})"
            )
        }
        contacts = self._query(f"SELECT Id, OwnerId FROM Contact WHERE OwnerId IN ({owners})")
        first: dict[str, tuple[str, str]] = {}
        ids = [c["Id"] for c in contacts]
        for start in range(0, len(ids), SALESFORCE_BATCH):
            listed = ", ".join(f"'{i}'" for i in ids[start : start + SALESFORCE_BATCH])
            for lead in self._query(
                "SELECT Id, ConvertedContactId, CreatedDate FROM Lead"
                f" WHERE ConvertedContactId IN ({listed})"
            ):
                key = (lead["CreatedDate"], lead["Id"])
                contact = lead["ConvertedContactId"]
                if contact not in first or key < first[contact]:
                    first[contact] = key
        for contact in contacts:
            person = first.get(contact["Id"], ("", contact["Id"]))[1]
            found[person] = (contact["Id"], contact["OwnerId"])
        return found

    def log(self, activities: list[dict[str, Any]]) -> list[str]:
        ids: list[str] = []
        for start in range(0, len(activities), SALESFORCE_BATCH):
            chunk = activities[start : start + SALESFORCE_BATCH]
            body = {"allOrNone": True, "records": [self._record(a) for a in chunk]}
            results = self.sf.restful("composite/sobjects", method="POST", json=body)
            failed = [r for r in results if not r.get("success")]
            if failed:
                raise SimulatorError(f"Salesforce refused activities: {json.dumps(failed)[:500]}")
            ids += [r["id"] for r in results]
        return ids

    @staticmethod
    def _record(activity: dict[str, Any]) -> dict[str, Any]:
        kind, at = activity["kind"], activity["at"]
        common = {"WhoId": activity["record_id"], "OwnerId": activity["owner_id"],
                  "Subject": activity["subject"]}  # fmt: skip
        if kind == "meeting":
            end = at + timedelta(minutes=MEETING_MINUTES)
            return {"attributes": {"type": "Event"}, **common,
                    "StartDateTime": _salesforce_time(at), "EndDateTime": _salesforce_time(end),
                    "ActivityDateTime": _salesforce_time(at)}  # fmt: skip
        subtype = {"call": "Call", "email": "Email"}.get(kind, "Task")
        task = {"attributes": {"type": "Task"}, **common, "TaskSubtype": subtype,
                "ActivityDate": activity["task_due_at"].date().isoformat()}  # fmt: skip
        if kind == "open_task":
            return task | {"Status": "Not Started"}
        return task | {"Status": "Completed", "CompletedDateTime": _salesforce_time(at)}
