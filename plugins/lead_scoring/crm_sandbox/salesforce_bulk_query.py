"""Bulk API 2.0 query: create a job (``query`` or ``queryAll``), poll it, read its results
as CSV pages (``maxRecords``, ``locator``; headers ``Sforce-Locator`` and
``Sforce-NumberOfRecords``), abort or delete it.

A job advances one state per status request: ``UploadComplete`` -> ``InProgress`` ->
``JobComplete`` (the matching records are fixed then); each result page is read from the
store when asked for, so a million records stream a page at a time.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lead_scoring.crm_sandbox import salesforce_query
from lead_scoring.crm_sandbox.salesforce_bulk import (
    DELIMITERS,
    csv_format,
    found_job,
    json_body,
    new_job_id,
)
from lead_scoring.crm_sandbox.salesforce_schema import SalesforceError, sf_now

if TYPE_CHECKING:
    from lead_scoring.crm_sandbox.state import SandboxState

DEFAULT_MAX_RECORDS = 100_000  # a results page when the client names no maxRecords
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


@dataclass
class QueryJob:
    id: str
    operation: str
    plan: salesforce_query.Plan
    line_ending: str
    column_delimiter: str
    created: str
    state: str = "UploadComplete"
    rowids: Sequence[int] = ()

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.plan.object,
            "createdById": "005SANDBOX000000AAA",
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": 59.0,
            "jobType": "V2Query",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
            "numberRecordsProcessed": len(self.rowids),
            "retries": 0,
            "totalProcessingTime": 0,
            "isPkChunkingSupported": True,
        }


def encode_locator(position: int) -> str:
    """Salesforce's locators are opaque; these are the base64 of the next row's position."""
    return base64.b64encode(str(position).encode()).decode().rstrip("=")


def decode_locator(text: str) -> int:
    try:
        value = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        value = ""
    if not value.isdigit():
        raise SalesforceError(400, "INVALIDLOCATOR", f"Invalid locator: {text}")
    return int(value)


def _unsupported(query: Any) -> str | None:
    if query.subquery:
        return "Aggregate Relationships not supported in Bulk V2 Query with CSV content type."
    if query.count_only or query.aggregate:
        return "Aggregate queries are not supported in Bulk API 2.0 query."
    if query.group_by:
        return "GROUP BY is not supported in Bulk API 2.0 query."
    if query.offset is not None:
        return "OFFSET is not supported in Bulk API 2.0 query."
    return None


def query_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    jobs: dict[str, QueryJob] = state.query_jobs

    def job_or_404(job_id: str) -> QueryJob:
        return found_job(jobs, job_id)

    @router.post("")
    @router.post("/")
    async def create_job(request: Request):
        body = await json_body(request)
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            raise SalesforceError(
                400, "INVALIDJOB", f"Invalid operation {operation!r}: query or queryAll"
            )
        if not body.get("query"):
            raise SalesforceError(400, "INVALIDJOB", "query is required")
        delimiter, line_ending = csv_format(body)
        plan, query = salesforce_query.plan(
            state.salesforce, body["query"], all_rows=operation == "queryAll"
        )
        problem = _unsupported(query)
        if problem:
            raise SalesforceError(400, "API_ERROR", problem)
        job = QueryJob(
            id=new_job_id(),
            operation=operation,
            plan=plan,
            line_ending=line_ending,
            column_delimiter=delimiter,
            created=sf_now(),
        )
        jobs[job.id] = job
        return job.info()

    @router.get("")
    @router.get("/")
    async def list_jobs():
        return {"done": True, "records": [j.info() for j in jobs.values()], "nextRecordsUrl": None}

    @router.get("/{job_id}")
    async def get_job(job_id: str):
        job = job_or_404(job_id)
        if job.state == "UploadComplete":
            job.state = "InProgress"
        elif job.state == "InProgress":
            job.rowids = salesforce_query.snapshot(state.store, job.plan)
            job.state = "JobComplete"
        return job.info()

    @router.patch("/{job_id}")
    async def abort(request: Request, job_id: str):
        job = job_or_404(job_id)
        wanted = (json.loads(await request.body() or b"{}") or {}).get("state")
        if wanted != "Aborted" or job.state not in ("UploadComplete", "InProgress"):
            raise SalesforceError(
                400, "INVALIDJOBSTATE", f"Cannot move job {job_id} from {job.state} to {wanted}"
            )
        job.state = "Aborted"
        return job.info()

    @router.delete("/{job_id}")
    async def delete_job(job_id: str):
        job = job_or_404(job_id)
        if job.state not in ("JobComplete", "Aborted", "Failed"):
            raise SalesforceError(400, "INVALIDJOBSTATE", f"Job {job_id} is {job.state}")
        del jobs[job_id]
        return Response(status_code=204)

    @router.get("/{job_id}/results")
    async def results(job_id: str, maxRecords: int = DEFAULT_MAX_RECORDS, locator: str = ""):  # noqa: N803
        job = job_or_404(job_id)
        if job.state != "JobComplete":
            raise SalesforceError(
                400, "INVALIDJOBSTATE", f"Job {job_id} is {job.state}, not JobComplete"
            )
        if maxRecords < 1:
            raise SalesforceError(400, "INVALIDPARAMETER", "maxRecords must be positive")
        start = decode_locator(locator) if locator else 0
        end = min(start + maxRecords, len(job.rowids))
        text = salesforce_query.csv_text(
            state.store,
            job.plan,
            job.rowids[start:end],
            DELIMITERS[job.column_delimiter],
            LINE_ENDINGS[job.line_ending],
        )
        headers = {
            "Sforce-Locator": encode_locator(end) if end < len(job.rowids) else "null",
            "Sforce-NumberOfRecords": str(end - start),
        }
        return Response(text, media_type="text/csv", headers=headers)

    return router
