"""The Salesforce side: describe, record get/update/delete, sObject Collections upsert,
update and delete, ``/query`` and ``/queryAll``.

Bulk API 2.0 ingest lives in ``salesforce_bulk`` (both write through ``SalesforceService``),
Bulk API 2.0 query in ``salesforce_bulk_query``, the query engine in ``salesforce_query``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from lead_scoring.crm_sandbox import salesforce_query
from lead_scoring.crm_sandbox.admin import admin_router, salesforce_admin_router
from lead_scoring.crm_sandbox.salesforce_schema import (
    ID_PREFIX,
    OBJECT_OF_PREFIX,
    REQUIRED,
    SYSTEM_FIELDS,
    FieldError,
    SalesforceError,
    coerce,
    derive,
    new_id,
    sf_now,
)
from lead_scoring.crm_sandbox.state import SandboxState, bearer_token, route_template
from lead_scoring.crm_sandbox.store import Record, normalise_key

COLLECTION_LIMIT = 200
API = "/services/data/v{version}"


@dataclass
class Outcome:
    key: str
    id: str | None = None
    created: bool = False
    errors: list[FieldError] | None = None


def _error(code: str, message: str, fields: list[str] | None = None) -> FieldError:
    return FieldError(code, message, fields or [])


def record_values(schema_fields: dict[str, Any], record: Record) -> dict[str, Any]:
    """Every field of a stored record, as a GET of the record answers."""
    values = {**record.properties, "IsDeleted": record.deleted,
              "SystemModstamp": record.updated_at}  # fmt: skip
    return {name: values.get(name) for name in schema_fields}


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

    def write(
        self,
        obj: str,
        records: list[dict[str, Any]],
        *,
        mode: str = "upsert",
        external_field: str = "Id",
        all_or_none: bool = False,
        locked: Callable[[str], bool] | None = None,
    ) -> list[Outcome]:
        """Upsert records matched on ``external_field``, or (``mode``) update records by
        Id, never creating one, or insert them; one Outcome per record, in order."""
        outcomes, writes = self.prepare(obj, records, mode, external_field, locked)
        if not rolled_back(outcomes, all_or_none):
            self.state.store.put_many(writes)
        return outcomes

    def prepare(
        self,
        obj: str,
        records: list[dict[str, Any]],
        mode: str = "upsert",
        external_field: str = "Id",
        locked: Callable[[str], bool] | None = None,
    ) -> tuple[list[Outcome], list[tuple[Record, dict[str, Any]]]]:
        """The outcomes of a write and the records to store, nothing stored yet."""
        fields = self.object_fields(obj)
        store_type = f"sf:{obj}"
        match = {"update": "Id", "insert": ""}.get(mode, external_field)
        keys = [self._key(r, match) if match else None for r in records]
        repeated = Counter(keys)
        lookup = [k for k in keys if k]
        if match == "Id":
            existing = self.state.store.get_many(store_type, lookup, deleted=True)
            found = {i: i for i in existing}
        else:
            found = self.state.store.find_ids(store_type, match, lookup)
            existing = self.state.store.get_many(store_type, set(found.values()))
        ext_fields = [n for n, f in fields.items() if f.external_id]
        users: dict[str, Record | None] = {}  # the owners named, looked up once each
        outcomes, writes = [], []
        stamp = sf_now()
        for record, key in zip(records, keys, strict=True):
            outcome = Outcome(key=key or "")
            outcomes.append(outcome)
            errors: list[FieldError] = []
            if not key and mode != "insert":
                errors.append(_error("MISSING_ARGUMENT", f"{match} not specified"))
            elif repeated[key] > 1 and mode == "upsert":
                errors.append(
                    _error("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {key}",
                           [match])
                )  # fmt: skip
            values = {}
            for name, raw in record.items():
                if name == "attributes":
                    continue
                f = self.schema.field(obj, name)
                if f is None:
                    errors.append(_error("INVALID_FIELD",
                                         f"No such column '{name}' on sobject of type {obj}",
                                         [name]))  # fmt: skip
                elif not f.updateable and f.name != match:
                    errors.append(
                        _error("INVALID_FIELD_FOR_INSERT_UPDATE",
                               f"Unable to create/update fields: {f.name}.", [f.name])
                    )  # fmt: skip
                elif f.name != "Id":
                    try:
                        values[f.name] = coerce(f, raw)
                    except FieldError as exc:
                        errors.append(exc)
            if values.get("OwnerId") and not errors:
                errors += self._owner_errors(values["OwnerId"], users)
            current = existing.get(found.get(normalise_key(match, key or ""), ""))
            if key and match == "Id" and not errors:
                # As Salesforce: a write keyed on Id updates that record, never creates one.
                if current is None:
                    errors.append(self._unknown_id(obj, key, mode))
                elif current.deleted:
                    errors.append(_error("ENTITY_IS_DELETED", "entity is deleted"))
            if current and current.properties.get("IsConverted") and not errors:
                errors.append(
                    _error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
                )
            if not current and not errors:
                missing = [n for n in REQUIRED[obj] if values.get(n) in (None, "")]
                if missing:
                    errors.append(_error("REQUIRED_FIELD_MISSING",
                                         f"Required fields are missing: [{', '.join(missing)}]",
                                         missing))  # fmt: skip
            faults = self.state.faults
            # Faults name a record by any of its keys (Id or external ids).
            known = (
                [current.id, *(current.properties.get(n) for n in ext_fields)] if (current) else []
            )
            if not errors and faults.rejects(key, *known):
                errors.append(
                    _error("FIELD_CUSTOM_VALIDATION_EXCEPTION", "rejected by the sandbox")
                )
            if not errors and locked and any(locked(str(k)) for k in [key or "", *known] if k):
                errors.append(
                    _error(
                        "UNABLE_TO_LOCK_ROW",
                        "unable to obtain exclusive access to this record or 1 records: "
                        + (current.id if current else key or ""),
                    )
                )
            if errors:
                outcome.errors = errors
                continue
            if current is None:
                record_id = new_id(obj)
                props = {"Id": record_id, "CreatedDate": stamp}
                for n, f in fields.items():
                    if f.default is not None and n not in SYSTEM_FIELDS:
                        props[n] = coerce(f, f.default)
                current = Record(store_type, record_id, props, stamp, stamp)
                outcome.created = True
            current.properties.update(values)
            derive(obj, current.properties)
            current.properties["LastModifiedDate"] = stamp
            current.updated_at = stamp
            outcome.id = current.id
            writes.append((current, {n: current.properties.get(n) for n in ext_fields}))
        return outcomes, writes

    def _owner_errors(self, owner: str, users: dict[str, Record | None]) -> list[FieldError]:
        """Salesforce's refusal of an owner that is no User, or an inactive one."""
        if owner not in users:
            users[owner] = self.state.store.get_many("sf:User", [owner]).get(owner)
        user = users[owner]
        if user is None:
            message = f"OwnerId: invalid cross reference id {owner}"
            return [_error("INVALID_CROSS_REFERENCE_KEY", message, ["OwnerId"])]
        if user.properties.get("IsActive") is False:
            return [_error("INACTIVE_OWNER_OR_USER", "operation performed with inactive user",
                           ["OwnerId"])]  # fmt: skip
        return []

    @staticmethod
    def _unknown_id(obj: str, key: str, mode: str) -> FieldError:
        if len(key) not in (15, 18) or not key.startswith(ID_PREFIX[obj]):
            return _error("MALFORMED_ID", f"{obj} ID: id value of incorrect type: {key}", ["Id"])
        if mode == "update":
            return _error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        return _error("NOT_FOUND", "The requested resource does not exist", ["Id"])

    @staticmethod
    def _key(record: dict[str, Any], external_field: str) -> str | None:
        for name, value in record.items():
            if name.lower() == external_field.lower() and value not in (None, ""):
                return str(value).strip()
        return None

    def collection(
        self, records: list[dict[str, Any]], mode: str, all_or_none: bool
    ) -> list[Outcome]:
        """sObject Collections insert or update (``mode``): records of any types, each
        with ``attributes.type``."""
        by_type: dict[str, list[int]] = {}
        for index, record in enumerate(records):
            obj = (record.get("attributes") or {}).get("type")
            if not obj:
                raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
            self.object_fields(obj)
            by_type.setdefault(obj, []).append(index)
        outcomes: list[Outcome | None] = [None] * len(records)
        writes = []
        for obj, indexes in by_type.items():
            done, stored = self.prepare(obj, [records[i] for i in indexes], mode=mode)
            writes.extend(stored)
            for index, outcome in zip(indexes, done, strict=True):
                outcomes[index] = outcome
        final = [o for o in outcomes if o is not None]
        if not rolled_back(final, all_or_none):
            self.state.store.put_many(writes)
        return final

    def delete(self, ids: list[str], all_or_none: bool = False) -> list[Outcome]:
        """Move records to the recycle bin (IsDeleted = true); their type from the id."""
        outcomes = [Outcome(key=i, id=i) for i in ids]
        by_type: dict[str, list[Outcome]] = {}
        for outcome in outcomes:
            obj = OBJECT_OF_PREFIX.get(outcome.key[:3])
            if obj is None or len(outcome.key) not in (15, 18):
                outcome.errors = [_error("MALFORMED_ID", f"malformed id {outcome.key}")]
            else:
                by_type.setdefault(obj, []).append(outcome)
        for obj, group in by_type.items():
            known = self.state.store.get_many(f"sf:{obj}", [o.key for o in group], deleted=True)
            for outcome in group:
                record = known.get(outcome.key)
                if record is None:
                    outcome.errors = [_error("INVALID_CROSS_REFERENCE_KEY",
                                             "invalid cross reference id")]  # fmt: skip
                elif record.deleted:
                    outcome.errors = [_error("ENTITY_IS_DELETED", "entity is deleted")]
        if rolled_back(outcomes, all_or_none):
            return outcomes
        stamp = sf_now()
        for obj, group in by_type.items():
            self.state.store.recycle(f"sf:{obj}", [o.key for o in group if not o.errors], stamp)
        return outcomes


def rolled_back(outcomes: list[Outcome], all_or_none: bool) -> bool:
    """With allOrNone, one failure fails every record; True if so."""
    if not all_or_none or not any(o.errors for o in outcomes):
        return False
    for o in outcomes:
        if not o.errors:
            o.id, o.created = None, False
            o.errors = [
                _error(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the"
                    " request was using AllOrNone header",
                )
            ]
    return True


def _result(outcome: Outcome, created: bool = True) -> dict[str, Any]:
    """One record's result in sObject Collections; ``created``: say whether it was."""
    if outcome.errors:
        return {"success": False, "errors": [e.as_dict() for e in outcome.errors]}
    result = {"id": outcome.id, "success": True, "errors": []}
    return {**result, "created": outcome.created} if created else result


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR", f"Invalid JSON: {exc}") from exc


def salesforce_app(state: SandboxState) -> FastAPI:
    from lead_scoring.crm_sandbox.salesforce_bulk import bulk_router
    from lead_scoring.crm_sandbox.salesforce_bulk_query import query_router

    app = FastAPI(title="CRM sandbox: Salesforce REST", openapi_url=None, docs_url=None)
    app.include_router(admin_router(state))
    app.include_router(salesforce_admin_router(state))
    service = SalesforceService(state)
    app.include_router(bulk_router(state, service), prefix=API + "/jobs/ingest")
    app.include_router(query_router(state), prefix=API + "/jobs/query")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        state.salesforce.refresh(state.store)
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
        fields = service.object_fields(obj)
        record = state.store.get_many(f"sf:{obj}", [record_id], deleted=True).get(record_id)
        if record is None:
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        if record.deleted:
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return {"attributes": {"type": obj, "url": salesforce_query.url(obj, record.id)},
                **record_values(fields, record)}  # fmt: skip

    @app.delete(API + "/sobjects/{obj}/{record_id}")
    async def delete_record(obj: str, record_id: str):
        service.object_fields(obj)
        (outcome,) = service.delete([record_id])
        if outcome.errors:
            code = outcome.errors[0].code
            if code == "ENTITY_IS_DELETED":
                raise SalesforceError(404, code, str(outcome.errors[0]))
            raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
        return Response(status_code=204)

    @app.post(API + "/sobjects/{obj}")
    @app.post(API + "/sobjects/{obj}/")
    async def create_one(request: Request, obj: str):
        body = await _json(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "expected a JSON object")
        (outcome,) = service.write(obj, [body], mode="insert")
        if outcome.errors:
            return _errors_response(outcome)
        return JSONResponse(_result(outcome, created=False), status_code=201)

    @app.patch(API + "/sobjects/{obj}/{record_id}")
    async def update_one(request: Request, obj: str, record_id: str):
        body = await _json(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "expected a JSON object")
        (outcome,) = service.write(obj, [{**body, "Id": record_id}], mode="update")
        if outcome.errors:
            if outcome.errors[0].code in ("INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED"):
                raise SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
            return _errors_response(outcome)
        return Response(status_code=204)

    @app.patch(API + "/sobjects/{obj}/{field}/{value}")
    async def upsert_one(request: Request, obj: str, field: str, value: str):
        external = service.external_field(obj, field)
        body = await _json(request)
        if not isinstance(body, dict):
            raise SalesforceError(400, "JSON_PARSER_ERROR", "expected a JSON object")
        (outcome,) = service.write(obj, [{**body, external: value}], external_field=external)
        if outcome.errors:
            return _errors_response(outcome)
        return JSONResponse(_result(outcome), status_code=201 if outcome.created else 200)

    async def collection_body(request: Request) -> tuple[list[dict[str, Any]], bool]:
        body = await _json(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            raise SalesforceError(400, "INVALID_FIELD", "records: a non-empty list is required")
        _check_limit(len(records))
        return records, bool(body.get("allOrNone", False))

    @app.patch(API + "/composite/sobjects/{obj}/{field}")
    async def upsert_collection(request: Request, obj: str, field: str):
        service.object_fields(obj)
        external = service.external_field(obj, field)
        records, all_or_none = await collection_body(request)
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
        outcomes = service.write(obj, records, external_field=external, all_or_none=all_or_none)
        return JSONResponse([_result(o) for o in outcomes])

    @app.post(API + "/composite/sobjects")
    async def create_collection(request: Request):
        records, all_or_none = await collection_body(request)
        outcomes = service.collection(records, "insert", all_or_none)
        return JSONResponse([_result(o, created=False) for o in outcomes])

    @app.patch(API + "/composite/sobjects")
    async def update_collection(request: Request):
        records, all_or_none = await collection_body(request)
        if state.faults.take_empty_results():
            return []
        outcomes = service.collection(records, "update", all_or_none)
        return JSONResponse([_result(o) for o in outcomes])

    @app.delete(API + "/composite/sobjects")
    async def delete_collection(ids: str = "", allOrNone: bool = False):  # noqa: N803
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if not wanted:
            raise SalesforceError(400, "MISSING_ARGUMENT", "ids: at least one id is required")
        _check_limit(len(wanted))
        outcomes = service.delete(wanted, allOrNone)
        return JSONResponse([_result(o, created=False) for o in outcomes])

    def run_query(request: Request, q: str, all_rows: bool) -> JSONResponse:
        size = salesforce_query.batch_size(request.headers.get("sforce-query-options"))
        return JSONResponse(
            salesforce_query.run_query(
                state.store, service.schema, state.query_cursors, q, all_rows, size
            )
        )

    def more(request: Request, locator: str) -> JSONResponse:
        size = salesforce_query.batch_size(request.headers.get("sforce-query-options"))
        return JSONResponse(
            salesforce_query.next_page(state.store, state.query_cursors, locator, size)
        )

    @app.get(API + "/query")
    @app.get(API + "/query/")
    async def query(request: Request, q: str):
        return run_query(request, q, all_rows=False)

    @app.get(API + "/queryAll")
    @app.get(API + "/queryAll/")
    async def query_all(request: Request, q: str):
        return run_query(request, q, all_rows=True)

    @app.get(API + "/query/{locator}")
    @app.get(API + "/queryAll/{locator}")
    async def query_more(request: Request, locator: str):
        return more(request, locator)

    return app


def _check_limit(count: int) -> None:
    if count > COLLECTION_LIMIT:
        raise SalesforceError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {COLLECTION_LIMIT}"
            f" records into this call ({count} sent)",
        )


def _errors_response(outcome: Outcome) -> JSONResponse:
    errors = outcome.errors or []
    return JSONResponse(
        [{"message": str(e), "errorCode": e.code, "fields": e.fields} for e in errors],
        status_code=400,
    )
