"""Erasure on request: `lead-scoring forget` on a small scored warehouse.

The home is built as the nightly run builds it: simulate -> extract from the CRM sandbox ->
quality gate -> dbt build -> CRM sync -> run report, plus an import of exported files kept
outside the home. One person with events, a deal, a product user and a CRM sync row is
forgotten by e-mail; then no trace of them is left, the other leads keep their scores, and
neither the next extract, the next import nor the next dbt build brings them back.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
import requests
import yaml
from typer.testing import CliRunner

from lead_scoring.privacy.forget import forget_people, traces
from lead_scoring.privacy.tombstones import load_tombstones
from lead_scoring.warehouse import open_warehouse

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("privacy_forget")

AS_OF = date(2026, 6, 1)
SANDBOX = "crm_sandbox/"  # the CRM itself: changed only by a CRM delete (--crm)


def _dbt(settings) -> None:
    from lead_scoring.bench import run_dbt

    run_dbt(settings, AS_OF, "build", "--exclude-resource-type", "test")


def _export(settings, folder: Path) -> Path:
    """Contacts and product users as files outside the home, and a mapping for them."""
    from lead_scoring.byod.mapping import KINDS
    from lead_scoring.sources.crm import PROPERTIES

    folder.mkdir(parents=True)
    contacts = pd.DataFrame(
        [{**r.properties, "hs_object_id": r.id} for r in _store(settings).select("contacts")]
    )
    contacts.reindex(columns=PROPERTIES["contacts"]).astype("string").to_parquet(
        folder / "contacts.parquet"
    )
    pd.read_sql("select * from app_users", settings.product_db).to_parquet(folder / "users.parquet")
    tables = [("contacts.parquet", "leads"), ("users.parquet", "product_users")]
    mapping = {
        "defaults": {"date_formats": ["iso"]},
        "tables": [
            {"file": f, "kind": k, "columns": {c: c for c in KINDS[k].columns}} for f, k in tables
        ],
    }
    (folder / "mapping.yml").write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return folder / "mapping.yml"


def _store(settings):
    from lead_scoring.crm_sandbox.store import CrmStore

    return CrmStore(settings.crm_sandbox_dir / "crm.sqlite")


@pytest.fixture(scope="session")
def home(tmp_path_factory):
    """A scored home, its CRM sandbox (still running) and the exports outside it."""
    from lead_scoring.byod import run_import
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.crm_sync import CrmTarget, SyncOptions, preflight, run_sync
    from lead_scoring.quality.gate import run_quality_gate
    from lead_scoring.report import write_run_report
    from lead_scoring.settings import Settings
    from lead_scoring.simulator import simulate
    from lead_scoring.sources.extract import CrmSource, extract

    root = tmp_path_factory.mktemp("forget")
    settings = Settings(home=root / "home", warehouse="duckdb", product_db_url=None)
    simulate(settings, leads=300, accounts=60, days=90, end_date=AS_OF, seed=11,
             events=6_000)  # fmt: skip
    sandbox = start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=100_000)
    try:
        extracted = extract(settings, CrmSource(sandbox.hubspot_url, sandbox.token, 500))
        run_quality_gate(settings, "gate1", datetime(2026, 6, 1))
        mapping = _export(settings, root / "exports")
        run_import(settings, mapping)
        _dbt(settings)
        target = CrmTarget(
            "hubspot", sandbox.hubspot_url, sandbox.token, source_url=sandbox.hubspot_url,
            options=SyncOptions(max_requests_per_10s=10_000),
        )  # fmt: skip
        preflight(target, settings)
        run_sync(settings, target, "sync1")
        write_run_report(settings, "run1", datetime(2026, 6, 1, tzinfo=UTC),
                         {"rows_loaded": extracted.rows_loaded}, {}, {})  # fmt: skip
        yield settings, sandbox, mapping
    finally:
        sandbox.stop()


def _person(settings) -> dict:
    """A contact mid-history: events, a deal, a product user, a synced CRM record, a
    phone and a name nobody else has."""
    with open_warehouse(settings) as wh:
        return (
            wh.query_df("""
            select c.hs_object_id, c.email, c.firstname, c.lastname, c.phone
            from raw.crm_contacts c
            join raw.crm_deals d on d.ls_contact_id = c.hs_object_id
            join raw.product_users u on lower(trim(u.email)) = lower(trim(c.email))
            join sync.crm_state s on s.record_id = c.hs_object_id
            where c.phone is not null and c.firstname is not null
              and (select count(*) from raw.marketing_events m
                   where m.contact_id = c.hs_object_id) >= 3
              and (select count(*) from raw.crm_contacts o
                   where lower(o.firstname) = lower(c.firstname)
                      or lower(o.lastname) = lower(c.lastname)) = 1
            order by c.hs_object_id limit 1""")
            .iloc[0]
            .to_dict()
        )


def _scores(settings) -> pd.DataFrame:
    with open_warehouse(settings) as wh:
        return wh.query_df("select * from marts.lead_scores order by lead_id").set_index("lead_id")


def _cli(settings, monkeypatch, *args: str):
    from lead_scoring.cli import app

    monkeypatch.setenv("LEAD_SCORING_HOME", str(settings.home))
    monkeypatch.delenv("LEAD_SCORING_FORGET_IN_CRM", raising=False)
    return CliRunner().invoke(app, ["forget", *args])


def _crm_env(monkeypatch, sandbox, kind: str) -> None:
    url = sandbox.hubspot_url if kind == "hubspot" else sandbox.salesforce_url
    for name, value in {"KIND": kind, "URL": url, "TOKEN": sandbox.token,
                        "SOURCE_URL": sandbox.hubspot_url, "MAX_REQUESTS_PER_10S": "10000",
                        "CA_BUNDLE": str(sandbox.ca_path)}.items():  # fmt: skip
        monkeypatch.setenv(f"LEAD_SCORING_CRM_{name}", value)


def test_forget_erases_a_person_and_keeps_them_out(home, monkeypatch):
    from lead_scoring.byod import run_import
    from lead_scoring.sources.extract import CrmSource, extract

    settings, sandbox, mapping = home
    person = _person(settings)
    email = person["email"]
    needles = [email, person["firstname"], person["lastname"], person["phone"]]
    assert any(not t.startswith(f"file {SANDBOX}") for t in traces(settings, needles))
    before = _scores(settings).drop(index=person["hs_object_id"])

    result = _cli(settings, monkeypatch, "--email", f"  {email.upper()} ")
    assert result.exit_code == 0, result.output
    assert email.lower() not in result.output.lower()
    line = re.search(r"forgot (\w+): (\d+) rows in (\d+) tables, (\d+) files; CRM: not asked",
                     result.output)  # fmt: skip
    assert line and int(line[2]) > 20 and int(line[3]) > 10, result.output
    assert str(mapping.parent / "contacts.parquet") in result.output  # outside: a warning
    seconds = float(re.search(r"done in ([\d.]+) s", result.output)[1])
    print(f"forget_s={seconds}")

    left = [t for t in traces(settings, needles) if not t.startswith(f"file {SANDBOX}")]
    assert left == []
    pd.testing.assert_frame_equal(_scores(settings), before)

    # The next import of the same files and the next extract of a changed CRM record skip
    # the person (tombstones); dbt rebuilds without them.
    imported = run_import(settings, mapping)
    assert imported.forgotten_skipped >= 2  # the contact and the product user
    store = _store(settings)
    record = store.get("contacts", person["hs_object_id"])
    store.bulk_load("contacts", [{**record.properties, "hs_object_id": record.id,
                                  "lastmodifieddate": "2026-06-02T00:00:00.000Z"}])  # fmt: skip
    store.close()
    extracted = extract(settings, CrmSource(sandbox.hubspot_url, sandbox.token, 500))
    assert extracted.forgotten_skipped >= 1
    _dbt(settings)
    assert person["hs_object_id"] not in _scores(settings).index
    left = [t for t in traces(settings, needles) if not t.startswith(f"file {SANDBOX}")]
    assert left == []

    # In the CRM too: HubSpot's GDPR delete through the sandbox.
    _crm_env(monkeypatch, sandbox, "hubspot")
    result = _cli(settings, monkeypatch, "--email", email, "--crm")
    assert result.exit_code == 0, result.output
    assert "CRM: deleted" in result.output and email.lower() not in result.output.lower()
    answer = requests.get(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{person['hs_object_id']}",
        headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 404
    assert traces(settings, needles) == []
    again = _cli(settings, monkeypatch, "--email", email, "--crm")
    assert "CRM: not found" in again.output


def test_salesforce_delete_and_unknown_people(home, monkeypatch):
    from simple_salesforce import Salesforce

    from lead_scoring.crm_sandbox.server import verified_session

    settings, sandbox, _ = home
    sf = Salesforce(instance_url=sandbox.salesforce_url, session_id=sandbox.token,
                    session=verified_session(sandbox.ca_path))  # fmt: skip
    email = "Erase.Me@example-buyer.com"
    lead = {"LastName": "Erasable", "Company": "Acme", "Email": email}
    created = sf.Lead.upsert("LS_Lead_Id__c/ls-erase-1", lead)
    assert created in (200, 201)
    _crm_env(monkeypatch, sandbox, "salesforce")
    result = forget_people(settings, emails=[email.lower()], crm=True)
    assert [p.crm for p in result.people] == ["deleted"]
    assert result.people[0].crm_records[0].startswith("Lead/")
    assert sf.query(f"SELECT Id FROM Lead WHERE Email = '{email}'")["totalSize"] == 0

    nobody = forget_people(settings, emails=["nobody@nowhere.example"], ids=["999999999"])
    assert [(p.rows, p.crm) for p in nobody.people] == [(0, "not asked"), (0, "not asked")]
    # unknown people are tombstoned too, so a later extract or import cannot bring them in
    tombstones = load_tombstones(settings)
    for address in (email, "nobody@nowhere.example"):
        assert tombstones.forgotten("email", address), address


def test_missing_warehouse_is_a_clear_error(tmp_path, monkeypatch):
    from lead_scoring.settings import Settings

    result = _cli(Settings(home=tmp_path / "empty"), monkeypatch, "--email", "a@b.example")
    assert result.exit_code == 1
    assert "does not exist" in result.output
