"""Real outcomes of every scoring rule on the hand-made dataset (DuckDB, first as-of date).

Expected points are read from the seeds, never typed in here, so the tests follow a
re-weighted model and still check the rule.
"""

from __future__ import annotations

import re
from io import StringIO

import pandas as pd
import pytest
import scoring_dataset as ds
from scoring_harness import DBT_PROJECT

# the session fixtures they share are built once: these tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("dbt_scenario")


@pytest.fixture(scope="session")
def d1(duckdb_scenario):
    return duckdb_scenario.snapshots["d1"]


@pytest.fixture(scope="session")
def leads(d1) -> pd.DataFrame:
    return d1["lead_scores"].set_index("lead_id")


@pytest.fixture(scope="session")
def contributions(d1) -> pd.DataFrame:
    return d1["lead_score_contributions"].set_index(["lead_id", "signal"])


@pytest.fixture(scope="session")
def weights() -> pd.DataFrame:
    return pd.read_csv(DBT_PROJECT / "seeds" / "event_weights.csv").set_index("event_type")


@pytest.fixture(scope="session")
def fit_rules() -> pd.DataFrame:
    """The default equals rules of signal_rules.csv, by (attribute, value)."""
    rules = pd.read_csv(DBT_PROJECT / "seeds" / "signal_rules.csv", dtype=str)
    rules = rules[rules["transform"] == "equals"].copy()
    rules["points"] = rules["points"].astype(float)
    return rules.set_index(["attribute", "value"])


@pytest.fixture(scope="session")
def test_rules() -> pd.DataFrame:
    """The rules the tests add to signal_rules.csv, by signal."""
    columns = "signal,attribute,transform,value,min_value,max_value,kind,points,reason_label"
    rules = pd.read_csv(StringIO("\n".join([columns, *ds.TEST_SIGNAL_RULES])), dtype=str)
    rules["points"] = rules["points"].astype(float)
    return rules.set_index("signal")


def test_scores_are_fit_plus_pain_floored_at_zero(leads):
    total = (leads["fit_score"] + leads["pain_score"]).clip(lower=0)
    assert (leads["lead_score"] - total).abs().max() < 1e-9  # exact in the warehouse (cents)
    assert leads.index.is_unique


def test_careers_visit_alone_scores_below_fit(leads, contributions):
    lead = leads.loc["c02"]
    assert lead["pain_score"] < 0
    assert lead["lead_score"] < lead["fit_score"]
    assert contributions.loc[("c02", "careers_page_view"), "points"] < 0


def test_event_one_half_life_old_counts_half(contributions, weights):
    core = weights.loc["core_action"]
    assert core["half_life_days"] == 21  # the fixture event is 21 days old
    row = contributions.loc[("c03", "core_action")]
    assert row["age_days"] == 21
    assert float(row["points"]) == pytest.approx(core["points"] / 2, abs=0.005)


def test_cap_per_event_type_is_respected(contributions, weights):
    login = weights.loc["login"]
    row = contributions.loc[("c04", "login")]
    assert row["event_count"] * login["points"] > login["max_points"]
    assert float(row["points"]) == login["max_points"]


def test_quarantined_and_merged_records_are_not_scored(d1, leads, contributions):
    assert "c05" not in leads.index  # quarantined contact (its events too)
    assert "c08" not in leads.index  # merged into c07
    assert "c05" not in contributions.index.get_level_values(0)
    assert "c34" in leads.index and ("c34", "core_action") not in contributions.index
    demo = contributions.loc[("c16", "demo_request")]
    assert demo["event_count"] == 1  # the second demo request is quarantined
    assert "a04" not in set(d1["account_scores"]["account_id"])


def test_duplicate_merged_into_survivor(contributions):
    assert ("c07", "demo_request") in contributions.index  # the duplicate's event
    assert ("c07", "seniority:director") in contributions.index  # the duplicate's title


def test_normalised_values_are_applied(contributions, fit_rules):
    tier1 = fit_rules.loc[("country_tier", "1"), "points"]
    assert float(contributions.loc[("c06", "country_tier:1"), "points"]) == tier1
    assert ("c06", "company_size:1001+") in contributions.index  # "1,200" -> 1200


def test_product_users_link_by_trimmed_lowercase_email(contributions):
    assert ("c03", "core_action") in contributions.index


def test_profile_rules(contributions, fit_rules):
    def points(dimension: str, value: str) -> float:
        return fit_rules.loc[(dimension, value), "points"]

    assert (
        float(contributions.loc[("c09", "email_type:disposable"), "points"])
        == points("email_type", "disposable")
        < 0
    )
    assert (
        float(contributions.loc[("c10", "negative_domain:student"), "points"])
        == points("negative_domain", "student")
        < 0
    )
    assert (
        float(contributions.loc[("c11", "negative_domain:competitor"), "points"])
        == points("negative_domain", "competitor")
        < 0
    )
    assert ("c01", "target_account:yes") in contributions.index  # seed list
    assert ("c19", "target_account:yes") in contributions.index  # CRM flag
    assert ("c30", "bant_timeline:0-3 months") in contributions.index
    assert ("c30", "bant_authority:yes") in contributions.index  # "y" normalised
    assert ("c19", "seniority:c_level") in contributions.index  # Chief Revenue Officer


def test_trivial_actions_weigh_nothing(leads, contributions):
    assert leads.loc["c22", "pain_score"] == 0
    for event in ("page_view", "email_open", "email_click"):
        assert float(contributions.loc[("c22", event), "points"]) == 0
    assert "page" not in leads.loc["c22", "score_reasons"]


def test_sdr_ready_on_profile_alone(leads):
    lead = leads.loc["c01"]
    assert lead["pain_score"] == 0 and lead["is_sdr_ready"] and lead["is_sdr_ready_on_profile"]
    behavior = leads.loc["c19"]
    assert behavior["is_sdr_ready"] and not behavior["is_sdr_ready_on_profile"]
    assert behavior["days_to_sdr_ready"] >= 0 and not pd.isna(behavior["sdr_ready_at"])
    assert not leads.loc["c02", "is_sdr_ready"] and pd.isna(leads.loc["c02", "sdr_ready_at"])


def test_velocity_counts_gains_since_the_lead_existed(leads):
    assert leads.loc["c19", "score_gain_30d"] == leads.loc["c19", "lead_score"]  # 20 days old
    assert leads.loc["c19", "score_gain_7d"] > 0
    assert leads.loc["c02", "score_gain_7d"] < 0  # the careers visit came this week


def test_quadrant_grades_cold_and_tracks(leads):
    assert leads.loc["c19", "quadrant"] == "yes" and leads.loc["c19", "grade"][1] == "4"
    assert leads.loc["c11", "quadrant"] == "no" and leads.loc["c11", "fit_grade"] == "D"
    assert leads["grade"].str.fullmatch(r"[A-D][1-4]").all()
    assert leads.loc["c20", "is_cold"] and not leads.loc["c19", "is_cold"]
    expected = {
        "c13": ("sql", "lead_nurture"),
        "c14": ("customer", "customer_onboarding"),
        "c15": ("sql", "product_engagement"),
        "c16": ("mql", "lead_nurture"),
        "c17": ("mql", "onboarding"),
        "c18": ("mql", "product_engagement"),
        "c21": ("iql", "welcome"),
    }
    for lead_id, (stage, track) in expected.items():
        assert (leads.loc[lead_id, "lifecycle_stage"], leads.loc[lead_id, "nurture_track"]) == (
            stage,
            track,
        ), lead_id


def test_score_reasons_list_top_reasons_first(leads):
    assert leads["score_reasons"].str.len().max() < 1024
    assert leads.loc["c02", "score_reasons"].startswith("-15 careers page (2d ago)")
    for reasons in leads["score_reasons"]:
        values = [abs(int(v)) for v in re.findall(r"(?:^|; )([+-]\d+) ", reasons)]
        assert values == sorted(values, reverse=True), reasons


def test_contributions_add_up_to_the_scores(leads, d1):
    sums = d1["lead_score_contributions"].pivot_table(
        index="lead_id", columns="signal_type", values="points", aggfunc="sum", fill_value=0
    )
    sums = sums.reindex(leads.index, fill_value=0)
    for lead_id, row in leads.iterrows():
        assert float(sums.loc[lead_id, "fit"]) == pytest.approx(float(row["fit_score"]), abs=0.05)
        assert float(sums.loc[lead_id, "pain"]) == pytest.approx(
            float(row["pain_score"]), abs=0.05
        )


def test_account_rollup_and_persona_coverage(d1, leads):
    accounts = d1["account_scores"].set_index("account_id")
    umbrella = accounts.loc["a06"]
    assert umbrella["has_decision_maker"] and umbrella["has_influencer"]
    assert umbrella["has_end_user"] and umbrella["persona_coverage"] == 3
    top3 = leads[leads["account_id"] == "a06"]["lead_score"].astype(float).nlargest(3).mean()
    assert float(umbrella["account_score"]) == pytest.approx(top3, abs=0.01)
    assert umbrella["lead_count"] == 3


def test_every_row_carries_the_model_version_and_as_of_date(d1):
    versions = set(d1["lead_scores"]["model_version"]) | set(d1["account_scores"]["model_version"])
    assert len(versions) == 1 and re.fullmatch(r"[0-9a-f]{12}", versions.pop())
    assert set(d1["lead_scores"]["as_of_date"].astype(str)) == {ds.AS_OF_1.isoformat()}


def _points(contributions: pd.DataFrame, lead_id: str, signal: str) -> tuple[str, float]:
    row = contributions.loc[(lead_id, signal)]
    return row["signal_type"], float(row["points"])


def test_custom_contact_attributes_score_fit_and_pain(contributions, test_rules):
    economic_buyer = test_rules.loc["role_in_purchase:economic_buyer", "points"]
    urgent = test_rules.loc["pain_urgency:high", "points"]
    assert _points(contributions, "c29", "role_in_purchase:economic_buyer") == (
        "fit",
        economic_buyer,
    )
    assert _points(contributions, "c32", "pain_urgency:high") == ("pain", urgent)  # equals
    # a merged duplicate's value fills its survivor's gap, but never overrides it
    assert ("c07", "role_in_purchase:economic_buyer") in contributions.index
    assert ("c07", "pain_urgency:high") not in contributions.index
    contract = test_rules.loc["competitor_contract_end:present", "points"]  # present
    assert _points(contributions, "c13", "competitor_contract_end:present") == ("pain", contract)


def test_custom_company_attributes_score_the_accounts_leads(contributions, test_rules):
    mid, large = "account.sales_team_size:50-499", "account.sales_team_size:500+"
    for lead_id in ("c26", "c27", "c28"):  # a06: 120 seats (between)
        assert _points(contributions, lead_id, mid) == ("fit", test_rules.loc[mid, "points"])
    assert _points(contributions, "c06", large) == ("fit", test_rules.loc[large, "points"])
    for lead_id in ("c22", "c33"):  # a03: "n/a" seats; a04: quarantined
        assert not {(lead_id, mid), (lead_id, large)} & set(contributions.index), lead_id
    vendors = "account.evaluating_vendors:yes"  # pain, the latest value valid by the date
    assert _points(contributions, "c19", vendors) == ("pain", test_rules.loc[vendors, "points"])


def test_missing_rule_scores_leads_without_the_attribute(contributions, test_rules):
    missing = "lead_source:missing"
    assert _points(contributions, "c23", missing) == ("fit", test_rules.loc[missing, "points"])
    leads_missing = contributions.xs(missing, level=1).index
    assert list(leads_missing) == ["c23"]


def test_attribute_values_are_taken_as_of_the_score_date(duckdb_scenario):
    def attributes(label: str, lead_id: str) -> dict[str, str]:
        frame = duckdb_scenario.snapshots[label]["attributes"]
        rows = frame[(frame["lead_id"] == lead_id) & (frame["offset_days"] == 0)]
        return dict(zip(rows["attribute"], rows["attribute_value"], strict=True))

    assert "role_in_purchase" not in attributes("d1", "c31")  # valid from after AS_OF_1
    assert attributes("d2", "c31")["role_in_purchase"] == "economic_buyer"
    assert "pain_urgency" not in attributes("d1", "c28")  # an empty value
    assert attributes("d1", "c07")["pain_urgency"] == "low"
    assert attributes("d1", "c06")["account.sales_team_size"] == "600"
    assert attributes("d1", "c19")["account.evaluating_vendors"] == "yes"
    assert attributes("d1", "c01")["lead_source"] == "ORGANIC_SEARCH"
    frame = duckdb_scenario.snapshots["d1"]["attributes"]
    c19 = frame[(frame["lead_id"] == "c19") & (frame["attribute"] == "account.evaluating_vendors")]
    earlier = c19.set_index("offset_days")["attribute_value"]
    assert earlier.get(7) == "no"  # valid from 5 days before AS_OF_1


def test_lead_without_email_is_scored(leads, contributions, fit_rules):
    lead = leads.loc["c35"]
    assert pd.isna(lead["email"])
    assert float(lead["fit_score"]) > 0 and lead["grade"][0] in "ABCD"
    assert ("c35", "seniority:vp") in contributions.index
    assert ("c35", "email_type:unknown") not in contributions.index  # no rule: no row
