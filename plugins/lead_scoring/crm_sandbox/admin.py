"""``/_sandbox/...``: faults, stats and reset, on both servers, and Salesforce setup on its
server; the sandbox token, no limits."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from lead_scoring.crm_sandbox.faults import UnknownFaultError
from lead_scoring.crm_sandbox.state import bearer_token

if TYPE_CHECKING:
    from lead_scoring.crm_sandbox.state import SandboxState


def _guarded_router(state: SandboxState, prefix: str) -> APIRouter:
    def require_token(request: Request) -> None:
        token = bearer_token(request) or ""
        if not hmac.compare_digest(token.encode(), state.token.encode()):
            raise HTTPException(
                401,
                "The sandbox admin endpoints need the sandbox token (Authorization: Bearer ...)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return APIRouter(prefix=prefix, dependencies=[Depends(require_token)])


def admin_router(state: SandboxState) -> APIRouter:
    router = _guarded_router(state, "/_sandbox")

    @router.get("/health")
    async def health():
        return {"status": "ok"}

    @router.get("/faults")
    async def get_faults():
        return state.faults.snapshot()

    @router.post("/faults")
    async def set_faults(request: Request):
        body = await request.json()
        try:
            return state.faults.set(**body)
        except UnknownFaultError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    @router.delete("/faults")
    async def clear_faults():
        state.faults.clear()
        return state.faults.snapshot()

    @router.get("/stats")
    async def stats():
        return state.snapshot()

    @router.post("/reset")
    async def reset():
        state.reset()
        return state.snapshot()

    return router


def salesforce_admin_router(state: SandboxState) -> APIRouter:
    """``/_sandbox/salesforce/...``: what Salesforce does outside its REST API (lead
    conversion, custom field setup)."""
    from lead_scoring.crm_sandbox.salesforce_convert import convert_lead
    from lead_scoring.crm_sandbox.salesforce_schema import declare_custom_field

    router = _guarded_router(state, "/_sandbox/salesforce")

    @router.post("/convert-lead")
    async def convert(request: Request):
        body = await request.json()
        if not body.get("leadId"):
            return JSONResponse({"error": "leadId is required"}, status_code=400)
        return convert_lead(
            state.store,
            body["leadId"],
            account_id=body.get("accountId"),
            create_opportunity=body.get("createOpportunity", True),
            opportunity_name=body.get("opportunityName"),
        )

    @router.post("/custom-fields")
    async def custom_field(request: Request):
        body = await request.json()
        try:
            return declare_custom_field(
                state.store,
                body.get("object", ""),
                body.get("name", ""),
                body.get("type", ""),
                label=body.get("label", ""),
                length=body.get("length", 255),
                external_id=body.get("externalId", False),
                picklist=body.get("picklistValues", ()),
            )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return router
