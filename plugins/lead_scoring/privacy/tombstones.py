"""Tombstones of forgotten people, and the filter that keeps them out of ``raw``.

``privacy.tombstones`` holds one row per forgotten identifier: a keyed hash
(HMAC-SHA256) of the normalised e-mail, of each CRM contact id and of each product user
id, never the value itself. The key is ``LEAD_SCORING_PRIVACY_KEY`` or, when unset, a
random key generated once and kept in ``<home>/.privacy_key`` (mode 0600).

``load_tombstones(settings)`` gives a ``Tombstones`` whose ``drop(table, rows)`` removes
the rows of forgotten people from a batch bound for a raw table (a list of dicts, an
Arrow table or record batch, or a pandas frame) and counts them. The extract
(sources/) and ``lead-scoring import`` (byod/) both call it before rows reach ``raw``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lead_scoring.settings import Settings
    from lead_scoring.warehouse import Warehouse

KEY_ENV = "LEAD_SCORING_PRIVACY_KEY"
KEY_FILE = ".privacy_key"
SCHEMA = "privacy"
TABLE = f"{SCHEMA}.tombstones"
EMAIL, CONTACT, PRODUCT_USER = "email", "contact_id", "product_user_id"
# Raw table -> the (column, kind) pairs that identify a person in its rows.
IDENTIFIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "crm_contacts": (("hs_object_id", CONTACT), ("email", EMAIL)),
    "crm_contact_attributes": (("hs_object_id", CONTACT), ("email", EMAIL)),
    "crm_deals": (("ls_contact_id", CONTACT),),
    "marketing_events": (("contact_id", CONTACT),),
    "product_users": (("user_id", PRODUCT_USER), ("email", EMAIL)),
    "product_events": (("user_id", PRODUCT_USER),),
    "crm_campaign_members": (("contact_id", CONTACT),),
    "crm_activities": (("contact_id", CONTACT),),
}


def normalise_email(value: Any) -> str:
    return str(value).strip().lower()


def normalise_id(value: Any) -> str:
    """An id as text: ``42``, ``42.0`` and ``" 42 "`` are all ``42``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def privacy_key(settings: Settings) -> bytes:
    """The secret key of the hashes: the environment's, else ``<home>/.privacy_key``
    (created once, readable by its owner only)."""
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return configured.encode()
    path = settings.home / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode()


def digest(key: bytes, kind: str, value: Any) -> str:
    """The keyed hash of one identifier (the kind is part of the message, so a contact id
    and a product user id with the same digits differ)."""
    text = normalise_email(value) if kind == EMAIL else normalise_id(value)
    return hmac.new(key, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()


def ensure_table(wh: Warehouse) -> None:
    wh.execute(f"create schema if not exists {SCHEMA}")
    wh.execute(
        f"create table if not exists {TABLE} (digest text primary key, kind text not null,"
        " forgotten_at timestamp not null)"
    )


def record_tombstones(wh: Warehouse, key: bytes, identifiers: Iterable[tuple[str, Any]]) -> int:
    """Add a tombstone per (kind, value) not recorded yet; returns how many were new."""
    import pandas as pd

    ensure_table(wh)
    rows = {digest(key, kind, value): kind for kind, value in identifiers if str(value).strip()}
    if not rows:
        return 0
    marks = ", ".join("?" * len(rows))
    known = set(wh.query_df(f"select digest from {TABLE} where digest in ({marks})",
                            list(rows))["digest"])  # fmt: skip
    new = {d: k for d, k in rows.items() if d not in known}
    if new:
        now = datetime.now(UTC).replace(tzinfo=None)
        frame = pd.DataFrame({"digest": list(new), "kind": list(new.values()),
                              "forgotten_at": [now] * len(new)})  # fmt: skip
        wh.write_df(frame, SCHEMA, "tombstones")
    return len(new)


@dataclass
class Tombstones:
    """The recorded tombstones, and how many rows ``drop`` removed per raw table."""

    key: bytes = b""
    digests: frozenset[str] = frozenset()
    skipped: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def forgotten(self, kind: str, value: Any) -> bool:
        if value is None or (isinstance(value, float) and value != value):
            return False
        text = str(value).strip()
        return bool(text) and digest(self.key, kind, text) in self.digests

    def _count(self, table: str, rows: int) -> None:
        if rows:
            with self._lock:
                self.skipped[table] = self.skipped.get(table, 0) + rows

    def drop(self, table: str, rows):
        """``rows`` (bound for ``raw.<table>``) without those of forgotten people."""
        columns = IDENTIFIERS.get(table)
        if not self.digests or not columns:
            return rows
        if isinstance(rows, list):
            kept = [
                row
                for row in rows
                if not any(self.forgotten(kind, row.get(col)) for col, kind in columns)
            ]
            self._count(table, len(rows) - len(kept))
            return kept
        if hasattr(rows, "schema") and hasattr(rows, "num_rows"):  # Arrow table / batch
            return self._drop_arrow(table, rows, columns)
        return self._drop_frame(table, rows, columns)

    def _hits(self, kind: str, values: Iterable[Any]) -> list[Any]:
        """The distinct ``values`` that belong to forgotten people."""
        return [v for v in values if self.forgotten(kind, v)]

    def _drop_arrow(self, table: str, rows, columns):
        import pyarrow as pa
        import pyarrow.compute as pc

        mask = None
        for col, kind in columns:
            if col not in rows.schema.names:
                continue
            values = rows.column(col)
            if kind == EMAIL:
                values = pc.utf8_lower(pc.utf8_trim_whitespace(values.cast(pa.string())))
            hits = self._hits(kind, pc.unique(values).to_pylist())
            if hits:
                found = pc.is_in(values, value_set=pa.array(hits, type=values.type))
                mask = found if mask is None else pc.or_(mask, found)
        if mask is None:
            return rows
        mask = pc.fill_null(mask, False)
        self._count(table, pc.sum(mask).as_py() or 0)
        return rows.filter(pc.invert(mask))

    def _drop_frame(self, table: str, rows, columns):
        mask = None
        for col, kind in columns:
            if col not in rows.columns:
                continue
            values = rows[col]
            if kind == EMAIL:
                values = values.astype("string").str.strip().str.lower()
            hits = set(self._hits(kind, values.dropna().unique()))
            if hits:
                found = values.isin(hits).fillna(False).astype(bool)
                mask = found if mask is None else (mask | found)
        if mask is None or not mask.any():
            return rows
        self._count(table, int(mask.sum()))
        return rows[~mask]


def load_tombstones(settings: Settings) -> Tombstones:
    """The tombstones recorded in the warehouse (none when it or the table does not exist)."""
    from lead_scoring.warehouse import open_warehouse

    if settings.warehouse == "duckdb" and not settings.warehouse_path.exists():
        return Tombstones()
    with open_warehouse(settings) as wh:
        if not wh.table_exists(SCHEMA, "tombstones"):
            return Tombstones()
        digests = frozenset(wh.query_df(f"select digest from {TABLE}")["digest"])
    return Tombstones(privacy_key(settings) if digests else b"", digests)


def skipped_message(tombstones: Tombstones) -> str | None:
    """``N records of forgotten people skipped`` (None when nothing was skipped)."""
    n = tombstones.skipped_total
    if not n:
        return None
    where = ", ".join(f"raw.{t} {c}" for t, c in sorted(tombstones.skipped.items()))
    return f"{n} records of forgotten people skipped ({where})"
