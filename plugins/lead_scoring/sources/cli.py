"""``lead-scoring extract``."""

import logging

import typer


def extract() -> None:
    """Load new and changed rows from the CRM, product database and event exports."""
    from lead_scoring.settings import get_settings
    from lead_scoring.sources.errors import SourceUnavailable
    from lead_scoring.sources.extract import crm_source_from_env
    from lead_scoring.sources.extract import extract as run_extract

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = run_extract(get_settings(), crm_source_from_env())
    except SourceUnavailable as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    for table, count in sorted(result.rows_loaded.items()):
        typer.echo(f"raw.{table}: {count} rows")
    if result.forgotten_skipped:
        typer.echo(f"{result.forgotten_skipped} records of forgotten people skipped")
    typer.echo(f"extracted in {result.seconds:.1f} s")
