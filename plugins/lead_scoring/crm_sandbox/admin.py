"""``/_sandbox/...``: faults, stats and reset, on both servers; the sandbox token, no limits."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from lead_scoring.crm_sandbox.faults import UnknownFaultError
from lead_scoring.crm_sandbox.state import bearer_token

if TYPE_CHECKING:
    from lead_scoring.crm_sandbox.state import SandboxState


def admin_router(state: SandboxState) -> APIRouter:
    def require_token(request: Request) -> None:
        token = bearer_token(request) or ""
        if not hmac.compare_digest(token.encode(), state.token.encode()):
            raise HTTPException(
                401,
                "The sandbox admin endpoints need the sandbox token (Authorization: Bearer ...)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    router = APIRouter(prefix="/_sandbox", dependencies=[Depends(require_token)])

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
