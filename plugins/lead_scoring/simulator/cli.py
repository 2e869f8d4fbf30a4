"""`lead-scoring simulate`: generate the source systems of a B2B SaaS funnel (or one more day)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer


def simulate(
    leads: int = typer.Option(20_000, help="Leads (CRM contacts), duplicates included."),
    accounts: int = typer.Option(4_000, help="Accounts (CRM companies)."),
    events: int = typer.Option(None, help="Target total events (default: 30 per lead)."),
    days: int = typer.Option(180, help="Days of history."),
    end_date: datetime = typer.Option(
        None,
        formats=["%Y-%m-%d"],
        help="As-of date: history ends at its 00:00 UTC (default today).",
    ),
    seed: int = typer.Option(
        None,
        help="Random seed: the same seed gives the same data [default: 42; --next-day:"
        " the seed of the simulation].",
    ),
    error_rate: list[str] = typer.Option(
        None, help="Injected error rate, NAME=SHARE (repeatable), e.g. invalid_email=0.01."
    ),
    next_day: bool = typer.Option(
        False, "--next-day", help="Append one day after the current end instead."
    ),
    hours: int = typer.Option(
        24, help="With --next-day: append only this many hours (1..24), e.g. 1 for an hour."
    ),
    home: Path = typer.Option(None, help="LEAD_SCORING_HOME to write into (default: env)."),
    crm: str = typer.Option(
        None,
        help="The CRM the sandbox holds the funnel for: hubspot or salesforce [default:"
        " hubspot; --next-day: the simulation's].",
    ),
    follow_up_rate: list[str] = typer.Option(
        None,
        help="The sales team's follow-up behaviour, NAME=VALUE (repeatable): on_time, late,"
        " never (shares adding up to 1), at_due, decoy, sla_hours, late_max_hours; e.g."
        " on_time=0.7 --follow-up-rate late=0.2 --follow-up-rate never=0.1.",
    ),
    follow_ups: bool = typer.Option(
        False,
        "--follow-ups",
        help="Instead: the sales team at the simulation's end: log the follow-ups due in"
        " the CRM at LEAD_SCORING_CRM_SOURCE_URL (and _TOKEN, _KIND, _CA_BUNDLE) and take"
        " the leads a rep newly owns there as assigned.",
    ),
) -> None:
    """Simulate leads, accounts, product and marketing events and outcomes, with ground truth."""
    import dataclasses
    import logging

    from lead_scoring.settings import get_settings
    from lead_scoring.simulator import SimulatorError, simulate_next_day
    from lead_scoring.simulator import simulate as run_simulation
    from lead_scoring.simulator.reps import FollowUpRates, simulate_rep_follow_ups
    from lead_scoring.sources.errors import SourceUnavailable

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = get_settings()
    if home is not None:
        settings = dataclasses.replace(settings, home=home.resolve())
    try:
        if follow_ups:
            from lead_scoring.sources.extract import crm_source_from_env

            typer.echo(simulate_rep_follow_ups(settings, crm_source_from_env()).line())
            return
        if hours != 24 and not next_day:
            raise SimulatorError(f"--hours {hours}: goes with --next-day")
        if next_day:
            summary = simulate_next_day(settings, seed=seed, crm=crm, hours=hours)
        else:
            summary = run_simulation(
                settings,
                leads=leads,
                accounts=accounts,
                events=events,
                days=days,
                end_date=end_date.date() if end_date else None,
                seed=42 if seed is None else seed,
                error_rates=_rates(error_rate or []),
                crm=crm or "hubspot",
                follow_up_rates=FollowUpRates.from_mapping(
                    _rates(follow_up_rate or [], "--follow-up-rate", "on_time=0.8")
                ),
            )
    except (SimulatorError, SourceUnavailable) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo("\n".join(summary.lines()))


def _rates(
    pairs: list[str], option: str = "--error-rate", example: str = "invalid_email=0.01"
) -> dict[str, float]:
    from lead_scoring.simulator import SimulatorError

    rates = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            raise SimulatorError(
                f"{option}: expected NAME=SHARE (e.g. {example}), got {pair!r}"
            ) from None
    return rates
