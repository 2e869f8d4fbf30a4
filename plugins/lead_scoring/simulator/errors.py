"""Inaccurate data, injected at configured rates and labelled in the ground truth."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lead_scoring.simulator.catalogue import (
    COUNTRY_GARBAGE,
    COUNTRY_VARIANTS,
    DEFAULT_ERROR_RATES,
    PERSONAL_DOMAINS,
    PERSONAL_SHARES,
    PLACEHOLDER_NAMES,
)
from lead_scoring.simulator.frames import DAY, Frame, pick, stochastic_round
from lead_scoring.simulator.pools import Pools

# Lead-level errors, chosen in this order among leads that have none yet (one per lead).
LEAD_ORDER = (
    "invalid_email",
    "disposable_email",
    "personal_email",
    "placeholder_name",
    "bad_country",
    "normalisable_country",
    "future_created_at",
)
MAX_RATE = 0.5


class SimulatorError(ValueError):
    """A simulation cannot run with the given parameters or home folder."""


def resolve_rates(overrides: dict[str, float] | None) -> dict[str, float]:
    rates = dict(DEFAULT_ERROR_RATES)
    for name, value in (overrides or {}).items():
        if name not in rates:
            raise SimulatorError(
                f"error_rates: unknown error {name!r} (known: {', '.join(sorted(rates))})"
            )
        if not 0.0 <= float(value) <= MAX_RATE:
            raise SimulatorError(
                f"error_rates: {name} must be between 0 and {MAX_RATE}, got {value!r}"
            )
        rates[name] = float(value)
    lead_total = sum(rates[k] for k in LEAD_ORDER) + rates["duplicate_lead"]
    if lead_total > 0.9:
        raise SimulatorError(f"error_rates: lead error rates sum to {lead_total:.2f} (max 0.9)")
    return rates


class Context(NamedTuple):
    pools: Pools
    as_of: int  # epoch seconds: the end of the simulated history


def assign_lead_errors(
    rng: np.random.Generator, leads: Frame, rates: dict[str, float], n_total: int, ctx: Context
) -> None:
    """Label leads (one error each) and corrupt the wire values the label names.

    Rates are shares of all ``n_total`` leads (duplicates included), so the frame of
    originals gets ``rate * n_total`` of each kind.
    """
    label = leads["injected_error"]
    segment = leads["segment"]
    for kind in LEAD_ORDER:
        free = np.flatnonzero(label == "")
        weights = None
        if kind == "personal_email":  # job seekers mostly write from a private mailbox
            seg = segment[free]
            weights = np.select([seg == "job_seeker", seg == "buyer"], [10.0, 1.0], 0.0)
        chosen = pick(rng, free, stochastic_round(rng, rates[kind] * n_total), weights)
        label[chosen] = kind
        _CORRUPT[kind](rng, leads, chosen, ctx)


def _local(email: str) -> str:
    return email.rsplit("@", 1)[0]


def _invalid(rng, leads: Frame, idx: np.ndarray, ctx: Context) -> None:
    forms = (
        lambda local, dom: f"{local}{dom}",
        lambda local, dom: f"{local} at {dom}",
        lambda local, dom: f"{local}@@{dom}",
        lambda local, dom: f"{local}@{dom.split('.')[0]}",
        lambda local, dom: f"{local}@{dom.replace('.', ',', 1)}",
        lambda local, dom: f"{local.replace('.', ' ', 1) or local + ' x'}@{dom}",
        lambda local, dom: f"{local}@{dom}.",
    )
    which = rng.integers(0, len(forms), len(idx))
    for i, form in zip(idx, which, strict=True):
        local, domain = leads["email"][i].rsplit("@", 1)
        if form == 5 and "." not in local:
            form = 2
        leads["email"][i] = forms[form](local, domain)
    leads["email_type"][idx] = "invalid"


def _disposable(rng, leads: Frame, idx: np.ndarray, ctx: Context) -> None:
    domains = ctx.pools.disposable_domains
    chosen = domains[rng.integers(0, len(domains), len(idx))]
    leads["email"][idx] = [
        f"{_local(e)}@{d}" for e, d in zip(leads["email"][idx], chosen, strict=True)
    ]
    leads["email_type"][idx] = "disposable"


def personal_addresses(rng, locals_: list[str]) -> list[str]:
    shares = np.array(PERSONAL_SHARES) / sum(PERSONAL_SHARES)
    domains = rng.choice(len(PERSONAL_DOMAINS), size=len(locals_), p=shares)
    digits = rng.integers(1, 99, len(locals_))
    with_digits = rng.random(len(locals_)) < 0.5
    return [
        f"{local}{d if w else ''}@{PERSONAL_DOMAINS[k]}"
        for local, d, w, k in zip(locals_, digits, with_digits, domains, strict=True)
    ]


def _personal(rng, leads: Frame, idx: np.ndarray, ctx: Context) -> None:
    locals_ = [_local(e) for e in leads["email"][idx]]
    leads["email"][idx] = personal_addresses(rng, locals_)
    leads["email_type"][idx] = "personal"


def _placeholder(rng, leads: Frame, idx: np.ndarray, ctx: Context) -> None:
    which = rng.integers(0, len(PLACEHOLDER_NAMES) + 2, len(idx))
    for i, k in zip(idx, which, strict=True):
        if k >= len(PLACEHOLDER_NAMES):  # the e-mail address typed into the name field
            leads["firstname"][i], leads["lastname"][i] = leads["email"][i], ""
        else:
            leads["firstname"][i], leads["lastname"][i] = PLACEHOLDER_NAMES[k]


def _bad_country(rng, leads: Frame, idx: np.ndarray, ctx: Context) -> None:
    leads["wire_country"][idx] = np.array(COUNTRY_GARBAGE, dtype=object)[
        rng.integers(0, len(COUNTRY_GARBAGE), len(idx))
    ]


def _variant_country(rng, leads: Frame, idx: np.ndarray, ctx: Context) -> None:
    variants = np.array(list(COUNTRY_VARIANTS), dtype=object)
    chosen = variants[rng.integers(0, len(variants), len(idx))]
    leads["wire_country"][idx] = chosen
    leads["country"][idx] = [COUNTRY_VARIANTS[v] for v in chosen]


def _future_created(rng, leads: Frame, idx: np.ndarray, ctx: Context) -> None:
    ahead = rng.integers(DAY, 365 * DAY, len(idx))
    leads["wire_created"][idx] = ctx.as_of + ahead


_CORRUPT = {
    "invalid_email": _invalid,
    "disposable_email": _disposable,
    "personal_email": _personal,
    "placeholder_name": _placeholder,
    "bad_country": _bad_country,
    "normalisable_country": _variant_country,
    "future_created_at": _future_created,
}


def duplicate_email(rng, emails: np.ndarray) -> np.ndarray:
    """The same address typed again: other letter case and/or stray whitespace."""
    forms = (
        lambda e: e.upper(),
        lambda e: f" {e}",
        lambda e: f"{e}  ",
        lambda e: f"{e[0].swapcase()}{e[1:]} ",
        lambda e: e.title(),
    )
    which = rng.integers(0, len(forms), len(emails))
    out = [forms[k](e) for e, k in zip(emails, which, strict=True)]
    return np.array(
        [o if o != e else f" {e}" for o, e in zip(out, emails, strict=True)], dtype=object
    )


def event_error_slots(
    rng: np.random.Generator, n: int, rates: dict[str, float]
) -> dict[str, np.ndarray]:
    """Disjoint sets of event positions for each event-level error."""
    counts = {
        k: stochastic_round(rng, rates[k] * n)
        for k in ("unknown_lead", "future_event", "unknown_event_type")
    }
    total = min(n, sum(counts.values()))
    chosen = rng.choice(n, size=total, replace=False) if total else np.zeros(0, np.int64)
    slots, start = {}, 0
    for kind, count in counts.items():
        slots[kind] = np.sort(chosen[start : start + count])
        start += count
    return slots
