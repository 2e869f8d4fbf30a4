"""Nightly CRM sync: lead and account scores into HubSpot or Salesforce (docs/crm-sync.md).

The lead's DAG calls ``preflight(target, settings)`` then
``run_sync(settings, target, run_id, dry_run=False, deadline_s=None)``; the target comes
from ``target_from_env()`` or ``target_from_connection(conn)`` (conn id ``lead_scoring_crm``).
"""

from lead_scoring.crm_sync.config import (
    CrmTarget,
    SyncOptions,
    target_from_connection,
    target_from_env,
)
from lead_scoring.crm_sync.engine import SyncResult, run_sync
from lead_scoring.crm_sync.errors import CrmPreflightError, CrmSyncError, QualityGateFailedError
from lead_scoring.crm_sync.preflight import preflight

__all__ = [
    "CrmPreflightError",
    "CrmSyncError",
    "CrmTarget",
    "QualityGateFailedError",
    "SyncOptions",
    "SyncResult",
    "preflight",
    "run_sync",
    "target_from_connection",
    "target_from_env",
]
