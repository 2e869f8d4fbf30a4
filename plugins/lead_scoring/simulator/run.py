"""`simulate` and `simulate_next_day`: generate the funnel and write every source system."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lead_scoring.crm_sandbox.salesforce_load import load_funnel, salesforce_id
from lead_scoring.crm_sandbox.store import CrmStore
from lead_scoring.settings import Settings
from lead_scoring.simulator import crm_load, files
from lead_scoring.simulator.activity import marketing_events, product_events
from lead_scoring.simulator.catalogue import (
    MARKETING_EVENT_TYPES,
    MARKETING_URLS,
    PRODUCT_EVENT_TYPES,
    UNKNOWN_MARKETING_TYPES,
    UNKNOWN_PRODUCT_TYPES,
)
from lead_scoring.simulator.crm_records import (
    company_columns,
    contact_columns,
    deal_columns,
    records,
)
from lead_scoring.simulator.errors import SimulatorError, event_error_slots, resolve_rates
from lead_scoring.simulator.frames import DAY, Frame, concat, length, take
from lead_scoring.simulator.pools import make_pools
from lead_scoring.simulator.population import (
    account_times,
    bant_answers,
    make_accounts,
    make_leads,
)
from lead_scoring.simulator.product_db import append_product_db, describe, replace_product_db
from lead_scoring.simulator.reps import FollowUpRates, team_path, write_team

log = logging.getLogger("lead_scoring.simulator")

FIRST_IDS = {
    "contact": 100_000_001,
    "company": 300_000_001,
    "deal": 500_000_001,
    "product_user": 1,
    "product_event": 1,
    "marketing_event": 1,
}
UNKNOWN_CONTACT_IDS = 990_000_000  # marketing events that reference no CRM contact
UNKNOWN_USER_IDS = 1_000_000_000  # product events of users the product DB does not have
HOUR = 3600
HOURS_PER_DAY = DAY // HOUR
EVENTS_PER_LEAD = 30
PRODUCT_SHARE = 0.55
NEXT_DAY_EVENT_SHARE = 0.01
NEXT_DAY_UPDATE_SHARE = 0.005
MANIFEST = "simulation.json"
STATE_DIR = "simulation"
CRMS = ("hubspot", "salesforce")  # how the CRM sandbox holds the funnel


@dataclass(frozen=True)
class SimulationSummary:
    """What a run wrote. For ``simulate_next_day`` the counts are that day's additions."""

    home: Path
    start: datetime
    end: datetime  # the as-of moment: nothing (but injected future records) happens after it
    accounts: int
    leads: int
    deals: int
    won: int
    lost: int
    open_deals: int
    product_users: int
    product_events: int
    marketing_events: int
    marketing_files: int
    injected_lead_errors: int
    injected_event_errors: int
    crm_store: Path
    product_db: str
    marketing_dir: Path
    truth_dir: Path
    seconds: float
    replaced: bool = False
    updated_leads: int = 0
    next_day: bool = False
    team: Path | None = None  # the sales team's follow-up rates (simulator.reps)

    def lines(self) -> list[str]:
        what = "simulation"
        if self.next_day:
            hours = round((self.end - self.start).total_seconds() / HOUR)
            what = "next day" if hours == HOURS_PER_DAY else f"next {hours} h"
        midnights = self.start.hour == self.end.hour == 0
        shown = "%Y-%m-%d" if midnights else "%Y-%m-%d %H:%M"
        out = [
            f"{what}: {self.start:{shown}} .. {self.end:{shown}} in {self.seconds:.1f} s",
            f"  CRM ({self.crm_store}): {self.accounts:,} companies, {self.leads:,} contacts"
            + (f" (+{self.updated_leads:,} updated)" if self.next_day else "")
            + f", {self.deals:,} deals ({self.won:,} won, {self.lost:,} lost,"
            f" {self.open_deals:,} open)",
            f"  product DB ({self.product_db}): {self.product_users:,} users,"
            f" {self.product_events:,} events",
            f"  marketing exports ({self.marketing_dir}): {self.marketing_events:,} events in"
            f" {self.marketing_files:,} files",
            f"  ground truth ({self.truth_dir}): {self.injected_lead_errors:,} leads and"
            f" {self.injected_event_errors:,} events with injected errors",
        ]
        if self.team is not None:
            out.append(f"  sales team ({self.team}): the roster's reps, the CRM sandbox's"
                       " owners by e-mail, and their follow-up rates")  # fmt: skip
        if self.replaced:
            out.append(f"  replaced the earlier simulated data in {self.home}")
        return out


@contextmanager
def _stage(name: str) -> Iterator[dict[str, int]]:
    started, cpu = time.perf_counter(), time.process_time()
    counts: dict[str, int] = {}
    yield counts
    done = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    log.info(
        "simulate: %s%s (%.1f s, cpu %.1f s)",
        name,
        f": {done}" if done else "",
        time.perf_counter() - started,
        time.process_time() - cpu,
    )


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _check_crm(crm: str) -> None:
    if crm not in CRMS:
        raise SimulatorError(f"crm {crm!r}: expected one of {', '.join(CRMS)}")


def _check(name: str, value: int, minimum: int) -> None:
    if value < minimum:
        raise SimulatorError(f"simulate: {name} must be at least {minimum}, got {value!r}")


# -- people ------------------------------------------------------------------------------
def _sign_up(rng: np.random.Generator, leads: Frame, lo: int, hi: int, first_id: int) -> Frame:
    """Product users for the trial signups in ``[lo, hi)``, ids in signup order."""
    signup = leads["signup_at"]
    rows = np.flatnonzero((signup >= lo) & (signup < hi))
    rows = rows[np.argsort(signup[rows], kind="stable")]
    ids = np.arange(first_id, first_id + len(rows), dtype=np.int64)
    leads["product_user_id"][rows] = ids
    typed = [e.strip() for e in leads["email"][rows]]
    recased = rng.random(len(rows)) < 0.1
    email = np.array(
        [e.capitalize() if r else e.lower() for e, r in zip(typed, recased, strict=True)],
        dtype=object,
    )
    later = rng.random(len(rows)) < 0.2
    span = hi - signup[rows]
    updated = signup[rows] + np.where(later, (rng.random(len(rows)) * span), 0).astype(np.int64)
    return {"user_id": ids, "email": email, "signed_up_at": signup[rows], "updated_at": updated}


def _open_deals(leads: Frame, lo: int, hi: int, first_id: int) -> np.ndarray:
    """Deal ids for the leads that became SQLs in ``[lo, hi)``; returns their rows."""
    sql_at = leads["sql_at"]
    rows = np.flatnonzero((sql_at >= lo) & (sql_at < hi))
    rows = rows[np.argsort(sql_at[rows], kind="stable")]
    leads["deal_id"][rows] = np.arange(first_id, first_id + len(rows), dtype=np.int64)
    return rows


# -- events ------------------------------------------------------------------------------
def _product_output(rng, events: Frame, leads: Frame, first_id: int, as_of: int, rates):
    order = np.argsort(events["t"])
    lead, t = events["lead"][order], events["t"][order]
    n = len(t)
    event_id = np.arange(first_id, first_id + n, dtype=np.int64)
    user_id = leads["product_user_id"][lead]
    names = np.array(PRODUCT_EVENT_TYPES, dtype=object)[events["type"][order]]
    slots = event_error_slots(rng, n, rates)
    unknown, future, odd = slots["unknown_lead"], slots["future_event"], slots["unknown_event_type"]
    user_id[unknown] = UNKNOWN_USER_IDS + rng.integers(0, 10**8, len(unknown))
    t[future] = as_of + rng.integers(3600, 365 * DAY, len(future))
    names[odd] = np.array(UNKNOWN_PRODUCT_TYPES, dtype=object)[
        rng.integers(0, len(UNKNOWN_PRODUCT_TYPES), len(odd))
    ]
    rows = {"event_id": event_id, "user_id": user_id, "event_type": names, "occurred_at": t}
    return rows, files.event_truth_rows("product", event_id, slots)


def _urls(rng, codes: np.ndarray) -> pa.Array:
    pools = [MARKETING_URLS[name] for name in MARKETING_EVENT_TYPES]
    sizes = np.array([len(p) for p in pools])
    offsets = np.cumsum(sizes) - sizes
    size = sizes[codes]
    index = offsets[codes] + (rng.random(len(codes)) * size).astype(np.int64)
    none = size == 0
    table = pa.array([url for p in pools for url in p], type=pa.string())
    indices = pa.array(np.where(none, 0, index).astype(np.int32), mask=none)
    return pa.DictionaryArray.from_arrays(indices, table).cast(pa.string())


def _labels(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings from codes into ``names``, built by Arrow (no Python object per row)."""
    dictionary = pa.array(names, type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), dictionary).cast(
        pa.string()
    )


def _salesforce_subjects(contact: np.ndarray, converted: np.ndarray) -> pa.Array:
    """The Salesforce record a marketing tool names for a contact number: its Lead, or its
    Contact once converted (ids as ``salesforce_load.salesforce_id`` makes them)."""
    digits = pc.utf8_lpad(pa.array(contact).cast(pa.string()), 11, "0")
    prefix = pc.if_else(pa.array(converted), salesforce_id("Contact", 0)[:4],
                        salesforce_id("Lead", 0)[:4])  # fmt: skip
    return pc.binary_join_element_wise(prefix, digits, "AAA", "")


def _marketing_output(
    rng, events: Frame, leads: Frame, first_id: int, as_of: int, rates, crm: str = "hubspot"
):
    """The marketing exports' rows; each names the contact as the CRM knows it (HubSpot:
    its number; Salesforce: its Lead, or its Contact after the conversion)."""
    order = np.argsort(events["t"])
    lead, t, codes = events["lead"][order], events["t"][order], events["type"][order]
    export_day = t // DAY
    n = len(t)
    slots = event_error_slots(rng, n, rates)
    unknown, future, odd = slots["unknown_lead"], slots["future_event"], slots["unknown_event_type"]
    contact = leads["contact_id"][lead]
    contact[unknown] = UNKNOWN_CONTACT_IDS + rng.integers(0, 9_000_000, len(unknown))
    t[future] = as_of + rng.integers(3600, 365 * DAY, len(future))
    types = MARKETING_EVENT_TYPES + UNKNOWN_MARKETING_TYPES
    named = codes.astype(np.int32)
    named[odd] = len(MARKETING_EVENT_TYPES) + rng.integers(
        0, len(UNKNOWN_MARKETING_TYPES), len(odd)
    )
    event_id = np.arange(first_id, first_id + n, dtype=np.int64)
    if crm == "salesforce":
        converted = (leads["deal_id"][lead] >= 0) & (t >= leads["sql_at"][lead])
        subjects = _salesforce_subjects(contact, converted)
    else:
        subjects = pa.array(contact).cast(pa.string())
    table = pa.Table.from_arrays(
        [
            pc.binary_join_element_wise("me-", pa.array(event_id).cast(pa.string()), ""),
            subjects,
            _labels(types, named),
            pa.array(t.astype("datetime64[s]")).cast(pa.timestamp("us")),
            _urls(rng, codes),
        ],
        schema=files.MARKETING_SCHEMA,
    )
    truth = files.event_truth_rows("marketing", event_id, slots, prefix="me-")
    return table, export_day, truth


# -- the runs ----------------------------------------------------------------------------
def _paths(settings: Settings) -> dict[str, Path]:
    state = settings.sources_dir / STATE_DIR
    return {
        "manifest": settings.sources_dir / MANIFEST,
        "leads": state / "leads.parquet",
        "accounts": state / "accounts.parquet",
        "crm": settings.crm_sandbox_dir / "crm.sqlite",
    }


def simulate(
    settings: Settings,
    leads: int = 20_000,
    accounts: int = 4_000,
    events: int | None = None,
    days: int = 180,
    end_date: date | None = None,
    seed: int = 42,
    error_rates: dict[str, float] | None = None,
    crm: str = "hubspot",
    follow_up_rates: FollowUpRates | None = None,
    rep_follow_up_rates: dict[str, FollowUpRates] | None = None,
) -> SimulationSummary:
    """Generate ``days`` of funnel history ending at ``end_date`` (00:00 UTC, default today)
    and replace whatever an earlier simulation wrote to the source systems in this home.
    ``crm``: the CRM sandbox holds the funnel as HubSpot objects or as Salesforce records.
    The sales team (``simulator.reps``): the roster's reps, the sandbox's owners; every rep
    follows up at ``follow_up_rates`` (default ``FollowUpRates()``), or at its own rates in
    ``rep_follow_up_rates`` (rep id -> rates)."""
    _check_crm(crm)
    _check("leads", leads, 10)
    _check("accounts", accounts, 1)
    _check("days", days, 1)
    events = EVENTS_PER_LEAD * leads if events is None else events
    _check("events", events, 0)
    rates = resolve_rates(error_rates)
    # the sales team first: a bad rate stops the run before anything is generated
    write_team(settings, crm, seed, follow_up_rates, rep_follow_up_rates)
    end_date = end_date or datetime.now(UTC).date()
    as_of = _epoch(end_date)
    start = as_of - days * DAY
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    paths = _paths(settings)

    with _stage("accounts and leads") as counts:
        pools = make_pools(seed)
        account_frame = make_accounts(rng, pools, accounts, FIRST_IDS["company"], rates)
        lead_frame = make_leads(
            rng, pools, account_frame, leads, start, as_of, rates, FIRST_IDS["contact"]
        )
        account_times(rng, account_frame, lead_frame, start, as_of)
        lead_frame["product_user_id"] = np.full(leads, -1, dtype=np.int64)
        lead_frame["deal_id"] = np.full(leads, -1, dtype=np.int64)
        users = _sign_up(rng, lead_frame, start, as_of, FIRST_IDS["product_user"])
        deal_rows = _open_deals(lead_frame, start, as_of, FIRST_IDS["deal"])
        counts.update(
            accounts=accounts, leads=leads, deals=len(deal_rows), product_users=length(users)
        )
    with _stage("CRM records staged for the sandbox store"):
        staging = settings.sources_dir / STATE_DIR / "crm_staging"
        staged = crm_load.stage(
            staging,
            {
                "companies": company_columns(account_frame),
                "contacts": contact_columns(lead_frame, account_frame),
                "deals": deal_columns(take(lead_frame, deal_rows), account_frame, as_of),
            },
        )
        crm_job = crm_load.start_load(paths["crm"], staged, accounts + leads + len(deal_rows), crm)
    with _stage("product events") as counts:
        product = product_events(rng, lead_frame, start, as_of, events * PRODUCT_SHARE)
        product_rows, product_truth = _product_output(
            rng, product, lead_frame, FIRST_IDS["product_event"], as_of, rates
        )
        counts["events"] = length(product_rows)
    with _stage("marketing events") as counts:
        marketing = marketing_events(rng, lead_frame, start, as_of, events * (1 - PRODUCT_SHARE))
        marketing_table, export_day, marketing_truth = _marketing_output(
            rng, marketing, lead_frame, FIRST_IDS["marketing_event"], as_of, rates, crm
        )
        counts["events"] = marketing_table.num_rows
    with _stage(f"product database {describe(settings)}") as counts:
        replaced = replace_product_db(settings, users, product_rows)
        counts.update(users=length(users), events=length(product_rows))
    with _stage("marketing exports and ground truth") as counts:
        replaced |= files.clear_exports(settings.marketing_exports_dir) > 0
        n_files = files.write_marketing_exports(
            settings.marketing_exports_dir, marketing_table, export_day
        )
        files.write_truth(settings.truth_dir, lead_frame, account_frame, as_of)
        event_truth = pa.concat_tables([product_truth, marketing_truth])
        files.write_event_truth(settings.truth_dir, event_truth, append=False)
        files.save_frame(paths["leads"], lead_frame)
        files.save_frame(paths["accounts"], account_frame)
        counts["files"] = n_files
    with _stage("CRM sandbox store loaded") as counts:
        had_records, loaded = crm_job.result()
        replaced |= had_records
        shutil.rmtree(staging)
        counts.update(loaded)
    total_events = length(product_rows) + marketing_table.num_rows
    files.save_manifest(
        paths["manifest"],
        {
            "seed": seed,
            "start": start,
            "as_of": as_of,
            "days": days,
            "leads": leads,
            "accounts": accounts,
            "events_total": total_events,
            "error_rates": rates,
            "product_db": describe(settings),
            "next_ids": {
                "contact": FIRST_IDS["contact"] + leads,
                "company": FIRST_IDS["company"] + accounts,
                "deal": FIRST_IDS["deal"] + len(deal_rows),
                "product_user": FIRST_IDS["product_user"] + length(users),
                "product_event": FIRST_IDS["product_event"] + length(product_rows),
                "marketing_event": FIRST_IDS["marketing_event"] + marketing_table.num_rows,
            },
            "days_added": [],
            "crm": crm,
        },
    )
    summary = _summary(
        settings,
        start,
        as_of,
        account_frame,
        lead_frame,
        deal_rows,
        users,
        length(product_rows),
        marketing_table.num_rows,
        n_files,
        event_truth.num_rows,
        began,
        replaced=replaced,
        team=team_path(settings),
    )
    return summary


def _summary(
    settings,
    start,
    as_of,
    accounts,
    leads,
    deal_rows,
    users,
    product,
    marketing,
    n_files,
    event_errors,
    began,
    **extra,
) -> SimulationSummary:
    deals = take(leads, deal_rows)
    closed = deals["close_at"] < as_of
    return SimulationSummary(
        home=settings.home,
        start=_moment(start),
        end=_moment(as_of),
        accounts=length(accounts),
        leads=length(leads),
        deals=len(deal_rows),
        won=int((closed & deals["will_win"]).sum()),
        lost=int((closed & ~deals["will_win"]).sum()),
        open_deals=int((~closed).sum()),
        product_users=length(users),
        product_events=product,
        marketing_events=marketing,
        marketing_files=n_files,
        injected_lead_errors=int((leads["injected_error"] != "").sum()),
        injected_event_errors=event_errors,
        crm_store=settings.crm_sandbox_dir / "crm.sqlite",
        product_db=describe(settings),
        marketing_dir=settings.marketing_exports_dir,
        truth_dir=settings.truth_dir,
        seconds=round(time.perf_counter() - began, 2),
        **extra,
    )


def _load_state(settings: Settings) -> tuple[dict[str, Any], Frame, Frame]:
    paths = _paths(settings)
    if not paths["manifest"].exists() or not paths["leads"].exists():
        raise SimulatorError(
            f"no simulation in {settings.sources_dir} ({MANIFEST} missing):"
            " run `lead-scoring simulate` first"
        )
    manifest = files.load_manifest(paths["manifest"])
    if manifest["product_db"] != describe(settings):
        raise SimulatorError(
            f"{paths['manifest']}: the simulation wrote its product database to"
            f" {manifest['product_db']}, but the settings now point to {describe(settings)};"
            " run `lead-scoring simulate` again"
        )
    return manifest, files.load_frame(paths["leads"]), files.load_frame(paths["accounts"])


def _profile_updates(
    rng, leads: Frame, existing: int, lo: int, hi: int, scale: float = 1.0
) -> np.ndarray:
    """Progressive profiling: a few known leads fill in a job title or BANT answers in
    ``[lo, hi)`` (``scale``: that window's share of a day)."""
    rows = np.arange(existing)
    incomplete = (leads["jobtitle"][rows] == "") | (leads["bant_budget"][rows] == "")
    candidates = rows[incomplete & (leads["injected_error"][rows] != "duplicate_lead")]
    count = min(len(candidates), rng.poisson(NEXT_DAY_UPDATE_SHARE * existing * scale) + 1)
    chosen = np.sort(rng.choice(candidates, size=count, replace=False))
    no_title = chosen[leads["jobtitle"][chosen] == ""]
    leads["jobtitle"][no_title] = leads["title"][no_title]
    no_bant = chosen[leads["bant_budget"][chosen] == ""]
    for name, values in bant_answers(rng, take(leads, no_bant)).items():
        leads[name][no_bant] = values
    leads["lastmod"][chosen] = lo + (rng.random(count) * (hi - lo)).astype(np.int64)
    return chosen


def _merged(store: CrmStore, object_type: str, records: Iterator[dict[str, str]]):
    """Records with the properties the store already holds for them (e.g. synced scores)."""
    records = list(records)
    known = store.get_many(object_type, [r["hs_object_id"] for r in records])
    return [
        {**known[r["hs_object_id"]].properties, **r} if r["hs_object_id"] in known else r
        for r in records
    ]


def _step_name(lo: int, hours: int) -> str:
    """How the manifest lists a step: its day, or its start and length (``...T05:00Z/PT1H``)."""
    start = _moment(lo)
    if hours == HOURS_PER_DAY and start.hour == 0:
        return start.date().isoformat()
    return f"{start:%Y-%m-%dT%H:%M}Z/PT{hours}H"


def _step_rng(seed: int, offset: int, hours: int) -> np.random.Generator:
    """The random stream of the step of ``hours`` hours starting ``offset`` seconds after
    the simulation's start: a whole day from midnight draws from ``(seed, day)``, as it
    always has; any other step from ``(seed, day, hour of day, hours)``, so each hour has
    a stream of its own."""
    day, hour = offset // DAY, offset % DAY // HOUR
    if hours == HOURS_PER_DAY and hour == 0:
        return np.random.default_rng([seed, day])
    return np.random.default_rng([seed, day, hour, hours])


def simulate_next_day(
    settings: Settings, seed: int | None = None, crm: str | None = None, hours: int = 24
) -> SimulationSummary:
    """Append one more day after the current end: ~1% more events, a few new leads, a few
    updated leads (newer ``lastmodifieddate``), deals that open or close that day.
    ``crm``: the simulation's (default); another one is an error. ``hours`` (1..24): only
    that many hours after the current end, with new leads, profile updates and events
    scaled by ``hours / 24`` (an hour: about 1/24 of a day), and the hour's marketing
    events in a file of their own (``events_YYYY-MM-DDTHH.parquet``)."""
    if not isinstance(hours, int) or not 1 <= hours <= HOURS_PER_DAY:
        raise SimulatorError(f"simulate_next_day: hours must be 1 to 24, got {hours!r}")
    manifest, lead_frame, account_frame = _load_state(settings)
    simulated_crm = manifest.get("crm", "hubspot")
    if crm not in (None, simulated_crm):
        raise SimulatorError(
            f"the simulation in {settings.sources_dir} wrote its CRM records for"
            f" {simulated_crm}, not {crm}: run `lead-scoring simulate --crm {crm}` first"
        )
    began = time.perf_counter()
    lo = int(manifest["as_of"])
    hi = lo + hours * HOUR
    scale = hours / HOURS_PER_DAY  # 1.0 for a day: the same draws as ever
    rng = _step_rng(manifest["seed"] if seed is None else seed, lo - int(manifest["start"]), hours)
    rates = manifest["error_rates"]
    ids = manifest["next_ids"]
    paths = _paths(settings)

    with _stage("next day: leads") as counts:
        existing = length(lead_frame)
        n_new = int(rng.poisson(manifest["leads"] / manifest["days"] * scale))
        new = make_leads(
            rng,
            make_pools(manifest["seed"]),
            account_frame,
            n_new,
            lo,
            hi,
            rates,
            ids["contact"],
            existing=lead_frame,
        )
        new["product_user_id"] = np.full(n_new, -1, dtype=np.int64)
        new["deal_id"] = np.full(n_new, -1, dtype=np.int64)
        # loaded columns may be read-only; concat copies them, but only when there is a new lead
        lead_frame = (
            concat(lead_frame, new) if n_new else {k: v.copy() for k, v in lead_frame.items()}
        )
        updated = _profile_updates(rng, lead_frame, existing, lo, hi, scale)
        users = _sign_up(rng, lead_frame, lo, hi, ids["product_user"])
        known_users = np.flatnonzero(
            (lead_frame["product_user_id"] >= 0) & (lead_frame["signup_at"] < lo)
        )
        touched = rng.choice(
            known_users,
            size=min(
                len(known_users),
                rng.poisson(NEXT_DAY_UPDATE_SHARE * len(known_users) * scale) + 1,
            ),
            replace=False,
        )
        touched_users = {
            "user_id": lead_frame["product_user_id"][touched],
            "email": np.array(
                [e.strip().lower() for e in lead_frame["email"][touched]], dtype=object
            ),
            "signed_up_at": lead_frame["signup_at"][touched],
            "updated_at": lo + (rng.random(len(touched)) * (hi - lo)).astype(np.int64),
        }
        users = concat(users, touched_users)
        opened = _open_deals(lead_frame, lo, hi, ids["deal"])
        lead_frame["lastmod"][opened] = lead_frame["sql_at"][opened]  # lifecycle -> SQL
        has_deal = lead_frame["deal_id"] >= 0
        closing = np.flatnonzero(
            has_deal & (lead_frame["close_at"] >= lo) & (lead_frame["close_at"] < hi)
        )
        changed = np.union1d(
            np.union1d(updated, opened[opened < existing]), np.arange(existing, length(lead_frame))
        )
        counts.update(
            new=n_new,
            updated=len(updated),
            signups=length(users) - len(touched),
            deals_opened=len(opened),
            deals_closed=len(closing),
        )
    budget = NEXT_DAY_EVENT_SHARE * manifest["events_total"] * scale
    with _stage("next day: events") as counts:
        product = product_events(rng, lead_frame, lo, hi, budget * PRODUCT_SHARE)
        product_rows, product_truth = _product_output(
            rng, product, lead_frame, ids["product_event"], hi, rates
        )
        marketing = marketing_events(rng, lead_frame, lo, hi, budget * (1 - PRODUCT_SHARE))
        marketing_table, _, marketing_truth = _marketing_output(
            rng, marketing, lead_frame, ids["marketing_event"], hi, rates, simulated_crm
        )
        counts.update(product=length(product_rows), marketing=marketing_table.num_rows)
    with _stage("next day: write") as counts:
        store = CrmStore(paths["crm"])
        try:
            deal_rows = np.union1d(opened, closing)
            if simulated_crm == "salesforce":
                # a converted lead is written with its deal, so that it stays converted
                has_deal = changed[lead_frame["deal_id"][changed] >= 0]
                counts.update(
                    load_funnel(
                        store,
                        [],
                        records(contact_columns(take(lead_frame, changed), account_frame)),
                        records(deal_columns(take(lead_frame, np.union1d(deal_rows, has_deal)),
                                             account_frame, hi)),
                        merge=True,
                    )
                )  # fmt: skip
            else:
                contacts = _merged(
                    store,
                    "contacts",
                    records(contact_columns(take(lead_frame, changed), account_frame)),
                )
                deals = _merged(
                    store,
                    "deals",
                    records(deal_columns(take(lead_frame, deal_rows), account_frame, hi)),
                )
                counts["contacts"] = store.bulk_load("contacts", contacts)
                counts["deals"] = store.bulk_load("deals", deals)
        finally:
            store.close()
        append_product_db(settings, users, product_rows)
        n_files = files.write_marketing_export(
            settings.marketing_exports_dir, marketing_table, lo, hours
        )
        files.write_truth(settings.truth_dir, lead_frame, account_frame, hi)
        event_truth = pa.concat_tables([product_truth, marketing_truth])
        files.write_event_truth(settings.truth_dir, event_truth, append=True)
        files.save_frame(paths["leads"], lead_frame)
    new_users = length(users) - len(touched)
    added = length(product_rows) + marketing_table.num_rows
    manifest.update(
        as_of=hi,
        events_total=manifest["events_total"] + added,
        next_ids={
            "contact": ids["contact"] + n_new,
            "company": ids["company"],
            "deal": ids["deal"] + len(opened),
            "product_user": ids["product_user"] + new_users,
            "product_event": ids["product_event"] + length(product_rows),
            "marketing_event": ids["marketing_event"] + marketing_table.num_rows,
        },
        days_added=[*manifest["days_added"], _step_name(lo, hours)],
    )
    files.save_manifest(paths["manifest"], manifest)
    deal_frame = take(lead_frame, np.union1d(opened, closing))
    summary = SimulationSummary(
        home=settings.home,
        start=_moment(lo),
        end=_moment(hi),
        accounts=0,
        leads=n_new,
        deals=len(opened),
        won=int(((deal_frame["close_at"] < hi) & deal_frame["will_win"]).sum()),
        lost=int(((deal_frame["close_at"] < hi) & ~deal_frame["will_win"]).sum()),
        open_deals=int((deal_frame["close_at"] >= hi).sum()),
        product_users=new_users,
        product_events=length(product_rows),
        marketing_events=marketing_table.num_rows,
        marketing_files=n_files,
        injected_lead_errors=int((new["injected_error"] != "").sum()) if n_new else 0,
        injected_event_errors=event_truth.num_rows,
        crm_store=paths["crm"],
        product_db=describe(settings),
        marketing_dir=settings.marketing_exports_dir,
        truth_dir=settings.truth_dir,
        seconds=round(time.perf_counter() - began, 2),
        updated_leads=len(changed) - n_new,
        next_day=True,
    )
    return summary
