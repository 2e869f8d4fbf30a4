"""A small hand-made raw + quality dataset covering every scoring rule.

Three loads, as the extract stage (dlt) would deliver them: CRM tables are merged
(each load holds the full current CRM tables), events are appended. Every lead is
named for the rule it exercises; the tests look leads up by these ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from lead_scoring.sources.crm import PROPERTIES

AS_OF_1 = date(2026, 11, 1)
AS_OF_2 = date(2026, 11, 5)
AS_OF_3 = date(2026, 11, 10)
LOAD_IDS = {
    1: "1761955200.101",
    2: "1762300800.202",
    3: "1762732800.303",
    4: "1762905600.404",  # loads 4 and 5: the equality scenario only (equality_load)
    5: "1763078400.505",
}

# The raw CRM columns, exactly as the extractor writes them.
CONTACT_COLUMNS = PROPERTIES["contacts"]
COMPANY_COLUMNS = PROPERTIES["companies"]
DEAL_COLUMNS = PROPERTIES["deals"]


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def before(days: int, hour: int = 10, as_of: date = AS_OF_1) -> datetime:
    return at(as_of - timedelta(days=days), hour)


def wire(moment: datetime | None) -> str:
    """A datetime as the CRM sends it: ISO-8601 with milliseconds and Z."""
    return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def contact(contact_id: str, email: str, created: datetime, **props: str) -> dict:
    row = dict.fromkeys(CONTACT_COLUMNS, "")
    row.update(
        hs_object_id=contact_id,
        email=email,
        firstname="Test",
        lastname=contact_id,
        hs_analytics_source="ORGANIC_SEARCH",
        createdate=wire(created),
        lastmodifieddate=wire(created),
    )
    row.update(props)
    return row


COMPANIES = [
    # a01: on the target-account seed list (initech.example).
    dict(
        hs_object_id="a01",
        name="Initech",
        domain="initech.example",
        industry="COMPUTER_SOFTWARE",
        numberofemployees="250",
        country="US",
        ls_target_account="false",
    ),
    # a02: target account by the CRM flag.
    dict(
        hs_object_id="a02",
        name="Hooli",
        domain="hooli.example",
        industry="Financial Services",
        numberofemployees="5000",
        country="GB",
        ls_target_account="true",
    ),
    # a03: a tiny shop in a tier-3 market, industry without a rule.
    dict(
        hs_object_id="a03",
        name="Small Shop",
        domain="smallshop.example",
        industry="retail",
        numberofemployees="8",
        country="BR",
        ls_target_account="false",
    ),
    # a04: quarantined company (its leads are scored without company data).
    dict(
        hs_object_id="a04",
        name="Broken Co",
        domain="broken.example",
        industry="retail",
        numberofemployees="-5",
        country="US",
        ls_target_account="true",
    ),
    # a05: size and country normalised by the gate.
    dict(
        hs_object_id="a05",
        name="Norm Co",
        domain="normco.example",
        industry="retail",
        numberofemployees="1,200",
        country="Deutschland",
        ls_target_account="false",
    ),
    # a06: account with three personas engaged.
    dict(
        hs_object_id="a06",
        name="Umbrella",
        domain="umbrella-corp.example",
        industry="hospital_health_care",
        numberofemployees="80",
        country="FR",
        ls_target_account="false",
    ),
]

CONTACTS = [
    contact(
        "c01",
        "vp@initech.example",
        before(30),
        jobtitle="VP of Sales",
        country="US",
        associatedcompanyid="a01",
        bant_budget="Yes",
    ),
    contact(
        "c02",
        "jobseeker@gmail.com",
        before(40),
        jobtitle="Store Manager",
        country="BR",
        associatedcompanyid="a03",
    ),
    contact(
        "c03",
        "C03@SmallShop.example",
        before(60),
        jobtitle="Software Engineer",
        associatedcompanyid="a03",
    ),
    contact(
        "c04", "c04@smallshop.example", before(20), jobtitle="Analyst", associatedcompanyid="a03"
    ),
    contact("c05", "not-an-email", before(20), jobtitle="CEO", associatedcompanyid="a01"),
    contact(
        "c06",
        "c06@normco.example",
        before(20),
        jobtitle="Director of Marketing",
        country="U.S.A.",
        associatedcompanyid="a05",
    ),
    contact("c07", "c07@initech.example", before(50), associatedcompanyid="a01"),
    contact(
        "c08",
        "c07.dup@initech.example",
        before(10),
        jobtitle="Head of Operations",
        associatedcompanyid="a01",
    ),
    contact("c09", "burner@mailinator.com", before(15), jobtitle="Manager"),
    contact("c10", "kid@cs.mit.edu", before(15), jobtitle="Student"),
    contact("c11", "spy@rivalscore.example", before(15), jobtitle="Product Manager"),
    contact("c12", "c12@hooli.example", before(25), jobtitle="CTO", associatedcompanyid="a02"),
    contact(
        "c13", "c13@hooli.example", before(40), jobtitle="Director of IT", associatedcompanyid="a02"
    ),
    contact(
        "c14",
        "c14@hooli.example",
        before(120),
        jobtitle="Head of Finance",
        associatedcompanyid="a02",
    ),
    contact(
        "c15", "c15@initech.example", before(80), jobtitle="IT Manager", associatedcompanyid="a01"
    ),
    contact(
        "c16", "c16@smallshop.example", before(30), jobtitle="Owner", associatedcompanyid="a03"
    ),
    contact(
        "c17", "c17@normco.example", before(10), jobtitle="Developer", associatedcompanyid="a05"
    ),
    contact(
        "c18",
        "c18@normco.example",
        before(45),
        jobtitle="Engineering Manager",
        associatedcompanyid="a05",
    ),
    contact(
        "c19",
        "c19@hooli.example",
        before(20),
        jobtitle="Chief Revenue Officer",
        country="GB",
        associatedcompanyid="a02",
    ),
    contact(
        "c20", "c20@smallshop.example", before(90), jobtitle="Consultant", associatedcompanyid="a03"
    ),
    contact(
        "c21", "c21@normco.example", before(2), jobtitle="Coordinator", associatedcompanyid="a05"
    ),
    contact(
        "c22", "c22@smallshop.example", before(30), jobtitle="Designer", associatedcompanyid="a03"
    ),
    # c23: no lead source (the lead_source:missing rule).
    contact("c23", "c23@yahoo.com", before(60), jobtitle="Specialist", hs_analytics_source=""),
    contact(
        "c26", "ceo@umbrella-corp.example", before(30), jobtitle="CEO", associatedcompanyid="a06"
    ),
    contact(
        "c27",
        "mgr@umbrella-corp.example",
        before(30),
        jobtitle="Marketing Manager",
        associatedcompanyid="a06",
    ),
    contact(
        "c28",
        "analyst@umbrella-corp.example",
        before(30),
        jobtitle="Data Analyst",
        associatedcompanyid="a06",
    ),
    contact(
        "c29", "c29@initech.example", before(60), jobtitle="Architect", associatedcompanyid="a01"
    ),
    contact(
        "c30",
        "c30@normco.example",
        before(30),
        jobtitle="Associate",
        associatedcompanyid="a05",
        bant_need="Yes",
        bant_authority="y",
        bant_timeline="0-3 months",
    ),
    contact(
        "c31", "c31@smallshop.example", before(30), jobtitle="Analyst", associatedcompanyid="a03"
    ),
    contact(
        "c32", "c32@smallshop.example", before(30), jobtitle="Analyst", associatedcompanyid="a03"
    ),
    contact(
        "c33", "c33@broken.example", before(30), jobtitle="Director", associatedcompanyid="a04"
    ),
    contact(
        "c34", "c34@smallshop.example", before(30), jobtitle="Analyst", associatedcompanyid="a03"
    ),
    # c35: no e-mail at all; scored on its title and company.
    contact(
        "c35",
        "",
        before(10),
        jobtitle="VP Marketing",
        country="US",
        associatedcompanyid="a01",
    ),
]

# Custom attributes (raw.crm_contact_attributes / crm_company_attributes):
# (record id, attribute, value, kind, valid_from). Scored by TEST_SIGNAL_RULES.
CONTACT_ATTRIBUTES = [
    ("c29", "role_in_purchase", "economic_buyer", "fit", None),
    ("c08", "role_in_purchase", "economic_buyer", "fit", None),  # fills its survivor c07's gap
    ("c07", "pain_urgency", "low", "pain", None),  # c07's own value wins over c08's
    ("c08", "pain_urgency", "high", "pain", None),
    ("c32", "pain_urgency", "high", "pain", before(4)),
    ("c31", "role_in_purchase", "economic_buyer", "fit", at(AS_OF_1 + timedelta(days=2))),
    ("c13", "competitor_contract_end", "2027-01-31", "pain", None),
    ("c28", "pain_urgency", "  ", "pain", None),  # empty: no value
    ("c05", "pain_urgency", "high", "pain", None),  # quarantined contact
]
COMPANY_ATTRIBUTES = [
    ("a06", "sales_team_size", "120", "fit", None),
    ("a05", "sales_team_size", " 600 ", "fit", None),
    ("a03", "sales_team_size", "n/a", "fit", None),  # not a number: no band
    ("a04", "sales_team_size", "100", "fit", None),  # quarantined company
    ("a02", "evaluating_vendors", "no", "pain", None),
    ("a02", "evaluating_vendors", "yes", "pain", before(5)),  # the latest valid value
]

# Rules the scoring tests add to signal_rules.csv (in a copy of the project), one
# per transform and kind on the custom attributes above.
TEST_SIGNAL_RULES = [
    "role_in_purchase:economic_buyer,role_in_purchase,equals,economic_buyer,,,fit,12,"
    "economic buyer",
    "pain_urgency:high,pain_urgency,equals,high,,,pain,10,urgent pain",
    "account.sales_team_size:50-499,account.sales_team_size,between,,50,500,fit,15,"
    "50-499 sales seats",
    "account.sales_team_size:500+,account.sales_team_size,between,,500,,fit,20,500+ sales seats",
    "competitor_contract_end:present,competitor_contract_end,present,,,,pain,8,contract ends",
    "account.evaluating_vendors:yes,account.evaluating_vendors,equals,yes,,,pain,10,"
    "evaluating vendors",
    "lead_source:missing,lead_source,missing,,,,fit,-5,no lead source",
]

DEALS = [
    dict(
        hs_object_id="d13",
        dealname="Hooli IT",
        ls_contact_id="c13",
        associatedcompanyid="a02",
        dealstage="qualifiedtobuy",
        amount="12000",
        createdate=wire(before(5)),
        closedate="",
        lastmodifieddate=wire(before(5)),
    ),
    dict(
        hs_object_id="d14",
        dealname="Hooli Finance",
        ls_contact_id="c14",
        associatedcompanyid="a02",
        dealstage="closedwon",
        amount="30000",
        createdate=wire(before(40)),
        closedate=wire(before(10)),
        lastmodifieddate=wire(before(10)),
    ),
    dict(
        hs_object_id="d15",
        dealname="Initech IT",
        ls_contact_id="c15",
        associatedcompanyid="a01",
        dealstage="closedlost",
        amount="8000",
        createdate=wire(before(30)),
        closedate=wire(before(3)),
        lastmodifieddate=wire(before(3)),
    ),
]

PRODUCT_USERS = [
    # u03 links to c03 although case and whitespace differ.
    (3, " c03@SMALLSHOP.example ", before(59)),
    (4, "c04@smallshop.example", before(19)),
    (5, "not-an-email", before(19)),
    (17, "c17@normco.example", before(9)),
    (18, "c18@normco.example", before(44)),
    (19, "c19@hooli.example", before(19)),
    (20, "c20@smallshop.example", before(89)),
    (29, "c29@initech.example", before(59)),
    (34, "c34@smallshop.example", before(29)),
]

# (user_id, event_type, occurred_at)
PRODUCT_EVENTS_LOAD_1 = [
    (3, "core_action", before(21)),  # exactly one half-life (21 days) old at AS_OF_1
    *[(4, "login", before(0, hour=h)) for h in range(1, 11)],  # 10 logins: 30 points, cap 15
    (5, "trial_signup", before(2)),  # user of the quarantined contact
    (17, "trial_signup", before(3)),
    (18, "trial_signup", before(40)),
    (18, "first_value", before(20)),
    (18, "core_action", before(6)),
    (19, "trial_signup", before(15)),
    (19, "first_value", before(10)),
    *[(19, "core_action", before(d)) for d in (1, 2, 3, 4)],
    (19, "integration_connected", before(2)),
    (19, "invite_teammate", before(1)),
    (20, "trial_signup", before(80)),
    (20, "login", before(45)),
    (29, "trial_signup", before(40)),
    *[(29, "core_action", before(d)) for d in (1, 2, 3)],
    (34, "core_action", before(1)),  # user quarantined: never scored
    (17, "login", at(AS_OF_1 + timedelta(days=2))),  # after AS_OF_1: counts from AS_OF_2
]

# (event_id, contact_id, event_type, occurred_at)
MARKETING_EVENTS_LOAD_1 = [
    ("m01", "c02", "careers_page_view", before(2)),
    ("m02", "c05", "demo_request", before(1)),
    ("m03", "c08", "demo_request", before(1)),  # duplicate's event: counts for c07
    ("m04", "c16", "demo_request", before(4)),
    ("m05", "c16", "demo_request", before(3)),  # quarantined event
    ("m06", "c22", "page_view", before(1)),
    ("m07", "c22", "email_open", before(1)),
    ("m08", "c22", "email_click", before(1)),
    ("m09", "c23", "unsubscribe", before(5)),
    ("m10", "c23", "email_bounce", before(4)),
    ("m11", "c26", "pricing_page_view", before(2)),
    ("m12", "c26", "pricing_page_view", before(1)),
    ("m13", "c27", "webinar_registration", before(3)),
    ("m14", "c28", "docs_page_view", before(2)),
    ("m15", "c999", "demo_request", before(2)),  # unknown contact
    ("m16", "c19", "pricing_page_view", before(3)),
    ("m17", "c20", "whitepaper_download", before(50)),
    ("m18", "c31", "whitepaper_download", at(AS_OF_1 + timedelta(days=2))),  # future at AS_OF_1
    ("m19", "c06", "whitepaper_download", before(12)),
    ("m20", "c01", "page_view", before(3)),
]

# Load 2: new events up to AS_OF_2; profile of c12 fills in progressively.
PRODUCT_EVENTS_LOAD_2 = [
    (19, "core_action", at(AS_OF_2 - timedelta(days=1))),
    (29, "login", at(AS_OF_2)),
]
MARKETING_EVENTS_LOAD_2 = [
    ("m21", "c32", "pricing_page_view", at(AS_OF_2 - timedelta(days=1))),
    ("m22", "c16", "contact_sales_request", at(AS_OF_2)),
]
# Load 3: a late arrival (occurred before AS_OF_2, loaded after it) and new events.
PRODUCT_EVENTS_LOAD_3 = [
    (29, "core_action", at(AS_OF_3 - timedelta(days=2))),
]
MARKETING_EVENTS_LOAD_3 = [
    ("m23", "c32", "demo_request", at(AS_OF_2 - timedelta(days=2))),  # late arrival
    ("m24", "c26", "demo_request", at(AS_OF_3 - timedelta(days=1))),
]

EMAIL_DOMAINS = {
    "initech.example": "business",
    "gmail.com": "personal",
    "smallshop.example": "business",
    "normco.example": "business",
    "mailinator.com": "disposable",
    "cs.mit.edu": "business",
    "rivalscore.example": "business",
    "hooli.example": "business",
    "yahoo.com": "personal",
    "umbrella-corp.example": "business",
    "broken.example": "business",
}

QUARANTINE = [
    ("contact", "c05", "invalid_email", "email", "not-an-email"),
    ("company", "a04", "impossible_company_size", "numberofemployees", "-5"),
    ("marketing_event", "m05", "duplicate_event", "event_id", "m05"),
    ("product_user", "34", "placeholder_name", "email", "c34@smallshop.example"),
]
NORMALISED = [
    ("contact", "c06", "country", "U.S.A.", "US", "country_iso2"),
    ("company", "a05", "country", "Deutschland", "DE", "country_iso2"),
    ("company", "a05", "numberofemployees", "1,200", "1200", "company_size_number"),
]
DUPLICATES = [("c08", "c07")]


@dataclass
class Load:
    """The raw and quality tables as they stand after one extract + gate run."""

    number: int
    tables: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    appended: set[tuple[str, str]] = field(default_factory=set)


def _crm_frame(rows: list[dict], columns: list[str], load: int) -> pd.DataFrame:
    frame = pd.DataFrame([{c: str(r.get(c, "")) for c in columns} for r in rows], columns=columns)
    frame["_dlt_load_id"] = LOAD_IDS[load]
    frame["_dlt_id"] = [f"{load}-{i}" for i in range(len(frame))]
    return frame


def _attribute_frame(rows: list[tuple], load: int) -> pd.DataFrame:
    records = [
        dict(hs_object_id=r, attribute=a, value=v, kind=k, valid_from=wire(valid))
        for r, a, v, k, valid in rows
    ]
    return _crm_frame(records, ["hs_object_id", "attribute", "value", "kind", "valid_from"], load)


def _events(rows: list[tuple], load: int, product: bool) -> pd.DataFrame:
    if product:
        base = (load - 1) * 1000
        frame = pd.DataFrame(
            [(base + i, u, t, ts) for i, (u, t, ts) in enumerate(rows, start=1)],
            columns=["event_id", "user_id", "event_type", "occurred_at"],
        )
        frame["event_id"] = frame["event_id"].astype("int64")
        frame["user_id"] = frame["user_id"].astype("int64")
    else:
        frame = pd.DataFrame(rows, columns=["event_id", "contact_id", "event_type", "occurred_at"])
        frame["url"] = "https://example.test/" + frame["event_type"]
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["_dlt_load_id"] = LOAD_IDS[load]
    frame["_dlt_id"] = [f"{load}-e{i}" for i in range(len(frame))]
    return frame


def _quality(
    load: int, quarantined: list[tuple] = QUARANTINE
) -> dict[tuple[str, str], pd.DataFrame]:
    run_id = f"gate-{load}"
    seen = pd.Timestamp(at(AS_OF_1, 1)).tz_localize(None)
    quarantine = pd.DataFrame(
        [(t, r, rule, f, v, run_id) for t, r, rule, f, v in quarantined],
        columns=["record_type", "record_id", "rule", "field", "value", "run_id"],
    )
    quarantine["first_seen_at"] = seen
    quarantine["last_seen_at"] = seen
    return {
        ("quality", "quarantine"): quarantine,
        ("quality", "normalised_values"): pd.DataFrame(
            [(*row, run_id) for row in NORMALISED],
            columns=[
                "record_type",
                "record_id",
                "field",
                "original_value",
                "normalised_value",
                "rule",
                "run_id",
            ],
        ),
        ("quality", "record_flags"): pd.DataFrame(
            [("contact", "c02", "personal_email", "email", "gmail.com", run_id)],
            columns=["record_type", "record_id", "rule", "field", "value", "run_id"],
        ),
        ("quality", "email_domains"): pd.DataFrame(
            sorted(EMAIL_DOMAINS.items()), columns=["domain", "email_domain_type"]
        ),
        ("quality", "duplicate_leads"): pd.DataFrame(
            [(*row, run_id) for row in DUPLICATES],
            columns=["record_id", "survivor_id", "run_id"],
        ),
    }


def _contacts_after(load: int) -> list[dict]:
    rows = [dict(r) for r in CONTACTS]
    if load >= 2:
        for row in rows:
            if row["hs_object_id"] == "c12":
                # A later form leaves the title empty but gives the country.
                row.update(
                    jobtitle="",
                    country="CA",
                    lastmodifieddate=wire(at(AS_OF_2 - timedelta(days=1))),
                )
    return rows


def load(number: int) -> Load:
    """The tables written by extract + gate run `number` (1, 2 or 3)."""
    return _load(
        number,
        contacts=_contacts_after(number),
        companies=_companies(),
        product=[PRODUCT_EVENTS_LOAD_1, PRODUCT_EVENTS_LOAD_2, PRODUCT_EVENTS_LOAD_3][number - 1],
        marketing=[MARKETING_EVENTS_LOAD_1, MARKETING_EVENTS_LOAD_2, MARKETING_EVENTS_LOAD_3][
            number - 1
        ],
        quarantined=QUARANTINE,
    )


def _companies() -> list[dict]:
    return [
        {**c, "createdate": wire(before(200)), "lastmodifieddate": wire(before(200))}
        for c in COMPANIES
    ]


def _load(
    number: int,
    contacts: list[dict],
    companies: list[dict],
    product: list[tuple],
    marketing: list[tuple],
    quarantined: list[tuple],
    deals: list[dict] = DEALS,
) -> Load:
    users = pd.DataFrame(
        [(u, e, s, s) for u, e, s in PRODUCT_USERS],
        columns=["user_id", "email", "signed_up_at", "updated_at"],
    )
    users["user_id"] = users["user_id"].astype("int64")
    for column in ("signed_up_at", "updated_at"):
        users[column] = pd.to_datetime(users[column], utc=True)
    users["_dlt_load_id"] = LOAD_IDS[number]
    users["_dlt_id"] = [f"{number}-u{i}" for i in range(len(users))]
    tables = {
        ("raw", "crm_contacts"): _crm_frame(contacts, CONTACT_COLUMNS, number),
        ("raw", "crm_contact_attributes"): _attribute_frame(CONTACT_ATTRIBUTES, number),
        ("raw", "crm_company_attributes"): _attribute_frame(COMPANY_ATTRIBUTES, number),
        ("raw", "crm_companies"): _crm_frame(companies, COMPANY_COLUMNS, number),
        ("raw", "crm_deals"): _crm_frame(deals, DEAL_COLUMNS, number),
        ("raw", "product_users"): users,
        ("raw", "product_events"): _events(product, number, product=True),
        ("raw", "marketing_events"): _events(marketing, number, product=False),
        **_quality(number, quarantined),
    }
    return Load(number, tables, appended={("raw", "product_events"), ("raw", "marketing_events")})


# --- The equality scenario (test_incremental_equality.py) ------------------------------
# Five nightly loads: loads 1-3 above with more changes, then loads 4 and 5. Each day's
# additions are listed under its number; CRM changes stay in force on later days (the CRM
# tables hold the latest values).
AS_OF_4 = date(2026, 11, 12)
AS_OF_5 = date(2026, 11, 14)
EQUALITY_DAYS = {1: AS_OF_1, 2: AS_OF_2, 3: AS_OF_3, 4: AS_OF_4, 5: AS_OF_5}


def _day_before(day: date, hour: int = 10) -> datetime:
    return at(day - timedelta(days=1), hour)


# Contact changes, {day: {contact id: new values}}.
EQUALITY_CONTACT_CHANGES = {
    # c04 is promoted and moves from Small Shop (a03) to Norm Co (a05).
    2: {
        "c04": dict(
            jobtitle="Head of Data",
            associatedcompanyid="a05",
            lastmodifieddate=wire(_day_before(AS_OF_2)),
        )
    },
    # c22's e-mail gets a typo: the gate quarantines c22 (invalid_email) ...
    3: {"c22": dict(email="c22@@smallshop.example", lastmodifieddate=wire(_day_before(AS_OF_3)))},
    # ... and the typo is corrected the next day: c22 leaves the quarantine.
    4: {"c22": dict(email="c22@smallshop.example", lastmodifieddate=wire(_day_before(AS_OF_4)))},
}
# Company changes: Small Shop (a03) grows into another size band and industry.
EQUALITY_COMPANY_CHANGES = {
    2: {
        "a03": dict(
            numberofemployees="300",
            industry="computer_software",
            lastmodifieddate=wire(_day_before(AS_OF_2, hour=8)),
        )
    },
    # Norm Co (a05) changes industry: every lead of a05 is rescored.
    4: {
        "a05": dict(
            industry="Financial Services", lastmodifieddate=wire(_day_before(AS_OF_4, hour=8))
        )
    },
}
# c17 agrees to talk to sales on day 5: a deal (its lifecycle stage becomes sql).
EQUALITY_NEW_DEALS = {
    5: [
        dict(
            hs_object_id="d90",
            dealname="Norm Co analytics",
            ls_contact_id="c17",
            associatedcompanyid="a05",
            dealstage="appointmentscheduled",
            amount="8000",
            createdate=wire(_day_before(AS_OF_5, hour=11)),
            closedate="",
            lastmodifieddate=wire(_day_before(AS_OF_5, hour=11)),
        )
    ],
}
# c41 reaches the CRM extract only with load 5; the marketing tool sent its demo request
# (m34) with load 4, so the gate quarantined that event until the contact arrived.
EQUALITY_NEW_CONTACTS = {
    5: [
        contact(
            "c41",
            "c41@umbrella-corp.example",
            _day_before(AS_OF_4, hour=9),
            jobtitle="Head of Procurement",
            associatedcompanyid="a06",
        )
    ],
}
EQUALITY_PRODUCT_EVENTS = {
    2: [(18, "login", at(AS_OF_2 - timedelta(days=2)))],
    3: [(17, "integration_connected", at(AS_OF_1, 8))],  # late: occurred on day 1
    4: [(19, "core_action", _day_before(AS_OF_4)), (29, "invite_teammate", at(AS_OF_4))],
    5: [(3, "core_action", at(AS_OF_5))],
}
EQUALITY_MARKETING_EVENTS = {
    2: [("m30", "c27", "pricing_page_view", _day_before(AS_OF_2))],
    3: [
        ("m31", "c26", "pricing_page_view", at(AS_OF_1, 9)),  # late: occurred on day 1
        ("m32", "c22", "demo_request", _day_before(AS_OF_3)),  # while c22 is quarantined
    ],
    4: [
        ("m33", "c30", "webinar_registration", at(AS_OF_4)),
        ("m34", "c41", "demo_request", _day_before(AS_OF_4)),  # unknown contact: quarantined
    ],
    5: [("m35", "c28", "docs_page_view", at(AS_OF_5))],
}
# Quarantine rows the gate adds on a day; a record not listed the next day has left it.
EQUALITY_QUARANTINE = {
    3: [("contact", "c22", "invalid_email", "email", "c22@@smallshop.example")],
    4: [("marketing_event", "m34", "unknown_lead", "contact_id", "c41")],
}
# The rules change on day 2 (and stay changed): pricing page views are worth more and
# decay faster (event_weights.csv), and the SDR-ready threshold drops from 100 to 90.
EQUALITY_RULES_DAY = 2
EQUALITY_EVENT_WEIGHT_CHANGES = {"pricing_page_view": dict(points=7, half_life_days=10)}
EQUALITY_RULE_VARS = {"lead_scoring__sdr_ready_threshold": 90}


def _changed(rows: list[dict], changes: dict[int, dict[str, dict]], day: int) -> list[dict]:
    by_id = {row["hs_object_id"]: dict(row) for row in rows}
    for change_day in sorted(changes):
        if change_day <= day:
            for record_id, values in changes[change_day].items():
                by_id[record_id].update(values)
    return list(by_id.values())


def equality_load(day: int) -> Load:
    """The tables written by extract + gate run `day` (1 to 5) of the equality scenario:
    load `day` (days 1-3; days 4 and 5 have no base events) plus the EQUALITY_* changes,
    under the same dlt load ids as load(`day`)."""
    base_product = [PRODUCT_EVENTS_LOAD_1, PRODUCT_EVENTS_LOAD_2, PRODUCT_EVENTS_LOAD_3]
    base_marketing = [MARKETING_EVENTS_LOAD_1, MARKETING_EVENTS_LOAD_2, MARKETING_EVENTS_LOAD_3]
    contacts = _contacts_after(min(day, 3))
    for new_day, new_contacts in EQUALITY_NEW_CONTACTS.items():
        if new_day <= day:
            contacts += new_contacts
    load = _load(
        day,
        contacts=_changed(contacts, EQUALITY_CONTACT_CHANGES, day),
        companies=_changed(_companies(), EQUALITY_COMPANY_CHANGES, day),
        product=(base_product[day - 1] if day <= 3 else []) + EQUALITY_PRODUCT_EVENTS.get(day, []),
        marketing=(base_marketing[day - 1] if day <= 3 else [])
        + EQUALITY_MARKETING_EVENTS.get(day, []),
        quarantined=QUARANTINE + EQUALITY_QUARANTINE.get(day, []),
        deals=DEALS + [d for new_day, new in EQUALITY_NEW_DEALS.items() if new_day <= day
                       for d in new],
    )
    # what the gate took out of the quarantine today, as it lists it (quality.released)
    today = {(kind, record) for kind, record, *_ in EQUALITY_QUARANTINE.get(day, [])}
    load.tables[("quality", "released")] = pd.DataFrame(
        [(kind, record, f"gate-{day}", pd.Timestamp.now(tz="UTC").tz_localize(None))
         for kind, record, *_ in EQUALITY_QUARANTINE.get(day - 1, [])
         if (kind, record) not in today],
        columns=["record_type", "record_id", "run_id", "released_at"],
    ).astype({"record_type": "string", "record_id": "string", "run_id": "string",
              "released_at": "datetime64[us]"})  # fmt: skip
    return load
