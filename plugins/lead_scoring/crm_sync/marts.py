"""Read the score marts and turn them into CRM rows: match keys, wire values, change hashes.

Input contract: ``marts.lead_scores`` and ``marts.account_scores``
(docs/data-contracts.md section 4), ``marts.crm_records`` (the Salesforce record each
lead's scores go to) when Salesforce records are written by their Id, and
``marts.lead_owners`` (each routed lead's CRM owner) when it exists. Rows in
``quality.quarantine`` never reach the CRM, and a failed latest quality gate run blocks the
sync before any write.

Only the rows that can come out otherwise than when a run last compared them become
``SyncRow`` objects: the warehouse fingerprints each row's inputs (``read_mart``), and a
row whose inputs, CRM-confirmed state and comparison rules are those of a row compared
before, with no rejection, is counted as that run found it (``sync.considered``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lead_scoring.crm_sync.config import CrmTarget
from lead_scoring.crm_sync.errors import CrmSyncError, QualityGateFailedError
from lead_scoring.crm_sync.fields import (
    ACCOUNTS,
    LEADS,
    NOT_PROVIDED,
    SCORE_MOVED,
    ObjectSpec,
    hubspot_values,
    is_missing,
    payload_hash,
    reason_labels,
    salesforce_values,
    shown_score,
)
from lead_scoring.crm_sync.rows import ID_PROPERTIES, OWNER_PROPERTIES, SyncRow
from lead_scoring.crm_sync.sync_tables import STATE_HASH, as_text, fingerprint, has_considered
from lead_scoring.warehouse import Warehouse

QUARANTINE_RECORD_TYPES = {"leads": "contact", "accounts": "company"}
CRM_RECORDS = ("crm_records", ("lead_id", "crm_object", "crm_record_id"))
LEAD_OWNERS = ("lead_owners", ("lead_id", "crm_owner_id", "assigned_at"))
EXTRA_COLUMNS = {"leads": ("email", "account_id"), "accounts": ("domain",)}
_UNHASHED = {
    spec.name: {n for f in spec.fields if not f.hashed for n in (f.hubspot, f.salesforce)}
    for spec in (LEADS, ACCOUNTS)
}
_UNHASHED_COLUMNS = {f.column for spec in (LEADS, ACCOUNTS) for f in spec.fields if not f.hashed}
# Bump when how a row is converted, hashed or compared changes: every row is compared again.
COMPARISON_VERSION = 1
_EMAIL_RE = re.compile(r"[^\s@,;:<>\"'()\[\]]+@[^\s@,;:<>\"'()\[\]]+")


@dataclass
class PreparedObject:
    spec: ObjectSpec
    crm_object: str  # contacts/companies or Lead/Account
    match_property: str  # HubSpot idProperty or Salesforce external id field
    by_crm_id: bool  # record ids are the CRM's own ids: every row is an update by that id
    rows: list[SyncRow]
    invalid: list[tuple[str, str]]  # (record id, reason): no usable match key
    duplicates: list[tuple[str, str]]  # (record id, record id kept): same match key
    quarantined: int = 0
    # rows counted as a run found them for the same inputs and state (not in ``rows``):
    # outcome (skipped / not_material) -> rows
    settled: Counter[str] = field(default_factory=Counter)


def redact(text: str) -> str:
    """Error texts may quote an e-mail address; logs and tables keep record ids only."""
    return _EMAIL_RE.sub("<email>", text or "")


def normalise_email(value: Any) -> str | None:
    if is_missing(value):
        return None
    email = str(value).strip().lower()
    return email or None


def record_id(value: Any) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def check_quality_gate(wh: Warehouse) -> None:
    if not wh.table_exists("quality", "runs"):
        return
    latest = wh.query_df(
        "select run_id, status, message from quality.runs order by started_at desc limit 1"
    )
    if not latest.empty and str(latest.iat[0, 1]) == "failed":
        run_id, message = latest.iat[0, 0], latest.iat[0, 2]
        raise QualityGateFailedError(
            f"the latest quality gate run {run_id} (quality.runs) failed: {message}; "
            "the CRM sync sends nothing until the gate passes"
        )


def read_mart_columns(wh: Warehouse, spec: ObjectSpec, required: bool = True) -> list[str]:
    """The mart columns the sync reads; raises naming the table and the first missing column.

    ``required=False``: a mart that does not exist yet (scores not built) is not an error.
    """
    needed = list(
        dict.fromkeys(
            [spec.key_column, *EXTRA_COLUMNS[spec.name], *(f.column for f in spec.fields)]
        )
    )
    check_mart(wh, spec.table, needed, required)
    return needed


def check_mart(wh: Warehouse, table: str, needed: Sequence[str], required: bool = True) -> None:
    """Raise naming the table and the first missing column (a missing table: if required)."""
    if not wh.table_exists("marts", table):
        if not required:
            return
        raise CrmSyncError(
            f"table marts.{table} does not exist in the warehouse: build the dbt marts first"
        )
    present = set(wh.columns("marts", table))
    missing = [c for c in needed if c not in present]
    if missing:
        raise CrmSyncError(
            f"table marts.{table} lacks column {missing[0]!r} needed by the CRM sync"
            f" (missing: {', '.join(missing)}; see docs/data-contracts.md section 4)"
        )


def read_mart(wh: Warehouse, spec: ObjectSpec, target: CrmTarget, rules: str) -> pd.DataFrame:
    """The mart's rows, freshest first (the first row seen per record id and per match key is
    the one kept), with ``input_hash`` and ``settled``.

    ``input_hash``: the md5 of what decides the row's outcome besides its CRM state: the
    columns the sync reads but ``scored_at`` (not hashed), the lead's rows of
    ``marts.lead_owners`` and (Salesforce records by Id) ``marts.crm_records``, and
    ``rules`` (``comparison_rules``). ``settled``: the outcome a run found for the same
    input hash and CRM-confirmed state (``sync.considered``) when the row has no rejection,
    else null; a settled row carries its id and e-mail only (null in the other columns).
    """
    columns = read_mart_columns(wh, spec)
    read = [f'm."{c}"' for c in columns]
    inputs = ["?", *(f'm."{c}"' for c in columns if c not in _UNHASHED_COLUMNS)]
    joins = ""
    if spec is LEADS and wh.table_exists("marts", LEAD_OWNERS[0]):
        check_mart(wh, *LEAD_OWNERS)
        joins += _lead_rows(*LEAD_OWNERS, "owners")
        inputs.append("owners.inputs")
    if _by_salesforce_records(spec, target):
        check_mart(wh, *CRM_RECORDS)
        joins += _lead_rows(*CRM_RECORDS, "homes")
        inputs.append("homes.inputs")
    params = [rules]
    settled, memo = "cast(null as text)", ""
    if has_considered(wh):
        settled = (
            f"case when c.input_hash = i.input_hash and c.state_hash = {STATE_HASH}"
            " and r.record_id is null then c.outcome end"
        )
        memo = (
            " left join sync.considered as c on c.target = ? and c.object_type = ?"
            f' and c.record_id = cast(i."{spec.key_column}" as text)'
            " left join sync.crm_state as s on s.target = c.target"
            " and s.object_type = c.object_type and s.record_id = c.record_id"
            " left join sync.rejections as r on r.target = c.target"
            " and r.object_type = c.object_type and r.record_id = c.record_id"
        )
        params += [target.name, crm_object(spec, target)]
    light = (spec.key_column, "email")
    selected = ", ".join(
        f'j."{c}"' if c in light else f'case when j.settled is null then j."{c}" end as "{c}"'
        for c in [*columns, "input_hash"]
    )
    # Freshest first, so the first row seen per record id and per match key is the one kept.
    order = f'j."{spec.key_column}"'
    if spec is LEADS:
        order = f"j.scored_at desc nulls last, {order}"
    return wh.query_df(
        f"with i as (select {', '.join(read)},"
        f" {fingerprint(inputs)} as input_hash from marts.{spec.table} as m{joins}),"
        f" j as (select i.*, {settled} as settled from i{memo})"
        f" select {selected}, j.settled from j order by {order}",
        params,
    )


def _lead_rows(table: str, columns: Sequence[str], alias: str) -> str:
    """A left join of each lead's rows of ``marts.<table>`` as one text (every column but
    the lead id), as ``<alias>.inputs``."""
    row = as_text(columns[1:])
    return (
        f" left join (select trim(cast(lead_id as text)) as lead_id,"
        f" string_agg({row}, chr(29) order by {row}) as inputs from marts.{table} group by 1)"
        f' as {alias} on {alias}.lead_id = cast(m."lead_id" as text)'
    )


def comparison_rules(spec: ObjectSpec, target: CrmTarget, min_change: float) -> str:
    """What decides every row's outcome besides its own inputs and CRM state: part of each
    row's input hash, so that a change of it compares every row again."""
    return repr(
        (COMPARISON_VERSION, _MAPPINGS[spec.name, target.kind], target.uses_crm_ids,
         match_property(spec, target), target.options.lifecycle_backwards, min_change)
    )  # fmt: skip


def quarantined_ids(wh: Warehouse, spec: ObjectSpec) -> set[str]:
    if not wh.table_exists("quality", "quarantine"):
        return set()
    df = wh.query_df(
        "select distinct record_id from quality.quarantine where record_type = ?",
        [QUARANTINE_RECORD_TYPES[spec.name]],
    )
    return {str(v) for v in df["record_id"]}


def match_property(spec: ObjectSpec, target: CrmTarget) -> str:
    """The unique property a record is found (and, with creation on, created) by."""
    if target.kind == "salesforce":
        return spec.salesforce_external_id
    if spec is LEADS:
        return target.options.contact_match_property
    return spec.hubspot_match_property


def crm_object(spec: ObjectSpec, target: CrmTarget) -> str:
    return spec.hubspot_object if target.kind == "hubspot" else spec.salesforce_object


def prepare(
    wh: Warehouse,
    spec: ObjectSpec,
    target: CrmTarget,
    rules: str,
    domains: dict[str, str] | None = None,
) -> PreparedObject:
    """Rows for one object: quarantine removed, match keys normalised, duplicates collapsed.

    Rows sharing a match key (e-mails differing in case or spaces) collapse into the one with
    the freshest score (then the lowest record id); the others are reported as duplicates.
    Of the rows left, the settled ones (``read_mart``) are counted in ``settled``; the others
    become ``rows``. When the record ids are the CRM's own (``target.uses_crm_ids``), each
    row is the update of that record by its id and carries no match property (Salesforce
    leads: of the Lead or Contact ``marts.crm_records`` names). Wire values are converted a
    column at a time. ``rules``: ``comparison_rules``.
    """
    df = read_mart(wh, spec, target, rules)
    ids = df[spec.key_column].map(record_id)
    latest = ids.notna() & ~ids.duplicated()  # no id, or an older row of the same record
    df, ids = df[latest], ids[latest]
    held = ids.isin(quarantined_ids(wh, spec))
    df, ids = df[~held], ids[~held]
    by_id = target.uses_crm_ids
    match = ID_PROPERTIES[target.kind] if by_id else match_property(spec, target)
    by_email = target.kind == "hubspot" and match == "email"
    keys = df["email"].map(normalise_email) if by_email else ids
    no_key = keys.isna()
    invalid = [(rid, "no e-mail address to match the CRM contact on") for rid in ids[no_key]]
    df, ids, keys = df[~no_key], ids[~no_key], keys[~no_key]
    repeated = keys.duplicated()
    kept = dict(zip(keys[~repeated], ids[~repeated], strict=True))
    duplicates = [(rid, kept[key]) for rid, key in zip(ids[repeated], keys[repeated], strict=True)]
    df, ids, keys = df[~repeated], ids[~repeated], keys[~repeated]
    settled = Counter(df["settled"].value_counts().to_dict())
    compare = df["settled"].isna()
    df, ids, keys = df[compare], ids[compare], keys[compare]
    rows = _rows(spec, target, df, ids.tolist(), keys.tolist(), match, domains or {})
    if spec is LEADS:
        owners = lead_owners(wh)
        for row in rows:
            if row.record_id in owners:
                row.properties[OWNER_PROPERTIES[target.kind]] = owners[row.record_id]
    if _by_salesforce_records(spec, target):
        rows, invalid = _to_salesforce_records(wh, target, rows, match, invalid)
    elif by_id:
        for row in rows:
            write_by_id(row, target, match, row.record_id)
    return PreparedObject(
        spec,
        crm_object(spec, target),
        match,
        by_id,
        sorted(rows, key=lambda r: r.record_id),
        invalid,
        duplicates,
        int(held.sum()),
        settled,
    )


def _by_salesforce_records(spec: ObjectSpec, target: CrmTarget) -> bool:
    """Leads written by Id to the Salesforce records ``marts.crm_records`` names."""
    return spec is LEADS and target.kind == "salesforce" and target.uses_crm_ids


def _rows(
    spec: ObjectSpec,
    target: CrmTarget,
    df: pd.DataFrame,
    ids: list[str],
    keys: list[str],
    match_property: str,
    domains: dict[str, str],
) -> list[SyncRow]:
    hubspot = target.kind == "hubspot"
    convert = hubspot_values if hubspot else salesforce_values
    names = [f.hubspot if hubspot else f.salesforce for f in spec.fields]
    columns = [convert(f, df[f.column]) for f in spec.fields]
    stages = (
        df["lifecycle_stage"].map(lambda v: None if is_missing(v) else str(v)).tolist()
        if "lifecycle_stage" in df
        else [None] * len(ids)
    )
    creates = _create_fields(spec, target, df, domains)
    inputs = df["input_hash"].tolist()
    rows = []
    for i, values in enumerate(zip(*columns, strict=True)):
        properties = dict(zip(names, values, strict=True))
        properties[match_property] = keys[i]
        rows.append(
            SyncRow(ids[i], keys[i], properties, "", stages[i], creates[i], input_hash=inputs[i])
        )
    return rows


def _create_fields(
    spec: ObjectSpec, target: CrmTarget, df: pd.DataFrame, domains: dict[str, str]
) -> list[dict[str, Any]]:
    """Fields a record gets only when the sync creates it (Salesforce requires them; a
    HubSpot company gets its domain as name and domain, never a nameless shell)."""
    if target.kind == "hubspot":
        if spec is LEADS:
            return [{} for _ in range(len(df))]
        return [
            {} if is_missing(domain) else {"name": str(domain), "domain": str(domain)}
            for domain in df["domain"]
        ]
    if spec is LEADS:
        return [
            {
                "LastName": NOT_PROVIDED,
                "Company": domains.get(record_id(account) or "", "") or NOT_PROVIDED,
                "Email": normalise_email(email),
            }
            for account, email in zip(df["account_id"], df["email"], strict=True)
        ]
    return [
        {"Name": NOT_PROVIDED if is_missing(domain) else str(domain)} for domain in df["domain"]
    ]


def _to_salesforce_records(
    wh: Warehouse,
    target: CrmTarget,
    rows: list[SyncRow],
    match: str,
    invalid: list[tuple[str, str]],
) -> tuple[list[SyncRow], list[tuple[str, str]]]:
    """Point each lead at the Salesforce record ``marts.crm_records`` names for it: its Lead,
    or its Contact once converted (a converted Lead refuses updates). Leads it does not
    name are invalid rows."""
    table, columns = CRM_RECORDS
    check_mart(wh, table, columns)
    df = wh.query_df(f"select {', '.join(columns)} from marts.{table}")
    homes = {
        record_id(lead): (str(obj), str(crm_id))
        for lead, obj, crm_id in df.itertuples(index=False)
        if not (is_missing(obj) or is_missing(crm_id))
    }
    kept = []
    for row in rows:
        if row.record_id in homes:
            obj, crm_id = homes[row.record_id]
            write_by_id(row, target, match, crm_id, obj)
            kept.append(row)
        else:
            invalid.append((row.record_id, f"no Salesforce record for it in marts.{table}"))
    return kept, invalid


def lead_owners(wh: Warehouse) -> dict[str, str]:
    """Lead id -> the CRM owner id ``marts.lead_owners`` routes it to (the latest assignment);
    leads without one are absent, and so is everything in a warehouse without the table."""
    table, columns = LEAD_OWNERS
    if not wh.table_exists("marts", table):
        return {}
    check_mart(wh, table, columns)
    df = wh.query_df(
        f"select lead_id, crm_owner_id from marts.{table} where crm_owner_id is not null"
        " order by lead_id, assigned_at nulls first"
    )
    owners = {record_id(lead): record_id(owner) for lead, owner in df.itertuples(index=False)}
    return {lead: owner for lead, owner in owners.items() if lead and owner}


def has_lead_owners(wh: Warehouse) -> bool:
    """True when ``marts.lead_owners`` routes at least one lead to a CRM owner."""
    table, _ = LEAD_OWNERS
    return wh.table_exists("marts", table) and bool(
        wh.scalar(f"select count(*) from marts.{table} where crm_owner_id is not null")
    )


def write_by_id(
    row: SyncRow, target: CrmTarget, match_property: str, crm_id: str, crm_object: str = ""
) -> None:
    """Make ``row`` the update of CRM record ``crm_id`` (Salesforce: of sObject
    ``crm_object``, default the object's own): no match key, no creation fields."""
    row.crm_id, row.create_fields, row.crm_object = crm_id, {}, crm_object
    row.properties.pop(match_property, None)
    if target.kind == "salesforce":
        row.properties = {"Id": crm_id, **row.properties}


def hashed_view(row: SyncRow, spec: ObjectSpec) -> dict[str, Any]:
    """The values whose change means "send again" (volatile run metadata excluded)."""
    unhashed = _UNHASHED[spec.name]
    return {k: v for k, v in row.properties.items() if k not in unhashed}


def finalise_hash(row: SyncRow, spec: ObjectSpec) -> None:
    row.hash = payload_hash(hashed_view(row, spec))


def material_view(row: SyncRow, spec: ObjectSpec, kind: str) -> None:
    """Set what a rep sees of ``row``: ``shown_score`` (the score in whole points) and
    ``material`` (send reason -> value: the fields with a reason, the routed owner, the
    record's identity and the field mapping; the explanation without its numbers, the
    identity and the mapping as digests)."""
    hubspot = kind == "hubspot"
    material: dict[str, Any] = {}
    for f in spec.fields:
        value = row.properties.get(f.hubspot if hubspot else f.salesforce)
        if f.reason == SCORE_MOVED:
            row.shown_score = shown_score(value)
        elif f.reason == "reasons":
            material[f.reason] = _digest(reason_labels(value))
        elif f.reason:
            material[f.reason] = value
    if spec is LEADS:
        material["owner"] = row.properties.get(OWNER_PROPERTIES[kind])
    material["identity"] = _digest(f"{row.crm_id or ''}|{row.match_key}")
    material["mapping"] = _MAPPINGS[spec.name, kind]
    row.material = material


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


# Which mart column goes to which CRM field as what: a change sends every row once.
_MAPPINGS = {
    (spec.name, kind): _digest(
        repr([(f.column, f.hubspot if kind == "hubspot" else f.salesforce, f.kind, f.hashed)
              for f in spec.fields])
    )
    for spec in (LEADS, ACCOUNTS)
    for kind in ("hubspot", "salesforce")
}  # fmt: skip


def account_domains(wh: Warehouse) -> dict[str, str]:
    if not wh.table_exists("marts", ACCOUNTS.table):
        return {}
    df = wh.query_df("select account_id, domain from marts.account_scores")
    return {
        rid: str(domain)
        for rid, domain in zip(df["account_id"].map(record_id), df["domain"], strict=True)
        if rid and not is_missing(domain)
    }
