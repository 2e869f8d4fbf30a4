"""Routing day after day on the hand-made dataset (DuckDB): state, CRM owners and the SLA.

Three nightly runs (fixture loads 1-3, as-of dates 2026-11-01, -05, -10) with a roster that
takes one lead per rep a day, so leads wait and the queue carries over. The CRM holds owners
(raw.crm_owners, contact and company owners) and sales activities (raw.crm_activities),
written as the extract would; the reps find their owners by e-mail (one by an explicit id).
Day 2 is then re-run, after the sync wrote the routed owners to the CRM's contacts (day 3's
too), and day 3 re-run with reassignment on; then a rep's e-mail no owner
has (a warning) and an explicit owner id the CRM does not know (an error).
A second warehouse checks that the round-robin evens out the reps over several days.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import scoring_dataset as ds
from scoring_harness import DbtFailed, WarehouseUnderTest, scoring_project

from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

# the session fixtures they share are built once: these tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("dbt_scenario")

DAYS = {1: ds.AS_OF_1, 2: ds.AS_OF_2, 3: ds.AS_OF_3}
INTEGRATION_USER = "9000"  # means "nobody yet" (LEAD_SCORING_CRM_UNASSIGNED_OWNERS)
REP_OWNER_IDS = {f"rep_{i:02d}": str(1000 + i) for i in range(1, 10)}  # owners' e-mails: rep01@..
EXPLICIT_OWNER = {"rep_05": "1005"}  # written in the roster; the others found by e-mail
CONTACT_OWNERS = {
    "c18": "1002",  # rep_02 owns the contact in the CRM: recorded, not routed
    "c13": "5555",  # an owner who is no rep: not routed at all
    "c26": INTEGRATION_USER,  # unassigned: routed
}
COMPANY_OWNERS = {"a06": "1005"}  # c26's account belongs to rep_05 in the CRM
ACTIVITY_COLUMNS = ["id", "contact_id", "crm_object", "activity_type", "subject", "status",
                    "occurred_at", "completed_at", "owner_id", "createdate", "lastmodifieddate",
                    "is_deleted"]  # fmt: skip
ACTIVITIES = [
    # c19, assigned at the end of 2026-11-01: a call 32 hours later, written with an offset
    ("e1", "c19", "calls", "call", "Intro", "COMPLETED", "2026-11-03T10:00:00.000+02:00", "",
     "1007", "2026-11-03T08:05:00.000Z", "2026-11-03T08:05:00.000Z", False),
    # c29: an e-mail 50 hours after assignment (late)
    ("e2", "c29", "emails", "email", "Hello", "sent", "2026-11-04T03:00:00+01:00", "",
     "1008", "2026-11-04T02:00:00Z", "2026-11-04T02:00:00Z", False),
    # c18: only a reply from the lead, which is no follow-up
    ("e3", "c18", "emails", "email", "Re: pricing", "received", "2026-11-02T09:00:00Z", "",
     "", "2026-11-02T09:00:00Z", "2026-11-02T09:00:00Z", False),
    # c07, assigned at the end of 2026-11-05: a task completed 9 hours later
    ("e4", "c07", "tasks", "task", "Send deck", "COMPLETED", "2026-11-06T08:00:00Z",
     "2026-11-06T09:00:00Z", "1008", "2026-11-06T07:00:00Z", "2026-11-06T09:00:00Z", False),
    # c12: an open task and a deleted call: no follow-up
    ("e5", "c12", "tasks", "task", "Call back", "NOT_STARTED", "2026-11-06T10:00:00Z", "",
     "1007", "2026-11-06T07:00:00Z", "2026-11-06T07:00:00Z", False),
    ("e6", "c12", "calls", "call", "Intro", "COMPLETED", "2026-11-06T10:00:00Z", "",
     "1007", "2026-11-06T10:00:00Z", "2026-11-06T11:00:00Z", True),
]  # fmt: skip


def _crm_owned(warehouse: WarehouseUnderTest) -> None:
    """Owners on contacts and companies (the column added as a newer extract would)."""
    with open_warehouse(warehouse.settings) as db:
        for table, owners, key in (
            ("crm_contacts", CONTACT_OWNERS, "hs_object_id"),
            ("crm_companies", COMPANY_OWNERS, "hs_object_id"),
        ):
            db.execute(f"alter table raw.{table} add column if not exists hubspot_owner_id text")
            for record_id, owner_id in owners.items():
                db.execute(
                    f"update raw.{table} set hubspot_owner_id = ? where {key} = ?",
                    [owner_id, record_id],
                )


def _owners_synced(warehouse: WarehouseUnderTest) -> None:
    """The owners marts.lead_owners routes, on the CRM's contacts, as the nightly sync writes
    them (and the next extract reads them back)."""
    with open_warehouse(warehouse.settings) as db:
        owners = db.query_df("select lead_id, crm_owner_id from marts.lead_owners")
        for lead_id, owner_id in owners.itertuples(index=False):
            db.execute("update raw.crm_contacts set hubspot_owner_id = ? where hs_object_id = ?",
                       [owner_id, lead_id])  # fmt: skip


def _crm_owners_and_activities(warehouse: WarehouseUnderTest) -> None:
    owners = pd.DataFrame(
        [(i, f"rep{int(i) - 1000:02d}@example.com", "Rep", i, "true", "owner")
         for i in [*REP_OWNER_IDS.values(), "5555"]]
        + [(INTEGRATION_USER, "integration@example.com", "Integration", "User", "true", "owner")],
        columns=["id", "email", "first_name", "last_name", "is_active", "crm_object"],
    )  # fmt: skip
    activities = pd.DataFrame(ACTIVITIES, columns=ACTIVITY_COLUMNS)
    with open_warehouse(warehouse.settings) as db:
        db.write_df(owners, "raw", "crm_owners", mode="replace")
        db.write_df(activities, "raw", "crm_activities", mode="replace")


def _edit_roster(project: Path, **columns: dict[str, str] | str) -> None:
    """Set roster columns: a value for every rep, or a {rep_id: value} mapping."""
    path = project / "seeds" / "sales_reps.csv"
    roster = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column, value in columns.items():
        if isinstance(value, dict):
            roster[column] = roster["rep_id"].map(value).fillna(roster[column])
        else:
            roster[column] = value
    roster.to_csv(path, index=False)


def _day(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    return frame[pd.to_datetime(frame["as_of_date"]) == pd.Timestamp(day)]


@pytest.fixture(scope="session")
def days(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("dbt_routing_days")
    project = scoring_project(work / "project")
    _edit_roster(project, daily_capacity="1", crm_owner_id=EXPLICIT_OWNER)
    warehouse = WarehouseUnderTest(
        Settings(home=work / "home", warehouse="duckdb"),
        work,
        env={"LEAD_SCORING_CRM_UNASSIGNED_OWNERS": f" {INTEGRATION_USER} ,"},
        project_dir=project,
    )
    seen: dict = {"reps": None}
    _crm_owners_and_activities(warehouse)
    for number, as_of in DAYS.items():
        warehouse.write(number)
        _crm_owned(warehouse)
        # data tests every day (capacity, queue, no lead dropped...); unit tests run elsewhere
        results = warehouse.dbt("build", as_of, "--exclude", "test_type:unit")
        seen[f"statuses_{number}"] = {r.node.name: str(r.status) for r in results}
        seen[f"ready_{number}"] = set(
            warehouse.table("marts", "lead_scores").query("is_sdr_ready")["lead_id"]
        )
    seen["reps"] = warehouse.table("scoring_rules", "sales_reps", "rep_id")
    seen["resolved_reps"] = warehouse.table("intermediate", "int_sales_reps_resolved", "rep_id")
    seen.update({name: warehouse.table("marts", name) for name in
                 ("lead_routing", "lead_owners", "lead_follow_ups", "rep_workload")})  # fmt: skip
    _owners_synced(warehouse)
    warehouse.dbt("build", DAYS[2], "--select", "+lead_routing", "--exclude", "test_type:unit")
    seen["rerun_2"] = warehouse.table("marts", "lead_routing")
    reassign = {"lead_scoring__sla_reassign_after_hours": 0}
    warehouse.dbt("run", DAYS[3], "--select", "+lead_routing", "+lead_owners",
                  "+lead_follow_ups", extra_vars=reassign)  # fmt: skip
    seen.update({f"reassigned_{name}": warehouse.table("marts", name) for name in
                 ("lead_routing", "lead_owners", "lead_follow_ups")})  # fmt: skip
    roster = ("--select", "sales_reps", "int_sales_reps_resolved", "--exclude", "test_type:unit")
    _edit_roster(project, email={"rep_03": "Nobody@example.com"})  # no owner has it
    results = warehouse.dbt("build", DAYS[3], *roster)  # a warning: the build goes on
    seen["email_warning"] = {r.node.name: (str(r.status), r.failures) for r in results}
    seen["email_warning_log"] = (work / "logs" / "dbt.log").read_text()
    seen["warned_reps"] = warehouse.table("intermediate", "int_sales_reps_resolved", "rep_id")
    _edit_roster(project, crm_owner_id={"rep_02": "4242"})  # an owner the CRM does not have
    with pytest.raises(DbtFailed) as unknown_owner:
        warehouse.dbt("build", DAYS[3], *roster)
    seen["unknown_owner_error"] = str(unknown_owner.value)
    return seen


def _rows(frame: pd.DataFrame, day: date) -> dict[str, dict]:
    return _day(frame, day).set_index("lead_id").to_dict("index")


def test_day_1_routes_around_crm_owners(days):
    day_1 = _rows(days["lead_routing"], DAYS[1])
    # c18 is rep_02's in the CRM: recorded once, not dealt; c13's owner is no rep: no row.
    assert day_1["c18"]["routing_rule"] == "crm_owner"
    assert (day_1["c18"]["rep_id"], day_1["c18"]["crm_owner_id"]) == ("rep_02", "1002")
    assert "c13" not in set(days["lead_routing"]["lead_id"])
    # c26's owner is the integration user (unassigned); its account is rep_05's in the CRM.
    assert day_1["c26"]["rep_id"] == "rep_05"
    assert day_1["c26"]["routing_rule"] == "account_owner"
    assert day_1["c26"]["assigned_reason"] == "account owned in the CRM by 1005: its rep rep_05"
    assert (day_1["c19"]["rep_id"], day_1["c29"]["rep_id"]) == ("rep_07", "rep_08")  # fast lane
    # Their colleagues wait for their reps, who took one lead each.
    queued = {lead: row["queue_position"] for lead, row in day_1.items() if pd.isna(row["rep_id"])}
    assert queued == {"c07": 1, "c01": 2, "c12": 1}
    assert {day_1[lead]["team"] for lead in ("c07", "c01")} == {"account_executives"}


def test_assigned_leads_are_not_routed_again(days):
    routing = days["lead_routing"]
    assigned = routing[routing["rep_id"].notna()]
    assert assigned["lead_id"].is_unique
    assert set(_day(routing, DAYS[2])["lead_id"]) == {"c07", "c01", "c12"}  # the day-1 queue
    assert set(_day(routing, DAYS[3])["lead_id"]) == {"c01"}
    # The accounts keep the reps their first leads got.
    day_2 = _rows(routing, DAYS[2])
    assert (day_2["c07"]["rep_id"], day_2["c12"]["rep_id"]) == ("rep_08", "rep_07")
    assert day_2["c07"]["assigned_reason"] == "same account as c29: its rep rep_08"


def test_the_queue_carries_its_wait_over(days):
    c01 = days["lead_routing"].query("lead_id == 'c01'").sort_values("as_of_date")
    assert [str(pd.Timestamp(d).date()) for d in c01["as_of_date"]] == [
        "2026-11-01", "2026-11-05", "2026-11-10"]  # fmt: skip
    assert (pd.to_datetime(c01["queued_since"]) == pd.Timestamp(DAYS[1])).all()
    assert list(c01["wait_days"]) == [0, 4, 9]
    assert list(c01["queue_position"].fillna(0)) == [2, 1, 0]
    assert c01["rep_id"].tolist()[-1] == "rep_08"
    assert pd.Timestamp(c01["assigned_at"].tolist()[-1]) == pd.Timestamp("2026-11-11")


def test_capacity_holds_each_day_and_no_ready_lead_is_dropped(days):
    routing = days["lead_routing"]
    dealt = routing[routing["rep_id"].notna() & (routing["routing_rule"] != "crm_owner")]
    assert (dealt.groupby(["rep_id", "as_of_date"]).size() <= 1).all()
    held_in_crm = set(CONTACT_OWNERS) - {"c26"}
    for number, as_of in DAYS.items():
        ready = days[f"ready_{number}"]
        assert len(ready) >= 5
        assigned_by_then = set(
            routing.loc[routing["rep_id"].notna()
                        & (pd.to_datetime(routing["as_of_date"]) <= pd.Timestamp(as_of)),
                        "lead_id"])  # fmt: skip
        waiting = set(_day(routing, as_of).query("rep_id.isna()", engine="python")["lead_id"])
        assert ready <= assigned_by_then | waiting | held_in_crm
        assert not (assigned_by_then & waiting)


def test_rerunning_a_day_gives_the_same_rows(days):
    """Even after the sync wrote later days' owners to the CRM: the routing's own owners are
    no CRM owner it routes around (each lead still assigned once)."""
    before, after = days["lead_routing"], days["rerun_2"]
    assert after.query("rep_id.notna()", engine="python")["lead_id"].is_unique
    for as_of in DAYS.values():
        pd.testing.assert_frame_equal(
            _day(after, as_of).reset_index(drop=True), _day(before, as_of).reset_index(drop=True)
        )


def test_lead_owners_hold_the_current_rep_for_the_crm(days):
    owners = days["lead_owners"].set_index("lead_id")
    assert set(owners.index) == {"c01", "c07", "c12", "c18", "c19", "c26", "c29"}
    assert owners.loc["c26", ["rep_id", "crm_owner_id"]].tolist() == ["rep_05", "1005"]
    assert pd.Timestamp(owners.loc["c01", "assigned_on"]) == pd.Timestamp(DAYS[3])
    assert (owners["crm_owner_id"] == owners["rep_id"].map(REP_OWNER_IDS)).all()


def test_follow_up_sla_as_of_day_3(days):
    sla = days["lead_follow_ups"].set_index("lead_id")
    assert sla.loc["c19", ["sla_status", "hours_to_follow_up"]].tolist() == ["met", 32.0]
    assert pd.Timestamp(sla.loc["c19", "first_follow_up_at"]) == pd.Timestamp("2026-11-03 08:00")
    assert sla.loc["c29", ["sla_status", "hours_to_follow_up"]].tolist() == ["breached", 50.0]
    assert sla.loc["c07", ["sla_status", "hours_to_follow_up"]].tolist() == ["met", 9.0]
    for lead in ("c26", "c18", "c12"):  # nothing, a received e-mail, an open task + a deleted call
        assert sla.loc[lead, "sla_status"] == "breached", lead
        assert pd.isna(sla.loc[lead, "first_follow_up_at"]), lead
    assert sla.loc["c01", "sla_status"] == "open"
    assert pd.Timestamp(sla.loc["c01", "sla_due_at"]) == pd.Timestamp("2026-11-13")
    assert (sla["is_breached"] == (sla["sla_status"] == "breached")).all()
    assert not sla["reassign_due"].any()  # reassignment is off by default


def test_rep_workload_as_of_day_3(days):
    workload = days["rep_workload"].set_index("rep_id")
    columns = ["assigned_today", "assigned_30d", "open_assignments", "breaches_30d",
               "followed_up_within_sla_share"]  # fmt: skip
    assert workload.loc["rep_08", columns].tolist() == [1, 3, 1, 1, 0.5]
    assert workload.loc["rep_07", columns].tolist() == [0, 2, 1, 1, 0.5]
    assert workload.loc["rep_02", columns].tolist() == [0, 1, 1, 1, 0.0]  # the CRM's c18
    assert workload.loc["rep_01", columns[:4]].tolist() == [0, 0, 0, 0]
    assert pd.isna(workload.loc["rep_01", "followed_up_within_sla_share"])
    assert len(workload) == len(days["reps"])


def test_reassignment_after_the_second_window(days):
    day_3 = _rows(days["reassigned_lead_routing"], DAYS[3])
    # c26 (rep_05) and c12 (rep_07) had no follow-up; each goes to the other rep of its team.
    assert {lead: (row["rep_id"], row["routing_rule"]) for lead, row in day_3.items()} == {
        "c01": ("rep_08", "account_owner"),
        "c26": ("rep_04", "reassigned"),
        "c12": ("rep_06", "reassigned"),
    }
    assert day_3["c26"]["assigned_reason"].startswith("reassigned: no follow-up from rep_05")
    owners = days["reassigned_lead_owners"].set_index("lead_id")
    assert owners.loc["c26", ["rep_id", "crm_owner_id"]].tolist() == ["rep_04", "1004"]
    sla = days["reassigned_lead_follow_ups"]
    c26 = sla[sla["lead_id"] == "c26"].set_index("rep_id")
    assert c26.loc["rep_05", "sla_status"] == "breached"
    assert c26["is_current_assignment"].to_dict() == {"rep_05": False, "rep_04": True}
    assert c26.loc["rep_04", "sla_status"] == "open"
    # Followed-up leads (c19 in time, c29 late, c07) and the CRM's c18 stay where they are.
    assert not set(day_3) & {"c19", "c29", "c07", "c18"}


def test_reps_find_their_crm_owners_by_e_mail(days):
    """The default roster's e-mails are the CRM's owners; an explicit id wins."""
    reps = days["resolved_reps"].set_index("rep_id")
    assert reps["crm_owner_id"].to_dict() == REP_OWNER_IDS
    assert reps["crm_owner_source"].to_dict() == {
        rep: "roster" if rep in EXPLICIT_OWNER else "email" for rep in REP_OWNER_IDS}  # fmt: skip
    assert reps.loc["rep_01", "email"] == "rep01@example.com"
    assert reps[["team", "daily_capacity"]].equals(days["reps"].set_index("rep_id")[
        ["team", "daily_capacity"]])  # fmt: skip
    for number in DAYS:  # every e-mail is an owner's: no warning, no error
        statuses = days[f"statuses_{number}"]
        assert statuses["assert_sales_reps_emails_known_to_crm"] == "pass"
        assert statuses["assert_sales_reps_known_to_crm"] == "pass"


def test_an_e_mail_no_crm_owner_has_is_a_warning_naming_the_rep(days):
    statuses = days["email_warning"]
    assert statuses["assert_sales_reps_emails_known_to_crm"] == ("warn", 1)
    assert statuses["assert_sales_reps_known_to_crm"] == ("pass", 0)
    log = days["email_warning_log"]
    assert "a rep's e-mail matches no active CRM owner (or several)" in log
    assert "[rep_03 nobody@example.com 0]" in log
    reps = days["warned_reps"].set_index("rep_id")
    assert reps.loc["rep_03", ["crm_owner_id", "crm_owner_source"]].isna().all()
    assert reps.drop(index="rep_03")["crm_owner_id"].notna().all()


def test_a_rep_owner_id_unknown_to_the_crm_stops_the_build(days):
    error = days["unknown_owner_error"]
    assert "assert_sales_reps_known_to_crm" in error
    assert "a rep's crm_owner_id is unknown to the CRM" in error
    assert "rep_02 4242" in error


def test_routing_history_survives_full_refresh_and_reruns(duckdb_scenario):
    """The shared scenario: --full-refresh keeps lead_routing, re-running day 1 rewrites it."""
    snapshots = duckdb_scenario.snapshots
    pd.testing.assert_frame_equal(snapshots["d3_full"]["lead_routing"],
                                  snapshots["d3"]["lead_routing"])  # fmt: skip
    first = _day(snapshots["d1"]["lead_routing"], ds.AS_OF_1).reset_index(drop=True)
    rerun = _day(snapshots["d1_rerun"]["lead_routing"], ds.AS_OF_1).reset_index(drop=True)
    assert len(first) > 0
    pd.testing.assert_frame_equal(rerun, first)


# --- fairness over several days ---------------------------------------------------------

FAIR_REPS = ["r1", "r2", "r3", "r4"]
# The SDR-ready threshold falls day by day, so new leads become ready each day.
FAIR_THRESHOLDS = {1: 75, 2: 40, 3: 20}


@pytest.fixture(scope="session")
def fair_days(tmp_path_factory) -> pd.DataFrame:
    """One team of four reps with room to spare, no fast lane and no accounts (every lead
    its own first lead): the round-robin alone decides."""
    work = tmp_path_factory.mktemp("dbt_routing_fair")
    project = scoring_project(work / "project")
    seeds = project / "seeds"
    header = (seeds / "sales_reps.csv").read_text().splitlines()[0]
    rows = [f"{rep},Rep {rep},default,sdr,*,*,*,100,false,," for rep in FAIR_REPS]
    (seeds / "sales_reps.csv").write_text("\n".join([header, *rows]) + "\n")
    rules = (seeds / "routing_rules.csv").read_text().splitlines()
    (seeds / "routing_rules.csv").write_text("\n".join([rules[0], rules[-1]]) + "\n")
    warehouse = WarehouseUnderTest(
        Settings(home=work / "home", warehouse="duckdb"), work, project_dir=project
    )  # fmt: skip
    for number, as_of in DAYS.items():
        warehouse.write(number)
        with open_warehouse(warehouse.settings) as db:
            db.execute("update raw.crm_contacts set associatedcompanyid = ''")
        variables = {"lead_scoring__sdr_ready_threshold": FAIR_THRESHOLDS[number],
                     "lead_scoring__fast_lane_events": [],
                     "lead_scoring__fast_lane_min_gain_7d": 100000}  # fmt: skip
        # lead_routing and what it is built from, with their data tests (cautious: no test
        # of a mart after it); the marts after it (owners, follow-ups, workload) are the
        # other fixture's
        warehouse.dbt("build", as_of, "--select", "+lead_routing", "--indirect-selection",
                      "cautious", "--exclude", "test_type:unit", extra_vars=variables)  # fmt: skip
    return warehouse.table("marts", "lead_routing", "as_of_date, lead_id")


def test_round_robin_evens_out_the_reps_over_days(fair_days):
    routing = fair_days
    assert routing["rep_id"].notna().all()  # capacity is not binding
    assert routing["lead_id"].is_unique
    totals = pd.Series(0, index=FAIR_REPS)
    for as_of in DAYS.values():
        today = _day(routing, as_of)["rep_id"].value_counts().reindex(FAIR_REPS, fill_value=0)
        assert today.sum() > 0  # new leads became ready that day
        # the reps with the fewest leads so far are dealt first: none gets fewer today
        behind = totals == totals.min()
        ahead = today[~behind].max() if (~behind).any() else 0
        assert today[behind].min() >= ahead
        totals += today
        assert totals.max() - totals.min() <= 1, totals.to_dict()
    assert totals.sum() >= 15
