"""Real outcomes of the lead routing on the hand-made dataset (DuckDB, first as-of date).

The project is built once with the default roster, then the roster is cut (every rep
takes one lead a day, the EMEA team is out of office) and the routing rebuilt. Bad
input (a roster without capacity, a rule on a column the routing does not know) then
stops the build with one clear message. tests/dbt/test_routing_days.py runs several days.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import scoring_dataset as ds
from scoring_harness import DbtFailed, WarehouseUnderTest, scoring_project

from lead_scoring.settings import Settings

# the session fixtures they share are built once: these tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("dbt_routing")

TIGHT_ROSTER = {"daily_capacity": "1"}  # every rep
OUT_OF_OFFICE_TEAM = "emea"


@pytest.fixture(scope="session")
def routing_warehouse(tmp_path_factory) -> tuple[WarehouseUnderTest, Path]:
    work = tmp_path_factory.mktemp("dbt_routing")
    project = scoring_project(work / "project")
    warehouse = WarehouseUnderTest(
        Settings(home=work / "home", warehouse="duckdb"), work, project_dir=project
    )
    return warehouse, project


@pytest.fixture(scope="session")
def routed(routing_warehouse) -> dict[str, pd.DataFrame]:
    warehouse, project = routing_warehouse
    warehouse.write(1)
    warehouse.dbt("build", ds.AS_OF_1)  # seeds, models, data and unit tests
    snapshot = {
        "leads": warehouse.table("marts", "lead_scores", "lead_id"),
        "reps": warehouse.table("intermediate", "int_sales_reps_resolved", "rep_id"),
        "default": warehouse.table("marts", "lead_routing", "lead_id"),
    }
    roster_path = project / "seeds" / "sales_reps.csv"
    roster = pd.read_csv(roster_path, dtype=str, keep_default_na=False)
    for column, value in TIGHT_ROSTER.items():
        roster[column] = value
    roster.loc[roster["team"] == OUT_OF_OFFICE_TEAM, "out_of_office"] = "true"
    roster.to_csv(roster_path, index=False)
    warehouse.dbt("build", ds.AS_OF_1, "--select", "sales_reps", "int_sales_reps_resolved",
                  "lead_routing")  # fmt: skip
    snapshot["tight_reps"] = warehouse.table("intermediate", "int_sales_reps_resolved", "rep_id")
    snapshot["tight"] = warehouse.table("marts", "lead_routing", "lead_id")
    return snapshot


def _ready(leads: pd.DataFrame) -> set[str]:
    return set(leads.loc[leads["is_sdr_ready"], "lead_id"])


@pytest.mark.parametrize("roster", ["default", "tight"])
def test_every_sdr_ready_lead_is_assigned_or_queued_once(routed, roster):
    routing = routed[roster]
    assert routing["lead_id"].is_unique
    assert set(routing["lead_id"]) == _ready(routed["leads"])
    assert len(routing) >= 5  # the dataset has SDR-ready leads to route
    assigned = routing["rep_id"].notna()
    assert (assigned == routing["queue_position"].isna()).all()
    assert routing["team"].notna().all()
    assert (routing["as_of_date"].astype(str) == ds.AS_OF_1.isoformat()).all()


@pytest.mark.parametrize(("roster", "reps"), [("default", "reps"), ("tight", "tight_reps")])
def test_capacity_and_out_of_office_are_respected(routed, roster, reps):
    routing = routed[roster].merge(routed[reps], on="rep_id", suffixes=("", "_rep"))
    per_rep = routing.groupby("rep_id").agg(
        leads=("lead_id", "size"), cap=("daily_capacity", "max")
    )
    assert (per_rep["leads"] <= per_rep["cap"]).all()
    assert not routing["out_of_office"].any()


def test_reps_without_crm_owners_route_without_owners(routed):
    """The dataset's CRM has no owners (no raw.crm_owners): the default roster's e-mails
    name nobody, the leads are routed all the same, and no owner is written."""
    reps = routed["reps"]
    assert len(reps) == 9 and reps["email"].str.endswith("@example.com").all()
    assert reps["crm_owner_id"].isna().all() and reps["crm_owner_source"].isna().all()
    assert routed["default"]["rep_id"].notna().any()
    assert routed["default"]["crm_owner_id"].isna().all()


def test_fast_lane_goes_to_senior_reps_and_aes(routed):
    routing = routed["default"].set_index("lead_id")
    reps = routed["reps"].set_index("rep_id")
    fast = routing[routing["routing_rule"] == "fast_lane"]
    # c19 and c29: grade A4, gained more than 40 points in 7 days.
    assert {"c19", "c29"} <= set(fast.index)
    assert set(reps.loc[fast["rep_id"], "role"]) <= {"senior", "ae"}
    assert fast["assigned_reason"].str.startswith("fast lane (grade A").all()
    # Ranked by lead_score: c19 takes the first slot, dealt by rep_id.
    assert routing.loc["c19", "rep_id"] < routing.loc["c29", "rep_id"]


def test_account_leads_follow_the_account_owner(routed):
    routing = routed["default"].set_index("lead_id")
    # c01 and c07 are c29's colleagues at a01; c29 ranks first there.
    for lead_id in ("c01", "c07"):
        assert routing.loc[lead_id, "routing_rule"] == "account_owner"
        assert routing.loc[lead_id, "rep_id"] == routing.loc["c29", "rep_id"]
    per_account = routing.dropna(subset=["account_id"]).groupby("account_id")["rep_id"]
    assert (per_account.nunique(dropna=False) == 1).all()


def test_rules_pick_the_team(routed):
    routing = routed["default"].set_index("lead_id")
    assert routing.loc["c18", ["team", "routing_rule"]].tolist() == [
        "enterprise",
        "enterprise_accounts",  # a05: 1,200 employees
    ]
    assert routing.loc["c26", ["team", "routing_rule"]].tolist() == ["emea", "emea"]  # a06: FR
    assert not (routing["routing_rule"] == "default").any()


def test_tight_roster_queues_the_rest_in_priority_order(routed):
    routing = routed["tight"].set_index("lead_id")
    # The AE took c29 and has no room for its colleagues: queued, c07 (higher score) first.
    assert routing.loc["c29", "routing_rule"] == "fast_lane"
    assert routing.loc["c07", "queue_position"] == 1
    assert routing.loc["c01", "queue_position"] == 2
    assert routing.loc[["c01", "c07"], "rep_id"].isna().all()
    # The whole EMEA team is out of office: its lead waits.
    assert routing.loc["c26", ["team", "queue_position"]].tolist() == ["emea", 1]
    for _, queue in routing[routing["rep_id"].isna()].groupby("team"):
        positions = sorted(queue["queue_position"].astype(int))
        assert positions == list(range(1, len(queue) + 1))
        ranked = queue.sort_values(["lead_score", "score_gain_7d"], ascending=False)
        assert list(ranked["queue_position"].astype(int)) == positions


@contextmanager
def _seed_changed(
    warehouse: WarehouseUnderTest, project: Path, seed: str, change
) -> Iterator[None]:
    """``change`` the seed's CSV (a DataFrame -> DataFrame); restored and reloaded after."""
    path = project / "seeds" / f"{seed}.csv"
    original = path.read_text()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)
    try:
        yield
    finally:
        path.write_text(original)
        warehouse.dbt("seed", ds.AS_OF_1, "--select", seed, "--full-refresh")


def test_a_roster_without_capacity_stops_with_one_message(routed, routing_warehouse):
    warehouse, project = routing_warehouse
    nobody = _seed_changed(warehouse, project, "sales_reps", lambda r: r.assign(daily_capacity="0"))
    with nobody, pytest.raises(DbtFailed) as failed:
        warehouse.dbt("build", ds.AS_OF_1, "--select", "sales_reps", "int_sales_reps_resolved",
                      "lead_routing")  # fmt: skip
    message = str(failed.value)
    assert "no rep has capacity: every SDR-ready lead would wait" in message
    assert "assert_routing_roster_has_capacity" in message
    assert message.count(": error ") == 1  # one clear error; the queue itself was built


def test_a_rule_on_an_unknown_column_stops_naming_it(routed, routing_warehouse):
    warehouse, project = routing_warehouse
    add_vertical = lambda rules: rules.assign(vertical="")  # noqa: E731
    with _seed_changed(warehouse, project, "routing_rules", add_vertical), pytest.raises(
        DbtFailed
    ) as failed:
        # a seed whose columns change is reloaded in full (lead_routing keeps its rows)
        warehouse.dbt(
            "build", ds.AS_OF_1, "--select", "routing_rules", "lead_routing", "--full-refresh"
        )
    message = str(failed.value)
    assert "seeds/routing_rules.csv has a column lead_routing does not know: vertical" in message
    assert message.count(": error ") == 1
