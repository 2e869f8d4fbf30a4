"""``lead-scoring crm-preflight`` and ``lead-scoring crm-sync``: the CRM sync outside Airflow.

The target comes from ``LEAD_SCORING_CRM_*`` environment variables (docs/crm-sync.md).
"""

from __future__ import annotations

import typer


def crm_preflight() -> None:
    """Check the CRM target: credentials, score properties/fields (HubSpot: create them)."""
    import logging

    from lead_scoring.crm_sync import CrmPreflightError, preflight, target_from_env
    from lead_scoring.crm_sync.errors import CrmSyncError
    from lead_scoring.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        target = target_from_env()
        preflight(target, get_settings())
    except (CrmPreflightError, CrmSyncError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"preflight passed for {target.name}")


def crm_sync(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report insert/update/skip/reject counts; write nothing."
    ),
    run_id: str = typer.Option(None, help="Run id (default: manual__<UTC timestamp>)."),
    deadline: float = typer.Option(
        None, help="Seconds; stop sending after this and end with an alert status."
    ),
) -> None:
    """Send new and changed lead/account scores to the CRM (exit 2 on an alert status)."""
    import logging
    from datetime import UTC, datetime

    from lead_scoring.crm_sync import CrmSyncError, run_sync, target_from_env
    from lead_scoring.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_id = run_id or "manual__" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        result = run_sync(get_settings(), target_from_env(), run_id, dry_run, deadline)
    except CrmSyncError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    counts = ("rows_considered", "rows_compared", "planned", "sent", "rows_not_material",
              "inserted", "updated", "skipped", "rejected", "dead_lettered", "pending",
              "owners_written", "owners_kept")  # fmt: skip
    typer.echo(f"{result.status}: " + " ".join(f"{k}={getattr(result, k)}" for k in counts))
    if result.sent_by_reason:
        reasons = result.sent_by_reason.items()
        typer.echo("sent by reason: " + " ".join(f"{k}={n}" for k, n in reasons))
    if result.message:
        typer.echo(result.message)
    if result.status == "failed":
        raise typer.Exit(1)
    if result.alert:
        raise typer.Exit(2)
