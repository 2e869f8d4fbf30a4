"""What is sent (``SyncRow``) and what the CRM answered for it (``Outcome``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class SyncRow:
    """One record as it would be written: ``properties`` are wire values by CRM field name."""

    record_id: str
    match_key: str
    properties: dict[str, Any]
    hash: str = ""
    lifecycle_stage: str | None = None
    create_fields: dict[str, Any] = field(default_factory=dict)  # new records only
    crm_id: str | None = None  # the CRM record's own id, when known: written by that id
    crm_object: str = ""  # Salesforce sObject of that record, when not the object's own
    # What a rep sees (``marts.material_view``): the score in whole points, and the other
    # material values by send reason; set for the rows that changed.
    shown_score: int | None = None
    material: dict[str, Any] = field(default_factory=dict)
    input_hash: str = ""  # the fingerprint of its inputs (``marts.read_mart``)

    def key(self, id_property: str) -> str:
        """The value the row is written by: its CRM id, or its match key (creation)."""
        is_id = id_property in ID_PROPERTIES.values()
        return self.crm_id if is_id and self.crm_id else self.match_key


ID_PROPERTIES = {"hubspot": "hs_object_id", "salesforce": "Id"}  # each CRM's record id
OWNER_PROPERTIES = {"hubspot": "hubspot_owner_id", "salesforce": "OwnerId"}  # a record's owner


@dataclass(frozen=True)
class Outcome:
    """The CRM's answer for one row: confirmed (with its CRM id), rejected or failed.

    rejected: the CRM refused the row's data (recorded, retried next run, dead-lettered);
    failed: nothing was confirmed (transient errors out of retries, daily limit, deadline):
    the row stays pending and is sent again next run; retry: send it again in this run, one
    request at a time (Salesforce ``UNABLE_TO_LOCK_ROW``, unprocessed Bulk rows).
    """

    record_id: str
    status: Literal["confirmed", "rejected", "failed", "retry"]
    crm_id: str | None = None
    created: bool | None = None
    error: str | None = None
