"""``preflight``: credentials, CRM properties/fields and the match keys, before any write.

HubSpot: creates the ``lead_scoring`` property group and the score properties when missing
(``create_properties``), verifies types/options and that the match properties are unique.
Salesforce: describes Lead and Account (and Contact, where converted people's scores go when
records are written by Id) and lists every field an admin must create or fix (fields cannot
be created through the REST API). When ``marts.lead_owners`` routes leads to owners, the
owner field must exist and be writable (HubSpot ``hubspot_owner_id`` on contacts, Salesforce
``OwnerId`` updateable on each lead sObject). Any problem raises ``CrmPreflightError``
with one message naming all of them.
"""

from __future__ import annotations

import logging

from lead_scoring.crm_sync.config import ENV_PREFIX, CrmTarget
from lead_scoring.crm_sync.errors import CrmPreflightError, DailyLimitReached
from lead_scoring.crm_sync.fields import LEADS, OBJECTS, SALESFORCE_CONTACT, ObjectSpec
from lead_scoring.crm_sync.marts import (
    CRM_RECORDS,
    LEAD_OWNERS,
    check_mart,
    has_lead_owners,
    match_property,
    read_mart_columns,
)
from lead_scoring.crm_sync.throttle import Throttle
from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse

log = logging.getLogger(__name__)


def selected_objects(target: CrmTarget) -> list[ObjectSpec]:
    return [spec for spec in OBJECTS if spec is LEADS or target.options.sync_accounts]


def make_writer(target: CrmTarget, throttle: Throttle):
    if not target.token:
        raise CrmPreflightError(
            f"no CRM token for {target.name}: set {ENV_PREFIX}TOKEN or the password of the"
            " Airflow connection lead_scoring_crm"
        )
    if target.kind == "hubspot":
        from lead_scoring.crm_sync.hubspot_writer import HubSpotWriter

        return HubSpotWriter(target, throttle)
    if not target.base_url.startswith("https://"):
        raise CrmPreflightError(
            f"Salesforce URL {target.base_url} must be https:// (simple-salesforce only speaks"
            " HTTPS); for a local sandbox pass its CA file as the CA bundle"
        )
    from lead_scoring.crm_sync.salesforce_writer import SalesforceWriter

    return SalesforceWriter(target, throttle)


def salesforce_objects(
    target: CrmTarget, objects: list[ObjectSpec]
) -> list[tuple[str, ObjectSpec, str | None]]:
    """(sObject, spec, external id) of every sObject written to. By Id, leads go to Leads and
    converted people's Contacts, and no external id is needed."""
    if not target.uses_crm_ids:
        return [(spec.salesforce_object, spec, spec.salesforce_external_id) for spec in objects]
    return [
        (obj, spec, None)
        for spec in objects
        for obj in (spec.salesforce_object, *((SALESFORCE_CONTACT,) if spec is LEADS else ()))
    ]


def check_crm(target: CrmTarget, writer, create: bool = False, owners: bool = False) -> None:
    """Raise ``CrmPreflightError`` listing every problem of the CRM side (``owners``: the
    leads' owners are written too)."""
    import requests
    import urllib3

    objects = selected_objects(target)
    try:
        if target.kind == "hubspot":
            # Updates by record id need no match property; finding and creating records do.
            pairs = [
                (spec, None if target.uses_crm_ids else match_property(spec, target))
                for spec in objects
            ]
            problems = writer.preflight(pairs, create=create, owners=owners)
            hint = (
                "create them (or let the preflight create them: create_properties=true"
                " and a token with the crm.schemas write scopes)"
            )
        else:
            problems = writer.preflight(salesforce_objects(target, objects), owners=owners)
            hint = "a Salesforce admin must create or fix these fields (Setup > Object Manager)"
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise CrmPreflightError(
            f"cannot reach the CRM at {target.base_url}: {type(exc).__name__}"
        ) from exc
    if problems:
        raise CrmPreflightError(
            f"CRM preflight failed for {target.name}, nothing was written: "
            + "; ".join(problems)
            + f". {hint}."
        )


def preflight(target: CrmTarget, settings: Settings) -> None:
    """Check (HubSpot: create) everything the sync needs; raise ``CrmPreflightError``."""
    owners = False
    if settings.warehouse != "duckdb" or settings.warehouse_path.exists():
        with open_warehouse(settings, read_only=True) as wh:
            for spec in selected_objects(target):
                read_mart_columns(wh, spec, required=False)
            if target.kind == "salesforce" and target.uses_crm_ids:
                check_mart(wh, *CRM_RECORDS, required=False)
            check_mart(wh, *LEAD_OWNERS, required=False)
            owners = has_lead_owners(wh)
    throttle = Throttle(target.options, target.max_requests_per_10s)
    writer = make_writer(target, throttle)
    try:
        check_crm(target, writer, create=target.options.create_properties, owners=owners)
    except DailyLimitReached as exc:
        raise CrmPreflightError(
            f"{target.name}: the CRM's daily request limit is spent; run again after it resets"
        ) from exc
    log.info("CRM preflight passed for %s (%d requests)", target.name, throttle.requests)
