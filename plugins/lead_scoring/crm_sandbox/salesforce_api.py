"""The Salesforce side: describe, sObject Collections upsert, single upsert and query.

Bulk API 2.0 ingest lives in ``salesforce_bulk``; both write through ``SalesforceService``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from lead_scoring.crm_sandbox import soql
from lead_scoring.crm_sandbox.admin import admin_router
from lead_scoring.crm_sandbox.salesforce_schema import REQUIRED, FieldError, coerce, new_id
from lead_scoring.crm_sandbox.state import SandboxState, bearer_token, route_template
from lead_scoring.crm_sandbox.store import Record, normalise_key

COLLECTION_LIMIT = 200
API = "/services/data/v{version}"


class SalesforceError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code

    def response(self) -> JSONResponse:
        return JSONResponse([{"message": str(self), "errorCode": self.code}], self.status)


@dataclass
class Outcome:
    key: str
    id: str | None = None
    created: bool = False
    errors: list[FieldError] | None = None


def sf_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class SalesforceService:
    def __init__(self, state: SandboxState):
        self.state = state
        self.schema = state.salesforce

    def object_fields(self, obj: str):
        fields = self.schema.fields(obj)
        if fields is None:
            raise SalesforceError(404, "NOT_FOUND", f"sObject type '{obj}' is not supported.")
        return fields

    def external_field(self, obj: str, name: str) -> str:
        f = self.schema.field(obj, name)
        if f is None or not (f.external_id or f.name == "Id"):
            raise SalesforceError(
                404 if f is None else 400,
                "NOT_FOUND" if f is None else "INVALID_FIELD",
                f"Provided external ID field does not exist or is not accessible: {name}",
            )
        return f.name

    def upsert(
        self,
        obj: str,
        external_field: str,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool = False,
        locked: Callable[[str], bool] | None = None,
    ) -> list[Outcome]:
        """Upsert records matched on ``external_field``; one Outcome per record, in order."""
        fields = self.object_fields(obj)
        store_type = f"sf:{obj}"
        keys = [self._key(r, external_field) for r in records]
        repeated = Counter(keys)
        lookup = [k for k in keys if k]
        if external_field == "Id":
            found = {i: i for i in self.state.store.get_many(store_type, lookup)}
        else:
            found = self.state.store.find_ids(store_type, external_field, lookup)
        existing = self.state.store.get_many(store_type, set(found.values()))
        ext_fields = [n for n, f in fields.items() if f.external_id]
        outcomes, writes = [], []
        stamp = sf_now()
        for record, key in zip(records, keys, strict=True):
            outcome = Outcome(key=key or "")
            outcomes.append(outcome)
            errors: list[FieldError] = []
            if not key:
                errors.append(FieldError("MISSING_ARGUMENT", f"{external_field} not specified", []))
            elif repeated[key] > 1:
                errors.append(
                    FieldError(
                        "DUPLICATE_EXTERNAL_ID",
                        f"Duplicate external id specified: {key}",
                        [external_field],
                    )
                )
            values = {}
            for name, raw in record.items():
                if name == "attributes":
                    continue
                f = self.schema.field(obj, name)
                if f is None:
                    errors.append(
                        FieldError(
                            "INVALID_FIELD",
                            f"No such column '{name}' on sobject of type {obj}",
                            [name],
                        )
                    )
                elif not f.updateable and f.name != external_field:
                    errors.append(
                        FieldError(
                            "INVALID_FIELD_FOR_INSERT_UPDATE",
                            f"Unable to create/update fields: {f.name}.",
                            [f.name],
                        )
                    )
                elif f.name != "Id":
                    try:
                        values[f.name] = coerce(f, raw)
                    except FieldError as exc:
                        errors.append(exc)
            current = existing.get(found.get(normalise_key(external_field, key or ""), ""))
            if not current and key and external_field == "Id" and not errors:
                # As Salesforce: an upsert keyed on Id updates that record, never creates one.
                errors.append(
                    FieldError("NOT_FOUND", "The requested resource does not exist", ["Id"])
                )
            if not current and not errors:
                missing = [n for n in REQUIRED[obj] if values.get(n) in (None, "")]
                if missing:
                    errors.append(
                        FieldError(
                            "REQUIRED_FIELD_MISSING",
                            f"Required fields are missing: [{', '.join(missing)}]",
                            missing,
                        )
                    )
            faults = self.state.faults
            # Faults name a record by any of its keys (Id or external ids).
            known = [current.id, *(current.properties.get(n) for n in ext_fields)] if (
                current
            ) else []
            if not errors and faults.rejects(key, *known):
                errors.append(
                    FieldError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "rejected by the sandbox", [])
                )
            if not errors and locked and any(locked(str(k)) for k in [key or "", *known] if k):
                errors.append(
                    FieldError(
                        "UNABLE_TO_LOCK_ROW",
                        "unable to obtain exclusive access to this record or 1 records: "
                        + (current.id if current else key or ""),
                        [],
                    )
                )
            if errors:
                outcome.errors = errors
                continue
            if current is None:
                record_id = new_id(obj)
                props = {"Id": record_id, "CreatedDate": stamp}
                for n, f in fields.items():
                    if f.default is not None:
                        props[n] = coerce(f, f.default)
                current = Record(store_type, record_id, props, stamp, stamp)
                outcome.created = True
            current.properties.update(values)
            current.properties["LastModifiedDate"] = stamp
            current.updated_at = stamp
            outcome.id = current.id
            writes.append((current, {n: current.properties.get(n) for n in ext_fields}))
        if all_or_none and any(o.errors for o in outcomes):
            for o in outcomes:
                if not o.errors:
                    o.id, o.created = None, False
                    o.errors = [
                        FieldError(
                            "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "Record rolled back because not all records were valid and the"
                            " request was using AllOrNone header",
                            [],
                        )
                    ]
            return outcomes
        self.state.store.put_many(writes)
        return outcomes

    @staticmethod
    def _key(record: dict[str, Any], external_field: str) -> str | None:
        for name, value in record.items():
            if name.lower() == external_field.lower() and value not in (None, ""):
                return str(value).strip()
        return None

    def query(self, text: str) -> dict[str, Any]:
        try:
            q = soql.parse(text)
        except soql.SoqlError as exc:
            raise SalesforceError(400, "MALFORMED_QUERY", str(exc)) from exc
        fields = self.schema.fields(q.object)
        if fields is None:
            raise SalesforceError(
                400, "INVALID_TYPE", f"sObject type '{q.object}' is not supported."
            )

        def canonical(name: str) -> str:
            f = self.schema.field(q.object, name)
            if f is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{name}' on entity '{q.object}'."
                )
            return f.name

        selected = [canonical(n) for n in q.fields]
        conditions = [(canonical(n), op, v) for n, op, v in q.conditions]
        rows = [
            r
            for r in self.state.store.select(f"sf:{q.object}")
            if all(soql.matches(r.properties.get(n), op, v) for n, op, v in conditions)
        ]
        if q.order_by:
            name = canonical(q.order_by)
            rows.sort(
                key=lambda r: (r.properties.get(name) is None, r.properties.get(name) or 0),
                reverse=q.descending,
            )
        rows = rows[: q.limit] if q.limit is not None else rows
        records = [] if q.count_only else [
            {
                "attributes": {"type": q.object, "url": self._url(q.object, r.id)},
                **{n: r.properties.get(n) for n in selected},
            }
            for r in rows
        ]  # fmt: skip
        return {"totalSize": len(rows), "done": True, "records": records}

    @staticmethod
    def _url(obj: str, record_id: str) -> str:
        return f"/services/data/v59.0/sobjects/{obj}/{record_id}"


def _result(outcome: Outcome) -> dict[str, Any]:
    if outcome.errors:
        return {"success": False, "errors": [e.as_dict() for e in outcome.errors]}
    return {"id": outcome.id, "success": True, "errors": [], "created": outcome.created}


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Invalid JSON: {exc}") from exc


def salesforce_app(state: SandboxState) -> FastAPI:
    from lead_scoring.crm_sandbox.salesforce_bulk import bulk_router

    app = FastAPI(title="CRM sandbox: Salesforce REST", openapi_url=None, docs_url=None)
    app.include_router(admin_router(state))
    service = SalesforceService(state)
    app.include_router(bulk_router(state, service), prefix=API + "/jobs/ingest")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.url.path.startswith("/_sandbox"):
            return await call_next(request)
        response = await _guarded(request, call_next)
        state.stats.record("salesforce", route_template(request), response.status_code)
        return response

    async def _guarded(request: Request, call_next):
        if bearer_token(request) != state.token:
            return SalesforceError(
                401, "INVALID_SESSION_ID", "Session expired or invalid"
            ).response()
        faults = state.faults
        if faults.daily_exhausted():
            return SalesforceError(
                403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
            ).response()
        delay = faults.take_delay()
        if delay:
            await asyncio.sleep(delay)
        status = faults.take_server_error()
        if status:
            return SalesforceError(
                status, "SERVER_UNAVAILABLE", "injected by the sandbox: server unavailable"
            ).response()
        return await call_next(request)

    @app.exception_handler(SalesforceError)
    async def salesforce_error(_request: Request, exc: SalesforceError):
        return exc.response()

    @app.get(API + "/sobjects")
    async def global_describe():
        return {
            "encoding": "UTF-8",
            "maxBatchSize": COLLECTION_LIMIT,
            "sobjects": [
                {"name": o, "label": o, "keyPrefix": d["keyPrefix"], "custom": False}
                for o, d in ((o, service.schema.describe(o)) for o in service.schema.objects)
            ],
        }

    @app.get(API + "/sobjects/{obj}/describe")
    async def describe(obj: str):
        service.object_fields(obj)
        return service.schema.describe(obj)

    @app.get(API + "/sobjects/{obj}/{record_id}")
    async def get_record(obj: str, record_id: str):
        service.object_fields(obj)
        record = state.store.get(f"sf:{obj}", record_id)
        if record is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        return {"attributes": {"type": obj, "url": service._url(obj, record.id)},
                **record.properties}  # fmt: skip

    @app.delete(API + "/sobjects/{obj}/{record_id}")
    async def delete_record(obj: str, record_id: str):
        service.object_fields(obj)
        if not state.store.delete(f"sf:{obj}", [record_id]):
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(status_code=204)

    @app.patch(API + "/sobjects/{obj}/{field}/{value}")
    async def upsert_one(request: Request, obj: str, field: str, value: str):
        external = service.external_field(obj, field)
        body = await _json(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "expected a JSON object")
        outcome = service.upsert(obj, external, [{**body, external: value}])[0]
        if outcome.errors:
            return JSONResponse(
                [{"message": str(e), "errorCode": e.code, "fields": e.fields}
                 for e in outcome.errors],
                status_code=400,
            )  # fmt: skip
        return JSONResponse(_result(outcome), status_code=201 if outcome.created else 200)

    @app.patch(API + "/composite/sobjects/{obj}/{field}")
    async def upsert_collection(request: Request, obj: str, field: str):
        service.object_fields(obj)
        external = service.external_field(obj, field)
        body = await _json(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            raise SalesforceError(400, "INVALID_FIELD", "records: a non-empty list is required")
        if len(records) > COLLECTION_LIMIT:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT}"
                f" records into this call ({len(records)} sent)",
            )
        bad_type = next(
            (r for r in records if (r.get("attributes") or {}).get("type") != obj), None
        )
        if bad_type is not None:
            raise SalesforceError(
                400,
                "INVALID_TYPE",
                f"every record needs attributes.type = {obj!r}, got"
                f" {(bad_type.get('attributes') or {}).get('type')!r}",
            )
        if state.faults.take_empty_results():
            return []
        outcomes = service.upsert(
            obj, external, records, all_or_none=bool(body.get("allOrNone", False))
        )
        return JSONResponse([_result(o) for o in outcomes])

    @app.get(API + "/query")
    @app.get(API + "/query/")
    async def query(q: str):
        return JSONResponse(service.query(q))

    return app
