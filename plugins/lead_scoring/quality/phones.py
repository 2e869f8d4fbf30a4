"""Phone numbers: parsed and validated with phonenumbers, canonical form E.164.

A number without ``+`` is read in the contact's country (its normalised ISO code), else
in the configured default region. Extensions are kept RFC 3966 style (``;ext=123``).
Parsing costs ~50 us a number, so distinct numbers are spread over worker processes
when there are many.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pandas as pd

log = logging.getLogger(__name__)

EMPTY, OK, NORMALISABLE, INVALID = "empty", "ok", "normalisable", "invalid"
PARALLEL_FROM = 20_000  # distinct numbers; below this one process is faster


def classify(pairs: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """(status, E.164 form) for each (raw number, region) pair."""
    import phonenumbers

    e164 = phonenumbers.PhoneNumberFormat.E164
    out: list[tuple[str, str | None]] = []
    for raw, region in pairs:
        text = raw.strip()
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            out.append((INVALID, None))
            continue
        if not phonenumbers.is_valid_number(number):
            out.append((INVALID, None))
            continue
        canonical = phonenumbers.format_number(number, e164)
        if number.extension:
            canonical += f";ext={number.extension}"
        out.append((OK if canonical == raw else NORMALISABLE, canonical))
    return out


def _classify_all(pairs: list[tuple[str, str]], workers: int) -> list[tuple[str, str | None]]:
    if workers <= 1 or len(pairs) < PARALLEL_FROM:
        return classify(pairs)
    chunks = [pairs[i :: workers * 4] for i in range(workers * 4)]
    log.info("checking %d distinct phone numbers in %d processes", len(pairs), workers)
    # spawn: forking a process that holds DuckDB/Airflow threads is not safe
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(classify, chunks))
    out: list[tuple[str, str | None]] = [(INVALID, None)] * len(pairs)
    for i, chunk_result in enumerate(results):
        out[i :: workers * 4] = chunk_result
    return out


def phone_status(phones: pd.Series, regions: pd.Series, workers: int = 1) -> pd.DataFrame:
    """``phone_status`` (empty/ok/normalisable/invalid) and ``phone_e164`` per row."""
    text = phones.astype("str").fillna("")
    present = text.str.strip() != ""
    frame = pd.DataFrame({"raw": text[present], "region": regions[present].astype("str")})
    distinct = frame.drop_duplicates()
    verdicts = _classify_all(list(distinct.itertuples(index=False, name=None)), workers)
    distinct = distinct.assign(status=[v[0] for v in verdicts], e164=[v[1] for v in verdicts])
    merged = frame.merge(distinct, on=["raw", "region"], how="left")
    status = pd.Series(EMPTY, index=text.index, dtype="str")
    e164 = pd.Series(None, index=text.index, dtype="str")
    status[present] = merged["status"].to_numpy()
    e164[present] = merged["e164"].to_numpy(dtype=object)
    return pd.DataFrame({"phone_status": status, "phone_e164": e164}, index=text.index)


def regions_for(iso2: pd.Series, default_region: str) -> pd.Series:
    """The region to read each number in: the contact's country if phonenumbers knows it."""
    import phonenumbers

    known = iso2.isin(list(phonenumbers.SUPPORTED_REGIONS))
    return iso2.where(known, default_region).astype("str")
