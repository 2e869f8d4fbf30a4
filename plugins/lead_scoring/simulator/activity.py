"""Product and marketing events inside a time window, drawn from each lead's planned journey.

Rate-based activity is a Poisson process per lead over the part of its active period that
falls in the window, scaled so the window holds about the requested number of events;
milestones (trial signup, first value, unsubscribe, bounce, the demo request before an
SQL) happen once, when planned. A frame of events has ``lead`` (row in the lead frame),
``type`` (code into the event-type tuple) and ``t`` (epoch seconds).
"""

from __future__ import annotations

import numpy as np

from lead_scoring.simulator.catalogue import MARKETING_EVENT_TYPES, PRODUCT_EVENT_TYPES
from lead_scoring.simulator.frames import DAY, NEVER, Frame, concat, length

P = {name: i for i, name in enumerate(PRODUCT_EVENT_TYPES)}
M = {name: i for i, name in enumerate(MARKETING_EVENT_TYPES)}
PRODUCT_RATED = (
    "login",
    "core_action",
    "invite_teammate",
    "integration_connected",
    "billing_page_view",
)
HIGH_VALUE = (
    "whitepaper_download",
    "webinar_registration",
    "pricing_page_view",
    "docs_page_view",
    "faq_page_view",
    "demo_request",
    "contact_sales_request",
)
TRIVIAL = ("email_open", "page_view", "email_click")
TRIVIAL_SHARE = 0.7  # of rate-based marketing events
# Activity by hour of day (UTC): European and American office hours overlap.
_HOURS = np.array(
    [1, 1, 1, 1, 1, 2, 3, 6, 9, 10, 10, 9, 10, 11, 12, 12, 11, 10, 8, 7, 5, 4, 3, 2], dtype=float
)
HOUR_CUMULATIVE = np.cumsum(_HOURS[:-1]) / _HOURS.sum()


def _empty() -> Frame:
    return {
        "lead": np.zeros(0, np.int64),
        "type": np.zeros(0, np.int16),
        "t": np.zeros(0, np.int64),
    }


def _once(at: np.ndarray, code: int, lo: int, hi: int) -> Frame:
    rows = np.flatnonzero((at >= lo) & (at < hi))
    return {"lead": rows, "type": np.full(len(rows), code, np.int16), "t": at[rows]}


def _office_hours(rng, t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Move events into office hours and off weekends where the lead's window allows."""
    day = t // DAY
    hour = np.searchsorted(HOUR_CUMULATIVE, rng.random(len(t)), side="right")
    moved = day * DAY + hour * 3600 + rng.integers(0, 3600, len(t))
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    to_monday = (weekday >= 5) & (rng.random(len(t)) < 0.7)
    moved = moved + np.where(to_monday, (7 - weekday) * DAY, 0)
    return np.where((moved >= lo) & (moved < hi), moved, t)


def _rated(
    rng, expected: np.ndarray, probs: np.ndarray, codes: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> Frame:
    """Poisson counts per lead, split over types by the lead's probabilities, times uniform."""
    counts = rng.poisson(np.maximum(expected, 0))
    rows = np.flatnonzero(counts)
    if not len(rows):
        return _empty()
    split = rng.multinomial(counts[rows], probs[rows]).ravel()
    k = probs.shape[1]
    lead = np.repeat(np.repeat(rows, k), split)
    kind = np.repeat(np.tile(codes, len(rows)), split).astype(np.int16)
    start, stop = lo[lead], hi[lead]
    t = start + (rng.random(len(lead)) * (stop - start)).astype(np.int64)
    return {"lead": lead, "type": kind, "t": _office_hours(rng, t, start, stop)}


def _normalise(columns: list[np.ndarray]) -> np.ndarray:
    probs = np.column_stack(columns).astype(float)
    return probs / probs.sum(axis=1, keepdims=True)


def _window(start: np.ndarray, stop: np.ndarray, lo: int, hi: int):
    a = np.maximum(start, lo)
    b = np.minimum(stop, hi)
    return a, np.maximum(b, a)


def _scale(budget: float, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return max(budget, 0.0) / total if total > 0 else 0.0


def product_events(rng: np.random.Generator, leads: Frame, lo: int, hi: int, budget: float):
    signup, intent, fit = leads["signup_at"], leads["latent_intent"], leads["latent_fit"]
    milestones = (
        concat(
            _once(signup, P["trial_signup"], lo, hi),
            _once(leads["first_value_at"], P["first_value"], lo, hi),
        )
        or _empty()
    )
    a, b = _window(signup, np.minimum(leads["product_until"], NEVER - 1), lo, hi)
    weight = leads["rate_product"] * (b - a) / DAY
    probs = _normalise(
        [
            np.full(len(intent), 0.45),
            0.12 + 0.35 * intent,
            0.01 + 0.06 * intent * fit,
            0.005 + 0.04 * intent,
            0.003 + 0.05 * intent**2,
        ]
    )
    codes = np.array([P[name] for name in PRODUCT_RATED])
    scale = _scale(budget - length(milestones), weight)
    return concat(milestones, _rated(rng, weight * scale, probs, codes, a, b)) or _empty()


def _high_value_mix(leads: Frame) -> np.ndarray:
    intent, segment = leads["latent_intent"], leads["segment"]
    n = len(intent)
    probs = _normalise(
        [
            0.30 - 0.15 * intent,
            np.full(n, 0.12),
            0.12 + 0.25 * intent,
            np.full(n, 0.22),
            np.full(n, 0.10),
            0.005 + 0.05 * intent**2,
            0.003 + 0.03 * intent**2,
        ]
    )
    for group, row in (
        ("competitor", (0.15, 0.15, 0.35, 0.35, 0.0, 0.0, 0.0)),
        ("student", (0.4, 0.2, 0.0, 0.3, 0.1, 0.0, 0.0)),
        ("job_seeker", (0.3, 0.2, 0.1, 0.2, 0.2, 0.0, 0.0)),
    ):
        probs[segment == group] = row
    return probs


def marketing_events(rng: np.random.Generator, leads: Frame, lo: int, hi: int, budget: float):
    n = length(leads)
    created, sql_at = leads["created"], leads["sql_at"]
    ask = np.where(rng.random(n) < 0.75, M["demo_request"], M["contact_sales_request"])
    asked_at = np.where(
        leads["demo_before_sql"],
        np.maximum(sql_at - (rng.exponential(1.5, n) * DAY).astype(np.int64), created),
        NEVER,
    )
    fixed = [
        _once(leads["unsubscribe_at"], M["unsubscribe"], lo, hi),
        _once(leads["bounce_at"], M["email_bounce"], lo, hi),
    ]
    for code in (M["demo_request"], M["contact_sales_request"]):
        fixed.append(_once(np.where(ask == code, asked_at, NEVER), code, lo, hi))
    # Buying signals pile up in the three weeks before a lead agrees to talk to sales.
    surge_lo, surge_hi = _window(
        np.maximum(sql_at - 21 * DAY, created), np.where(sql_at < NEVER, sql_at, 0), lo, hi
    )
    surge = np.where(sql_at < NEVER, 3.0 * (surge_hi - surge_lo) / (21 * DAY), 0.0)
    high_value_probs = _high_value_mix(leads)
    high_value_codes = np.array([M[name] for name in HIGH_VALUE])
    fixed.append(_rated(rng, surge, high_value_probs, high_value_codes, surge_lo, surge_hi))
    careers_lo, careers_hi = _window(created, leads["careers_until"], lo, hi)
    careers = leads["rate_careers"] * (careers_hi - careers_lo) / DAY
    fixed.append(
        _rated(
            rng,
            careers,
            np.ones((n, 1)),
            np.array([M["careers_page_view"]]),
            careers_lo,
            careers_hi,
        )
    )
    fixed_events = concat(*fixed) or _empty()

    rest = budget - length(fixed_events)
    stop = np.minimum(np.minimum(leads["unsubscribe_at"], leads["bounce_at"]), NEVER - 1)
    trivial_lo, trivial_hi = _window(created, stop, lo, hi)
    trivial = leads["rate_trivial"] * (trivial_hi - trivial_lo) / DAY
    mailable = ~np.isin(leads["injected_error"], ("invalid_email", "disposable_email"))
    trivial_probs = _normalise([0.5 * mailable, np.full(n, 0.38), 0.12 * mailable])
    trivial_codes = np.array([M[name] for name in TRIVIAL])
    hv_lo, hv_hi = _window(created, leads["marketing_until"], lo, hi)
    high_value = leads["rate_high_value"] * (hv_hi - hv_lo) / DAY
    return (
        concat(
            fixed_events,
            _rated(
                rng,
                trivial * _scale(TRIVIAL_SHARE * rest, trivial),
                trivial_probs,
                trivial_codes,
                trivial_lo,
                trivial_hi,
            ),
            _rated(
                rng,
                high_value * _scale((1 - TRIVIAL_SHARE) * rest, high_value),
                high_value_probs,
                high_value_codes,
                hv_lo,
                hv_hi,
            ),
        )
        or _empty()
    )
