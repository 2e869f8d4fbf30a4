"""What both servers share: the store, faults, limits, counters and the token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.routing import Match

from lead_scoring.crm_sandbox import hubspot_schema
from lead_scoring.crm_sandbox.faults import Faults, RateLimiter, Stats
from lead_scoring.crm_sandbox.salesforce_load import seed_users
from lead_scoring.crm_sandbox.salesforce_schema import SalesforceSchema
from lead_scoring.crm_sandbox.store import CrmStore

DEFAULT_TOKEN = "sandbox-token"
TOKEN_ENV = "LEAD_SCORING_CRM_TOKEN"


@dataclass
class SandboxState:
    store: CrmStore
    token: str = field(repr=False)
    limiter: RateLimiter
    salesforce: SalesforceSchema
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    bulk_jobs: dict[str, Any] = field(default_factory=dict)
    query_jobs: dict[str, Any] = field(default_factory=dict)  # Bulk API 2.0 query jobs
    query_cursors: dict[str, Any] = field(default_factory=dict)  # /query locators
    search_result_cap: int = 10_000

    # -- HubSpot properties: defaults plus the ones created through the API ----------------
    def hubspot_properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        return {
            **hubspot_schema.default_properties(object_type),
            **self.store.property_defs(object_type),
        }

    def hubspot_groups(self, object_type: str) -> dict[str, dict[str, Any]]:
        default = hubspot_schema.DEFAULT_GROUPS[object_type]
        return {
            default: hubspot_schema.group_definition(default, default.title(), 0),
            **self.store.property_groups(object_type),
        }

    def reset(self) -> None:
        """Every record, fault, counter and job gone; the org's Users seeded again."""
        self.store.clear()
        seed_users(self.store)
        self.faults.clear()
        self.stats.reset()
        self.limiter.reset()
        self.bulk_jobs.clear()
        self.query_jobs.clear()
        self.query_cursors.clear()

    def snapshot(self) -> dict[str, Any]:
        data = self.stats.snapshot()
        data["records"] = self.store.counts()
        data["bulk_jobs"] = {
            state: sum(1 for job in self.bulk_jobs.values() if job.state == state)
            for state in sorted({job.state for job in self.bulk_jobs.values()})
        }
        return data


def correlation_id() -> str:
    return str(uuid.uuid4())


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def route_template(request: Request) -> str:
    """The matched route's path template (``/crm/v3/objects/{object_type}``), for stats."""
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return f"{request.method} {getattr(route, 'path', request.url.path)}"
    return f"{request.method} (unmatched)"
