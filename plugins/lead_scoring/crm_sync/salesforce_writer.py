"""Salesforce through ``simple-salesforce``: sObject Collections, Bulk API 2.0, describe.

simple-salesforce only refreshes sessions, so it gets our own ``requests`` session: every
request passes the run's ``Throttle`` (rate limit, backoff with jitter, daily-limit stop).
Small syncs use sObject Collections (200 records, allOrNone false); from ``bulk_threshold``
rows Bulk API 2.0 ingest jobs. Rows whose record Id is known are updates
(``PATCH /composite/sobjects``, records of several sObjects in one call; Bulk ``update``
jobs, one per sObject), which never create a record; the others are upserts on the
external id. Bulk results come back in another order than the upload, so they are joined on
the Id or external id. ``UNABLE_TO_LOCK_ROW`` and
unprocessed Bulk rows come back as ``retry`` and are sent again one request at a time.
A record Salesforce cannot create without ``LastName``/``Company``/``Name`` is sent a
second time with placeholders (``[not provided]``), so existing names are never touched.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import requests

from lead_scoring.crm_sync.config import CrmTarget
from lead_scoring.crm_sync.errors import (
    CrmPreflightError,
    CrmSyncError,
    DailyLimitReached,
    DeadlineReached,
)
from lead_scoring.crm_sync.fields import LEADS, FieldSpec, ObjectSpec, csv_value
from lead_scoring.crm_sync.marts import redact
from lead_scoring.crm_sync.rows import ID_PROPERTIES, OWNER_PROPERTIES, Outcome, SyncRow
from lead_scoring.crm_sync.throttle import (
    Throttle,
    TransientAnswer,
    Verdict,
    retry_after,
    verdict_for_response,
)

OWNER = OWNER_PROPERTIES["salesforce"]
BULK_JOB_ROWS = 10_000  # rows per Bulk job: results (and state) are saved job by job
SALESFORCE_TYPES = {
    "number": ("double", "currency", "int", "percent"),
    "bool": ("boolean",),
    "date": ("date",),
    "datetime": ("datetime",),
    "enum": ("picklist",),
    "text": ("string", "textarea"),
    "textarea": ("textarea", "string"),
}
ADMIN_TYPES = {
    "number": "Number(16, 2)",
    "bool": "Checkbox",
    "date": "Date",
    "datetime": "Date/Time",
    "enum": "Picklist",
    "text": "Text(255)",
    "textarea": "Long Text Area(1024)",
}
RETRY_CODES = ("UNABLE_TO_LOCK_ROW",)
NEEDS_CREATE_FIELDS = "REQUIRED_FIELD_MISSING"


class _RetryableResponse(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class RetryingSession(requests.Session):
    """A requests session whose every request is rate limited and retried by the throttle."""

    def __init__(self, throttle: Throttle, ca_bundle: str | None):
        super().__init__()
        self.throttle = throttle
        self.ca_bundle = ca_bundle

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.throttle.options.request_timeout_s)
        if self.ca_bundle:  # per request: REQUESTS_CA_BUNDLE would override session.verify
            kwargs.setdefault("verify", self.ca_bundle)
        parent = super()

        def send() -> requests.Response:
            try:
                response = parent.request(method, url, *args, **kwargs)
            except requests.RequestException:
                self.throttle.count(error=True)
                raise
            self.throttle.count(error=response.status_code >= 400)
            if (
                response.status_code >= 400
                and verdict_for_response(response.status_code, response.content) is not None
            ):
                raise _RetryableResponse(response)
            return response

        try:
            return self.throttle.retrying(send, _classify, what=f"{method} {_path(url)}")
        except _RetryableResponse as exc:  # out of retries: simple-salesforce raises for it
            return exc.response


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[-1].split("?")[0] if "://" in url else url


def _classify(exc: BaseException) -> tuple[Verdict | None, float]:
    if isinstance(exc, _RetryableResponse):
        r = exc.response
        return verdict_for_response(r.status_code, r.content), retry_after(r.headers)
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return Verdict.RETRY, 0.0
    return None, 0.0


def _empty_answer(exc: BaseException) -> tuple[Verdict | None, float]:
    """HTTP retries happen in the session; this loop only retries empty 2xx answers."""
    return (Verdict.RETRY, 0.0) if isinstance(exc, TransientAnswer) else (None, 0.0)


def _error_text(exc: Exception) -> str:
    content = getattr(exc, "content", None)
    status = getattr(exc, "status", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        content = "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in content)
    text = f"HTTP {status}: {content}" if status else f"{type(exc).__name__}: {exc}"
    return redact(text[:900])


class SalesforceWriter:
    def __init__(self, target: CrmTarget, throttle: Throttle):
        from simple_salesforce import Salesforce

        self.target = target
        self.throttle = throttle
        self.sf = Salesforce(
            instance_url=target.base_url,
            session_id=target.token,
            version=target.api_version,
            session=RetryingSession(throttle, target.ca_bundle),
        )

    # -- sObject Collections ---------------------------------------------------------------
    def upsert(self, sobject: str, external_id: str, rows: Sequence[SyncRow]) -> list[Outcome]:
        """Write up to 200 rows with sObject Collections; every row gets an outcome.

        ``external_id`` ``Id``: an update of each row's record (of sObject ``row.crm_object``,
        default ``sobject``); else an upsert on that external id.
        """
        try:
            return self._upsert(sobject, external_id, rows)
        except (DailyLimitReached, DeadlineReached) as exc:
            return [Outcome(r.record_id, "failed", error=str(exc)) for r in rows]

    def _upsert(self, sobject: str, external_id: str, rows: Sequence[SyncRow]) -> list[Outcome]:
        if not rows:
            return []
        outcomes = self._collection(sobject, external_id, rows, with_create=False)
        needs_create = [
            row
            for row, outcome in zip(rows, outcomes, strict=True)
            if outcome.status == "rejected"
            and NEEDS_CREATE_FIELDS in (outcome.error or "")
            and row.create_fields
        ]
        if needs_create:
            again = self._collection(sobject, external_id, needs_create, with_create=True)
            by_id = {o.record_id: o for o in again}
            outcomes = [by_id.get(o.record_id, o) for o in outcomes]
        return outcomes

    def _collection(
        self, sobject: str, external_id: str, rows: Sequence[SyncRow], with_create: bool
    ) -> list[Outcome]:
        from simple_salesforce.exceptions import SalesforceError

        records = []
        for row in rows:
            record = {"attributes": {"type": row.crm_object or sobject}, **row.properties}
            if with_create:
                record.update({k: v for k, v in row.create_fields.items() if v is not None})
            records.append(record)
        body = {"allOrNone": False, "records": records}
        update = external_id == ID_PROPERTIES["salesforce"]
        path = "composite/sobjects" if update else f"composite/sobjects/{sobject}/{external_id}"

        def send() -> list[dict[str, Any]]:
            result = self.sf.restful(
                path,
                method="PATCH",
                data=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )
            if not result:
                raise TransientAnswer("2xx answer with no results and no errors")
            return result

        try:
            results = self.throttle.retrying(
                send, _empty_answer, acquire=False, what=f"{sobject} collection write"
            )
        except TransientAnswer as exc:
            return [Outcome(r.record_id, "failed", error=str(exc)) for r in rows]
        except requests.RequestException as exc:
            return [Outcome(r.record_id, "failed", error=_error_text(exc)) for r in rows]
        except SalesforceError as exc:
            if exc.status in (401, 403):
                raise CrmSyncError(
                    f"Salesforce refused the session for {sobject} writes (HTTP {exc.status}):"
                    " check LEAD_SCORING_CRM_TOKEN / the connection password"
                ) from exc
            if 400 <= exc.status < 500 and len(rows) > 1:  # whole request refused: split
                middle = len(rows) // 2
                return self._collection(
                    sobject, external_id, rows[:middle], with_create
                ) + self._collection(sobject, external_id, rows[middle:], with_create)
            status = "rejected" if 400 <= exc.status < 500 else "failed"
            return [Outcome(r.record_id, status, error=_error_text(exc)) for r in rows]
        if len(results) != len(rows):
            return [
                Outcome(r.record_id, "failed", error="result count differs from input")
                for r in rows
            ]
        return [_collection_outcome(row, result) for row, result in zip(rows, results, strict=True)]

    # -- Bulk API 2.0 ----------------------------------------------------------------------
    def bulk_upsert(self, sobject: str, external_id: str, rows: Sequence[SyncRow]) -> list[Outcome]:
        """Bulk 2.0 ingest: by ``Id`` one update job per sObject of the rows; else one upsert
        job on the external id, rows needing placeholders in a second job."""
        try:
            if external_id != ID_PROPERTIES["salesforce"]:
                return self._bulk_upsert(sobject, external_id, rows)
            outcomes = {
                o.record_id: o
                for obj, group in _by_sobject(sobject, external_id, rows).items()
                for o in self._bulk_job(obj, external_id, group, with_create=False)
            }
            return [outcomes[r.record_id] for r in rows]
        except (DailyLimitReached, DeadlineReached) as exc:
            return [Outcome(r.record_id, "failed", error=str(exc)) for r in rows]

    def _bulk_upsert(
        self, sobject: str, external_id: str, rows: Sequence[SyncRow]
    ) -> list[Outcome]:
        outcomes = self._bulk_job(sobject, external_id, rows, with_create=False)
        needs_create = [
            row
            for row, outcome in zip(rows, outcomes, strict=True)
            if outcome.status == "rejected"
            and NEEDS_CREATE_FIELDS in (outcome.error or "")
            and row.create_fields
        ]
        if needs_create:
            by_id = {
                o.record_id: o
                for o in self._bulk_job(sobject, external_id, needs_create, with_create=True)
            }
            outcomes = [by_id.get(o.record_id, o) for o in outcomes]
        return outcomes

    def _bulk_job(
        self, sobject: str, external_id: str, rows: Sequence[SyncRow], with_create: bool
    ) -> list[Outcome]:
        from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

        bulk = getattr(self.sf.bulk2, sobject)
        client = bulk._client  # the job steps, so a Failed job's id stays known
        try:
            if external_id == ID_PROPERTIES["salesforce"]:
                job = client.create_job("update")
            else:
                job = client.create_job("upsert", external_id_field=external_id)
            job_id = job["id"]
            client.upload_job_data(job_id, _to_csv(rows, with_create))
            client.close_job(job_id)
        except (SalesforceError, SalesforceOperationError, requests.RequestException) as exc:
            return [Outcome(r.record_id, "failed", error=_error_text(exc)) for r in rows]
        job_error = ""
        try:
            client.wait_for_job(job_id, False, self.target.options.bulk_poll_s)
        except SalesforceOperationError as exc:  # Failed or Aborted: read what it did
            job_error = redact(str(exc)[:500])
        try:
            successful = _read_csv(bulk.get_successful_records(job_id))
            failed = _read_csv(bulk.get_failed_records(job_id))
            unprocessed = _read_csv(bulk.get_unprocessed_records(job_id))
        except (SalesforceError, requests.RequestException) as exc:
            return [Outcome(r.record_id, "failed", error=_error_text(exc)) for r in rows]
        by_key = {row.key(external_id): row for row in rows}
        outcomes: dict[str, Outcome] = {}
        for line in successful:
            row = by_key.get((line.get(external_id) or "").strip())
            if row is not None:
                outcomes[row.record_id] = Outcome(
                    row.record_id,
                    "confirmed",
                    crm_id=line.get("sf__Id") or None,
                    created=(line.get("sf__Created") or "").lower() == "true",
                )
        for line in failed:
            row = by_key.get((line.get(external_id) or "").strip())
            if row is not None:
                error = redact((line.get("sf__Error") or "failed")[:900])
                status = "retry" if error.startswith(RETRY_CODES) else "rejected"
                outcomes[row.record_id] = Outcome(row.record_id, status, error=error)
        for line in unprocessed:
            row = by_key.get((line.get(external_id) or "").strip())
            if row is not None:
                outcomes[row.record_id] = Outcome(
                    row.record_id, "retry", error=f"unprocessed by bulk job {job_id} {job_error}"
                )
        missing = f"not in the results of bulk job {job_id} {job_error}".strip()
        return [
            outcomes.get(r.record_id) or Outcome(r.record_id, "failed", error=missing) for r in rows
        ]

    def resolve(self, sobject: str, field: str, keys: Sequence[str]) -> dict[str, str]:
        """Match key -> Id of the record holding it; keys no record holds are absent."""
        return {key: str(record["Id"]) for key, record in self.read(sobject, field, keys).items()}

    def owners(self, sobject: str, field: str, rows: Sequence[SyncRow]) -> dict[str, str]:
        """Record id -> the current ``OwnerId`` of each row's record (of its own sObject when
        written by Id: Lead or Contact); rows whose record the org does not hold are absent."""
        current: dict[str, str] = {}
        for obj, group in _by_sobject(sobject, field, rows).items():
            keys = [row.key(field) for row in group]
            found = self.read(obj, field, keys, [OWNER])
            current.update(
                (row.record_id, str(found[key].get(OWNER) or ""))
                for row, key in zip(group, keys, strict=True)
                if key in found
            )
        return current

    def read(
        self, sobject: str, field: str, keys: Sequence[str], fields: Sequence[str] = ()
    ) -> dict[str, dict[str, Any]]:
        """Match key -> the record holding it: ``Id``, ``field`` and ``fields`` (SOQL ``IN``,
        200 keys a query); keys no record holds are absent."""
        found: dict[str, dict[str, Any]] = {}
        columns = ", ".join(dict.fromkeys(["Id", field, *fields]))
        for start in range(0, len(keys), 200):
            chunk = keys[start : start + 200]
            quoted = ", ".join(_soql_literal(k) for k in chunk)
            soql = f"SELECT {columns} FROM {sobject} WHERE {field} IN ({quoted})"
            answer = self.sf.query_all(soql)
            wanted = {k.strip().lower(): k for k in chunk}
            for record in answer.get("records") or []:
                key = wanted.get(str(record.get(field) or "").strip().lower())
                if key is not None:
                    found[key] = record
        return found

    # -- erasure -----------------------------------------------------------------------------
    def delete_people(
        self, emails: Sequence[str], lead_ids: Sequence[str] = (), crm_ids: Sequence[str] = ()
    ) -> list[str]:
        """Delete the Lead and Contact records holding one of ``emails`` (``Email``),
        ``lead_ids`` (the product's external id ``LS_Lead_Id__c``) or ``crm_ids`` (their
        ``Id``): ``DELETE /sobjects/{Lead|Contact}/{Id}``. Returns ``<SObject>/<Id>`` of
        each record deleted (empty: none found)."""
        from simple_salesforce.exceptions import SalesforceError, SalesforceResourceNotFound

        found: dict[str, str] = {}  # Id -> SObject
        for sobject in ("Lead", "Contact"):
            for field, keys in (("Email", emails), ("LS_Lead_Id__c", lead_ids), ("Id", crm_ids)):
                if not keys:
                    continue
                try:
                    ids = self.resolve(sobject, field, list(keys)).values()
                except SalesforceError as exc:
                    if field == "LS_Lead_Id__c" and exc.status == 400:  # no such field here
                        continue
                    raise CrmSyncError(f"Salesforce lookup failed: {_error_text(exc)}") from exc
                found.update(dict.fromkeys(ids, sobject))
        deleted = []
        for record_id, sobject in found.items():
            try:
                getattr(self.sf, sobject).delete(record_id)
            except SalesforceResourceNotFound:  # gone in the meantime
                continue
            except SalesforceError as exc:
                raise CrmSyncError(
                    f"Salesforce delete of {sobject} failed: {_error_text(exc)}"
                ) from exc
            deleted.append(f"{sobject}/{record_id}")
        return deleted

    # -- preflight -------------------------------------------------------------------------
    def preflight(
        self, objects: Sequence[tuple[str, ObjectSpec, str | None]], owners: bool = False
    ) -> list[str]:
        """Describe each (sObject, spec, external id or None: written by Id only) and list
        what an admin must create or fix; ``owners``: the leads' ``OwnerId`` must be
        updateable on each lead sObject."""
        from simple_salesforce.exceptions import SalesforceError

        problems: list[str] = []
        for obj, spec, external_id in objects:
            try:
                described = getattr(self.sf, obj).describe()
            except SalesforceError as exc:
                if exc.status in (401, 403):
                    raise CrmPreflightError(
                        f"Salesforce refused the session (HTTP {exc.status}) describing"
                        f" {obj}: check the token"
                    ) from exc
                raise CrmPreflightError(
                    f"Salesforce preflight could not describe {obj}: {_error_text(exc)}"
                ) from exc
            fields = {f["name"]: f for f in described.get("fields", [])}
            problems += _check_fields(obj, spec, external_id, fields)
            owner = fields.get(OWNER) if owners and spec is LEADS else {}
            if owner is None or not owner.get("updateable", True):
                problems.append(
                    f"{obj}.{OWNER} is not updateable for this user: the leads' owners cannot"
                    f" be written (the user needs Edit on {obj} and Transfer Record)"
                )
        return problems


def _check_fields(
    obj: str, spec: ObjectSpec, external_id: str | None, fields: dict[str, dict[str, Any]]
) -> list[str]:
    problems: list[str] = []
    ext = fields.get(external_id) if external_id else None
    if external_id and ext is None:
        problems.append(f"{obj}.{external_id}: create it as Text(64), External ID, Unique")
    elif ext is not None and not (ext.get("externalId") and ext.get("unique")):
        problems.append(
            f"{obj}.{external_id} is the upsert key but is not"
            f" {'an External ID' if not ext.get('externalId') else 'Unique'}: upserts could"
            " match several records; mark it External ID and Unique"
        )
    for f in spec.fields:
        problems += _check_field(obj, f, fields.get(f.salesforce))
    return problems


def _check_field(obj: str, spec: FieldSpec, described: dict[str, Any] | None) -> list[str]:
    if described is None:
        extra = f" with values {', '.join(spec.options)}" if spec.options else ""
        return [f"{obj}.{spec.salesforce}: create it as {ADMIN_TYPES[spec.kind]}{extra}"]
    problems = []
    if described.get("type") not in SALESFORCE_TYPES[spec.kind]:
        problems.append(
            f"{obj}.{spec.salesforce} has type {described.get('type')}, the sync"
            f" needs {ADMIN_TYPES[spec.kind]}"
        )
    if spec.options:
        allowed = {v.get("value") for v in described.get("picklistValues") or []}
        absent = [o for o in spec.options if o not in allowed]
        if absent:
            problems.append(
                f"{obj}.{spec.salesforce} lacks the picklist values {', '.join(absent)}"
            )
    if not described.get("updateable", True):
        problems.append(f"{obj}.{spec.salesforce} is not updateable for this user")
    return problems


def _by_sobject(sobject: str, field: str, rows: Sequence[SyncRow]) -> dict[str, list[SyncRow]]:
    """Rows by the sObject of their record: by ``Id`` each row's own (Lead or Contact),
    else ``sobject``."""
    if field != ID_PROPERTIES["salesforce"]:
        return {sobject: list(rows)}
    by_object: dict[str, list[SyncRow]] = {}
    for row in rows:
        by_object.setdefault(row.crm_object or sobject, []).append(row)
    return by_object


def _soql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _collection_outcome(row: SyncRow, result: dict[str, Any]) -> Outcome:
    if result.get("success"):
        return Outcome(
            row.record_id, "confirmed", crm_id=result.get("id"), created=bool(result.get("created"))
        )
    errors = result.get("errors") or []
    text = redact("; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)[:900])
    codes = {e.get("statusCode") for e in errors}
    status = "retry" if codes and codes <= set(RETRY_CODES) else "rejected"
    return Outcome(row.record_id, status, error=text or "rejected without an error message")


def _to_csv(rows: Sequence[SyncRow], with_create: bool) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row.properties))
    if with_create:
        columns += list(dict.fromkeys(k for row in rows for k in row.create_fields))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = {**row.properties, **(row.create_fields if with_create else {})}
        writer.writerow(["" if c not in values else csv_value(values[c]) for c in columns])
    return out.getvalue()


def _read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text or "")))
