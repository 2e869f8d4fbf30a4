"""Row-level rules: the right records land in quarantine, flags, normalised values and
duplicate leads, with rule, field and the offending value (personal values redacted);
clean records pass."""

import pandas as pd
import pytest
from quality_rows import (
    AS_OF,
    company,
    contact,
    deal,
    marketing_event,
    product_event,
    product_user,
    quality,
    raw_frame,
)

from lead_scoring.quality.gate import run_quality_gate

# the session fixtures below are built once: this module's tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("quality_rules")

FUTURE = "2026-12-24T10:00:00.000Z"
CONTACTS = [
    contact(1),  # clean
    contact(2, email="carol@acme-robotics.com", firstname="Carol", country="", phone=""),
    contact(10, email="jane.doe at acme.com"),
    contact(11, email="jane@@acme.com"),
    contact(12, email=""),  # e-mail is optional
    contact(13, email="kim@mailinator.com"),
    contact(14, email="kim.lee@gmail.com"),
    contact(20, firstname="Test", lastname="User"),
    contact(21, firstname="asdf", lastname="asdf"),
    contact(22, firstname="n/a", lastname="n/a"),
    contact(23, firstname="Mickey", lastname="Mouse"),
    contact(24, firstname="sdfgh", lastname="jkl"),
    contact(25, email="jsmith84@acme-robotics.com", firstname="jsmith84", lastname=""),
    contact(26, firstname="lee@acme-robotics.com", lastname=""),
    contact(30, phone="(415) 555-2671"),
    contact(31, phone="12345"),
    contact(40, country="U.S.A."),
    contact(41, country="Deutschland", phone="+4930901820"),
    contact(42, country="UK", phone="+442071838750"),
    contact(43, country="Narnia"),
    contact(50, createdate=FUTURE),
    contact(51, createdate="last tuesday"),
    contact(60, email="dana@acme-robotics.com", createdate="2026-09-01T08:00:00.000Z"),
    contact(61, email=" DANA@Acme-Robotics.com", createdate="2026-10-02T08:00:00.000Z"),
    contact(62, email="Dana@acme-robotics.com ", createdate="2026-09-15T08:00:00.000Z"),
]
COMPANIES = [
    company(900),
    company(901, numberofemployees="-5"),
    company(902, numberofemployees="25000000000"),
    company(903, numberofemployees="lots"),
    company(904, numberofemployees="", country="Holland"),
]
DEALS = [deal(70, 1), deal(71, 999), deal(72, 1, dealstage="won")]
USERS = [product_user(1), product_user(2, email="not-an-email")]
PRODUCT_EVENTS = [
    product_event(5, 1),
    product_event(6, 77),
    product_event(7, 1, event_type="LOGIN"),
    product_event(8, 1, occurred_at=pd.Timestamp("2026-11-20 10:00")),
]
MARKETING_EVENTS = [
    marketing_event("m1", "1"),
    marketing_event("m2", "555"),
    marketing_event("m3", "1", event_type="chat_started"),
]


@pytest.fixture(scope="session")
def checked(tmp_path_factory):
    """One gate run over every kind of bad (and clean) record, shared by the tests here."""
    from lead_scoring.settings import get_settings
    from lead_scoring.warehouse import open_warehouse

    with pytest.MonkeyPatch.context() as env:
        env.setenv("LEAD_SCORING_HOME", str(tmp_path_factory.mktemp("rules")))
        env.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "1.0")
        settings = get_settings()
        tables = {"crm_contacts": CONTACTS, "crm_companies": COMPANIES, "crm_deals": DEALS,
                  "product_users": USERS, "product_events": PRODUCT_EVENTS,
                  "marketing_events": MARKETING_EVENTS}  # fmt: skip
        with open_warehouse(settings) as wh:
            for table, rows in tables.items():
                wh.write_df(raw_frame(table, rows), "raw", table, mode="replace")
        result = run_quality_gate(settings, "run-1", AS_OF)
    written = {
        name: quality(settings, name)
        for name in (
            "quarantine",
            "record_flags",
            "normalised_values",
            "duplicate_leads",
            "email_domains",
        )  # fmt: skip
    }
    return result, written


def _rows(table: pd.DataFrame, rule: str) -> dict[tuple[str, str], tuple]:
    rows = table[table["rule"] == rule]
    value = "value" if "value" in rows else "original_value"
    return {(r.record_type, r.record_id): (r.field, getattr(r, value)) for r in rows.itertuples()}


QUARANTINED = {
    "invalid_email": {("contact", "10"): ("email", "j***"),
                      ("contact", "11"): ("email", "j***@acme.com"),
                      ("product_user", "2"): ("email", "n***")},
    "placeholder_name": {("contact", "20"): ("name", "T*** U***"),
                         ("contact", "21"): ("name", "a*** a***"),
                         ("contact", "22"): ("name", "n** n**"),
                         ("contact", "23"): ("name", "M***** M****"),
                         ("contact", "24"): ("name", "s**** j**"),
                         ("contact", "25"): ("name", "j*******"),
                         ("contact", "26"): ("name", "l********************")},
    "bad_country": {("contact", "43"): ("country", "Narnia")},
    "future_created_at": {("contact", "50"): ("createdate", FUTURE)},
    "invalid_created_at": {("contact", "51"): ("createdate", "last tuesday")},
    "impossible_company_size": {("company", "901"): ("numberofemployees", "-5"),
                                ("company", "902"): ("numberofemployees", "25000000000"),
                                ("company", "903"): ("numberofemployees", "lots")},
    "unknown_deal_stage": {("deal", "72"): ("dealstage", "won")},
    "unknown_lead": {("deal", "71"): ("ls_contact_id", "999"),
                     ("product_event", "6"): ("user_id", "77"),
                     ("marketing_event", "m2"): ("contact_id", "555")},
    "unknown_event_type": {("product_event", "7"): ("event_type", "LOGIN"),
                           ("marketing_event", "m3"): ("event_type", "chat_started")},
    "future_event": {("product_event", "8"): ("occurred_at", "2026-11-20 10:00:00")},
}  # fmt: skip


@pytest.mark.parametrize("rule", sorted(QUARANTINED))
def test_rejected_records_are_quarantined_with_field_and_value(checked, rule):
    _, tables = checked
    assert _rows(tables["quarantine"], rule) == QUARANTINED[rule]


def test_quarantine_rows_carry_run_and_first_seen(checked):
    _, tables = checked
    quarantine = tables["quarantine"]
    assert set(quarantine["run_id"]) == {"run-1"}
    assert quarantine["first_seen_at"].notna().all()
    assert (quarantine["first_seen_at"] == quarantine["last_seen_at"]).all()
    assert not quarantine.duplicated(["record_type", "record_id", "rule"]).any()


def test_disposable_and_personal_domains_are_flagged_not_quarantined(checked):
    _, tables = checked
    assert _rows(tables["record_flags"], "disposable_email") == {
        ("contact", "13"): ("email", "k***@mailinator.com")
    }
    assert _rows(tables["record_flags"], "personal_email") == {
        ("contact", "14"): ("email", "k***@gmail.com")
    }
    assert not tables["quarantine"]["record_id"].isin(["13", "14"]).any()


def test_email_domains_are_typed(checked):
    _, tables = checked
    types = dict(zip(tables["email_domains"]["domain"],
                     tables["email_domains"]["email_domain_type"], strict=True))  # fmt: skip
    assert types["acme-robotics.com"] == "business"
    assert types["mailinator.com"] == "disposable"
    assert types["gmail.com"] == "personal"
    assert "acme.com" not in types  # only valid addresses have a domain


def test_countries_and_phones_are_normalised(checked):
    _, tables = checked
    normalised = tables["normalised_values"]
    got = {(r.record_id, r.field): (r.original_value, r.normalised_value, r.rule)
           for r in normalised.itertuples()}  # fmt: skip
    assert got == {
        ("40", "country"): ("U.S.A.", "US", "country_spelling"),
        ("41", "country"): ("Deutschland", "DE", "country_spelling"),
        ("42", "country"): ("UK", "GB", "country_spelling"),
        ("904", "country"): ("Holland", "NL", "country_spelling"),
        ("30", "phone"): ("********71", "+1 ********71", "phone_format"),
    }
    assert _rows(tables["record_flags"], "invalid_phone") == {("contact", "31"): ("phone", "***45")}


def test_duplicates_keep_the_earliest_created_as_survivor(checked):
    result, tables = checked
    pairs = dict(zip(tables["duplicate_leads"]["record_id"],
                     tables["duplicate_leads"]["survivor_id"], strict=True))  # fmt: skip
    assert pairs == {"61": "60", "62": "60"}
    assert result.counts_by_rule["duplicate_lead"] == 2
    assert not tables["quarantine"]["record_id"].isin(["60", "61", "62"]).any()


def test_clean_records_pass_every_rule(checked):
    _, tables = checked
    clean = {("contact", "1"), ("contact", "2"), ("contact", "12"), ("company", "900"),
             ("deal", "70"),
             ("product_user", "1"), ("product_event", "5"), ("marketing_event", "m1")}  # fmt: skip
    for name in ("quarantine", "record_flags", "normalised_values"):
        found = set(zip(tables[name]["record_type"], tables[name]["record_id"], strict=True))
        assert not clean & found, name


def test_result_counts_records_per_rule(checked):
    result, tables = checked
    quarantined = tables["quarantine"].drop_duplicates(["record_type", "record_id"])
    assert result.records_quarantined == len(quarantined)
    assert result.records_checked == len(CONTACTS) + len(COMPANIES) + len(DEALS) + len(USERS) + len(
        PRODUCT_EVENTS
    ) + len(MARKETING_EVENTS)
    assert result.counts_by_rule["placeholder_name"] == 7
    assert result.counts_by_rule["unknown_lead"] == 3
    assert result.counts_by_rule["country_spelling"] == 4
    assert result.status == "passed"


def test_policy_from_environment_moves_a_rule(settings, write_raw, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_DQ_POLICY_DISPOSABLE_EMAIL", "reject")
    monkeypatch.setenv("LEAD_SCORING_DQ_POLICY_COUNTRY_SPELLING", "off")
    write_raw(crm_contacts=[contact(1), contact(13, email="kim@mailinator.com", country="UK")])
    result = run_quality_gate(settings, "run-policy", AS_OF)
    assert _rows(quality(settings, "quarantine"), "disposable_email") == {
        ("contact", "13"): ("email", "k***@mailinator.com")
    }
    assert quality(settings, "record_flags").empty
    assert quality(settings, "normalised_values").empty
    assert "country_spelling" not in result.counts_by_rule


REGIONS = ["Asia/Pacific Region", "EMEA", "APAC", "Europe", "North America", "LATAM",
           "Anonymous Proxy", "Satellite Provider"]  # fmt: skip


def test_a_region_for_a_country_is_flagged_and_the_lead_kept(settings, write_raw):
    contacts = [contact(100 + i, country=region) for i, region in enumerate(REGIONS)]
    write_raw(crm_contacts=[*contacts, contact(200, country="Narnia")],
              crm_companies=[company(900, country="EMEA")])  # fmt: skip
    result = run_quality_gate(settings, "run-regions", AS_OF)
    flags = _rows(quality(settings, "record_flags"), "country_is_region")
    assert flags == {("contact", str(100 + i)): ("country", region)
                     for i, region in enumerate(REGIONS)} | {
        ("company", "900"): ("country", "EMEA")
    }  # fmt: skip
    quarantine = quality(settings, "quarantine")
    assert set(zip(quarantine["record_id"], quarantine["rule"], strict=True)) == {
        ("200", "bad_country")
    }  # fmt: skip
    assert result.counts_by_rule == {"country_is_region": 9, "bad_country": 1}
