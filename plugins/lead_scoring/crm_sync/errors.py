"""The CRM sync's exceptions: each carries one message a user can act on."""

from __future__ import annotations


class CrmSyncError(RuntimeError):
    """A CRM sync problem a user can fix (configuration, CRM schema, data)."""


class CrmPreflightError(CrmSyncError):
    """Credentials, a CRM property/field or the match key are not usable: nothing was written."""


class QualityGateFailedError(CrmSyncError):
    """The latest quality gate run failed, so the scores must not reach the CRM."""


class DailyLimitReached(Exception):
    """The CRM's daily request quota is spent: stop now, resume on the next run."""


class DeadlineReached(Exception):
    """The run's deadline passed while waiting to send."""
