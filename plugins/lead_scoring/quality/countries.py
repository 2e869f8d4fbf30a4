"""Country values: ISO-3166 alpha-2 is canonical; common spellings are mapped to it.

A value resolves, in this order, through: the alpha-2/alpha-3/numeric code or English
name (``pycountry.countries.lookup``), a short list of colloquial names ("USA", "UK",
"Holland", "Russia"), and the country's name in the languages of the main markets, taken
from pycountry's own ISO-3166 translations ("Deutschland", "Allemagne", "España").
Accents, dots, case and a leading "the" do not matter.

A value that names no country but a region ("Europe", "EMEA", "APAC", "LATAM") or one of
the geo-IP placeholders that IP-to-country lookups write into exports ("Asia/Pacific
Region", "Anonymous Proxy", "Satellite Provider") is a *region*: a real answer, only too
coarse for a country. Anything else is no country.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

EMPTY, OK, NORMALISABLE, REGION, UNKNOWN = "empty", "ok", "normalisable", "region", "unknown"

# Languages whose country names are accepted (pycountry's gettext catalogues).
LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "sv", "da", "nb_NO", "fi", "pl", "cs")
COLLOQUIAL = {
    "usa": "US", "us of a": "US", "america": "US", "united states of america": "US",
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "holland": "NL", "russia": "RU", "turkey": "TR",
    "ivory coast": "CI", "macedonia": "MK", "korea": "KR", "north korea": "KP",
    "palestine": "PS", "vatican": "VA", "uae": "AE", "emirates": "AE", "burma": "MM",
    "swaziland": "SZ", "cape verde": "CV", "czech republic": "CZ", "persia": "IR",
}  # fmt: skip
# Regions, sales territories and geo-IP placeholders, as ``key`` writes them. A value that
# is also a country (an ISO code or name: "NA" is Namibia, "Antarctica" AQ) stays a country.
REGIONS = frozenset({
    "africa", "north africa", "sub saharan africa", "asia", "east asia", "south asia",
    "southeast asia", "south east asia", "central asia", "asia pacific", "asia pacific region",
    "asiapac", "apac", "apj", "anz", "australasia", "oceania", "europe", "eastern europe",
    "western europe", "northern europe", "southern europe", "central europe", "european union",
    "eu", "emea", "dach", "benelux", "nordics", "nordic countries", "scandinavia", "balkans",
    "middle east", "mena", "gcc", "americas", "amer", "north america", "south america",
    "central america", "latin america", "latam", "caribbean",
    # geo-IP placeholders (MaxMind's legacy pseudo-countries AP, EU, A1, A2)
    "ap", "anonymous proxy", "a1", "satellite provider", "a2",
})  # fmt: skip


def key(value: str) -> str:
    """Lower-case, accents and punctuation removed, single spaces, no leading "the"."""
    decomposed = unicodedata.normalize("NFKD", value.lower())
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace(".", "")
    text = " ".join(re.sub(r"[^\w]+", " ", text).split())
    return text.removeprefix("the ")


@lru_cache(maxsize=1)
def _translated_names() -> dict[str, str]:
    import gettext

    import pycountry

    found: dict[str, set[str]] = {}
    for language in LANGUAGES:
        catalogue = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
        )
        for country in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                english = getattr(country, attr, None)
                if english:
                    found.setdefault(key(catalogue.gettext(english)), set()).add(country.alpha_2)
    return {name: codes.pop() for name, codes in found.items() if len(codes) == 1 and name}


@lru_cache(maxsize=10_000)
def resolve(value: str) -> str | None:
    """The ISO-3166 alpha-2 code ``value`` names, or None."""
    import pycountry

    k = key(value)
    if not k:
        return None
    if k in COLLOQUIAL:
        return COLLOQUIAL[k]
    for candidate in (value.strip(), k):
        try:
            return pycountry.countries.lookup(candidate).alpha_2
        except LookupError:
            continue
    return _translated_names().get(k)


def is_region(value: str) -> bool:
    """Whether ``value`` names a region or geo-IP placeholder (and no country)."""
    return key(value) in REGIONS and resolve(value) is None


def country_status(values: pd.Series) -> pd.DataFrame:
    """``country_status`` (empty/ok/normalisable/region/unknown) and ``country_iso2``."""
    text = values.astype("str").fillna("")
    distinct = [v for v in text.unique() if v.strip()]
    codes = {v: resolve(v) for v in distinct}
    iso2 = text.map(codes)
    status = pd.Series(UNKNOWN, index=text.index, dtype="str")
    status[text.isin([v for v in distinct if is_region(v)])] = REGION
    status[iso2.notna()] = NORMALISABLE
    status[iso2.notna() & (iso2 == text)] = OK
    status[text.str.strip() == ""] = EMPTY
    return pd.DataFrame({"country_status": status, "country_iso2": iso2}, index=text.index)
