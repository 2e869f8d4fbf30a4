"""The HubSpot CRM side: objects (list, get, create, search, batch) with their associations,
properties and owners."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from lead_scoring.crm_sandbox import hubspot_schema as hs
from lead_scoring.crm_sandbox.admin import admin_router
from lead_scoring.crm_sandbox.state import (
    SandboxState,
    bearer_token,
    correlation_id,
    route_template,
)
from lead_scoring.crm_sandbox.store import Record, canonical_datetime, normalise_key, now_iso

BATCH_LIMIT = 100
SEARCH_LIMIT = 200
LIST_LIMIT = 100
OWNERS_LIMIT = 500
ASSOCIATIONS_BATCH_LIMIT = 1_000  # inputs of a v4 associations batch read
_COLUMN = {"hs_object_id": "cast(id as integer)", "createdate": "created_at",
           "lastmodifieddate": "updated_at", "hs_createdate": "created_at",
           "hs_lastmodifieddate": "updated_at"}  # fmt: skip
_COMPARE = {"EQ": "=", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}


class HubSpotError(Exception):
    def __init__(self, status: int, category: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.category, self.extra = status, category, extra

    def response(self) -> JSONResponse:
        body = {
            "status": "error",
            "message": str(self),
            "correlationId": correlation_id(),
            "category": self.category,
            **self.extra,
        }
        return JSONResponse(body, status_code=self.status)


def _checked_name(name: Any) -> str:
    """``name`` if it follows HubSpot's property-name rule, else HubSpot's 400."""
    if not hs.is_valid_property_name(name):
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Invalid property name {name!r}: use {hs.PROPERTY_NAME_RULE}",
            context={"propertyName": [str(name)]},
        )
    return name


def _column(name: str) -> str:
    """The SQL expression of a property; only a name that passed ``_checked_name`` gets here."""
    return _COLUMN.get(name) or f"json_extract(properties, '$.\"{_checked_name(name)}\"')"


def _object_type(name: str) -> str:
    object_type = hs.OBJECT_TYPE_IDS.get(name, name)
    if object_type not in hs.OBJECT_TYPES:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"Unable to infer object type from: {name}",
            context={"objectType": [name]},
        )
    return object_type


def _rate_limited(policy: str, headers: dict[str, str]) -> JSONResponse:
    label = "ten_secondly_rolling" if policy == "TEN_SECONDLY_ROLLING" else "daily"
    body = {
        "status": "error",
        "message": f"You have reached your {label} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id(),
        "policyName": policy,
    }
    return JSONResponse(body, status_code=429, headers=headers)


def hubspot_app(state: SandboxState) -> FastAPI:
    app = FastAPI(title="CRM sandbox: HubSpot CRM v3", openapi_url=None, docs_url=None)
    app.include_router(admin_router(state))
    service = HubSpotService(state)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if request.url.path.startswith("/_sandbox"):
            return await call_next(request)
        response = await _guarded(request, call_next)
        state.stats.record("hubspot", route_template(request), response.status_code)
        return response

    async def _guarded(request: Request, call_next):
        if bearer_token(request) != state.token:
            return HubSpotError(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found or invalid. This API supports"
                " OAuth 2.0 and private app access tokens.",
            ).response()
        faults = state.faults
        if faults.daily_exhausted():
            return _rate_limited("DAILY", state.limiter.headers())
        if faults.ten_secondly_active():
            return _rate_limited("TEN_SECONDLY_ROLLING", state.limiter.headers())
        policy = state.limiter.acquire()
        if policy:
            return _rate_limited(policy, state.limiter.headers())
        delay = faults.take_delay()
        if delay:
            await asyncio.sleep(delay)
        status = faults.take_server_error()
        if status:
            response = HubSpotError(
                status, "INTERNAL_ERROR", "internal error (injected by the sandbox)"
            ).response()
        else:
            response = await call_next(request)
        response.headers.update(state.limiter.headers())
        return response

    @app.exception_handler(HubSpotError)
    async def hubspot_error(_request: Request, exc: HubSpotError):
        return exc.response()

    @app.get("/crm/v3/objects/{object_type}")
    async def list_objects(request: Request, object_type: str):
        object_type = _object_type(object_type)
        limit = _limit_param(request, 10, LIST_LIMIT)
        after = _int_param(request, "after", 0)
        rows = state.store.select(object_type, "cast(id as integer) >= ?", [after], limit=limit + 1)
        names = service.returned_names(object_type, _list_param(request, "properties"))
        body = _page([service.public(r, names) for r in rows], limit)
        service.add_associations(object_type, body["results"], _list_param(request, "associations"))
        return JSONResponse(body)

    @app.get("/crm/v3/objects/{object_type}/{object_id}")
    async def get_object(request: Request, object_type: str, object_id: str):
        object_type = _object_type(object_type)
        id_property = request.query_params.get("idProperty")
        record = service.lookup(object_type, [object_id], id_property).get(object_id)
        if record is None:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", "Object not found.", context={"id": [object_id]}
            )
        names = service.returned_names(object_type, _list_param(request, "properties"))
        body = service.public(record, names)
        service.add_associations(object_type, [body], _list_param(request, "associations"))
        return JSONResponse(body)

    @app.post("/crm/v3/objects/{object_type}")
    async def create_object(request: Request, object_type: str):
        """One record, as batch/create makes it; an invalid input is a 400."""
        results, errors = service.write(_object_type(object_type), "create", [await _json(request)])
        if errors:
            error = errors[0]
            raise HubSpotError(400, error["category"], error["message"], errors=error["errors"])
        return JSONResponse(results[0], status_code=201)

    @app.post("/crm/v3/objects/{object_type}/search")
    async def search(request: Request, object_type: str):
        # plain JSON already: a JSONResponse skips FastAPI's encoder (most of a page's CPU)
        return JSONResponse(service.search(_object_type(object_type), await _json(request)))

    @app.post("/crm/v3/objects/{object_type}/gdpr-delete")
    async def gdpr_delete(request: Request, object_type: str):
        service.gdpr_delete(_object_type(object_type), await _json(request))
        return Response(status_code=204)

    @app.post("/crm/v3/objects/{object_type}/batch/{action}")
    async def batch(request: Request, object_type: str, action: str):
        object_type = _object_type(object_type)
        body = await _json(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise HubSpotError(400, "VALIDATION_ERROR", "inputs must be a list")
        if len(inputs) > BATCH_LIMIT:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Too many inputs: {len(inputs)}. The limit is {BATCH_LIMIT} inputs per request.",
                context={"inputs": [str(len(inputs))]},
            )
        if action == "read":
            return service.batch_read(object_type, body)
        if action not in ("create", "update", "upsert"):
            raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Unknown batch action: {action}")
        if state.faults.take_empty_results():
            return _batch_body([], [], 201 if action == "create" else 200)
        results, errors = service.write(object_type, action, inputs)
        return _batch_body(results, errors, 201 if action == "create" else 200)

    @app.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
    async def read_associations(request: Request, from_type: str, to_type: str):
        body = await _json(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or len(inputs) > ASSOCIATIONS_BATCH_LIMIT:
            raise HubSpotError(
                400, "VALIDATION_ERROR",
                f"inputs must be a list of at most {ASSOCIATIONS_BATCH_LIMIT} objects",
            )  # fmt: skip
        ids = [str(i.get("id", "")) for i in inputs]
        return service.associations(_object_type(from_type), ids, _object_type(to_type))

    @app.get("/crm/v3/owners")
    @app.get("/crm/v3/owners/")
    async def list_owners(request: Request):
        limit = _limit_param(request, 100, OWNERS_LIMIT)
        after = _int_param(request, "after", 0)
        email = (request.query_params.get("email") or "").strip().lower()
        owners = [
            o for o in hs.owners()
            if o["archived"] == _archived_param(request) and int(o["id"]) >= after
            and email in ("", o["email"])
        ]  # fmt: skip
        return JSONResponse(_page(owners, limit))

    @app.get("/crm/v3/owners/{owner_id}")
    async def get_owner(request: Request, owner_id: str):
        key = "userId" if request.query_params.get("idProperty") == "userId" else "id"
        for owner in hs.owners():
            if str(owner[key]) == owner_id and owner["archived"] == _archived_param(request):
                return JSONResponse(owner)
        raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Owner {owner_id} not found.")

    @app.get("/crm/v3/properties/{object_type}")
    async def list_properties(object_type: str):
        return {"results": list(state.hubspot_properties(_object_type(object_type)).values())}

    @app.post("/crm/v3/properties/{object_type}")
    async def create_property(request: Request, object_type: str):
        definition = service.create_property(_object_type(object_type), await _json(request))
        return JSONResponse(definition, status_code=201)

    @app.get("/crm/v3/properties/{object_type}/groups")
    async def list_groups(object_type: str):
        return {"results": list(state.hubspot_groups(_object_type(object_type)).values())}

    @app.post("/crm/v3/properties/{object_type}/groups")
    async def create_group(request: Request, object_type: str):
        object_type = _object_type(object_type)
        body = await _json(request)
        name, label = body.get("name"), body.get("label")
        if not name or not label:
            raise HubSpotError(400, "VALIDATION_ERROR", "A property group needs name and label")
        if name in state.hubspot_groups(object_type):
            raise HubSpotError(
                409, "OBJECT_ALREADY_EXISTS", f"A property group named {name!r} already exists."
            )
        group = hs.group_definition(name, label, int(body.get("displayOrder", -1)))
        state.store.save_property_group(object_type, group)
        return JSONResponse(group, status_code=201)

    @app.get("/crm/v3/properties/{object_type}/groups/{group_name}")
    async def get_group(object_type: str, group_name: str):
        group = state.hubspot_groups(_object_type(object_type)).get(group_name)
        if group is None:
            raise HubSpotError(
                404, "OBJECT_NOT_FOUND", f"Property group {group_name} does not exist"
            )
        return group

    @app.get("/crm/v3/properties/{object_type}/{property_name}")
    async def get_property(object_type: str, property_name: str):
        definition = state.hubspot_properties(_object_type(object_type)).get(property_name)
        if definition is None:
            raise HubSpotError(
                404,
                "OBJECT_NOT_FOUND",
                f"Property {property_name} does not exist",
                context={"propertyName": [property_name]},
            )
        return definition

    return app


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Invalid input JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HubSpotError(400, "VALIDATION_ERROR", "Invalid input JSON: expected an object")
    return body


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    try:
        return int(raw) if raw not in (None, "") else default
    except ValueError as exc:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"{name} must be an integer, got {raw!r}"
        ) from exc


def _limit_param(request: Request, default: int, most: int) -> int:
    limit = _int_param(request, "limit", default)
    if not 0 < limit <= most:
        raise HubSpotError(
            400, "VALIDATION_ERROR", f"limit must be between 1 and {most}, got {limit}"
        )
    return limit


def _archived_param(request: Request) -> bool:
    return (request.query_params.get("archived") or "false").lower() == "true"


def _list_param(request: Request, name: str) -> list[str] | None:
    """A list parameter, repeated or comma-separated (``properties``, ``associations``)."""
    values = request.query_params.getlist(name)
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def _page(results: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """A list answer of up to ``limit + 1`` results: the first ``limit``, and the next
    page's ``after`` (the id of the one past them) if there is one."""
    body: dict[str, Any] = {"results": results[:limit]}
    if len(results) > limit:
        body["paging"] = {"next": {"after": results[limit]["id"]}}
    return body


def _batch_body(results: list[dict], errors: list[dict], ok_status: int) -> JSONResponse:
    stamp = now_iso()
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": stamp,
        "startedAt": stamp,
        "completedAt": now_iso(),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return JSONResponse(body, status_code=207 if errors else ok_status)


def _input_error(
    category: str, message: str, ids: list[str], index: int, details: list[dict] | None = None
) -> dict[str, Any]:
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": {"ids": ids, "inputIndex": [str(index)]},
        "errors": details or [],
        "links": {},
    }


class HubSpotService:
    """The record logic behind the HubSpot routes."""

    def __init__(self, state: SandboxState):
        self.state = state
        self.store = state.store

    # -- reads -----------------------------------------------------------------------------
    def returned_names(
        self, object_type: str, requested: list[str] | None, props: dict[str, dict] | None = None
    ) -> list[str]:
        """The properties an answer shows; ``props``: the request's property map, if made."""
        known = self.state.hubspot_properties(object_type) if props is None else props
        names = requested if requested else hs.DEFAULT_RETURNED[object_type]
        always = hs.always_returned(object_type)
        return [n for n in dict.fromkeys([*names, *always]) if n in known]

    @staticmethod
    def public(record: Record, names: list[str], new: bool | None = None) -> dict[str, Any]:
        props = record.properties
        body = {
            "id": record.id,
            "properties": {n: (props.get(n) if props.get(n) != "" else None) for n in names},
            "createdAt": record.created_at,
            "updatedAt": record.updated_at,
            "archived": False,
        }
        created, modified = hs.stamp_names(record.object_type)
        body["properties"]["hs_object_id"] = record.id
        body["properties"][created] = record.created_at
        body["properties"][modified] = record.updated_at
        if new is not None:
            body["new"] = new
        return body

    def add_associations(
        self, object_type: str, bodies: list[dict[str, Any]], to_types: list[str] | None
    ) -> None:
        """Add the ids of each answer's associated records of ``to_types`` (a read's
        ``associations`` parameter; types HubSpot does not know are ignored, as it does):
        ``associations.contacts.results[{id, type}]``."""
        for name in to_types or []:
            to_type = hs.OBJECT_TYPE_IDS.get(name, name)
            if to_type not in hs.OBJECT_TYPES:
                continue
            found = self.store.associated(object_type, [b["id"] for b in bodies], to_type)
            for body in bodies:
                if body["id"] in found:
                    results = [
                        {"id": i, "type": hs.ASSOCIATION_LABELS[t]} for i, t in found[body["id"]]
                    ]
                    body.setdefault("associations", {})[to_type] = {"results": results}

    def associations(self, from_type: str, ids: list[str], to_type: str) -> JSONResponse:
        """The v4 batch read: per id, its associated ``to_type`` records and their types; an
        id without any is an error (207)."""
        found = self.store.associated(from_type, ids, to_type)
        results = []
        for from_id in dict.fromkeys(i for i in ids if i in found):
            types: dict[str, list[dict[str, Any]]] = {}
            for to_id, type_id in found[from_id]:
                types.setdefault(to_id, []).append(
                    {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                )
            to = [{"toObjectId": int(i), "associationTypes": t} for i, t in types.items()]
            results.append({"from": {"id": from_id}, "to": to})
        errors = [
            {"status": "error", "category": "OBJECT_NOT_FOUND",
             "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
             "message": f"No {to_type} is associated with {from_type} {i}.",
             "context": {"fromObjectId": [i]}, "errors": [], "links": {}}
            for i in dict.fromkeys(ids) if i not in found
        ]  # fmt: skip
        return _batch_body(results, errors, 200)

    def lookup(
        self,
        object_type: str,
        ids: list[str],
        id_property: str | None,
        props: dict[str, dict] | None = None,
    ) -> dict[str, Record]:
        """Requested id -> record, by ``hs_object_id`` or a unique property."""
        if id_property in (None, "", "hs_object_id"):
            return self.store.get_many(object_type, ids)
        self._check_unique(object_type, id_property, props)
        matched = self.store.find_ids(object_type, id_property, ids)
        records = self.store.get_many(object_type, matched.values())
        return {
            i: records[matched[normalise_key(id_property, i)]]
            for i in ids
            if normalise_key(id_property, i) in matched
        }

    def batch_read(self, object_type: str, body: dict[str, Any]) -> JSONResponse:
        ids = [str(i.get("id", "")) for i in body["inputs"]]
        props = self.state.hubspot_properties(object_type)
        found = self.lookup(object_type, ids, body.get("idProperty"), props)
        names = self.returned_names(object_type, body.get("properties"), props)
        results = [self.public(found[i], names) for i in dict.fromkeys(ids) if i in found]
        missing = [i for i in ids if i not in found]
        errors = []
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {object_type} objects, they may be deleted"
                    " or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                    "errors": [],
                    "links": {},
                }
            )
        return _batch_body(results, errors, 200)

    def gdpr_delete(self, object_type: str, body: dict[str, Any]) -> None:
        """HubSpot's GDPR delete: the contact with ``objectId`` (its id, or the value of
        ``idProperty``, e.g. ``email``) is removed for good. An unknown id is a 404; an
        unknown e-mail is accepted (204: HubSpot blocklists it)."""
        if object_type != "contacts":
            raise HubSpotError(
                400, "VALIDATION_ERROR", f"GDPR delete is only supported for contacts, not"
                f" {object_type}",
            )  # fmt: skip
        object_id = str(body.get("objectId") or "").strip()
        if not object_id:
            raise HubSpotError(400, "VALIDATION_ERROR", "objectId is required",
                               context={"objectId": [""]})  # fmt: skip
        id_property = body.get("idProperty")
        record = self.lookup(object_type, [object_id], id_property).get(object_id)
        if record is None:
            if id_property in (None, "", "hs_object_id"):
                raise HubSpotError(
                    404, "OBJECT_NOT_FOUND", "Object not found.", context={"id": [object_id]}
                )
            return
        self.store.delete(object_type, [record.id])

    def search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
        if not 0 < limit <= SEARCH_LIMIT:
            raise HubSpotError(
                400, "VALIDATION_ERROR", f"limit must be between 1 and {SEARCH_LIMIT}, got {limit}"
            )
        if after + limit > self.state.search_result_cap:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Search paging is limited to {self.state.search_result_cap} results:"
                f" after={after} limit={limit}. Narrow the filter (e.g. by lastmodifieddate).",
            )
        props = self.state.hubspot_properties(object_type)
        where, params = self._where(body, props)
        order = self._order(body.get("sorts") or [], props)
        total = self.store.total(object_type, where, params)
        rows = self.store.select(object_type, where, params, order, limit, after)
        names = self.returned_names(object_type, body.get("properties"), props)
        response: dict[str, Any] = {
            "total": total,
            "results": [self.public(r, names) for r in rows],
        }
        if after + len(rows) < total:
            response["paging"] = {"next": {"after": str(after + len(rows))}}
        return response

    def _where(self, body: dict[str, Any], props: dict[str, dict]) -> tuple[str, list[Any]]:
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or sum(len(g.get("filters") or []) for g in groups) > 18:
            raise HubSpotError(
                400, "VALIDATION_ERROR", "At most 5 filterGroups and 18 filters in total"
            )
        params: list[Any] = []
        ors = []
        for group in groups:
            ands = [self._filter(f, props, params) for f in group.get("filters") or []]
            if ands:
                ors.append("(" + " and ".join(ands) + ")")
        clauses = ["(" + " or ".join(ors) + ")"] if ors else []
        if body.get("query"):
            text_cols = [
                f"lower(coalesce(json_extract(properties, '$.\"{n}\"'), '')) like ?"
                for n in ("email", "firstname", "lastname", "phone", "company", "name", "domain")
            ]
            clauses.append("(" + " or ".join(text_cols) + ")")
            params.extend([f"%{str(body['query']).lower()}%"] * len(text_cols))
        return (" and ".join(clauses) or "1 = 1"), params

    def _filter(self, spec: dict[str, Any], props: dict[str, dict], params: list[Any]) -> str:
        name = _checked_name(spec.get("propertyName"))
        op = str(spec.get("operator", "EQ")).upper()
        definition = props.get(name)
        if definition is None:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"There was a problem with the request: property {name!r} does not exist",
                context={"propertyName": [str(name)]},
            )
        type_ = definition["type"]
        raw = _column(name)
        if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
            test = f"coalesce({raw}, '') != ''"
            return test if op == "HAS_PROPERTY" else f"not ({test})"
        if type_ == "number":
            column = raw if name == "hs_object_id" else f"cast({raw} as real)"
        elif type_ == "string":
            column = f"lower({raw})"
        else:
            column = raw

        def value(v: Any) -> Any:
            try:
                if type_ == "number":
                    return float(v)
                if type_ == "datetime":
                    return canonical_datetime(str(v))
                if type_ == "date":
                    return hs.normalise_value(definition, v)
            except (ValueError, hs.InvalidValue) as exc:
                raise HubSpotError(
                    400, "VALIDATION_ERROR", f"Invalid filter value {v!r} for property {name}"
                ) from exc
            return str(v).lower() if type_ == "string" else str(v)

        if op in _COMPARE:
            params.append(value(spec.get("value")))
            if op == "NEQ":
                return f"coalesce({column}, '') != ?"
            return f"{column} {_COMPARE[op]} ?"
        if op in ("IN", "NOT_IN"):
            values = [value(v) for v in spec.get("values") or []]
            params.extend(values)
            test = f"{column} in ({','.join('?' * len(values))})" if values else "0"
            return test if op == "IN" else f"not ({test})"
        if op == "BETWEEN":
            params.extend([value(spec.get("value")), value(spec.get("highValue"))])
            return f"{column} between ? and ?"
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            params.append(str(spec.get("value", "")).lower().replace("*", "%"))
            test = f"lower({raw}) like ?"
            return test if op == "CONTAINS_TOKEN" else f"not ({test})"
        raise HubSpotError(400, "VALIDATION_ERROR", f"Unknown filter operator {op!r}")

    @staticmethod
    def _order(sorts: list[Any], props: dict[str, dict]) -> str:
        parts = []
        for sort in sorts:
            if isinstance(sort, str):
                name, desc = sort.lstrip("-"), sort.startswith("-")
            else:
                name = sort.get("propertyName", "")
                desc = str(sort.get("direction", "ASCENDING")).upper() == "DESCENDING"
            if _checked_name(name) not in props:
                raise HubSpotError(400, "VALIDATION_ERROR", f"Cannot sort on unknown {name!r}")
            column = _column(name)
            if props[name]["type"] == "number" and name != "hs_object_id":
                column = f"cast({column} as real)"
            parts.append(f"{column} {'desc' if desc else 'asc'}")
        return ", ".join([*parts, "cast(id as integer)"])

    # -- writes ----------------------------------------------------------------------------
    def _check_unique(
        self, object_type: str, id_property: str, props: dict[str, dict] | None = None
    ) -> None:
        if props is None:
            props = self.state.hubspot_properties(object_type)
        definition = props.get(id_property)
        if definition is None:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Property {id_property!r} does not exist on {object_type}",
                context={"idProperty": [id_property]},
            )
        if not definition.get("hasUniqueValue"):
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Property {id_property!r} of {object_type} is not a unique identifier"
                " property (hasUniqueValue is false); upsert needs email (contacts) or a"
                " property created with hasUniqueValue=true",
                context={"idProperty": [id_property]},
            )

    def write(
        self, object_type: str, action: str, inputs: list[dict[str, Any]]
    ) -> tuple[list[dict], list[dict]]:
        """One batch create/update/upsert: a few reads per batch (not per input), one write.
        Creates may carry ``associations`` (``[{to: {id}, types: [{associationCategory,
        associationTypeId}]}]``), written with the record in both directions."""
        _check_required(object_type, action, inputs)
        props = self.state.hubspot_properties(object_type)
        unique = [n for n, d in props.items() if d.get("hasUniqueValue")]
        keys = self._input_keys(object_type, action, inputs, props)
        matched, looked_up = self._match(object_type, inputs, keys)
        checked = [
            None if action == "update" and matched.get(key or "") is None
            else self._checked(props, action, item, key)
            for item, key in zip(inputs, keys, strict=True)
        ]  # fmt: skip
        values = [c[0] for c in checked if c is not None]
        owners = self._owners(object_type, unique, values, looked_up)
        links = self._links(object_type, inputs if action == "create" else [{}] * len(inputs))
        next_id = self.store.next_id(*hs.id_space(object_type))
        created, modified = hs.stamp_names(object_type)
        claimed: dict[tuple[str, str], str] = {}
        results, errors, writes, linked = [], [], [], []
        stamp = now_iso()
        for index, (item, key, check) in enumerate(zip(inputs, keys, checked, strict=True)):
            existing = matched.get(key) if key is not None else None
            label = [key] if key else []
            if check is None:
                errors.append(_input_error("OBJECT_NOT_FOUND", "Object not found", label, index))
                continue
            new_values, details = check
            details = [*details, *links[index][1]]
            # Faults name a record by any of its keys (id, e-mail, unique properties).
            known = [existing.id, *(existing.properties.get(n) for n in ("email", *unique))] if (
                existing
            ) else []
            if not details and self.state.faults.rejects(key, *known):
                details.append(_detail("INVALID_VALUE", "rejected by the sandbox", "(fault)"))
            record_id = existing.id if existing else str(next_id)
            conflicts = _conflicts(unique, new_values, record_id, claimed, owners)
            if details or conflicts:
                category = "CONFLICT" if conflicts and not details else "VALIDATION_ERROR"
                message = "; ".join(d["message"] for d in details + conflicts)
                errors.append(
                    _input_error(
                        category,
                        f"Property values were not valid: {message}",
                        label or [str(item.get("properties", {}).get("email", ""))],
                        index,
                        details + conflicts,
                    )
                )
                continue
            if existing is None:
                next_id += 1
                record = Record(object_type, record_id, {}, stamp, stamp)
            else:
                record = existing
            record.properties = _merged(record.properties, new_values)
            record.properties.update(
                {"hs_object_id": record_id, created: record.created_at, modified: stamp}
            )
            record.updated_at = stamp
            for to_type, to_id, type_id in links[index][0]:
                reverse = hs.ASSOCIATION_TYPES[(to_type, object_type)][0]
                linked += [(object_type, record_id, to_type, to_id, type_id),
                           (to_type, to_id, object_type, record_id, reverse)]  # fmt: skip
            for name in unique:
                if record.properties.get(name):
                    claimed[(name, normalise_key(name, record.properties[name]))] = record_id
            writes.append((record, {n: record.properties.get(n) for n in unique}))
            names = self.returned_names(
                object_type, [*(item.get("properties") or {}), item.get("idProperty") or ""], props
            )
            results.append(
                self.public(record, names, new=existing is None if action == "upsert" else None)
            )
        self.store.put_many(writes, linked)
        return results, errors

    def _links(
        self, object_type: str, inputs: list[dict[str, Any]]
    ) -> list[tuple[list[tuple[str, str, int]], list[dict]]]:
        """Per input, the associations it asks for as (to type, to id, type id), and the
        errors of those that name no HubSpot-defined type of ``object_type`` or no live
        record (one read per associated type)."""
        to_types = {type_id: to for (source, to), (type_id, _) in hs.ASSOCIATION_TYPES.items()
                    if source == object_type}  # fmt: skip
        asked = [
            [
                (_association_target(spec, to_types), str((link.get("to") or {}).get("id", "")))
                for link in item.get("associations") or []
                for spec in link.get("types") or [{}]
            ]
            for item in inputs
        ]
        wanted: dict[str, set[str]] = {}
        for (to_type, _), to_id in (a for links in asked for a in links if a[0][0]):
            wanted.setdefault(to_type, set()).add(to_id)
        live = {t: set(self.store.get_many(t, ids)) for t, ids in wanted.items()}
        result = []
        for links in asked:
            rows, details = [], []
            for (to_type, type_id), to_id in links:
                if to_type is None:
                    message = f"{object_type} have no HUBSPOT_DEFINED association type {type_id}"
                elif to_id not in live[to_type]:
                    message = f"No {to_type} record has id {to_id!r}"
                else:
                    rows.append((to_type, to_id, type_id))
                    continue
                details.append(_detail("INVALID_ASSOCIATION", message, "associations"))
            result.append((rows, details))
        return result

    def _checked(
        self, props: dict[str, dict], action: str, item: dict[str, Any], key: str | None
    ) -> tuple[dict[str, str], list[dict]]:
        """An input's values as stored, and its validation errors."""
        new_values, details = self._validate(props, item.get("properties") or {})
        if action == "upsert" and (item.get("idProperty") or "hs_object_id") != "hs_object_id":
            id_property = item["idProperty"]
            try:
                new_values[id_property] = hs.normalise_value(props[id_property], key)
            except hs.InvalidValue as exc:
                details.append(_detail(exc.code, str(exc), id_property))
        return new_values, details

    def _owners(
        self,
        object_type: str,
        unique: list[str],
        values: list[dict[str, str]],
        looked_up: dict[str, tuple[set[str], dict[str, str]]],
    ) -> dict[str, dict[str, str]]:
        """Per unique property: normalised value -> the stored record holding it (values the
        match already looked up are not asked again)."""
        owners: dict[str, dict[str, str]] = {}
        for name in unique:
            wanted = {normalise_key(name, v[name]) for v in values if v.get(name)}
            asked, found = looked_up.get(name, (set(), {}))
            owners[name] = {k: found[k] for k in wanted & asked if k in found}
            if wanted - asked:
                owners[name].update(self.store.find_ids(object_type, name, wanted - asked))
        return owners

    def _input_keys(
        self,
        object_type: str,
        action: str,
        inputs: list[dict[str, Any]],
        props: dict[str, dict],
    ) -> list[str | None]:
        if action == "create":
            return [None] * len(inputs)
        keys: list[str | None] = []
        checked: set[str] = set()
        for item in inputs:
            id_property = item.get("idProperty") or "hs_object_id"
            if action == "upsert" and id_property == "hs_object_id":
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    "Upsert needs idProperty: email (contacts) or a unique property",
                )
            if id_property != "hs_object_id" and id_property not in checked:
                self._check_unique(object_type, id_property, props)
                checked.add(id_property)
            keys.append(normalise_key(id_property, item.get("id", "")))
        counts = Counter(k for k in keys if k)
        duplicates = sorted(k for k, n in counts.items() if n > 1)
        if duplicates:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
                context={"ids": duplicates},
            )
        return keys

    def _match(
        self, object_type: str, inputs: list[dict[str, Any]], keys: list[str | None]
    ) -> tuple[dict[str, Record], dict[str, tuple[set[str], dict[str, str]]]]:
        """Key -> stored record; and per unique id property, the keys asked and their owners.

        Keys are normalised and their id properties checked (``_input_keys``)."""
        matched: dict[str, Record] = {}
        looked_up: dict[str, tuple[set[str], dict[str, str]]] = {}
        by_property: dict[str, list[str]] = {}
        for item, key in zip(inputs, keys, strict=True):
            if key:
                by_property.setdefault(item.get("idProperty") or "hs_object_id", []).append(key)
        for id_property, values in by_property.items():
            if id_property == "hs_object_id":
                matched.update(self.store.get_many(object_type, values))
                continue
            found = self.store.find_ids(object_type, id_property, values)
            looked_up[id_property] = (set(values), found)
            records = self.store.get_many(object_type, found.values())
            matched.update({k: records[found[k]] for k in values if k in found})
        return matched, looked_up

    @staticmethod
    def _validate(
        props: dict[str, dict], values: dict[str, Any]
    ) -> tuple[dict[str, str], list[dict]]:
        clean, details = {}, []
        for name, raw in values.items():
            definition = props.get(name)
            if definition is None:
                details.append(
                    _detail("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist', name)
                )
            elif name in hs.READ_ONLY:
                details.append(_detail("READ_ONLY_VALUE", f"{name} is a read only property", name))
            else:
                try:
                    clean[name] = hs.normalise_value(definition, raw)
                except hs.InvalidValue as exc:
                    details.append(_detail(exc.code, str(exc), name))
        return clean, details

    # -- properties ------------------------------------------------------------------------
    def create_property(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Property definition is missing {', '.join(missing)}",
                context={"missing": missing},
            )
        name, type_, field_type = _checked_name(body["name"]), body["type"], body["fieldType"]
        if name in self.state.hubspot_properties(object_type):
            raise HubSpotError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"A property named '{name}' already exists.",
                context={"propertyName": [name]},
            )
        if type_ not in hs.TYPES or field_type not in hs.FIELD_TYPES[type_]:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Invalid type/fieldType for property {name}: {type_}/{field_type}; allowed"
                f" fieldTypes for {type_}: {sorted(hs.FIELD_TYPES.get(type_, []))}",
            )
        if body["groupName"] not in self.state.hubspot_groups(object_type):
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"Property group {body['groupName']!r} does not exist on {object_type}",
            )
        options = body.get("options") or []
        if type_ == "enumeration" and field_type != "booleancheckbox":
            values = [str(o.get("value", "")) for o in options]
            if not values or any(not o.get("value") or not o.get("label") for o in options):
                raise HubSpotError(
                    400,
                    "VALIDATION_ERROR",
                    f"Enumeration property {name} needs options, each with label and value",
                )
            if len(set(values)) != len(values):
                raise HubSpotError(
                    400, "VALIDATION_ERROR", f"Enumeration property {name} has duplicate options"
                )
        options = [
            {"label": o.get("label"), "value": str(o.get("value")),
             "displayOrder": o.get("displayOrder", i), "hidden": bool(o.get("hidden", False)),
             "description": o.get("description", "")}
            for i, o in enumerate(options)
        ]  # fmt: skip
        extra = {k: v for k, v in body.items() if k not in ("name", "type", "fieldType", "options")}
        definition = hs.property_definition(
            object_type, name, type_, field_type, options=options, **extra
        )
        self.state.store.save_property_def(object_type, definition)
        return definition


def _association_target(spec: dict[str, Any], to_types: dict[int, str]) -> tuple[str | None, Any]:
    """The object type an association spec points to (None: not a HUBSPOT_DEFINED type of the
    object), and its type id."""
    raw = spec.get("associationTypeId")
    type_id = int(raw) if str(raw).isdigit() else raw
    if spec.get("associationCategory") != "HUBSPOT_DEFINED":
        return None, type_id
    return to_types.get(type_id), type_id


def _check_required(object_type: str, action: str, inputs: list[dict[str, Any]]) -> None:
    """HubSpot's 400 for a create without a property the object requires (an engagement's
    ``hs_timestamp``); nothing is written."""
    if action != "create":
        return
    for item in inputs:
        given = item.get("properties") or {}
        missing = [n for n in hs.REQUIRED_ON_CREATE.get(object_type, ()) if given.get(n) in
                   (None, "")]  # fmt: skip
        if missing:
            raise HubSpotError(
                400, "VALIDATION_ERROR",
                f"Error creating {object_type[:-1].upper()}. Some required properties were"
                " not set.", context={"properties": missing},
            )  # fmt: skip


def _detail(code: str, message: str, name: str) -> dict[str, Any]:
    return {"message": message, "code": code, "context": {"propertyName": [name]}}


def _conflicts(
    unique: list[str],
    values: dict[str, str],
    record_id: str,
    claimed: dict[tuple[str, str], str],
    owners: dict[str, dict[str, str]],
) -> list[dict]:
    """Unique values held by another record: stored, or claimed earlier in this batch."""
    conflicts = []
    for name in unique:
        if not values.get(name):
            continue
        key = normalise_key(name, values[name])
        owner = claimed.get((name, key)) or owners[name].get(key)
        if owner and owner != record_id:
            conflicts.append(
                _detail(
                    "CONFLICT",
                    f"A record with {name}={values[name]} already exists. Existing ID: {owner}",
                    name,
                )
            )
    return conflicts


def _merged(current: dict[str, Any], new_values: dict[str, str]) -> dict[str, Any]:
    """Apply new values; HubSpot never moves ``lifecyclestage`` backwards unless cleared first,
    and stamps a task completed without a completion date with the time."""
    merged = {**current, **new_values}
    if merged.get("hs_task_status") == "COMPLETED" and not merged.get("hs_task_completion_date"):
        merged["hs_task_completion_date"] = now_iso()
    old, new = current.get("lifecyclestage"), new_values.get("lifecyclestage")
    if old and new and old in hs.LIFECYCLE_STAGES and new in hs.LIFECYCLE_STAGES:
        if hs.LIFECYCLE_STAGES.index(new) < hs.LIFECYCLE_STAGES.index(old):
            merged["lifecyclestage"] = old
    return merged
