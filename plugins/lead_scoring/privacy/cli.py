"""``lead-scoring forget``: erase people on request (GDPR Art. 17, CCPA)."""

from __future__ import annotations

from pathlib import Path

import typer


def _read_people(path: Path) -> tuple[list[str], list[str]]:
    """E-mails and ids of a file: one a line (a value with ``@`` is an e-mail); blank lines
    and lines starting with ``#`` are skipped."""
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist", param_hint="--file")
    emails, ids = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        value = line.strip()
        if value and not value.startswith("#"):
            (emails if "@" in value else ids).append(value)
    return emails, ids


def forget(
    email: list[str] = typer.Option([], "--email", help="E-mail of a person to forget."),
    ids: list[str] = typer.Option([], "--id", help="CRM contact (lead) id of a person."),
    file: Path = typer.Option(None, "--file", help="One e-mail or id per line."),
    crm: bool = typer.Option(
        False,
        "--crm",
        envvar="LEAD_SCORING_FORGET_IN_CRM",
        help="Also delete the person in the target CRM (LEAD_SCORING_CRM_*).",
    ),
) -> None:
    """Remove people from every table and file the product keeps, record tombstones so no
    extract or import brings them back and, with --crm, delete them in the CRM. Prints one
    line per person, named by a hash prefix (never the e-mail)."""
    import logging

    from lead_scoring.privacy.forget import forget_people
    from lead_scoring.settings import get_settings
    from lead_scoring.warehouse import WarehouseError

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    emails, id_list = list(email), list(ids)
    if file is not None:
        more_emails, more_ids = _read_people(file)
        emails, id_list = emails + more_emails, id_list + more_ids
    if not emails and not id_list:
        typer.secho("forget: name someone with --email, --id or --file", fg="red", err=True)
        raise typer.Exit(1)
    try:
        result = forget_people(get_settings(), emails, id_list, crm=crm)
    except WarehouseError as exc:
        typer.secho(f"forget: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    for person in result.people:
        typer.echo(person.line())
    if result.dlt_files_deleted:
        typer.echo(f"deleted {result.dlt_files_deleted} loaded dlt job files under .dlt")
    for note in result.notes:
        typer.echo(note)
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg="yellow")
    typer.echo(f"done in {result.seconds:.1f} s")
    if result.crm_failed:
        raise typer.Exit(1)
