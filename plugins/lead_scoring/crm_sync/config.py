"""Where the scores go: a ``CrmTarget`` built from environment variables or an Airflow connection.

No Airflow import here: ``target_from_connection`` takes any object with the attributes
of ``airflow.models.Connection`` (conn_type, host, port, schema, password, extra_dejson).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from lead_scoring.crm_sync.errors import CrmPreflightError

Kind = Literal["hubspot", "salesforce"]
KINDS: tuple[str, ...] = ("hubspot", "salesforce")
DEFAULT_URLS = {"hubspot": "https://api.hubapi.com"}
DEFAULT_API_VERSIONS = {"hubspot": "v3", "salesforce": "59.0"}
ENV_PREFIX = "LEAD_SCORING_CRM_"


@dataclass(frozen=True)
class SyncOptions:
    """Tuning knobs; every one can be set as ``LEAD_SCORING_CRM_<NAME>`` or a connection extra."""

    batch_size: int = 0  # 0: the API's maximum (HubSpot 100, Salesforce collections 200)
    max_requests_per_10s: int = 0  # 0: HubSpot 100 (Free/Starter tier), Salesforce 250
    concurrency: int = 4  # requests in flight at once
    dead_letter_attempts: int = 5  # a row rejected this many runs in a row becomes a dead letter
    bulk_threshold: int = 2000  # Salesforce: Bulk API 2.0 from this many rows to send
    bulk_poll_s: float = 0.5  # Salesforce: Bulk job polling interval
    max_retries: int = 5  # per request, for 5xx, timeouts and empty 2xx answers
    backoff_base_s: float = 0.5  # exponential backoff base (full jitter)
    backoff_cap_s: float = 30.0  # longest single backoff
    rate_limit_patience_s: float = 300.0  # keep retrying ten-secondly 429s this long
    request_timeout_s: float = 60.0
    contact_match_property: str = "email"  # HubSpot contacts idProperty (email or a unique one)
    lifecycle_backwards: Literal["keep", "allow"] = "keep"
    create_properties: bool = True  # HubSpot preflight creates missing group/properties
    sync_accounts: bool = True
    # Whether the marts' records are this CRM's own (hs_object_id, Salesforce Id): auto = yes
    # when they were read from this same CRM (source kind and URL = target kind and URL).
    record_ids: Literal["auto", "crm", "external"] = "auto"
    create_records: bool = False  # create records the CRM does not hold (else: not_in_crm)
    # CRM owner ids that mean "nobody yet" (comma-separated): such an owner is replaced by the
    # lead's routed owner. Unset: LEAD_SCORING_CRM_UNASSIGNED_OWNERS (the setting dbt reads).
    unassigned_owners: str = ""


@dataclass(frozen=True)
class CrmTarget:
    kind: Kind
    base_url: str
    token: str = field(repr=False)
    ca_bundle: str | None = None
    api_version: str = ""
    name: str = ""  # key of this target in sync.crm_state; default kind:host
    options: SyncOptions = field(default_factory=SyncOptions)
    source_url: str = ""  # the CRM the leads and accounts were read from, if known
    source_kind: Kind = "hubspot"  # that CRM's kind

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CrmPreflightError(
                f"CRM kind {self.kind!r} is not supported: use one of {', '.join(KINDS)}"
            )
        if not self.base_url:
            raise CrmPreflightError(
                f"no CRM URL for the {self.kind} target: set {ENV_PREFIX}URL or the connection host"
            )
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.api_version:
            object.__setattr__(self, "api_version", DEFAULT_API_VERSIONS[self.kind])
        if not self.name:
            object.__setattr__(self, "name", f"{self.kind}:{urlsplit(self.base_url).netloc}")

    @property
    def batch_size(self) -> int:
        limit = 100 if self.kind == "hubspot" else 200
        return min(self.options.batch_size or limit, limit)

    @property
    def max_requests_per_10s(self) -> int:
        return self.options.max_requests_per_10s or (100 if self.kind == "hubspot" else 250)

    @property
    def uses_crm_ids(self) -> bool:
        """True when a mart record id is the id of the CRM record it came from.

        Then every write is an update of that record by its id and nothing is created.
        ``auto``: the target is the source (same kind, same URL origin).
        """
        if self.options.record_ids != "auto":
            return self.options.record_ids == "crm"
        return (
            self.kind == self.source_kind
            and bool(self.source_url)
            and _origin(self.source_url) == _origin(self.base_url)
        )

    @property
    def unassigned_owners(self) -> frozenset[str]:
        """Owner ids that mean "nobody yet" (an empty owner always does): the option, else
        ``LEAD_SCORING_CRM_UNASSIGNED_OWNERS``, so a target made without the environment
        (the nightly's connection) follows the one setting dbt routes with too."""
        raw = self.options.unassigned_owners or os.environ.get(ENV_PREFIX + "UNASSIGNED_OWNERS", "")
        return frozenset(filter(None, (owner.strip() for owner in raw.split(","))))


def _origin(url: str) -> tuple[str, str]:
    """(scheme, host:port) with the scheme's default port made explicit."""
    parts = urlsplit(url.strip())
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return parts.scheme.lower(), f"{(parts.hostname or '').lower()}:{port}"


def options_from_mapping(values: Mapping[str, Any], base: SyncOptions | None = None) -> SyncOptions:
    """Options from a mapping of option name -> value (strings are converted)."""
    base = base or SyncOptions()
    changes: dict[str, Any] = {}
    for f in fields(SyncOptions):
        if f.name not in values or values[f.name] in (None, ""):
            continue
        default = getattr(base, f.name)
        raw = values[f.name]
        try:
            if isinstance(default, bool):
                value = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
            elif isinstance(default, int | float):
                value = type(default)(raw)
            else:
                value = str(raw)
        except ValueError as exc:
            raise CrmPreflightError(
                f"CRM option {f.name} must be a {type(default).__name__}, got {raw!r}"
            ) from exc
        changes[f.name] = value
    for name, allowed in (("lifecycle_backwards", ("keep", "allow")),
                          ("record_ids", ("auto", "crm", "external"))):  # fmt: skip
        if changes.get(name, getattr(base, name)) not in allowed:
            raise CrmPreflightError(
                f"CRM option {name} must be one of {', '.join(allowed)}, got {changes[name]!r}"
            )
    return replace(base, **changes)


def target_from_env(environ: Mapping[str, str] | None = None) -> CrmTarget:
    """``LEAD_SCORING_CRM_KIND``, ``_URL``, ``_TOKEN``, ``_CA_BUNDLE``, ``_API_VERSION``,
    ``_NAME`` and one ``LEAD_SCORING_CRM_<OPTION>`` per ``SyncOptions`` field.

    Without ``LEAD_SCORING_CRM_URL`` the target is the source CRM when one is set
    (``LEAD_SCORING_CRM_SOURCE_URL``): kind, URL, token and CA bundle default to the
    ``LEAD_SCORING_CRM_SOURCE_*`` ones.
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return (env.get(ENV_PREFIX + name) or "").strip()

    source_url = get("SOURCE_URL")
    source_kind = get("SOURCE_KIND").lower() or "hubspot"
    to_source = bool(source_url) and not get("URL")

    def setting(name: str) -> str:
        return get(name) or (get(f"SOURCE_{name}") if to_source else "")

    kind = setting("KIND").lower() or "hubspot"
    options = options_from_mapping({f.name: get(f.name.upper()) for f in fields(SyncOptions)})
    return CrmTarget(
        kind=kind,  # type: ignore[arg-type]
        base_url=setting("URL") or DEFAULT_URLS.get(kind, ""),
        token=setting("TOKEN"),
        ca_bundle=setting("CA_BUNDLE") or None,
        api_version=get("API_VERSION"),
        name=get("NAME"),
        options=options,
        source_url=source_url,
        source_kind=source_kind,  # type: ignore[arg-type]
    )


def target_from_connection(
    conn: Any, source_url: str = "", source_kind: str = "hubspot"
) -> CrmTarget:
    """A target from an Airflow connection (conn id ``lead_scoring_crm``, see docs/crm-sync.md).

    conn_type ``hubspot`` or ``salesforce`` (or ``http`` with extra ``kind``); host (a URL or
    a host name), port, schema (the URL scheme, default https), password (the token); extra:
    ``kind``, ``ca_bundle``, ``api_version``, ``name`` and any ``SyncOptions`` field.
    """
    extra = dict(getattr(conn, "extra_dejson", None) or {})
    conn_type = (getattr(conn, "conn_type", None) or "").lower()
    kind = str(extra.get("kind") or (conn_type if conn_type in KINDS else "hubspot")).lower()
    host = (getattr(conn, "host", None) or "").strip()
    port = getattr(conn, "port", None)
    if host and "://" not in host:
        scheme = (getattr(conn, "schema", None) or "https").strip()
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    if host and port and parts.port is None:
        host = parts._replace(netloc=f"{parts.netloc}:{port}").geturl()
    return CrmTarget(
        kind=kind,  # type: ignore[arg-type]
        base_url=host or DEFAULT_URLS.get(kind, ""),
        token=(getattr(conn, "password", None) or "").strip(),
        ca_bundle=extra.get("ca_bundle") or None,
        api_version=str(extra.get("api_version") or ""),
        name=str(extra.get("name") or ""),
        options=options_from_mapping(extra),
        source_url=source_url,
        source_kind=source_kind,  # type: ignore[arg-type]
    )
