"""Phone numbers: parsed with phonenumbers, format-checked, canonical form E.164.

A number without ``+`` is read in the contact's country (its normalised ISO code), else
in the configured default region. A number is invalid when phonenumbers cannot parse it
or it is not a possible number (wrong length for its country code); whether the number
range is allocated (``is_valid_number``) is not checked: that doubles the cost and is a
question for the dialler, not for the lead's format. Extensions are kept RFC 3966 style
(``;ext=123``). Parsing costs ~25 us a number, so distinct numbers are spread over worker
processes when there are many.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where used: worker processes only parse numbers
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
        if not phonenumbers.is_possible_number(number):
            out.append((INVALID, None))
            continue
        canonical = phonenumbers.format_number(number, e164)
        if number.extension:
            canonical += f";ext={number.extension}"
        out.append((OK if canonical == raw else NORMALISABLE, canonical))
    return out


def _classify_all(pairs: list[tuple[str, str]], workers: int) -> list[tuple[str, str | None]]:
    """This process checks one share, ``workers - 1`` spawned processes the others."""
    if workers <= 1 or len(pairs) < PARALLEL_FROM:
        return classify(pairs)
    shares = [pairs[i::workers] for i in range(workers)]
    log.info("checking %d distinct phone numbers in %d processes", len(pairs), workers)
    # spawn, not fork: the parent holds DuckDB and Arrow threads
    with ProcessPoolExecutor(workers - 1, mp_context=get_context("spawn")) as pool:
        pending = [pool.submit(classify, share) for share in shares[1:]]
        results = [classify(shares[0])] + [future.result() for future in pending]
    out: list[tuple[str, str | None]] = [(INVALID, None)] * len(pairs)
    for i, share in enumerate(results):
        out[i::workers] = share
    return out


def phone_status(phones: pd.Series, regions: pd.Series, workers: int = 1) -> pd.DataFrame:
    """``phone_status`` (empty/ok/normalisable/invalid) and ``phone_e164`` per row."""
    import pandas as pd

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
