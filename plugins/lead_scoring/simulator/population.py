"""Accounts and leads: firmographics, people, latent fit and intent, and their planned journeys.

Everything is drawn per column with numpy; Python loops only build strings. A lead's
journey (trial signup, activity lifetimes and rates, SQL date, deal close and outcome) is
planned up front, possibly beyond the end of the history, so the next simulated day can
reveal what was already bound to happen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lead_scoring.simulator.catalogue import (
    BUYING_FUNCTIONS,
    CALLING_CODES,
    COMPETITOR_TITLES,
    COMPETITORS,
    COUNTRIES,
    INDUSTRIES,
    JOB_SEEKER_TITLES,
    LEAD_SOURCES,
    PERSONA_FIT,
    PERSONAS,
    SEGMENT_SHARES,
    SEGMENTS,
    SENIORITIES,
    SENIORITY_FIT,
    SENIORITY_SHARES,
    STUDENT_TITLES,
    TITLES,
    TLDS,
    UNIVERSITIES,
)
from lead_scoring.simulator.errors import Context, assign_lead_errors, duplicate_email
from lead_scoring.simulator.frames import (
    DAY,
    NEVER,
    Frame,
    concat,
    length,
    logit,
    pick,
    sigmoid,
    stochastic_round,
    take,
    weighted_index,
)
from lead_scoring.simulator.pools import Pools

TARGET_SHARE = 0.06  # accounts on the account-based-marketing list
UNIVERSITY_COUNTRIES = ("US", "US", "US", "US", "GB", "DE")
EMAIL_FIT = {
    "business": 0.3,
    "personal": -0.7,
    "disposable": -1.2,
    "invalid": -0.6,
    "university": -1.0,
    "competitor": -1.0,
}
NO_CONTACT = ("invalid_email", "disposable_email", "placeholder_name", "duplicate_lead")


def _persona(seniority: str, function: str) -> str:
    buying = function in BUYING_FUNCTIONS
    if seniority == "c_level" or (seniority == "vp" and buying):
        return "decision_maker"
    if seniority in ("vp", "director") or (seniority == "manager" and buying):
        return "influencer"
    return "end_user"


def _title_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Titles with their seniority and persona, and the title indices each group draws from."""
    rows = [(t, s, _persona(s, f)) for t, s, f in TITLES]
    groups: dict[str, list[int]] = {s: [] for s in SENIORITIES}
    for i, (_, s, _) in enumerate(rows):
        groups[s].append(i)
    for group, titles, seniority, persona in (
        ("student", STUDENT_TITLES, "individual", "end_user"),
        ("job_seeker", JOB_SEEKER_TITLES, "individual", "end_user"),
        ("competitor", COMPETITOR_TITLES, "manager", "influencer"),
    ):
        groups[group] = list(range(len(rows), len(rows) + len(titles)))
        rows += [(t, seniority, persona) for t in titles]
    title, seniority, persona = (np.array(col, dtype=object) for col in zip(*rows, strict=True))
    return title, seniority, persona, {k: np.array(v) for k, v in groups.items()}


TITLE, TITLE_SENIORITY, TITLE_PERSONA, TITLE_GROUPS = _title_table()


def _from_group(rng: np.random.Generator, group: np.ndarray, size: int) -> np.ndarray:
    return group[rng.integers(0, len(group), size)]


def make_accounts(
    rng: np.random.Generator, pools: Pools, n: int, first_id: int, rates: dict[str, float]
) -> Frame:
    industry = weighted_index(rng, INDUSTRIES, n)
    country = weighted_index(rng, COUNTRIES, n)
    employees = np.clip(np.rint(rng.lognormal(np.log(120), 1.5, n)), 1, 300_000).astype(np.int64)
    revenue = np.rint(employees * rng.lognormal(np.log(150_000), 0.5, n) / 1000) * 1000
    size_fit = np.maximum(0.8 - 0.6 * np.abs(np.log10(employees) - 2.8), -1.2)
    industry_fit = np.array([row[2] for row in INDUSTRIES])[industry]
    country_fit = np.array([row[2] for row in COUNTRIES])[country]
    firmographic = industry_fit + country_fit + size_fit + rng.normal(0, 0.4, n)
    listed = firmographic + rng.normal(0, 0.5, n)
    target = listed >= np.quantile(listed, 1 - TARGET_SHARE) if n else np.zeros(0, bool)
    codes = np.array([row[0] for row in COUNTRIES], dtype=object)[country]
    name_idx = rng.integers(0, len(pools.companies), n)
    local_tld = rng.random(n) < 0.5
    tld = np.array(
        [TLDS.get(c, ".com") if use else ".com" for c, use in zip(codes, local_tld, strict=True)]
    )
    stem = pools.company_slugs[name_idx]
    repeat = pd.Series(stem + tld).groupby(stem + tld).cumcount().to_numpy()
    domain = [f"{s}{r + 1 if r else ''}{t}" for s, r, t in zip(stem, repeat, tld, strict=True)]
    wire_employees = employees.astype(str).astype(object)
    label = np.full(n, "", dtype=object)
    bad = pick(rng, np.arange(n), stochastic_round(rng, rates["impossible_company_size"] * n))
    label[bad] = "impossible_company_size"
    negative = rng.random(len(bad)) < 0.5
    wire_employees[bad] = np.where(
        negative, -rng.integers(1, 1000, len(bad)), rng.integers(10**7, 10**10, len(bad))
    ).astype(str)
    return {
        "account_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "name": pools.companies[name_idx],
        "domain": np.array(domain, dtype=object),
        "industry": np.array([row[0] for row in INDUSTRIES], dtype=object)[industry],
        "country": codes,
        "employees": employees,
        "wire_employees": wire_employees,
        "annual_revenue": revenue.astype(np.int64),
        "is_target": target,
        "fit_logit": firmographic + 0.9 * target,
        "lead_weight": employees**0.4 * rng.lognormal(0, 0.7, n),
        "injected_error": label,
        "created": np.zeros(n, np.int64),  # set by account_times once the leads exist
        "lastmod": np.zeros(n, np.int64),
    }


def account_times(
    rng: np.random.Generator, accounts: Frame, leads: Frame, start: int, end: int
) -> None:
    """An account exists before its first lead; accounts without leads came from imports."""
    n = length(accounts)
    first = np.full(n, NEVER)
    has = leads["account_idx"] >= 0
    np.minimum.at(first, leads["account_idx"][has], leads["created"][has])
    imported = start - rng.integers(0, 365 * DAY, n)
    created = np.where(
        first < NEVER, first - rng.exponential(30 * DAY, n).astype(np.int64), imported
    )
    accounts["created"] = created
    span = np.maximum(end - created, 1)
    accounts["lastmod"] = np.minimum(
        created + (rng.random(n) * 0.5 * span).astype(np.int64), end - 1
    )


def _email_locals(rng, pools: Pools, first: np.ndarray, last: np.ndarray) -> list[str]:
    fs, ls = pools.first_slugs[first], pools.last_slugs[last]
    form = rng.choice(5, size=len(first), p=[0.5, 0.2, 0.1, 0.1, 0.1])
    out = []
    for f, s, k in zip(fs, ls, form, strict=True):
        f, s = f or "info", s or "contact"
        out.append((f"{f}.{s}", f"{f[0]}{s}", f, f"{f}{s[0]}", f"{f}_{s}")[k])
    return out


def _unique_emails(rng, emails: np.ndarray, taken: np.ndarray) -> None:
    """Make normalised addresses unique (among themselves and ``taken``) with digits."""
    known = [e.strip().lower() for e in taken]
    for _ in range(10):
        norm = np.array(known + [e.strip().lower() for e in emails], dtype=object)
        clash = pd.Index(norm, dtype=object).duplicated()[len(taken) :]
        if not clash.any():
            return
        for i in np.flatnonzero(clash):
            local, at, domain = emails[i].rpartition("@")
            emails[i] = f"{local}{rng.integers(2, 999)}@{domain}" if at else f"{domain}{i}"


def make_leads(
    rng: np.random.Generator,
    pools: Pools,
    accounts: Frame,
    n: int,
    start: int,
    end: int,
    rates: dict[str, float],
    first_id: int,
    existing: Frame | None = None,
) -> Frame:
    """``n`` new leads created in ``[start, end)`` with contact ids from ``first_id``.

    Duplicates copy earlier leads, of this batch or of ``existing``, and take the last ids.
    """
    n_dup = min(stochastic_round(rng, rates["duplicate_lead"] * n), n // 2)
    leads = _originals(rng, pools, accounts, n - n_dup, start, end)
    leads = take(leads, np.argsort(leads["created"], kind="stable"))
    leads["contact_id"] = np.arange(first_id, first_id + n - n_dup, dtype=np.int64)
    taken = existing["email"] if existing is not None else np.zeros(0, dtype=object)
    assign_lead_errors(rng, leads, rates, n, Context(pools, end))
    _unique_emails(rng, leads["email"], taken)
    bad_account = accounts["injected_error"][np.maximum(leads["account_idx"], 0)] != ""
    size_label = (leads["injected_error"] == "") & (leads["account_idx"] >= 0) & bad_account
    leads["injected_error"][size_label] = "impossible_company_size"
    _latent(rng, leads, accounts)
    plan_journeys(rng, leads, accounts, end)
    candidates = leads
    if existing is not None:
        candidates = concat({k: existing[k] for k in leads}, leads)
    dups = _duplicates(rng, candidates, n_dup, start, end)
    dups = take(dups, np.argsort(dups["created"], kind="stable"))
    dups["contact_id"] = np.arange(first_id + n - n_dup, first_id + n, dtype=np.int64)
    return concat(leads, dups)


def _originals(
    rng: np.random.Generator, pools: Pools, accounts: Frame, n: int, start: int, end: int
) -> Frame:
    created = start + ((end - start) * rng.random(n) ** 0.8).astype(np.int64)
    segment = np.array(SEGMENTS, dtype=object)[rng.choice(4, size=n, p=SEGMENT_SHARES)]
    weights = accounts["lead_weight"]
    account = rng.choice(len(weights), size=n, p=weights / weights.sum())
    account[(segment == "student") | (segment == "competitor")] = -1
    seniority_draw = rng.choice(len(SENIORITIES), size=n, p=SENIORITY_SHARES)
    title_idx = np.zeros(n, dtype=np.int64)
    for k, name in enumerate(SENIORITIES):
        rows = np.flatnonzero((seniority_draw == k) & (segment == "buyer"))
        title_idx[rows] = _from_group(rng, TITLE_GROUPS[name], len(rows))
    for group in ("student", "job_seeker", "competitor"):
        rows = np.flatnonzero(segment == group)
        title_idx[rows] = _from_group(rng, TITLE_GROUPS[group], len(rows))
    first = rng.integers(0, len(pools.first_names), n)
    last = rng.integers(0, len(pools.last_names), n)
    locals_ = _email_locals(rng, pools, first, last)
    domain = accounts["domain"][np.maximum(account, 0)].copy()
    company = accounts["name"][np.maximum(account, 0)].copy()
    country = accounts["country"][np.maximum(account, 0)].copy()
    email_type = np.full(n, "business", dtype=object)
    for group, table, kind in (
        ("student", UNIVERSITIES, "university"),
        ("competitor", COMPETITORS, "competitor"),
    ):
        rows = np.flatnonzero(segment == group)
        which = rng.integers(0, len(table), len(rows))
        company[rows] = [table[w][0] for w in which]
        domain[rows] = [table[w][1] for w in which]
        country[rows] = [UNIVERSITY_COUNTRIES[w] if kind == "university" else "US" for w in which]
        email_type[rows] = kind
    elsewhere = rng.random(n) < 0.12
    codes = np.array([row[0] for row in COUNTRIES], dtype=object)
    country[elsewhere] = codes[weighted_index(rng, COUNTRIES, int(elsewhere.sum()))]
    capitalised = rng.random(n) < 0.08
    email = np.array(
        [
            f"{lc.capitalize() if c else lc}@{d}"
            for lc, c, d in zip(locals_, capitalised, domain, strict=True)
        ],
        dtype=object,
    )
    wire_country = country.copy()
    wire_country[rng.random(n) < 0.08] = ""  # the form did not ask
    return {
        "created": created,
        "wire_created": created.copy(),
        "segment": segment,
        "account_idx": account,
        "title": TITLE[title_idx],
        "seniority": TITLE_SENIORITY[title_idx],
        "persona": TITLE_PERSONA[title_idx],
        "firstname": pools.first_names[first],
        "lastname": pools.last_names[last],
        "email": email,
        "email_type": email_type,
        "company": company,
        "country": country,
        "wire_country": wire_country,
        "source": weighted_index(rng, LEAD_SOURCES, n),
        "injected_error": np.full(n, "", dtype=object),
        "duplicate_of": np.full(n, -1, dtype=np.int64),
    }


def _latent(rng: np.random.Generator, leads: Frame, accounts: Frame) -> None:
    n = length(leads)
    account = leads["account_idx"]
    account_fit = np.where(account >= 0, accounts["fit_logit"][np.maximum(account, 0)], 0.0)
    seniority_fit = dict(zip(SENIORITIES, SENIORITY_FIT, strict=True))
    persona_fit = dict(zip(PERSONAS, PERSONA_FIT, strict=True))
    fit_logit = (
        -0.9
        + account_fit
        + np.array([seniority_fit[s] for s in leads["seniority"]])
        + np.array([persona_fit[p] for p in leads["persona"]])
        + np.array([EMAIL_FIT[t] for t in leads["email_type"]])
        + rng.normal(0, 0.5, n)
    )
    buyer = leads["segment"] == "buyer"
    fit_logit = np.where(buyer, fit_logit, -3.2 + rng.normal(0, 0.5, n))
    fit = sigmoid(fit_logit)
    source_shift = np.array([row[2] for row in LEAD_SOURCES])[leads["source"]]
    intent = sigmoid(logit(rng.beta(0.9, 2.6, n)) + 0.8 * (fit - 0.4) + source_shift)
    for segment, (a, b) in (
        ("job_seeker", (0.6, 6)),
        ("student", (0.8, 4)),
        ("competitor", (2, 3)),
    ):
        rows = leads["segment"] == segment
        intent[rows] = rng.beta(a, b, int(rows.sum()))
    evasive = np.isin(leads["injected_error"], NO_CONTACT)
    intent[evasive] *= 0.6
    leads["latent_fit"] = fit
    leads["latent_intent"] = intent


def _days(rng: np.random.Generator, mean_days, size: int, shape: float = 1.0) -> np.ndarray:
    """Durations in seconds, gamma-distributed (exponential for shape 1) around a mean."""
    return (rng.gamma(shape, 1.0 / shape, size) * mean_days * DAY).astype(np.int64)


def plan_journeys(rng: np.random.Generator, leads: Frame, accounts: Frame, as_of: int) -> None:
    """Draw each lead's planned behaviour and outcome from its latent fit and intent."""
    n = length(leads)
    fit, intent, created = leads["latent_fit"], leads["latent_intent"], leads["created"]
    segment, label = leads["segment"], leads["injected_error"]
    account = np.maximum(leads["account_idx"], 0)
    has_account = leads["account_idx"] >= 0
    employees = np.where(has_account, accounts["employees"][account], 10)
    target = has_account & accounts["is_target"][account]
    buyer = segment == "buyer"
    contactable = buyer & ~np.isin(label, NO_CONTACT)

    # Product: a trial, how long the lead stays active in it, and how busy it is.
    p_trial = sigmoid(-1.8 + 3.5 * intent + 0.6 * fit)
    p_trial = np.select(
        [segment == "competitor", segment == "student", segment == "job_seeker"],
        [0.5, 0.25, 0.03],
        p_trial,
    )
    p_trial[label == "invalid_email"] = 0.0
    trial = rng.random(n) < p_trial
    instant = rng.random(n) < 0.3
    signup = created + np.where(instant, rng.integers(60, 1800, n), _days(rng, 3, n))
    leads["signup_at"] = np.where(trial, signup, NEVER)
    leads["product_until"] = signup + _days(rng, 7 + 300 * intent**1.5, n, shape=2.0)
    leads["rate_product"] = rng.lognormal(0, 0.5, n) * (0.3 + 4 * intent**2)
    first_value = rng.random(n) < sigmoid(-1 + 4 * intent)
    value_at = signup + _days(rng, 1 + 6 * (1 - intent), n)
    leads["first_value_at"] = np.where(
        trial & first_value & (value_at < leads["product_until"]), value_at, NEVER
    )

    # Marketing: high-value activity follows intent; trivial activity does not.
    leads["marketing_until"] = created + _days(rng, 15 + 400 * intent**1.5, n, shape=2.0)
    leads["rate_high_value"] = rng.lognormal(0, 0.5, n) * (0.05 + 1.5 * intent**2)
    leads["rate_trivial"] = rng.lognormal(-0.3, 0.8, n)
    unsubscribes = rng.random(n) < 0.15 * (1 - intent)
    leads["unsubscribe_at"] = np.where(
        unsubscribes, created + (rng.random(n) * 120 * DAY).astype(np.int64), NEVER
    )
    undeliverable = np.isin(label, ("invalid_email", "disposable_email"))
    bounces = np.where(undeliverable, rng.random(n) < 0.9, rng.random(n) < 0.003)
    leads["bounce_at"] = np.where(bounces, created + _days(rng, 1, n), NEVER)
    leads["rate_careers"] = np.select(
        [segment == "job_seeker", segment == "student", segment == "competitor"],
        [0.35, 0.06, 0.06],
        0.0002,
    )
    leads["careers_until"] = created + _days(rng, np.where(buyer, 120, 25), n)

    # Funnel: SQL (the lead agrees to talk to sales), then a won or lost deal.
    p_sql = sigmoid(-8.0 + 4.5 * fit + 6.5 * intent + 2.0 * fit * intent)
    sql = contactable & (rng.random(n) < p_sql)
    sql_at = created + (rng.gamma(2.0, 1.0, n) * 6 / (0.25 + intent) * DAY).astype(np.int64)
    leads["sql_at"] = np.where(sql, sql_at + DAY, NEVER)
    leads["will_win"] = rng.random(n) < sigmoid(-4.6 + 3.0 * fit + 2.0 * intent + 0.5 * target)
    cycle = rng.gamma(2.0, 1.0, n) * (10 + 8 * np.log10(employees)) * DAY
    leads["close_at"] = np.where(sql, leads["sql_at"] + cycle.astype(np.int64), NEVER)
    leads["amount"] = np.rint(rng.lognormal(np.log(3_000) + 0.35 * np.log(employees), 0.5) / 100)
    leads["amount"] = (leads["amount"] * 100).astype(np.int64)
    leads["demo_before_sql"] = sql & (rng.random(n) < 0.7)

    _profile(rng, leads)
    leads["lastmod"] = np.minimum(
        np.maximum(
            created + _days(rng, 2, n), np.where(leads["sql_at"] < as_of, leads["sql_at"], 0)
        ),
        as_of - 1,
    )
    leads["lastmod"] = np.maximum(leads["lastmod"], created)


def bant_answers(rng: np.random.Generator, leads: Frame) -> dict[str, np.ndarray]:
    """What a lead answers to budget, authority, need and timeline questions."""
    n = length(leads)
    fit, intent = leads["latent_fit"], leads["latent_intent"]
    yes = sigmoid(-1 + 2.5 * fit)
    u = rng.random(n)
    budget = np.where(
        u < 0.85 * yes, "yes", np.where(u < 0.85 * yes + 0.7 * (1 - yes), "no", "not_sure")
    )
    honest = rng.random(n) < 0.8
    authority = np.where(
        honest, leads["persona"], np.array(PERSONAS, dtype=object)[rng.integers(0, 3, n)]
    )
    felt = intent + rng.normal(0, 0.1, n)
    need = np.select([felt > 0.5, felt > 0.25], ["high", "medium"], "low")
    timeline = np.select(
        [felt > 0.6, felt > 0.35, felt > 0.15],
        ["this_quarter", "this_year", "next_year"],
        "no_plans",
    )
    return {
        "bant_budget": budget,
        "bant_authority": authority,
        "bant_need": need,
        "bant_timeline": timeline,
    }


def _profile(rng: np.random.Generator, leads: Frame) -> None:
    """What the forms collected: a job title (mostly), a phone (often), BANT (sometimes)."""
    n = length(leads)
    leads["jobtitle"] = np.where(rng.random(n) < 0.12, "", leads["title"]).astype(object)
    has_phone = rng.random(n) < 0.55
    number = rng.integers(200_000_0000, 999_999_9999, n)
    leads["phone"] = np.array(
        [
            f"+{CALLING_CODES.get(c, 1)} {x}" if h else ""
            for c, x, h in zip(leads["country"], number, has_phone, strict=True)
        ],
        dtype=object,
    )
    asked = rng.random(n) < 0.3
    for name, values in bant_answers(rng, leads).items():
        leads[name] = np.where(asked, values, "").astype(object)


def _duplicates(
    rng: np.random.Generator, candidates: Frame, n_dup: int, start: int, end: int
) -> Frame:
    """The same people filling in a form again later: same address, other case/spacing."""
    eligible = np.flatnonzero(
        (candidates["injected_error"] == "")
        & (candidates["created"] < end - DAY)
        & (candidates["segment"] == "buyer")
    )
    originals = pick(rng, eligible, n_dup)
    dups = take(candidates, originals)
    n = len(originals)
    earliest = np.maximum(dups["created"] + 1, start)
    created = dups["created"] + _days(rng, 20, n)
    outside = (created < earliest) | (created >= end)
    span = np.maximum(end - earliest, 1)
    created[outside] = earliest[outside] + (rng.random(n) * span).astype(np.int64)[outside]
    dups["created"] = created
    dups["wire_created"] = created
    dups["lastmod"] = created
    dups["email"] = duplicate_email(rng, dups["email"])
    dups["injected_error"] = np.full(n, "duplicate_lead", dtype=object)
    dups["duplicate_of"] = candidates["contact_id"][originals]
    # The person's activity and outcome stay on the original record.
    for name in (
        "signup_at",
        "first_value_at",
        "sql_at",
        "close_at",
        "unsubscribe_at",
        "bounce_at",
    ):
        dups[name] = np.full(n, NEVER)
    dups["demo_before_sql"] = np.zeros(n, bool)
    dups["rate_trivial"] = dups["rate_trivial"] * 0.3
    dups["rate_high_value"] = dups["rate_high_value"] * 0.3
    dups["rate_careers"] = np.zeros(n)
    return dups
