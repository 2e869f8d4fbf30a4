"""HubSpot CRM v3 through ``hubspot-api-client``: batch writes and the property preflight.

A record the sync knows the id of (``hs_object_id``) is written with batch update, which
never creates anything; only rows the CRM was searched for and does not hold, with record
creation enabled, go through batch upsert on a unique match property (which sets it).

The client's own urllib3 retries are switched off (``retry=False``): its README's
``Retry(status_forcelist=(429,))`` never retries POST, and cannot tell a daily 429 from a
ten-secondly one. Every attempt goes through ``Throttle.retrying`` instead (batch upsert
is idempotent by its match key, so retrying the POST is safe).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from lead_scoring.crm_sync.config import CrmTarget
from lead_scoring.crm_sync.errors import (
    CrmPreflightError,
    CrmSyncError,
    DailyLimitReached,
    DeadlineReached,
)
from lead_scoring.crm_sync.fields import (
    HUBSPOT_GROUP,
    HUBSPOT_GROUP_LABEL,
    LEADS,
    FieldSpec,
    ObjectSpec,
)
from lead_scoring.crm_sync.marts import redact
from lead_scoring.crm_sync.rows import OWNER_PROPERTIES, Outcome, SyncRow
from lead_scoring.crm_sync.throttle import (
    Throttle,
    TransientAnswer,
    Verdict,
    retry_after,
    verdict_for_response,
)

OWNER = OWNER_PROPERTIES["hubspot"]
HUBSPOT_TYPES: dict[str, tuple[str, str]] = {
    "number": ("number", "number"),
    "bool": ("bool", "booleancheckbox"),
    "date": ("date", "date"),
    "datetime": ("datetime", "date"),
    "enum": ("enumeration", "select"),
    "text": ("string", "text"),
    "textarea": ("string", "textarea"),
}


def api_exceptions() -> tuple[type[Exception], ...]:
    """Every generated API package of the client has its own ``ApiException`` class."""
    from hubspot.crm.companies.exceptions import ApiException as CompaniesError
    from hubspot.crm.contacts.exceptions import ApiException as ContactsError
    from hubspot.crm.properties.exceptions import ApiException as PropertiesError

    return ContactsError, CompaniesError, PropertiesError


def _json(raw) -> dict[str, Any]:
    """A raw answer as JSON (the client's model deserialization, with dateutil for every
    timestamp, costs more CPU than the rest of a batch together)."""
    try:
        return json.loads(raw.data or b"{}")
    finally:
        raw.release_conn()


def _error_text(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    status = getattr(exc, "status", None)
    if body:
        try:
            message = json.loads(body).get("message") or body
        except (ValueError, AttributeError):
            message = body
        return redact(f"HTTP {status}: {message}"[:900])
    return redact(f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"[:900])


class HubSpotWriter:
    def __init__(self, target: CrmTarget, throttle: Throttle):
        from hubspot import HubSpot

        self.target = target
        self.throttle = throttle
        config: dict[str, Any] = {"host": target.base_url, "retry": False}
        if target.ca_bundle:
            config["ssl_ca_cert"] = target.ca_bundle
        client = HubSpot(access_token=target.token, **config)
        self._client = client
        self._batch = {
            "contacts": client.crm.contacts.batch_api,
            "companies": client.crm.companies.batch_api,
        }
        self._properties = client.crm.properties.core_api
        self._groups = client.crm.properties.groups_api

    # -- one request, retried --------------------------------------------------------------
    def _classify(self, exc: BaseException) -> tuple[Verdict | None, float]:
        import urllib3

        if isinstance(exc, TransientAnswer | urllib3.exceptions.HTTPError):
            return Verdict.RETRY, 0.0
        if isinstance(exc, api_exceptions()) and exc.status:
            return verdict_for_response(exc.status, exc.body, exc.headers), retry_after(exc.headers)
        return None, 0.0

    def _call(self, fn, *args, what: str, check=None, **kwargs):
        import urllib3

        def send():
            try:
                result = fn(*args, _request_timeout=self.target.options.request_timeout_s, **kwargs)
            except (*api_exceptions(), urllib3.exceptions.HTTPError):
                self.throttle.count(error=True)
                raise
            self.throttle.count(error=False)
            return check(result) if check is not None else result

        return self.throttle.retrying(send, self._classify, what=what)

    # -- writes ----------------------------------------------------------------------------
    def upsert(
        self, object_type: str, match_property: str, rows: Sequence[SyncRow]
    ) -> list[Outcome]:
        """Write up to 100 rows; every row gets an outcome. Whole-batch refusals are split.

        ``hs_object_id``: batch update by id (a missing record is a rejection, never a new
        one); any other (unique) property: batch upsert, creating what it does not find.
        """
        import urllib3

        if not rows:
            return []
        by_id = match_property == "hs_object_id"
        if by_id:
            body = {"inputs": [{"id": r.crm_id, "properties": r.properties} for r in rows]}
            write = self._batch[object_type].update
        else:
            body = {
                "inputs": [
                    {
                        "id": row.match_key,
                        "idProperty": match_property,
                        "properties": {**row.create_fields, **row.properties},
                    }
                    for row in rows
                ]
            }
            write = self._batch[object_type].upsert

        def parsed(raw) -> dict[str, Any]:
            answer = _json(raw)
            if not (answer.get("results") or answer.get("errors")):
                raise TransientAnswer("2xx answer with empty results and empty errors")
            return answer

        try:
            response = self._call(
                write,
                body,
                check=parsed,
                what=f"{object_type} batch {'update' if by_id else 'upsert'}",
                _preload_content=False,
            )
        except (TransientAnswer, DailyLimitReached, DeadlineReached) as exc:
            return [Outcome(r.record_id, "failed", error=str(exc)) for r in rows]
        except urllib3.exceptions.HTTPError as exc:
            return [Outcome(r.record_id, "failed", error=_error_text(exc)) for r in rows]
        except api_exceptions() as exc:
            if exc.status in (401, 403):
                raise CrmSyncError(
                    f"HubSpot refused the token for {object_type} upserts (HTTP {exc.status}):"
                    " check LEAD_SCORING_CRM_TOKEN / the connection password and its scopes"
                ) from exc
            if exc.status and 400 <= exc.status < 500 and exc.status != 429:
                if len(rows) == 1:
                    return [Outcome(rows[0].record_id, "rejected", error=_error_text(exc))]
                middle = len(rows) // 2  # the API refused the whole batch: find the bad rows
                return self.upsert(object_type, match_property, rows[:middle]) + self.upsert(
                    object_type, match_property, rows[middle:]
                )
            return [Outcome(r.record_id, "failed", error=_error_text(exc)) for r in rows]
        return self._outcomes(object_type, match_property, rows, response)

    def _outcomes(
        self,
        object_type: str,
        match_property: str,
        rows: Sequence[SyncRow],
        response: dict[str, Any],
    ) -> list[Outcome]:
        by_key = {row.key(match_property): row for row in rows}
        outcomes: dict[str, Outcome] = {}
        for result in response.get("results") or []:
            if match_property == "hs_object_id":
                value = result.get("id")
            else:
                value = (result.get("properties") or {}).get(match_property)
            key = str(value).strip() if value is not None else ""
            row = by_key.get(key) or by_key.get(key.lower())
            if row is not None:
                outcomes[row.record_id] = Outcome(
                    row.record_id, "confirmed", crm_id=str(result.get("id")),
                    created=False if match_property == "hs_object_id" else result.get("new"),
                )  # fmt: skip
        errors = response.get("errors") or []
        for error in errors:
            context = error.get("context") or {}
            hits = [
                rows[int(i)]
                for i in context.get("inputIndex", [])
                if str(i).isdigit() and int(i) < len(rows)
            ]
            hits += [by_key[k] for k in context.get("ids", []) if k in by_key]
            text = redact(f"{error.get('category')}: {error.get('message')}"[:900])
            for row in hits:
                if row.record_id not in outcomes:
                    outcomes[row.record_id] = Outcome(row.record_id, "rejected", error=text)
        unresolved = [row for row in rows if row.record_id not in outcomes]
        if unresolved and len(unresolved) < len(rows):
            for outcome in self.upsert(object_type, match_property, unresolved):
                outcomes[outcome.record_id] = outcome
        elif unresolved:  # errors that name no input: narrow down by splitting
            if len(rows) == 1:
                text = "; ".join(f"{e.get('category')}: {e.get('message')}" for e in errors)
                outcomes[rows[0].record_id] = Outcome(
                    rows[0].record_id, "rejected", error=redact(text[:900])
                )
            else:
                middle = len(rows) // 2
                for part in (rows[:middle], rows[middle:]):
                    for outcome in self.upsert(object_type, match_property, part):
                        outcomes[outcome.record_id] = outcome
        return [outcomes[row.record_id] for row in rows]

    def resolve(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """Match key -> id of the CRM record holding it; keys no record holds are absent."""
        found = self.read(object_type, id_property, keys)
        return {key: record["id"] for key, record in found.items()}

    def owners(self, object_type: str, id_property: str, rows: Sequence[SyncRow]) -> dict[str, str]:
        """Record id -> the current ``hubspot_owner_id`` of each row's record ("": none);
        rows whose record the CRM does not hold are absent."""
        keys = [row.key(id_property) for row in rows]
        found = self.read(object_type, id_property, keys, [OWNER])
        return {
            row.record_id: found[key].get(OWNER) or ""
            for row, key in zip(rows, keys, strict=True)
            if key in found
        }

    def read(
        self,
        object_type: str,
        id_property: str,
        keys: Sequence[str],
        properties: Sequence[str] = (),
    ) -> dict[str, dict[str, Any]]:
        """Match key -> the properties (and ``id``) of the CRM record holding it (batch read,
        100 keys a request); keys no record holds are absent."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            chunk = keys[start : start + 100]
            body = {
                "idProperty": id_property,
                "properties": [id_property, *properties],
                "inputs": [{"id": k} for k in chunk],
            }
            answer = self._call(
                self._batch[object_type].read,
                body,
                check=_json,
                what=f"{object_type} batch read by {id_property}",
                _preload_content=False,
            )
            wanted = {k.strip().lower(): k for k in chunk}
            for result in answer.get("results") or []:
                values = result.get("properties") or {}
                key = wanted.get(str(values.get(id_property) or "").strip().lower())
                if key is not None:
                    found[key] = {**values, "id": str(result.get("id"))}
        return found

    # -- erasure -----------------------------------------------------------------------------
    def gdpr_delete(self, emails: Sequence[str], ids: Sequence[str] = ()) -> list[str]:
        """Permanently delete the contacts holding one of ``emails`` or ``ids`` with HubSpot's
        GDPR delete (``POST /crm/v3/objects/contacts/gdpr-delete``); returns the ids of the
        contacts deleted (empty: none found). Contacts are looked up first: HubSpot answers
        204 to an e-mail it does not hold (and blocklists it), which would say nothing."""
        contacts = self._client.crm.contacts
        purge = (getattr(contacts, "gdpr_api", None) or contacts.basic_api).purge
        by_email = self.resolve("contacts", "email", list(emails)) if emails else {}
        by_id = self.resolve("contacts", "hs_object_id", list(ids)) if ids else {}
        targets = {crm_id: {"objectId": email, "idProperty": "email"}
                   for email, crm_id in by_email.items()}  # fmt: skip
        for crm_id in by_id.values():
            targets.setdefault(crm_id, {"objectId": crm_id})
        deleted = []
        for crm_id, body in targets.items():
            try:
                self._call(purge, body, what="contacts gdpr-delete")
            except api_exceptions() as exc:
                if exc.status == 404:  # gone in the meantime
                    continue
                raise CrmSyncError(f"HubSpot GDPR delete failed: {_error_text(exc)}") from exc
            deleted.append(crm_id)
        return deleted

    # -- preflight -------------------------------------------------------------------------
    def preflight(
        self, objects: Sequence[tuple[ObjectSpec, str | None]], create: bool, owners: bool = False
    ) -> list[str]:
        """Create (or only verify) the group and properties; return the problems left.

        ``owners``: the leads' owners are written too, so HubSpot's own ``hubspot_owner_id``
        must exist on contacts and take values (it is never created)."""
        problems: list[str] = []
        for spec, match_property in objects:
            object_type = spec.hubspot_object
            owner = OWNER if owners and spec is LEADS else None
            problems += self._check_object(object_type, spec.fields, match_property, create, owner)
        return problems

    def _check_object(
        self,
        object_type: str,
        specs: Sequence[FieldSpec],
        match_property: str | None,
        create: bool,
        owner: str | None = None,
    ) -> list[str]:
        try:
            groups = {
                g.name
                for g in self._call(
                    self._groups.get_all, object_type, what=f"{object_type} property groups"
                ).results
            }
            existing = {
                p.name: p
                for p in self._call(
                    self._properties.get_all, object_type, what=f"{object_type} properties"
                ).results
            }
        except api_exceptions() as exc:
            if exc.status in (401, 403):
                raise CrmPreflightError(
                    f"HubSpot refused the token (HTTP {exc.status}) reading {object_type}"
                    " properties: check the token and its crm.schemas scopes"
                ) from exc
            raise CrmPreflightError(
                f"HubSpot preflight could not read {object_type} properties: {_error_text(exc)}"
            ) from exc
        problems: list[str] = []
        wanted = [(f.hubspot, f.kind, f.label, f.options, False) for f in specs]
        if match_property and match_property not in [w[0] for w in wanted]:
            wanted.append(
                (match_property, "text", f"Lead scoring match key ({object_type})", (), True)
            )
        missing = [w for w in wanted if w[0] not in existing]
        if missing and create and HUBSPOT_GROUP not in groups:
            self._call(
                self._groups.create,
                object_type,
                {"name": HUBSPOT_GROUP, "label": HUBSPOT_GROUP_LABEL},
                what=f"create {object_type} property group",
            )
        for name, kind, label, options, unique in wanted:
            type_, field_type = HUBSPOT_TYPES[kind]
            prop = existing.get(name)
            if prop is None:
                if not create:
                    problems.append(f"{object_type}.{name} ({type_}/{field_type}) is missing")
                    continue
                definition: dict[str, Any] = {
                    "name": name,
                    "label": label,
                    "type": type_,
                    "fieldType": field_type,
                    "groupName": HUBSPOT_GROUP,
                    "hasUniqueValue": unique,
                }
                if kind == "bool":
                    definition["options"] = [
                        {"label": "Yes", "value": "true"},
                        {"label": "No", "value": "false"},
                    ]
                elif options:
                    definition["options"] = [
                        {"label": o.upper() if len(o) <= 3 else o.title(), "value": o}
                        for o in options
                    ]
                self._call(
                    self._properties.create,
                    object_type,
                    definition,
                    what=f"create property {object_type}.{name}",
                )
                continue
            if prop.type != type_ and not (kind == "bool" and prop.type == "enumeration"):
                problems.append(
                    f"{object_type}.{name} has type {prop.type}, the sync needs {type_}"
                )
            if options:
                allowed = {o.value for o in prop.options or []}
                absent = [o for o in options if o not in allowed]
                if absent:
                    problems.append(f"{object_type}.{name} lacks the options {', '.join(absent)}")
        if owner and owner not in existing:
            problems.append(
                f"{object_type}.{owner} (HubSpot's owner property) is missing: the leads'"
                " owners cannot be written"
            )
        elif owner and getattr(existing[owner].modification_metadata, "read_only_value", False):
            problems.append(f"{object_type}.{owner} is read-only: the owners cannot be written")
        match = existing.get(match_property) if match_property else None
        if match is not None and not match.has_unique_value:
            problems.append(
                f"{object_type}.{match_property} is the upsert match key but is not unique"
                " (hasUniqueValue false): upserts on it would create duplicates or be refused;"
                " match on email or on a property created with hasUniqueValue true"
            )
        return problems
