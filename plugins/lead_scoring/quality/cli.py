"""``lead-scoring quality-check`` and ``lead-scoring quality-eval``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import typer


def _as_of(value: str | None) -> datetime:
    from datetime import UTC

    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of {value!r} is not an ISO-8601 date or time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def quality_check(
    as_of: Annotated[
        str | None, typer.Option(help="ISO-8601 as-of time (UTC); default: now")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="run id; default: manual__<time>")] = None,
    full: Annotated[
        bool, typer.Option("--full", help="validate every raw row, not only what changed")
    ] = False,
) -> None:
    """Run the data-quality gate on the current warehouse's raw schema (incremental: the
    rows loaded since the last passed run, and the quarantine)."""
    from rich.console import Console
    from rich.table import Table

    from lead_scoring.quality.config import QualityConfigError
    from lead_scoring.quality.gate import QualityGateFailed, run_quality_gate
    from lead_scoring.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    moment = _as_of(as_of)
    run_id = run_id or f"manual__{moment.strftime('%Y%m%dT%H%M%S')}"
    failed = False
    try:
        result = run_quality_gate(get_settings(), run_id, moment, full=full)
    except QualityConfigError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    except QualityGateFailed as exc:
        result, failed = exc.result, True
    table = Table("rule", "records", title=f"quality gate {result.run_id}: {result.status}")
    for rule, count in sorted(result.counts_by_rule.items()):
        table.add_row(rule, str(count))
    Console(width=max(Console().width, 100)).print(table)
    typer.echo(
        f"checked {result.records_checked}, quarantined {result.records_quarantined}"
        f" ({result.quarantine_rate:.2%}); Data Docs: {result.data_docs_path or '-'}"
    )
    if failed:
        typer.secho(f"gate failed: {result.message}", fg="red", err=True)
        raise typer.Exit(1)


def quality_eval() -> None:
    """Precision and recall per injected error class against the simulator's truth files
    (run `simulate`, `extract` and `quality-check` first)."""
    from rich.console import Console
    from rich.table import Table

    from lead_scoring.quality.evaluate import QualityEvalError, evaluate, summary
    from lead_scoring.settings import get_settings

    try:
        scores = evaluate(get_settings())
    except QualityEvalError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    table = Table("class", "injected", "detected", "true pos.", "precision", "recall")
    for s in scores:
        table.add_row(s.error_class, str(s.injected), str(s.detected), str(s.true_positives),
                      f"{s.precision:.4f}", f"{s.recall:.4f}")  # fmt: skip
    Console(width=max(Console().width, 100)).print(table)
    for name, value in summary(scores).items():
        typer.echo(f"{name}={value:.4f}")
