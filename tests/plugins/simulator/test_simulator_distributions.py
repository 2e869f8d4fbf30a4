"""Behaviour and outcomes follow latent fit and intent, so scoring quality is measurable."""

import numpy as np
import pandas as pd
import pytest
from conftest import END, crm_records, marketing_events, product_table, truth

from lead_scoring.simulator import simulate
from lead_scoring.simulator.catalogue import MARKETING_EVENT_TYPES, PRODUCT_EVENT_TYPES

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("simulator_funnel")

TRIVIAL = ["email_open", "email_click", "page_view"]
BUYING = ["pricing_page_view", "demo_request", "contact_sales_request"]


@pytest.fixture(scope="session")
def funnel(tmp_path_factory):
    from lead_scoring.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("funnel"), product_db_url=None)
    simulate(settings, leads=8_000, accounts=1_500, events=200_000, end_date=END, seed=21)
    leads = truth(settings, "leads").set_index("contact_id")
    clean = leads[leads["injected_error"].isna()].copy()
    marketing = marketing_events(settings)
    counts = marketing.groupby(["contact_id", "event_type"]).size().unstack(fill_value=0)
    clean = clean.join(counts.reindex(columns=list(MARKETING_EVENT_TYPES), fill_value=0))
    clean[list(MARKETING_EVENT_TYPES)] = clean[list(MARKETING_EVENT_TYPES)].fillna(0)
    return settings, leads, clean


def test_win_rate_of_top_fit_and_intent_quartile_is_far_above_the_bottom(funnel):
    _, leads, _ = funnel
    quartile = pd.qcut(leads["latent_fit"] * leads["latent_intent"], 4, labels=False)
    win_rate = leads.groupby(quartile)["is_won"].mean()
    sql_rate = leads.groupby(quartile)["is_sql"].mean()
    assert win_rate[3] > 0.03
    assert win_rate[3] > 10 * win_rate[0]
    assert sql_rate[3] > 5 * sql_rate[1] > 0
    # Fit on its own matters too: among equally keen leads, better fit wins more.
    keen = leads[leads["latent_intent"] > leads["latent_intent"].quantile(0.75)]
    by_fit = keen.groupby(pd.qcut(keen["latent_fit"], 2, labels=False))["is_won"].mean()
    assert by_fit[1] > 2 * by_fit[0]


def test_crm_deals_are_the_sqls_of_the_ground_truth(funnel):
    settings, leads, _ = funnel
    deals = crm_records(settings, "deals")
    assert set(deals["ls_contact_id"]) == set(leads.index[leads["is_sql"]])
    stage = deals.set_index("ls_contact_id")["dealstage"]
    assert set(stage[stage == "closedwon"].index) == set(leads.index[leads["is_won"]])
    assert set(stage[stage == "closedlost"].index) == set(leads.index[leads["is_lost"]])
    open_deals = deals[deals["dealstage"].isin(["appointmentscheduled", "qualifiedtobuy"])]
    assert len(open_deals) > 0 and (open_deals["closedate"] == "").all()
    assert (deals["createdate"] < deals["closedate"].where(deals["closedate"] != "", "~")).all()


def test_intent_drives_buying_signals_but_not_trivial_actions(funnel):
    _, _, clean = funnel
    buyers = clean[clean["segment"] == "buyer"]
    trivial = buyers[TRIVIAL].sum(axis=1)
    buying = buyers[BUYING].sum(axis=1)
    assert abs(np.corrcoef(trivial, buyers["latent_intent"])[0, 1]) < 0.1
    assert np.corrcoef(buying, buyers["latent_intent"])[0, 1] > 0.3
    won = buyers["is_won"].astype(float)
    assert np.corrcoef(buying > 0, won)[0, 1] > 2 * abs(np.corrcoef(trivial > 0, won)[0, 1])


def test_careers_page_visitors_have_low_fit(funnel):
    _, _, clean = funnel
    visitors = clean["careers_page_view"] > 0
    assert visitors.sum() > 20
    assert (
        clean.loc[visitors, "latent_fit"].mean() < 0.6 * clean.loc[~visitors, "latent_fit"].mean()
    )
    job_seekers = clean["segment"] == "job_seeker"
    assert clean.loc[job_seekers, "careers_page_view"].gt(0).mean() > 0.8
    assert clean.loc[job_seekers, "is_sql"].sum() == 0


def test_product_engagement_follows_intent(funnel):
    settings, leads, _ = funnel
    users = product_table(settings, "app_users")
    events = product_table(settings, "app_events")
    assert set(events["event_type"]) >= set(PRODUCT_EVENT_TYPES)
    contacts = crm_records(settings, "contacts")
    contacts["key"] = contacts["email"].str.strip().str.lower()
    users["key"] = users["email"].str.strip().str.lower()
    linked = users.merge(contacts[["key", "hs_object_id"]], on="key", how="left")
    assert linked["hs_object_id"].notna().all()
    core = events[events["event_type"] == "core_action"].groupby("user_id").size()
    linked["core_actions"] = linked["user_id"].map(core).fillna(0)
    linked["intent"] = linked["hs_object_id"].map(leads["latent_intent"])
    assert np.corrcoef(linked["core_actions"], linked["intent"])[0, 1] > 0.3
    signed_up = leads.index.isin(linked["hs_object_id"])
    assert (
        leads.loc[signed_up, "latent_intent"].mean() > leads.loc[~signed_up, "latent_intent"].mean()
    )


def test_cold_leads_stop_engaging(funnel):
    settings, leads, _ = funnel
    marketing = marketing_events(settings)
    valuable = marketing[marketing["event_type"].isin(BUYING + ["docs_page_view"])]
    last = valuable.groupby("contact_id")["occurred_at"].max()
    old = leads[leads["created_at"] < pd.Timestamp(END) - pd.Timedelta(days=120)]
    quiet = (pd.Timestamp(END) - last.reindex(old.index)).dt.days.fillna(999)
    low, high = old["latent_intent"] < 0.15, old["latent_intent"] > 0.5
    assert (quiet[low] > 30).mean() > 2 * (quiet[high] > 30).mean()
