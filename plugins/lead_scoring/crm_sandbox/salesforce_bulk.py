"""Bulk API 2.0 ingest (upsert, update by Id): create job, upload CSV, UploadComplete, poll,
read result files.

A job advances one state per status request once uploaded: ``UploadComplete`` ->
``InProgress`` (the records are processed then) -> ``JobComplete`` or ``Failed``.
Nothing runs until the client sets ``UploadComplete``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lead_scoring.crm_sandbox.salesforce_schema import SalesforceError, sf_now

if TYPE_CHECKING:
    from lead_scoring.crm_sandbox.salesforce_api import SalesforceService
    from lead_scoring.crm_sandbox.state import SandboxState

MAX_UPLOAD_BYTES = 150 * 1024 * 1024
CHUNK = 200  # records processed per internal batch, as Salesforce does
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
              "BACKQUOTE": "`"}  # fmt: skip
RESULT_KINDS = {"successfulresults": "successful", "failedresults": "failed",
                "unprocessedrecords": "unprocessed"}  # fmt: skip


@dataclass
class IngestJob:
    id: str
    object: str
    operation: str
    external_id_field: str | None
    line_ending: str
    column_delimiter: str
    concurrency_mode: str
    created: str
    state: str = "Open"
    data: str | None = None
    header: list[str] = field(default_factory=list)
    successful: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    unprocessed: list[dict[str, str]] = field(default_factory=list)
    error_message: str | None = None

    def info(self) -> dict[str, Any]:
        processed = len(self.successful) + len(self.failed)
        body = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": "005SANDBOX000000AAA",
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": self.concurrency_mode,
            "contentType": "CSV",
            "apiVersion": 59.0,
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
            "numberRecordsProcessed": processed,
            "numberRecordsFailed": len(self.failed),
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


def csv_format(body: dict) -> tuple[str, str]:
    """A Bulk job's ``columnDelimiter`` and ``lineEnding`` (CSV only), or INVALIDJOB."""
    if body.get("contentType", "CSV") != "CSV":
        raise SalesforceError(400, "INVALIDJOB", "contentType must be CSV")
    delimiter = body.get("columnDelimiter", "COMMA")
    line_ending = body.get("lineEnding", "LF")
    if delimiter not in DELIMITERS or line_ending not in ("LF", "CRLF"):
        raise SalesforceError(
            400, "INVALIDJOB", f"bad columnDelimiter/lineEnding: {delimiter}/{line_ending}"
        )
    return delimiter, line_ending


def new_job_id() -> str:
    """A Bulk job id, shaped like Salesforce's (prefix 750, 18 characters)."""
    return "750" + uuid.uuid4().hex[:12].upper() + "AAA"


def found_job(jobs: dict[str, Any], job_id: str) -> Any:
    """A Bulk job by id, or Salesforce's 404."""
    job = jobs.get(job_id)
    if job is None:
        raise SalesforceError(404, "NOT_FOUND", f"Job {job_id} does not exist")
    return job


async def json_body(request: Request) -> dict[str, Any]:
    """A request's JSON body, or Salesforce's 400 JSON_PARSER_ERROR."""
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Invalid JSON: {exc}") from exc


def bulk_router(state: SandboxState, service: SalesforceService) -> APIRouter:

    router = APIRouter()

    def job_or_404(job_id: str) -> IngestJob:
        return found_job(state.bulk_jobs, job_id)

    @router.post("")
    @router.post("/")
    async def create_job(request: Request):
        body = await json_body(request)
        obj, operation = body.get("object"), body.get("operation")
        if not obj or service.schema.fields(obj) is None:
            raise SalesforceError(400, "INVALIDENTITY", f"Entity '{obj}' is not supported")
        if operation not in ("upsert", "update"):
            raise SalesforceError(
                400,
                "FEATURENOTENABLED",
                f"operation {operation!r}: the sandbox supports upsert and update",
            )
        external = None
        if operation == "upsert":
            if not body.get("externalIdFieldName"):
                raise SalesforceError(
                    400, "INVALIDJOB", "externalIdFieldName is required for upsert"
                )
            external = service.external_field(obj, body["externalIdFieldName"])
        delimiter, line_ending = csv_format(body)
        mode = body.get("concurrencyMode", "Parallel")
        if mode not in ("Parallel", "Serial"):
            raise SalesforceError(400, "INVALIDJOB", f"concurrencyMode {mode!r}")
        job = IngestJob(
            id=new_job_id(),
            object=obj,
            operation=operation,
            external_id_field=external,
            line_ending=line_ending,
            column_delimiter=delimiter,
            concurrency_mode=mode,
            created=sf_now(),
        )
        state.bulk_jobs[job.id] = job
        return job.info()

    @router.get("")
    @router.get("/")
    async def list_jobs():
        return {
            "done": True,
            "records": [job.info() for job in state.bulk_jobs.values()],
            "nextRecordsUrl": None,
        }

    @router.put("/{job_id}/batches")
    @router.put("/{job_id}/batches/")
    async def upload(request: Request, job_id: str):
        job = job_or_404(job_id)
        if job.state != "Open" or job.data is not None:
            raise SalesforceError(
                409,
                "INVALIDJOBSTATE",
                f"Job {job_id} is {job.state}; data can be uploaded once, while the job is Open",
            )
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_UPLOAD_BYTES:
            raise SalesforceError(400, "LIMIT_EXCEEDED", f"upload of {size} bytes exceeds 150 MB")
        data = await request.body()
        if len(data) > MAX_UPLOAD_BYTES:
            raise SalesforceError(
                400, "LIMIT_EXCEEDED", f"upload of {len(data)} bytes exceeds 150 MB"
            )
        job.data = data.decode("utf-8-sig")
        return Response(status_code=201)

    @router.patch("/{job_id}")
    async def set_state(request: Request, job_id: str):
        job = job_or_404(job_id)
        wanted = (json.loads(await request.body() or b"{}") or {}).get("state")
        if wanted == "UploadComplete" and job.state == "Open":
            job.state = "UploadComplete"
        elif wanted == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
            if job.data is not None:
                job.header, rows = _parse(job)
                job.unprocessed = rows
        else:
            raise SalesforceError(
                400, "INVALIDJOBSTATE", f"Cannot move job {job_id} from {job.state} to {wanted}"
            )
        return job.info()

    @router.get("/{job_id}")
    async def get_job(job_id: str):
        job = job_or_404(job_id)
        if job.state == "UploadComplete":
            job.state = "InProgress"
        elif job.state == "InProgress":
            _process(job, service, state)
        return job.info()

    @router.delete("/{job_id}")
    async def delete_job(job_id: str):
        job = job_or_404(job_id)
        if job.state not in ("UploadComplete", "JobComplete", "Aborted", "Failed"):
            raise SalesforceError(400, "INVALIDJOBSTATE", f"Job {job_id} is {job.state}")
        del state.bulk_jobs[job_id]
        return Response(status_code=204)

    @router.get("/{job_id}/{kind}")
    @router.get("/{job_id}/{kind}/")
    async def results(job_id: str, kind: str):
        job = job_or_404(job_id)
        which = RESULT_KINDS.get(kind.lower())
        if which is None:
            raise SalesforceError(404, "NOT_FOUND", f"Unknown resource {kind}")
        rows = getattr(job, which)
        extra = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"],
                 "unprocessed": []}[which]  # fmt: skip
        return Response(_to_csv(extra + job.header, rows), media_type="text/csv")

    return router


def _parse(job: IngestJob) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(job.data or "", newline=""),
                        delimiter=DELIMITERS[job.column_delimiter])  # fmt: skip
    rows = [r for r in reader if r]
    if not rows:
        return [], []
    header = rows[0]
    return header, [dict(zip(header, r, strict=False)) for r in rows[1:]]


def _process(job: IngestJob, service: SalesforceService, state: SandboxState) -> None:
    header, rows = _parse(job)
    job.header = header
    unknown = [h for h in header if service.schema.field(job.object, h) is None]
    if not header or not rows:
        return _fail(job, rows, "InvalidBatch : No data found in the uploaded CSV")
    if unknown:
        return _fail(job, rows, f"InvalidBatch : Field name not found : {unknown[0]}")
    external = job.external_id_field or "Id"
    if external.lower() not in [h.lower() for h in header]:
        return _fail(job, rows, f"InvalidBatch : The External ID field {external} was not"
                     " found in the header")  # fmt: skip
    parallel = job.concurrency_mode == "Parallel"
    fail_after = state.faults.take_bulk_fail_after()
    end = len(rows) if fail_after is None else min(fail_after, len(rows))
    for start in range(0, end, CHUNK):
        chunk = rows[start : min(start + CHUNK, end)]
        records = [
            {k: (None if v == "#N/A" else v) for k, v in row.items() if v != ""} for row in chunk
        ]
        try:
            outcomes = service.write(
                job.object, records, mode=job.operation, external_field=external,
                locked=state.faults.locks_row if parallel else None,
            )  # fmt: skip
        except SalesforceError as exc:
            return _fail(job, rows[start:], f"{exc.code} : {exc}")
        for row, outcome in zip(chunk, outcomes, strict=True):
            if outcome.errors:
                error = ";".join(e.as_csv() for e in outcome.errors)
                job.failed.append({"sf__Id": "", "sf__Error": error, **row})
            else:
                created = "true" if outcome.created else "false"
                job.successful.append({"sf__Id": outcome.id or "", "sf__Created": created, **row})
    # Salesforce writes result files in processing order, not input order.
    for rows_out in (job.successful, job.failed):
        rows_out.sort(key=lambda r: hashlib.sha1(json.dumps(r).encode()).hexdigest())
    if end < len(rows):
        message = (
            f"InternalServerError : the job stopped after {end} of {len(rows)} records"
            " (bulk_fail_after_records, injected by the sandbox)"
        )
        return _fail(job, rows[end:], message)
    job.state = "JobComplete"


def _fail(job: IngestJob, rows: list[dict[str, str]], message: str) -> None:
    job.state, job.error_message = "Failed", message
    job.unprocessed = rows


def _to_csv(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, quoting=csv.QUOTE_ALL, lineterminator="\n",
                            extrasaction="ignore")  # fmt: skip
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
