"""Helpers of the CRM sync tests: targets, small marts, what the sandbox stored."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd

from lead_scoring.crm_sandbox.server import SandboxHandle
from lead_scoring.crm_sync import CrmTarget, SyncOptions
from lead_scoring.crm_sync.bench import sample_accounts, sample_leads, write_marts
from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

FAST = {
    "max_requests_per_10s": 10_000, "backoff_base_s": 0.02, "backoff_cap_s": 0.2,
    "bulk_poll_s": 0.05,
}  # fmt: skip
STORE_TYPES = {"hubspot": ("contacts", "companies"), "salesforce": ("sf:Lead", "sf:Account")}


def make_target(handle: SandboxHandle, kind: str, **options) -> CrmTarget:
    """A target for an empty sandbox: the sample marts' ids are not CRM ids, and the sync
    creates the records (unless the test says otherwise)."""
    opts = SyncOptions(**{**FAST, "record_ids": "external", "create_records": True, **options})
    if kind == "hubspot":
        return CrmTarget("hubspot", handle.hubspot_url, handle.token, options=opts)
    return CrmTarget(
        "salesforce", handle.salesforce_url, handle.token, ca_bundle=str(handle.ca_path),
        options=opts,
    )  # fmt: skip


def marts(settings: Settings, n: int = 40, **overrides) -> pd.DataFrame:
    """Write ``n`` sample leads (+ their accounts) as the marts; returns the leads."""
    leads = sample_leads(n, accounts=max(1, n // 4))
    for column, values in overrides.items():
        for index, value in values.items():
            leads.loc[index, column] = value
    write_marts(settings, leads, sample_accounts(leads))
    return leads


def rewrite_leads(settings: Settings, leads: pd.DataFrame) -> None:
    with open_warehouse(settings) as wh:
        wh.write_df(leads, "marts", "lead_scores", mode="replace")


def route(settings: Settings, leads: pd.DataFrame, owners: dict[int, str]) -> None:
    """``marts.lead_owners`` as the routing leaves it: person i -> CRM owner id."""
    frame = pd.DataFrame(
        {
            "lead_id": [leads["lead_id"][i] for i in owners],
            "rep_id": [f"rep_{owner[-5:]}" for owner in owners.values()],
            "crm_owner_id": list(owners.values()),
            "team": "sdr",
            "routing_rule": "round_robin",
            "assigned_at": pd.Timestamp("2026-06-01 23:59:59.999"),
            "assigned_on": date(2026, 6, 1),
        }
    )
    with open_warehouse(settings) as wh:
        wh.write_df(frame, "marts", "lead_owners", mode="replace")


MIN_CHANGE = "lead_scoring__sync_min_score_change"


def with_min_score_change(settings: Settings, folder: Path, value: str) -> Settings:
    """Settings whose dbt project (``dbt_project.yml`` in ``folder``) sets
    ``lead_scoring__sync_min_score_change: value``."""
    folder.mkdir(parents=True, exist_ok=True)
    yml = (settings.dbt_project_dir / "dbt_project.yml").read_text(encoding="utf-8")
    default = f"{MIN_CHANGE}: 1\n"
    assert default in yml
    (folder / "dbt_project.yml").write_text(
        yml.replace(default, f"{MIN_CHANGE}: {value}\n"), encoding="utf-8"
    )
    return replace(settings, dbt_project_dir=folder)


def records(handle: SandboxHandle, kind: str, which: int = 0) -> list[dict]:
    """Properties of the stored leads (which=0) or accounts (which=1) in the sandbox."""
    return [r.properties for r in handle.store.select(STORE_TYPES[kind][which])]


def by_key(handle: SandboxHandle, kind: str) -> dict[str, dict]:
    """Stored leads by match key: e-mail (HubSpot) or LS_Lead_Id__c (Salesforce)."""
    key = "email" if kind == "hubspot" else "LS_Lead_Id__c"
    rows = records(handle, kind)
    counts = Counter(r.get(key) for r in rows)
    assert max(counts.values(), default=1) == 1, f"duplicate CRM records: {counts.most_common(3)}"
    return {r[key]: r for r in rows}


def requests_to(handle: SandboxHandle, needle: str, status: str | None = None) -> int:
    """Requests whose endpoint contains ``needle`` (optionally only one status)."""
    total = 0
    for endpoint, by_status in handle.stats()["requests"].items():
        if needle in endpoint:
            total += sum(n for s, n in by_status.items() if status in (None, s))
    return total


def table(settings: Settings, sql: str, params=None) -> pd.DataFrame:
    with open_warehouse(settings, read_only=True) as wh:
        return wh.query_df(sql, params)


LEAD_WRITES = {"hubspot": "POST /crm/v3/objects/{object_type}/batch",
               "salesforce": "/composite/sobjects"}  # fmt: skip


@contextmanager
def faults_after(handle: SandboxHandle, store_type: str, records: int, **faults) -> Iterator[None]:
    """Switch ``faults`` on once the sandbox holds ``records`` of ``store_type`` (mid-run)."""

    def watch() -> None:
        deadline = time.monotonic() + 20
        while handle.store.count(store_type) < records and time.monotonic() < deadline:
            time.sleep(0.002)
        handle.faults.set(**faults)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


# -- CRM records as a sales team has them, and the marts read from them ---------------------
def hubspot_people(crm, leads, accounts) -> None:
    """CRM records as a sales team has them: contacts and companies with names, no score
    properties and no product match keys; ids 1000+ (contacts) and 5000+ (companies)."""
    crm.store.bulk_load(
        "contacts",
        [
            {"hs_object_id": str(1000 + i), "email": email, "firstname": f"First{i}",
             "lastname": f"Last{i}"}
            for i, email in enumerate(leads["email"])
        ],
    )  # fmt: skip
    crm.store.bulk_load(
        "companies",
        [
            {"hs_object_id": str(5000 + i), "name": f"Company {i}", "domain": domain}
            for i, domain in enumerate(accounts["domain"])
        ],
    )


def with_hubspot_ids(leads, accounts):
    """The marts as the extract of that CRM makes them: record ids are hs_object_id."""
    ids = {a: str(5000 + i) for i, a in enumerate(accounts["account_id"])}
    leads = leads.assign(
        lead_id=[str(1000 + i) for i in range(len(leads))],
        account_id=leads["account_id"].map(ids),
    )
    return leads, accounts.assign(account_id=accounts["account_id"].map(ids))


def sf_id(prefix: str, n: int) -> str:
    return f"{prefix}5g{n:010d}AAA"


def salesforce_shop(crm, settings, n: int = 40, converted: int = 10, contacts_only: int = 5):
    """A Salesforce org as a sales team has it, and the marts its extract gives.

    ``n`` people: the first ``converted`` Leads were converted (their Contact holds the
    person now), the last ``contacts_only`` were never Leads. A person's key is their Lead
    Id, or their Contact Id when they never were a Lead. Returns the people with the
    record each one's scores belong to (``crm_object``, ``crm_record_id``).
    """
    leads = sample_leads(n, accounts=max(1, n // 4))
    accounts = sample_accounts(leads)
    account_ids = {a: sf_id("001", i) for i, a in enumerate(accounts["account_id"])}
    accounts["account_id"] = accounts["account_id"].map(account_ids)
    leads["account_id"] = leads["account_id"].map(account_ids)
    lead_ids = [sf_id("00Q", i) for i in range(n - contacts_only)]
    contact_ids = [sf_id("003", i) for i in range(converted)] + [
        sf_id("003", 1000 + i) for i in range(contacts_only)
    ]
    is_contact = [i < converted or i >= n - contacts_only for i in range(n)]
    leads["lead_id"] = lead_ids + contact_ids[converted:]
    leads["crm_object"] = ["Contact" if c else "Lead" for c in is_contact]
    leads["crm_record_id"] = [
        contact_ids[i] if i < converted else leads["lead_id"][i] for i in range(n)
    ]
    crm.store.bulk_load(
        "sf:Account",
        [{"hs_object_id": i, "Id": i, "Name": f"Company {k}"}
         for k, i in enumerate(account_ids.values())],
    )  # fmt: skip
    crm.store.bulk_load(
        "sf:Lead",
        [{"hs_object_id": lead_id, "Id": lead_id, "LastName": f"Last{i}", "Company": "Acme",
          "IsConverted": i < converted,
          **({"Status": "Closed - Converted", "ConvertedContactId": contact_ids[i]}
             if i < converted else {})}
         for i, lead_id in enumerate(lead_ids)],
    )  # fmt: skip
    account_list = list(account_ids.values())
    crm.store.bulk_load(
        "sf:Contact",
        [{"hs_object_id": c, "Id": c, "LastName": f"Contact{k}",
          "AccountId": account_list[k % len(account_list)]}
         for k, c in enumerate(contact_ids)],
    )  # fmt: skip
    write_salesforce_marts(settings, leads, accounts)
    return leads, accounts


def write_salesforce_marts(settings, leads, accounts) -> None:
    write_marts(settings, leads.drop(columns=["crm_object", "crm_record_id"]), accounts)
    with open_warehouse(settings) as wh:
        wh.write_df(leads[["lead_id", "crm_object", "crm_record_id"]], "marts", "crm_records",
                    mode="replace")  # fmt: skip


def sf_records(crm, obj: str) -> dict[str, dict]:
    """The records of Salesforce sObject ``obj`` the sandbox holds, by Id."""
    return {r.id: r.properties for r in crm.store.select(f"sf:{obj}")}


def same_hubspot(crm, **options) -> CrmTarget:
    """The HubSpot portal the marts were read from, as target (the nightly default)."""
    return CrmTarget(
        "hubspot", crm.hubspot_url, crm.token, source_url=crm.hubspot_url,
        options=SyncOptions(**{**FAST, **options}),
    )  # fmt: skip


def same_salesforce(crm, **options) -> CrmTarget:
    """The Salesforce org the marts were read from, as target (the nightly default)."""
    return CrmTarget(
        "salesforce", crm.salesforce_url, crm.token, ca_bundle=str(crm.ca_path),
        source_url=crm.salesforce_url, source_kind="salesforce",
        options=SyncOptions(**{**FAST, **options}),
    )  # fmt: skip
