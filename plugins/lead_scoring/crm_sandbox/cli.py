"""``lead-scoring crm-sandbox``: serve the local HubSpot + Salesforce stand-in in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def crm_sandbox(
    host: Annotated[
        str, typer.Option(help="Bind address; 0.0.0.0 inside docker-compose.")
    ] = "127.0.0.1",
    hubspot_port: Annotated[int, typer.Option(help="HubSpot CRM v3 port (HTTP).")] = 8765,
    salesforce_port: Annotated[
        int, typer.Option(help="Salesforce REST/Bulk 2.0 port (HTTPS).")
    ] = 8766,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of crm.sqlite and tls/ca.pem (default <home>/crm_sandbox)."),
    ] = None,
    rate_limit: Annotated[int, typer.Option(help="HubSpot requests per rolling 10 seconds.")] = 190,
    daily_limit: Annotated[int, typer.Option(help="HubSpot requests per UTC day.")] = 650_000,
    token: Annotated[
        str | None,
        typer.Option(
            help="Bearer token (default: env LEAD_SCORING_CRM_TOKEN, else 'sandbox-token')."
        ),
    ] = None,
    salesforce_fields: Annotated[
        str | None,
        typer.Option(help="Comma-separated custom Salesforce fields that exist (default: all)."),
    ] = None,
    cert_hostname: Annotated[
        list[str] | None,
        typer.Option(help="Extra host name for the TLS certificate (repeatable)."),
    ] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="A fault set at start, name=value (repeatable).")
    ] = None,
) -> None:
    """Run the CRM sandbox until interrupted (Ctrl-C)."""
    import logging
    import signal
    import threading

    from lead_scoring.crm_sandbox.faults import UnknownFaultError
    from lead_scoring.crm_sandbox.salesforce_schema import UnknownFieldsError
    from lead_scoring.crm_sandbox.server import SandboxStartError, start_sandbox
    from lead_scoring.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    log = logging.getLogger("lead_scoring.crm_sandbox")
    directory = data_dir or get_settings().crm_sandbox_dir
    faults = {}
    for item in fault or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--fault needs name=value, got {item!r}")
        faults[name.strip()] = value.strip()
    fields = None
    if salesforce_fields is not None:
        fields = [f.strip() for f in salesforce_fields.split(",") if f.strip()]
    try:
        handle = start_sandbox(
            directory / "crm.sqlite",
            host=host,
            hubspot_port=hubspot_port,
            salesforce_port=salesforce_port,
            rate_limit_per_10s=rate_limit,
            daily_limit=daily_limit,
            salesforce_fields=fields,
            token=token,
            faults=faults,
            tls_dir=directory / "tls",
            cert_hostnames=cert_hostname or (),
        )
    except (SandboxStartError, UnknownFaultError, UnknownFieldsError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    log.info("HubSpot CRM v3:     %s", handle.hubspot_url)
    log.info("Salesforce REST:    %s (CA: %s)", handle.salesforce_url, handle.ca_path)
    log.info("store:              %s %s", directory / "crm.sqlite", handle.store.counts())
    log.info("admin:              %s/_sandbox/stats, /_sandbox/faults", handle.hubspot_url)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        log.info("stopping the CRM sandbox")
        handle.stop()
