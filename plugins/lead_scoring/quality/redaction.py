"""Redaction of the values the quality tables report: enough to find and fix a record,
without holding the personal value.

One table, ``FIELDS``, says how each reported field is shown (docs/privacy.md):

* ``email`` (email): the first character of the local part and the whole domain,
  ``j***@acme.com`` (``j***`` when there is no ``@``);
* ``phone`` (phone): the country code and the last 2 digits, other digits as ``*``,
  ``+1 ********71``;
* ``name`` (name, firstname, lastname): per word the first letter and the rest as ``*``
  (so its length), ``M***** M****``;
* ``keep`` (country, dates, numbers, deal stages, record ids, event types, attribute
  names, kinds and dates): as is, not personal.

A field not in the table is treated as personal: its first character and ``***``.
Redaction is idempotent (a redacted value redacts to itself), so a table can be redacted
again at any time.

The full value is kept only in ``quality.quarantine`` and only with
``LEAD_SCORING_DQ_KEEP_VALUES=true`` and ``LEAD_SCORING_DQ_VALUE_RETENTION_DAYS`` (config.py):
a quarantine row first seen longer ago than the retention is redacted by the next gate run.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

EMAIL, PHONE, NAME, KEEP, OTHER = "email", "phone", "name", "keep", "other"
FIELDS: dict[str, str] = {
    "email": EMAIL,
    "phone": PHONE,
    "name": NAME, "firstname": NAME, "lastname": NAME,
    # not personal: a country, dates, numbers, stages, ids, event types, attribute rows
    "country": KEEP, "createdate": KEEP, "signed_up_at": KEEP, "occurred_at": KEEP,
    "numberofemployees": KEEP, "dealstage": KEEP, "event_type": KEEP,
    "ls_contact_id": KEEP, "user_id": KEEP, "contact_id": KEEP,
    "hs_object_id": KEEP, "attribute": KEEP, "kind": KEEP, "valid_from": KEEP,
}  # fmt: skip
MASK = "*"
_EXTENSION = re.compile(r";ext=.*$")


def field_kind(field: str) -> str:
    return FIELDS.get(field, OTHER)


def is_personal(field: str) -> bool:
    return field_kind(field) != KEEP


@lru_cache(maxsize=1)
def _calling_codes() -> frozenset[str]:
    import phonenumbers

    return frozenset(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _email(text: str) -> str:
    local, at, domain = text.strip().rpartition("@")
    if not at:
        return f"{domain[:1]}***" if domain else ""
    return f"{local[:1]}***@{domain}"


def _phone(text: str) -> str:
    """``+<country code> `` when the number has one, every digit masked but the last two."""
    text = _EXTENSION.sub("", text.strip())
    prefix, rest = "", text
    if text.startswith("+"):
        lead = re.match(r"\+(\d*)", text).group(1)
        code = next((lead[:n] for n in (1, 2, 3) if lead[:n] in _calling_codes()), "")
        prefix, rest = (f"+{code} " if code else "+"), text[1 + len(code) :]
    digits = re.sub(r"[^0-9*]", "", rest)  # a masked digit counts as a digit
    shown = digits[-2:] if len(digits) > 4 else ""
    return prefix + MASK * (len(digits) - len(shown)) + shown or MASK * 3


def _name(text: str) -> str:
    return " ".join(word[:1] + MASK * (len(word) - 1) for word in text.split())


def redact(field: str, value) -> str | None:
    """``value`` of ``field`` as the quality tables show it by default."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    kind = field_kind(field)
    if kind == KEEP or not text.strip():
        return text
    if kind == EMAIL:
        return _email(text)
    if kind == PHONE:
        return _phone(text)
    if kind == NAME:
        return _name(text)
    return f"{text.strip()[:1]}***"


def redact_column(rows: pd.DataFrame, column: str, where: pd.Series | None = None) -> pd.DataFrame:
    """``rows`` with ``column`` redacted by each row's ``field`` (only where ``where``)."""
    if rows.empty:
        return rows
    rows = rows.copy()
    chosen = rows["field"].map(is_personal).astype(bool)
    if where is not None:
        chosen &= where.to_numpy(dtype=bool)
    if chosen.any():
        picked = rows.loc[chosen, ["field", column]]
        rows.loc[chosen, column] = [redact(f, v) for f, v in picked.itertuples(index=False)]
    return rows
