"""The expectation suites, as code: one per kind of raw record.

Every expectation carries ``meta`` with the ``rule`` it enforces and the ``field`` it
reports (and, for normalising rules, the helper column with the ``normalised`` value).
The as-of time is part of the suite, so each run's Data Docs show the bound it used.
"""

from __future__ import annotations

from datetime import datetime

from lead_scoring.quality.checks import ATTRIBUTE_KINDS, DEAL_STAGES
from lead_scoring.quality.config import QualityConfig
from lead_scoring.quality.emails import MISSING, VALID
from lead_scoring.quality.rules import OFF


def _expect(config: QualityConfig, rule: str, field: str, expectation, normalised=None):
    if config.policy(rule) == OFF:
        return None
    expectation.meta = {"rule": rule, "field": field} | (
        {"normalised": normalised} if normalised else {}
    )
    return expectation


def _created(config: QualityConfig, as_of: str) -> list:
    """Ages are seconds before the as-of time: a negative age is a future record."""
    import great_expectations.expectations as gxe

    return [
        _expect(config, "invalid_created_at", "createdate",
                gxe.ExpectColumnValuesToNotBeNull(column="created_age_s")),
        _expect(config, "future_created_at", "createdate",
                gxe.ExpectColumnValuesToBeBetween(column="created_age_s", min_value=0,
                                                  notes=f"age at the as-of time {as_of}")),
    ]  # fmt: skip


def _email(config: QualityConfig):
    """E-mail is optional: a missing one passes, one that is present must be valid."""
    import great_expectations.expectations as gxe

    return _expect(config, "invalid_email", "email",
                   gxe.ExpectColumnValuesToBeInSet(column="email_status",
                                                   value_set=[VALID, MISSING]))  # fmt: skip


def _country(config: QualityConfig) -> list:
    import great_expectations.expectations as gxe

    return [
        _expect(config, "bad_country", "country",
                gxe.ExpectColumnValuesToNotBeInSet(column="country_status",
                                                   value_set=["unknown"])),
        _expect(config, "country_is_region", "country",
                gxe.ExpectColumnValuesToNotBeInSet(column="country_status",
                                                   value_set=["region"])),
        _expect(config, "country_spelling", "country",
                gxe.ExpectColumnValuesToNotBeInSet(column="country_status",
                                                   value_set=["normalisable"]),
                normalised="country_iso2"),
    ]  # fmt: skip


def suite_expectations(config: QualityConfig, as_of: datetime) -> dict[str, list]:
    """Suite name -> its expectations (rules whose policy is ``off`` left out)."""
    import great_expectations.expectations as gxe

    bound = as_of.isoformat()
    suites = {
        "raw_leads": [
            _email(config),
            _expect(config, "disposable_email", "email",
                    gxe.ExpectColumnValuesToNotBeInSet(column="email_domain_type",
                                                       value_set=["disposable"])),
            _expect(config, "personal_email", "email",
                    gxe.ExpectColumnValuesToNotBeInSet(column="email_domain_type",
                                                       value_set=["personal"])),
            _expect(config, "placeholder_name", "name",
                    gxe.ExpectColumnValuesToBeNull(column="name_issue")),
            _expect(config, "invalid_phone", "phone",
                    gxe.ExpectColumnValuesToNotBeInSet(column="phone_status",
                                                       value_set=["invalid"])),
            _expect(config, "phone_format", "phone",
                    gxe.ExpectColumnValuesToNotBeInSet(column="phone_status",
                                                       value_set=["normalisable"]),
                    normalised="phone_e164"),
            *_country(config),
            *_created(config, bound),
            _expect(config, "duplicate_lead", "email",
                    gxe.ExpectColumnValuesToBeUnique(column="email_key_id")),
        ],
        "raw_accounts": [
            _expect(config, "impossible_company_size", "numberofemployees",
                    gxe.ExpectColumnValuesToBeInSet(column="employees_status",
                                                    value_set=["number", "empty"])),
            _expect(config, "impossible_company_size", "numberofemployees",
                    gxe.ExpectColumnValuesToBeBetween(column="employees", min_value=1,
                                                      max_value=config.max_company_size)),
            *_country(config),
            *_created(config, bound),
        ],
        "raw_outcomes": [
            _expect(config, "unknown_deal_stage", "dealstage",
                    gxe.ExpectColumnValuesToBeInSet(column="dealstage",
                                                    value_set=list(DEAL_STAGES))),
            _expect(config, "unknown_lead", "ls_contact_id",
                    gxe.ExpectColumnValuesToBeInSet(column="lead_known", value_set=[True])),
            *_created(config, bound),
        ],
        "raw_product_users": [
            _email(config),
            *_created(config, bound),
        ],
        "raw_events": [
            _expect(config, "unknown_lead", "lead_id",
                    gxe.ExpectColumnValuesToBeInSet(column="lead_known", value_set=[True])),
            _expect(config, "future_event", "occurred_at",
                    gxe.ExpectColumnValuesToBeBetween(column="occurred_age_s", min_value=0,
                                                      notes=f"age at the as-of time {bound}")),
            _expect(config, "unknown_event_type", "event_type",
                    gxe.ExpectColumnValuesToBeInSet(column="event_type_known",
                                                    value_set=[True])),
        ],
        "raw_attributes": [
            _expect(config, "invalid_attribute", "hs_object_id",
                    gxe.ExpectColumnValuesToBeInSet(column="has_record_id", value_set=[True])),
            _expect(config, "invalid_attribute", "attribute",
                    gxe.ExpectColumnValuesToBeInSet(column="name_ok", value_set=[True])),
            _expect(config, "invalid_attribute", "kind",
                    gxe.ExpectColumnValuesToBeInSet(column="kind",
                                                    value_set=list(ATTRIBUTE_KINDS))),
            _expect(config, "invalid_attribute", "valid_from",
                    gxe.ExpectColumnValuesToBeInSet(column="valid_from_ok", value_set=[True])),
        ],
    }  # fmt: skip
    return {name: [e for e in items if e is not None] for name, items in suites.items()}
