"""The sales reps every sandbox knows: HubSpot owners ``1001``..``1009`` and Salesforce users
2..10, ``rep01@example.com``..``rep09@example.com`` (the default roster's rep_01..rep_09)."""

from __future__ import annotations

REPS = [("Avery", "Stone"), ("Jordan", "Blake"), ("Riley", "Chen"), ("Morgan", "Diaz"),
        ("Casey", "Nguyen"), ("Jamie", "Park"), ("Taylor", "Reed"), ("Quinn", "Patel"),
        ("Drew", "Santos")]  # fmt: skip


def rep_email(number: int) -> str:
    """``rep01@example.com`` for the first rep (``number`` 1)."""
    return f"rep{number:02d}@example.com"
