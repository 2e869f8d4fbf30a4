"""E-mail syntax check of both CRMs (``email-validator``), remembered per address.

Validation is the largest cost of a batch write; a re-sync sends the same addresses again.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, validate_email


@lru_cache(maxsize=65_536)
def is_valid_email(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
