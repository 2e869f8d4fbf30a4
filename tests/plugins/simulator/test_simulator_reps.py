"""The simulated sales team: the roster's reps as the CRM's owners, their follow-up plans, and
the activities they log in the CRM sandbox over HTTP, checked against the truth file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

from lead_scoring.simulator import SimulatorError, simulate
from lead_scoring.simulator.reps import (
    FollowUpRates,
    crm_owners,
    load_follow_ups,
    plan_follow_up,
    read_roster,
    rep_owners,
    simulate_rep_follow_ups,
    simulated_now,
)
from lead_scoring.sources.extract import CrmSource

START = datetime(2026, 11, 1, tzinfo=UTC)
SMALL = {"leads": 400, "accounts": 80, "events": 4_000, "days": 30, "seed": 7}
ENGAGEMENTS = {"call": "calls", "email": "emails", "meeting": "meetings", "task": "tasks",
               "received_email": "emails", "open_task": "tasks"}  # fmt: skip
TIME_PROPERTY = {"call": "hs_timestamp", "email": "hs_timestamp", "meeting": "hs_timestamp",
                 "task": "hs_task_completion_date", "received_email": "hs_timestamp",
                 "open_task": "hs_timestamp"}  # fmt: skip
ASSOCIATION = {"calls": 194, "emails": 198, "meetings": 200, "tasks": 204}
HUBSPOT_REPS = {f"rep_{n:02d}": str(1000 + n) for n in range(1, 10)}  # the sandbox's owners


def _plans(count: int, rates: FollowUpRates, seed: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        [plan_follow_up(seed, str(100_000_000 + n), 1, START, rates) for n in range(count)]
    )


def test_plans_depend_only_on_seed_lead_and_assignment():
    rates = FollowUpRates()
    one = plan_follow_up(5, "100000042", 1, START, rates)
    assert one == plan_follow_up(5, "100000042", 1, START, rates)
    others = [plan_follow_up(s, "100000042", a, START, rates) for s, a in ((6, 1), (5, 2))]
    assert all(o != one for o in others)
    later = plan_follow_up(5, "100000042", 1, START + timedelta(days=3), rates)
    assert later["follow_up_at"] == (
        one["follow_up_at"] + timedelta(days=3) if one["follow_up_at"] else None
    )


def test_plans_follow_the_rates_within_tolerance():
    plans = _plans(20_000, FollowUpRates())
    shares = plans["outcome"].value_counts(normalize=True)
    assert shares["on_time"] == pytest.approx(0.80, abs=0.01)
    assert shares["late"] == pytest.approx(0.10, abs=0.01)
    assert shares["never"] == pytest.approx(0.10, abs=0.01)
    hours = plans["planned_delay_h"]
    on_time, late = plans["outcome"] == "on_time", plans["outcome"] == "late"
    assert hours[on_time].between(1, 48).all() and hours[late].between(49, 120).all()
    at_due = (hours[on_time] == 48).mean()
    assert at_due == pytest.approx(0.05, abs=0.01)
    assert (plans.loc[on_time & (hours < 48), "planned_delay_h"] <= 47).all()
    assert plans["within_48h"].equals(on_time) and plans["breached"].equals(~on_time)
    assert (plans["due_at"] == START + timedelta(hours=48)).all()
    assert plans.loc[plans["outcome"] == "never", "follow_up_at"].isna().all()
    kinds = plans["kind"].value_counts(normalize=True)
    for kind, share in {"call": 0.40, "email": 0.30, "task": 0.15, "meeting": 0.15}.items():
        assert kinds[kind] == pytest.approx(share, abs=0.015)
    decoys = plans["decoy_kind"].notna()
    assert decoys.mean() == pytest.approx(0.25, abs=0.01)
    assert set(plans.loc[decoys, "decoy_kind"]) == {"received_email", "open_task"}
    decoy_hours = (plans.loc[decoys, "decoy_at"] - START) / pd.Timedelta(hours=1)
    assert decoy_hours.between(1, 47).all()

    slow = _plans(5_000, FollowUpRates(on_time=0.5, late=0.3, never=0.2, at_due=0.0, decoy=0.0))
    assert slow["outcome"].value_counts(normalize=True)["late"] == pytest.approx(0.3, abs=0.02)
    assert (slow["planned_delay_h"] != 48).all() and slow["decoy_kind"].isna().all()


def test_bad_rates_are_one_clear_error(settings):
    with pytest.raises(SimulatorError, match="add up to 1, got 1.1"):
        FollowUpRates(on_time=0.9, late=0.1, never=0.1)
    with pytest.raises(SimulatorError, match="unknown follow-up rate 'ontime'"):
        FollowUpRates.from_mapping({"ontime": 0.8})
    with pytest.raises(SimulatorError, match="decoy must be in"):
        FollowUpRates(decoy=1.5)
    with pytest.raises(SimulatorError, match="'rep_99', which is not in"):
        simulate(settings, **SMALL, rep_follow_up_rates={"rep_99": FollowUpRates()})


def _source(sandbox, crm: str) -> CrmSource:
    if crm == "salesforce":
        return CrmSource(sandbox.salesforce_url, sandbox.token, kind="salesforce",
                         ca_bundle=str(sandbox.ca_path))  # fmt: skip
    return CrmSource(sandbox.hubspot_url, sandbox.token, 1_000)


@pytest.mark.parametrize(
    ("crm", "first", "ninth"),
    [("hubspot", "1001", "1009"), ("salesforce", "005000000000002AAA", "005000000000010AAA")],
)
def test_the_roster_s_reps_are_the_sandbox_owners_by_e_mail(settings, crm, first, ninth):
    """No roster of its own: the team is the project's seed, whose e-mails are the owners
    the CRM sandbox lists over HTTP (HubSpot owners, Salesforce Users)."""
    from lead_scoring.crm_sandbox import start_sandbox

    simulate(settings, **SMALL, crm=crm)
    assert not (settings.sources_dir / "sales_reps.csv").exists()
    roster = read_roster(settings)
    seed = pd.read_csv(settings.dbt_project_dir / "seeds" / "sales_reps.csv", dtype=str,
                       keep_default_na=False)  # fmt: skip
    pd.testing.assert_frame_equal(roster, seed)
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**6) as sb:
        owners = crm_owners(_source(sb, crm))
    reps = rep_owners(roster, owners)
    assert len(reps) == 9 and sorted(reps.values()) == [f"rep_{n:02d}" for n in range(1, 10)]
    assert reps[first] == "rep_01" and reps[ninth] == "rep_09"
    behaviour = json.loads((settings.sources_dir / "simulation" / "reps.json").read_text())
    assert behaviour["crm"] == crm and behaviour["seed"] == 7
    assert behaviour["rates"]["rep_05"]["on_time"] == 0.8
    assert set(behaviour["rates"]) == set(seed["rep_id"])


def test_rep_owners_resolve_as_the_dbt_project_does():
    """The roster's crm_owner_id wins; else the one active owner with the rep's e-mail
    (without case); an inactive owner, a shared e-mail or no e-mail give no owner."""
    roster = pd.DataFrame({
        "rep_id": ["r1", "r2", "r3", "r4", "r5"],
        "email": ["r1@example.com", " R2@Example.com ", "r3@example.com", "both@example.com", ""],
        "crm_owner_id": ["X1", "", "", "", ""],
    })  # fmt: skip
    owners = [
        {"id": "O1", "email": "r1@example.com", "active": True},
        {"id": "O2", "email": "r2@example.com", "active": True},
        {"id": "O3", "email": "r3@example.com", "active": False},
        {"id": "O4", "email": "both@example.com", "active": True},
        {"id": "O5", "email": "Both@example.com", "active": True},
    ]
    assert rep_owners(roster, owners) == {"X1": "r1", "O2": "r2"}


# -- the team at work in the HubSpot sandbox --------------------------------------------------
def _hubspot(sandbox):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sandbox.token}"
    return session


def _set_owners(sandbox, owners: dict[str, str]) -> None:
    """What the pipeline's CRM sync does: write ``hubspot_owner_id`` (empty: no owner)."""
    inputs = [{"id": c, "properties": {"hubspot_owner_id": o}} for c, o in owners.items()]
    for start in range(0, len(inputs), 100):
        answer = _hubspot(sandbox).post(
            f"{sandbox.hubspot_url}/crm/v3/objects/contacts/batch/update",
            json={"inputs": inputs[start : start + 100]},
        )
        assert answer.status_code == 200, answer.text


def _engagements(sandbox) -> dict[str, dict]:
    """Every engagement in the CRM, read over HTTP: id -> object type, properties, contacts."""
    found = {}
    properties = ",".join(sorted({*TIME_PROPERTY.values(), "hubspot_owner_id", "hs_task_status",
                                  "hs_email_direction", "hs_meeting_end_time"}))  # fmt: skip
    for object_type in ASSOCIATION:
        after = "0"
        while after is not None:
            page = _hubspot(sandbox).get(
                f"{sandbox.hubspot_url}/crm/v3/objects/{object_type}",
                params={"limit": 100, "after": after, "properties": properties,
                        "associations": "contacts"},
            ).json()  # fmt: skip
            for record in page["results"]:
                links = record.get("associations", {}).get("contacts", {}).get("results", [])
                found[record["id"]] = {"type": object_type, **record["properties"],
                                       "contacts": [link["id"] for link in links]}  # fmt: skip
            after = page.get("paging", {}).get("next", {}).get("after")
    return found


def _stamp(moment) -> str:
    return pd.Timestamp(moment).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def team(settings):
    """A small simulated company (rep_09 never follows up) and its CRM sandbox."""
    from lead_scoring.crm_sandbox import start_sandbox

    never = FollowUpRates(on_time=0.0, late=0.0, never=1.0)
    simulate(settings, **SMALL, rep_follow_up_rates={"rep_09": never})
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**6) as sb:
        yield settings, sb, CrmSource(sb.hubspot_url, sb.token, 1_000)


def _work_a_week(settings, sandbox, source) -> tuple[datetime, list]:
    """150 leads get owners at the simulation's end; a day later 10 move to another rep and
    5 lose their owner; the reps work six days. Returns the last moment and the days."""
    contacts = [str(100_000_001 + n) for n in range(150)]
    _set_owners(sandbox, {c: str(1001 + n % 9) for n, c in enumerate(contacts)})
    start = simulated_now(settings)
    days = [simulate_rep_follow_ups(settings, source, start)]
    days.append(simulate_rep_follow_ups(settings, source, start + timedelta(days=1)))
    moved = {c: str(1001 + (n + 1) % 9) for n, c in enumerate(contacts[:10])}
    _set_owners(sandbox, moved | {c: "" for c in contacts[10:15]})
    for day in range(1, 7):
        days.append(simulate_rep_follow_ups(settings, source, start + timedelta(days=day)))
    return start + timedelta(days=6), days


def test_truth_matches_the_activities_read_back_from_the_crm(team):
    settings, sandbox, source = team
    last, days = _work_a_week(settings, sandbox, source)
    first = last - timedelta(days=6)
    assert (days[0].owned, days[0].assigned, days[0].follow_ups) == (150, 150, 0)
    assert (days[2].owned, days[2].assigned, days[2].ended) == (145, 10, 15)
    truth = load_follow_ups(settings, truth=True)
    assert truth.equals(load_follow_ups(settings))
    assert len(truth) == 160 and truth["ended_at"].notna().sum() == 15
    moved = truth[truth["assignment"] == 2]
    assert len(moved) == 10 and (moved["assigned_at"] == first + timedelta(days=1)).all()
    assert (truth["due_at"] == truth["assigned_at"] + timedelta(hours=48)).all()
    assert truth["within_48h"].equals(truth["follow_up_at"].notna()
                                      & (truth["follow_up_at"] <= truth["due_at"]))  # fmt: skip
    assert truth["breached"].equals(~truth["within_48h"])
    assert (truth["crm_owner_id"] == truth["rep_id"].map(HUBSPOT_REPS)).all()
    nine = truth["rep_id"] == "rep_09"
    assert (truth.loc[nine, "outcome"] == "never").all() and nine.sum() >= 10

    # what is due by the last moment was logged, unless its assignment had ended before
    live = truth["ended_at"].isna()
    due = truth["follow_up_at"].notna() & (truth["follow_up_at"] <= last)
    assert truth["follow_up_logged"].equals(due & (live | (truth["follow_up_at"] <= first
                                                           + timedelta(days=1))))  # fmt: skip
    assert truth.loc[truth["outcome"] == "never", "follow_up_logged"].eq(False).all()
    assert truth["decoy_logged"].sum() > 10 and truth["follow_up_logged"].sum() > 100

    crm = _engagements(sandbox)
    logged = [(row, "follow_up") for _, row in truth[truth["follow_up_logged"]].iterrows()] + [
        (row, "decoy") for _, row in truth[truth["decoy_logged"]].iterrows()
    ]
    assert len(crm) == len(logged)  # nothing else was logged
    for row, which in logged:
        kind = row["kind"] if which == "follow_up" else row["decoy_kind"]
        at = row["follow_up_at"] if which == "follow_up" else row["decoy_at"]
        activity = crm[row[f"{which}_activity_id"]]
        assert activity["type"] == ENGAGEMENTS[kind]
        assert activity["contacts"] == [row["crm_record_id"]] == [row["lead_id"]]
        assert activity["hubspot_owner_id"] == row["crm_owner_id"]
        assert activity[TIME_PROPERTY[kind]] == _stamp(at)
        if kind == "task":
            assert activity["hs_task_status"] == "COMPLETED"
            assert activity["hs_timestamp"] == _stamp(row["assigned_at"] + timedelta(hours=24))
        if kind == "open_task":
            assert activity["hs_task_status"] == "NOT_STARTED"
            assert not activity.get("hs_task_completion_date")
        if "email" in kind:
            expected = "INCOMING_EMAIL" if kind == "received_email" else "EMAIL"
            assert activity["hs_email_direction"] == expected
        if kind == "meeting":
            assert activity["hs_meeting_end_time"] == _stamp(at + timedelta(minutes=30))
    assert {kind for kind in truth.loc[truth["follow_up_logged"], "kind"]} == {
        "call", "email", "task", "meeting"}  # fmt: skip
    assert truth.loc[truth["follow_up_logged"], "planned_delay_h"].eq(48).any()  # at due

    again = simulate_rep_follow_ups(settings, source, last)  # nothing new, nothing twice
    assert (again.assigned, again.follow_ups, again.decoys) == (0, 0, 0)
    assert len(_engagements(sandbox)) == len(crm)


def test_same_seed_same_truth(team, tmp_path):
    """Two companies simulated with the same seed, whose leads get the same owners: the
    same assignments, plans and logged activities."""
    import dataclasses

    from lead_scoring.crm_sandbox import start_sandbox

    settings, sandbox, source = team
    _work_a_week(settings, sandbox, source)
    other = dataclasses.replace(settings, home=tmp_path / "other")
    never = FollowUpRates(on_time=0.0, late=0.0, never=1.0)
    simulate(other, **SMALL, rep_follow_up_rates={"rep_09": never})
    with start_sandbox(other.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**6) as sb:
        _work_a_week(other, sb, CrmSource(sb.hubspot_url, sb.token, 1_000))
    pd.testing.assert_frame_equal(load_follow_ups(settings, truth=True),
                                  load_follow_ups(other, truth=True))  # fmt: skip


def test_cli_logs_follow_ups_in_the_source_crm(team, monkeypatch):
    import typer

    from lead_scoring.simulator.cli import simulate as simulate_command

    settings, sandbox, _ = team
    app = typer.Typer()
    app.command("simulate")(simulate_command)
    app.command("help")(lambda: None)
    _set_owners(sandbox, {"100000001": "1001", "100000002": "1002"})
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_URL", sandbox.hubspot_url)
    monkeypatch.setenv("LEAD_SCORING_CRM_SOURCE_TOKEN", sandbox.token)
    result = CliRunner().invoke(app, ["simulate", "--follow-ups", "--home", str(settings.home)])
    assert result.exit_code == 0, result.output
    assert "2 leads owned, 2 newly assigned" in result.output
    assert set(load_follow_ups(settings)["lead_id"]) == {"100000001", "100000002"}

    bad = CliRunner().invoke(app, ["simulate", "--home", str(settings.home), "--follow-up-rate",
                                   "on_time=0.5"])  # fmt: skip
    assert bad.exit_code == 2 and "must add up to 1, got 0.7" in bad.output
    assert "Traceback" not in bad.output


def test_salesforce_team_logs_tasks_and_events_on_leads_and_contacts(settings):
    """A Salesforce org: owners set on open Leads and on Contacts (converted Leads); the
    team keys a Contact by the Lead it came from and logs Tasks and Events on the record
    it owns, read back with SOQL."""
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.sources.salesforce import connect

    simulate(settings, **SMALL, crm="salesforce")
    with start_sandbox(settings.crm_sandbox_dir / "crm.sqlite", rate_limit_per_10s=10**6) as sb:
        source = CrmSource(sb.salesforce_url, sb.token, kind="salesforce",
                           ca_bundle=str(sb.ca_path))  # fmt: skip
        sf = connect(source)
        leads = sf.query_all("SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id")
        contacts = sf.query_all("SELECT Id FROM Contact ORDER BY Id")["records"][:10]
        owned = [r["Id"] for r in leads["records"][:40]] + [c["Id"] for c in contacts]
        rep_users = [f"005{n:012d}AAA" for n in range(2, 11)]
        records = [{"attributes": {"type": "Contact" if i.startswith("003") else "Lead"},
                    "Id": i, "OwnerId": rep_users[n % 9]} for n, i in enumerate(owned)]  # fmt: skip
        answer = sf.restful("composite/sobjects", method="PATCH",
                            json={"allOrNone": True, "records": records})  # fmt: skip
        assert all(r["success"] for r in answer), answer
        start = simulated_now(settings)
        for day in range(7):
            simulate_rep_follow_ups(settings, source, start + timedelta(days=day))
        tasks = sf.query_all("SELECT Id, WhoId, OwnerId, Status, TaskSubtype, ActivityDate,"
                             " CompletedDateTime FROM Task")["records"]  # fmt: skip
        events = sf.query_all("SELECT Id, WhoId, OwnerId, StartDateTime FROM Event")["records"]
        converted = sf.query_all("SELECT Id, ConvertedContactId FROM Lead WHERE"
                                 " IsConverted = true")["records"]  # fmt: skip
    truth = load_follow_ups(settings, truth=True)
    first_lead = {r["ConvertedContactId"]: r["Id"] for r in converted}
    assert sorted(truth["crm_record_id"]) == sorted(owned)
    keys = truth.set_index("crm_record_id")["lead_id"]
    for record_id in owned:
        assert keys[record_id] == first_lead.get(record_id, record_id)
    assert truth["decoy_kind"].isin(["open_task"]).sum() > 0
    assert not truth["decoy_kind"].isin(["received_email"]).any()
    crm = {r["Id"]: r for r in tasks + events}
    logged = truth[truth["follow_up_logged"]]
    assert len(crm) == len(logged) + truth["decoy_logged"].sum() > 30
    subtype = {"call": "Call", "email": "Email", "task": "Task"}
    for _, row in logged.iterrows():
        activity = crm[row["follow_up_activity_id"]]
        assert activity["WhoId"] == row["crm_record_id"]
        assert activity["OwnerId"] == row["crm_owner_id"]
        at = pd.Timestamp(row["follow_up_at"])
        if row["kind"] == "meeting":
            assert pd.Timestamp(activity["StartDateTime"]) == at
        else:
            assert activity["TaskSubtype"] == subtype[row["kind"]]
            assert activity["Status"] == "Completed"
            assert pd.Timestamp(activity["CompletedDateTime"]) == at
    for _, row in truth[truth["decoy_logged"]].iterrows():
        task = crm[row["decoy_activity_id"]]
        assert task["Status"] == "Not Started" and not task["CompletedDateTime"]
