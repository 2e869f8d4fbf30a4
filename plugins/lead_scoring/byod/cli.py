"""`lead-scoring import --mapping mapping.yml` and `lead-scoring bad-inputs`."""

from __future__ import annotations

from pathlib import Path

import typer

from lead_scoring.settings import get_settings


def import_data(
    mapping: Path = typer.Option(..., "--mapping", help="The column-mapping YAML file."),
) -> None:
    """Import lead, account, event and outcome exports (CSV / Parquet) into the raw schema."""
    import logging

    from lead_scoring.byod import ImportMappingError, run_import

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        result = run_import(get_settings(), mapping)
    except ImportMappingError as exc:
        typer.secho(f"import: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    for table, rows in sorted(result.rows.items()):
        typer.echo(f"raw.{table}: {rows:,} rows imported (merged on its key)")
    if result.forgotten_skipped:
        typer.echo(f"{result.forgotten_skipped} records of forgotten people skipped")
    for table in result.created_empty:
        typer.echo(f"{table}: created empty (nothing mapped to it)")
    for warning in result.warnings:
        typer.secho(f"warning: {warning}", fg="yellow")
    typer.echo(f"done in {result.seconds:.1f} s; next: quality gate and dbt build as usual")


def bad_inputs() -> None:
    """Try the bad-input corpus (broken export files) on a scratch home and print
    bad_inputs_tried, bad_inputs_named and bad_inputs_half_loaded as name=value lines."""
    from lead_scoring.byod.bad_inputs import run_bad_input_corpus

    result = run_bad_input_corpus(report=lambda line: typer.echo(line, err=True))
    if result["bad_inputs_named"] < result["bad_inputs_tried"] or result["bad_inputs_half_loaded"]:
        raise typer.Exit(1)
