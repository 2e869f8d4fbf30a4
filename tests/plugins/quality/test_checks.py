"""The check helpers on their own: e-mail syntax agrees with email-validator, real names
pass and fake ones do not, country spellings resolve, phones normalise, config parses."""

import pandas as pd
import pytest
from email_validator import EmailNotValidError, validate_email

from lead_scoring.quality.config import QualityConfigError, load_config
from lead_scoring.quality.countries import country_status
from lead_scoring.quality.emails import domain_type, email_status
from lead_scoring.quality.names import name_issues, value_issue
from lead_scoring.quality.phones import phone_status

ADDRESSES = [
    "a@b.co", "first.last@acme-robotics.com", "o'brien+news@mail.example.org",
    "UPPER@ACME.COM", "x@localhost", "x@printer.local", "x@site.test", "x@10.0.0.1",
    "x@[10.0.0.1]", "two..dots@acme.com", ".lead@acme.com", "trail.@acme.com",
    "jane@acme", "jane@acme.", "jane@-acme.com", "jane@acme-.com", "jane@ab--cd.com",
    "jane@xn--bcher-kva.com", "jane@bücher.de", "jürgen@acme.de", '"quoted"@acme.com',
    "no-at-sign", "a@b@c.com", "jane@acme.c", "jane@acme.123", f"{'l' * 65}@acme.com",
    f"{'l' * 64}@acme.com", f"jane@{'d' * 64}.com", f"jane@{'d' * 63}.com", "jane @acme.com",
    "jane@acme_corp.com", "jane@acme.co.uk", "1234@5.com", "jane@a.b.c.d.e.f.ly",
]  # fmt: skip


def _validator(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def test_email_verdicts_are_email_validators():
    status = email_status(pd.Series(ADDRESSES))["email_status"]
    expected = ["valid" if _validator(a) else "invalid" for a in ADDRESSES]
    assert status.tolist() == expected
    assert "valid" in expected and "invalid" in expected


def test_email_key_is_trimmed_lower_case_and_missing_is_missing():
    result = email_status(pd.Series([" Jane.Doe@ACME.com ", "", None, "broken"]))
    assert result["email_status"].tolist() == ["valid", "missing", "missing", "invalid"]
    assert result["email_key"].iloc[0] == "jane.doe@acme.com"
    assert result["email_key"].iloc[1:].isna().all()


@pytest.mark.parametrize(
    ("domain", "kind"),
    [("mailinator.com", "disposable"), ("eu.mailinator.com", "disposable"),
     ("gmail.com", "personal"), ("gmx.de", "personal"), ("acme-robotics.com", "business")],
)  # fmt: skip
def test_domain_types(domain, kind):
    assert domain_type(domain) == kind


def test_real_names_from_many_locales_pass():
    from faker import Faker

    locales = ["en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "pl_PL", "cs_CZ",
               "sv_SE", "fi_FI", "pt_BR", "tr_TR", "vi_VN", "ja_JP", "ko_KR", "hu_HU"]  # fmt: skip
    fake = Faker(locales)
    fake.seed_instance(3)
    names = {fake[loc].first_name() for loc in locales for _ in range(300)}
    names |= {fake[loc].last_name() for loc in locales for _ in range(300)}
    names |= {"Wertheimer", "Ewert", "Reza", "Yui", "Ng", "Smrž", "Kretzschmar", "Lulu", "Na"}
    flagged = {n: value_issue(n) for n in names if value_issue(n)}
    assert flagged == {}


@pytest.mark.parametrize(
    ("first", "last", "email", "reason"),
    [("test", "test", "", "placeholder"), ("Test", "User", "", "placeholder"),
     ("Demo", "User", "", "placeholder"), ("n/a", "", "", "placeholder"),
     ("-", "-", "", "no_letters"), ("qwerty", "uiop", "", "placeholder"),
     ("sdfgh", "jkl", "", "keyboard_mash"), ("aaa", "bbb", "", "keyboard_mash"),
     ("Xkcdq", "Brown", "", "keyboard_mash"), ("Mickey", "Mouse", "", "celebrity"),
     ("SpongeBob", "SquarePants", "", "celebrity"), ("John", "Doe", "", "celebrity"),
     ("Batman", "", "", "celebrity"), ("Dr. Test", "", "", "placeholder"),
     ("jane", "R2D2", "", "digits"), ("jane@acme.com", "", "", "email"),
     ("j.smith", "Smith", "j.smith", "email_local_part"),
     ("John", "Sample", "", None), ("John", "Smith", "john", None),
     ("", "", "", None), ("Anne-Marie", "de la Cruz", "", None)],
)  # fmt: skip
def test_fake_names_are_caught_with_a_reason(first, last, email, reason):
    issue = name_issues(pd.Series([first]), pd.Series([last]), pd.Series([email])).iloc[0]
    assert (None if pd.isna(issue) else issue) == reason


@pytest.mark.parametrize(
    ("value", "status", "code"),
    [("US", "ok", "US"), ("us", "normalisable", "US"), ("U.S.A.", "normalisable", "US"),
     ("United States of America", "normalisable", "US"), ("UK", "normalisable", "GB"),
     ("England", "normalisable", "GB"), ("Deutschland", "normalisable", "DE"),
     ("Allemagne", "normalisable", "DE"), ("the Netherlands", "normalisable", "NL"),
     ("España", "normalisable", "ES"), ("Espana", "normalisable", "ES"),
     ("deu", "normalisable", "DE"), ("", "empty", None), ("N/A", "unknown", None),
     ("Narnia", "unknown", None), ("123", "unknown", None), ("Worldwide", "unknown", None),
     ("Asia/Pacific Region", "region", None), ("EMEA", "region", None),
     ("APAC", "region", None), ("Europe", "region", None), ("North America", "region", None),
     ("LATAM", "region", None), ("latin america", "region", None),
     ("Anonymous Proxy", "region", None), ("Satellite Provider", "region", None),
     ("NA", "ok", "NA"), ("Antarctica", "normalisable", "AQ")],
)  # fmt: skip
def test_country_spellings(value, status, code):
    result = country_status(pd.Series([value])).iloc[0]
    assert result["country_status"] == status
    assert (None if pd.isna(result["country_iso2"]) else result["country_iso2"]) == code


def test_phones_are_read_in_the_contacts_country_and_normalised():
    phones = pd.Series(["+14155552671", "(415) 555-2671", "030 901820", "+44 20 7183 8750 x12",
                        "12345", "not a phone", ""])  # fmt: skip
    regions = pd.Series(["US", "US", "DE", "GB", "US", "US", "US"])
    result = phone_status(phones, regions)
    assert result["phone_status"].tolist() == [
        "ok", "normalisable", "normalisable", "normalisable", "invalid", "invalid", "empty"
    ]  # fmt: skip
    assert result["phone_e164"].tolist()[:4] == [
        "+14155552671", "+14155552671", "+4930901820", "+442071838750;ext=12"
    ]  # fmt: skip


def test_configuration_defaults_and_overrides():
    config = load_config({})
    assert (config.max_quarantine_rate, config.max_volume_drop, config.max_source_age_hours) == (
        0.10, 0.50, 72.0
    )  # fmt: skip
    assert config.policy("disposable_email") == "flag"
    assert config.policy("duplicate_lead") == "merge"
    custom = load_config({"LEAD_SCORING_DQ_POLICY_DISPOSABLE_EMAIL": "Reject",
                          "LEAD_SCORING_DQ_MAX_COMPANY_SIZE": "500000"})  # fmt: skip
    assert custom.policy("disposable_email") == "reject" and custom.max_company_size == 500_000
    with pytest.raises(QualityConfigError, match="no rule 'fake_rule'"):
        load_config({"LEAD_SCORING_DQ_POLICY_FAKE_RULE": "flag"})
    with pytest.raises(QualityConfigError, match="between 0.0 and 1.0"):
        load_config({"LEAD_SCORING_DQ_MAX_QUARANTINE_RATE": "1.5"})
    with pytest.raises(QualityConfigError, match="DEFAULT_PHONE_REGION='XX'"):
        load_config({"LEAD_SCORING_DQ_DEFAULT_PHONE_REGION": "xx"})
