"""A run compares one by one only the rows that can come out otherwise than when a run last
compared them (docs/crm-sync.md, "What a run compares"); it counts the others as that run
found them. A scenario of runs with changes between them runs twice on a new shop: so, and
with every row compared (``sync.considered`` emptied before each run: the sync as it was
before). The CRM ends up holding the same records, and the runs report the same counts.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from crm_sync_helpers import (
    hubspot_people,
    route,
    salesforce_shop,
    same_hubspot,
    same_salesforce,
    sf_id,
    table,
    with_hubspot_ids,
    with_min_score_change,
    write_salesforce_marts,
)

from lead_scoring.crm_sync import CrmTarget, SyncResult, preflight, run_sync
from lead_scoring.crm_sync.bench import sample_accounts, sample_leads, write_marts
from lead_scoring.warehouse import open_warehouse

KINDS = ["hubspot", "salesforce"]
N, ACCOUNTS = 12, 3
REPS = {"hubspot": ["1001", "1002"], "salesforce": ["005000000000002AAA", "005000000000003AAA"]}
STORE_TYPES = {"hubspot": ("contacts", "companies"),
               "salesforce": ("sf:Lead", "sf:Contact", "sf:Account")}  # fmt: skip
# When the sandbox created or last wrote a record: not what the sync wrote.
STAMPS = {"createdate", "lastmodifieddate", "CreatedDate", "LastModifiedDate", "SystemModstamp"}
STATE = (
    "select object_type, record_id, match_key, crm_id, payload_hash, lifecycle_stage, owner_id,"
    " shown_score, material_values, run_id from sync.crm_state order by object_type, record_id"
)


def _shop(crm, settings, kind: str) -> tuple[pd.DataFrame, pd.DataFrame, CrmTarget]:
    """``N`` people and ``ACCOUNTS`` accounts the CRM holds, and their marts."""
    if kind == "salesforce":
        leads, accounts = salesforce_shop(crm, settings, n=N, converted=2, contacts_only=2)
        return leads, accounts, same_salesforce(crm)
    leads = sample_leads(N, accounts=ACCOUNTS)
    leads, accounts = with_hubspot_ids(leads, sample_accounts(leads))
    hubspot_people(crm, leads, accounts)
    return leads, accounts, same_hubspot(crm)


def _write(settings, kind: str, leads: pd.DataFrame, accounts: pd.DataFrame) -> None:
    if kind == "salesforce":
        write_salesforce_marts(settings, leads, accounts)
    else:
        write_marts(settings, leads, accounts)


def _with_new_lead(crm, kind: str, leads: pd.DataFrame) -> pd.DataFrame:
    """``leads`` and a new person (scored like person 0) whom the CRM holds already."""
    new = leads.iloc[[0]].assign(email="new@example.com")
    if kind == "salesforce":
        lead_id = sf_id("00Q", 500)
        new = new.assign(lead_id=lead_id, crm_object="Lead", crm_record_id=lead_id)
        crm.store.bulk_load(
            "sf:Lead", [{"hs_object_id": lead_id, "Id": lead_id, "LastName": "New", "Company": "X"}]
        )
    else:
        new = new.assign(lead_id=str(1000 + N))
        crm.store.bulk_load("contacts", [{"hs_object_id": str(1000 + N), "email": new.email[0]}])
    return pd.concat([leads, new], ignore_index=True)


def _convert(crm, leads: pd.DataFrame, i: int) -> None:
    """Person i's scores go to a new Contact from now on (``marts.crm_records``)."""
    contact = sf_id("003", 700)
    crm.store.bulk_load("sf:Contact", [{"hs_object_id": contact, "Id": contact,
                                        "LastName": "Converted"}])  # fmt: skip
    leads.loc[i, ["crm_object", "crm_record_id"]] = ["Contact", contact]


def _quarantine(settings, lead_ids: list[str]) -> None:
    with open_warehouse(settings) as wh:
        wh.write_df(pd.DataFrame({"record_type": "contact", "record_id": lead_ids or ["none"]}),
                    "quality", "quarantine", mode="replace")  # fmt: skip


def _scenario(crm, settings, kind: str, folder, every_row: bool) -> list[tuple]:
    """Eight runs on a new shop in ``folder``, each after a dry run: what each reported, what
    the dry run reported, and what the CRM and ``sync.crm_state`` held after the run.
    ``every_row``: every row is compared in every run."""
    crm.reset()
    settings = replace(settings, home=folder / "home")
    strict = with_min_score_change(settings, folder / "strict", "5")
    usual = with_min_score_change(settings, folder / "usual", "1")
    leads, accounts, target = _shop(crm, strict, kind)
    leads.loc[5, "lifecycle_stage"] = "sql"
    _write(strict, kind, leads, accounts)
    route(strict, leads, {2: REPS[kind][0]})
    preflight(target, strict)
    runs = []

    def run(settings=strict, target=target) -> None:
        if every_row:
            with open_warehouse(settings) as wh:
                if wh.table_exists("sync", "considered"):
                    wh.execute("delete from sync.considered")
        dry = run_sync(settings, target, f"dry-{len(runs) + 1}", dry_run=True)
        result = run_sync(settings, target, f"run-{len(runs) + 1}")
        crm_records = {
            (t, r.id): {k: v for k, v in r.properties.items() if k not in STAMPS}
            for t in STORE_TYPES[kind]
            for r in crm.store.select(t)
        }
        state = table(settings, STATE).astype(object).values.tolist()
        runs.append((result, dry, (crm_records, state)))

    run()  # 1: every row is new
    run()  # 2: nothing changed
    leads.loc[0, "lead_score"] += 6  # past the minimum change of 5 points
    leads.loc[1, "lead_score"] += 3  # under it
    leads.loc[3, "quadrant"] = "unknown"  # the CRM rejects it
    leads.loc[5, "lifecycle_stage"] = "iql"  # backwards: the CRM keeps sql
    accounts.loc[0, "account_score"] += 10
    leads = _with_new_lead(crm, kind, leads)
    _write(strict, kind, leads, accounts)
    route(strict, leads, {2: REPS[kind][1]})  # reassigned
    _quarantine(strict, [leads["lead_id"][6]])
    run()  # 3
    run()  # 4: nothing changed; the rejected row is sent again
    leads.loc[3, "quadrant"] = "yes"  # fixed
    leads.loc[4, "email"] = "moved@example.com"  # read, but written by id: not sent
    if kind == "salesforce":
        _convert(crm, leads, 7)
    _write(strict, kind, leads, accounts)
    _quarantine(strict, [])  # person 6 is released, unchanged
    run()  # 5
    target = replace(target, options=replace(target.options, lifecycle_backwards="allow"))
    run(target=target)  # 6: another option
    run(usual, target)  # 7: another minimum change
    run(usual, target)  # 8: nothing changed
    return runs


def _reported(result: SyncResult) -> dict:
    counts = {k: v for k, v in result.counts().items() if k != "rows_compared"}
    return {**counts, "status": result.status, "message": result.message,
            "sent_by_reason": result.sent_by_reason, "by_object": result.by_object}  # fmt: skip


def _same_as_every_row(every: list, changed: list) -> None:
    for (full, full_dry, held_full), (result, dry, held) in zip(every, changed, strict=True):
        assert _reported(result) == _reported(full), result.run_id
        assert _reported(dry) == _reported(full_dry), dry.run_id
        assert held == held_full, result.run_id
        assert dry.rows_compared == result.rows_compared
    assert [r.rows_compared for r, _, _ in every] == [r.rows_considered for r, _, _ in every]


def _compared(kind: str) -> list[int]:
    """Rows compared one by one in each run of the scenario."""
    everyone = N + 1 + ACCOUNTS
    return [
        N + ACCOUNTS,  # 1: every row is new
        0,
        7,  # 3: persons 0, 1, 2 (owner), 3, 5, the new one, account 0; 6 is held
        1,  # 4: person 3, rejected before
        2 + (kind == "salesforce"),  # 5: persons 3 and 4 (and 7: another record)
        everyone,  # 6: another option
        everyone,  # 7: another minimum change
        0,
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_runs_compare_changed_rows_only_and_end_as_comparing_every_row(
    settings, crm, kind, tmp_path
):
    every = _scenario(crm, settings, kind, tmp_path / "every_row", every_row=True)
    changed = _scenario(crm, settings, kind, tmp_path / "changed", every_row=False)

    _same_as_every_row(every, changed)
    results = [r for r, _, _ in changed]
    assert [r.rows_compared for r in results] == _compared(kind)
    assert results[2].sent_by_reason == {"new": 1, "score_moved": 2, "owner": 1, "quadrant": 1}
    assert (results[2].rows_not_material, results[2].quarantined) == (1, 1)  # person 1
    assert [r.rejected for r in results[2:5]] == [1, 1, 0]
    assert results[5].sent_by_reason == {"stage": 1}  # person 5 back to iql
    assert results[6].sent_by_reason == {"score_moved": 1}  # person 1's 3 points
    assert results[7].skipped == N + 1 + ACCOUNTS


def test_on_postgres(settings, pg_settings, crm, tmp_path):
    every = _scenario(crm, settings, "hubspot", tmp_path / "every_row", every_row=True)
    changed = _scenario(crm, pg_settings, "hubspot", tmp_path / "changed", every_row=False)

    _same_as_every_row(every, changed)
    assert [r.rows_compared for r, _, _ in changed] == _compared("hubspot")
