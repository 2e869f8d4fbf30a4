"""`lead-scoring calibrate` and `lead-scoring calibration-apply`."""

from __future__ import annotations

import typer

from lead_scoring.settings import get_settings


def calibrate(
    mode: str = typer.Option(
        "points",
        help="points: propose weights and threshold; challenger: also write"
        " calibration.challenger_scores (logistic regression close probabilities).",
    ),
    sdr_capacity: float = typer.Option(
        None,
        help="SDR-ready leads per week the SDRs can follow up within 48 h (default: the"
        " roster's capacity x the follow-up rate measured in marts.lead_follow_ups).",
    ),
    close_rate_low: float = typer.Option(None, help="Target close rate band, low end (0.10)."),
    close_rate_high: float = typer.Option(None, help="Target close rate band, high end (0.15)."),
    min_lift: float = typer.Option(None, help="Drop signals under this lift (points = pp)."),
    min_samples: int = typer.Option(None, help="Drop signals seen on fewer leads than this."),
    max_factors: int = typer.Option(None, help="Keep at most this many signals."),
    decision_window_days: int = typer.Option(
        None, help="Days a lead that never reached SQL is watched (default: median to SQL)."
    ),
    maturity_days: int = typer.Option(None, help="Leave out leads younger than this."),
    test_share: float = typer.Option(
        None, help="Share of the latest decisions the backtest holds out."
    ),
    as_of: str = typer.Option(None, help="Read outcomes as of this date (YYYY-MM-DD)."),
) -> None:
    """Propose weights and an SDR-ready threshold from won/lost history; never applies them."""
    import logging
    from datetime import date

    from lead_scoring.calibration import CalibrationError, config_from_env, run_calibration

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    try:
        config = config_from_env().with_overrides(
            sdr_capacity_per_week=sdr_capacity,
            target_close_rate_low=close_rate_low,
            target_close_rate_high=close_rate_high,
            min_lift_points=min_lift,
            min_samples=min_samples,
            max_factors=max_factors,
            decision_window_days=decision_window_days,
            maturity_days=maturity_days,
            test_share=test_share,
            as_of_date=date.fromisoformat(as_of) if as_of else None,
        )
        result = run_calibration(settings, config, mode=mode)
    except (CalibrationError, ValueError) as exc:
        typer.secho(f"calibrate: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    s = result.summary
    aucs = (f"backtest AUC current {s['auc_current']:.3f}, proposed {s['auc_proposed']:.3f},"
            f" challenger {s['auc_challenger']:.3f}")  # fmt: skip
    if s["no_signal"]:
        typer.secho(f"proposal {s['proposal']}: the scores carry no signal ({aucs}); no"
                    " threshold is recommended and the proposal cannot be applied: map more"
                    " fields or wait for more outcomes", fg="yellow")  # fmt: skip
    else:
        typer.echo(f"proposal {s['proposal']}: threshold {s['current_threshold']:g} ->"
                   f" {s['proposed_threshold']:g} ({s['threshold_status']}),"
                   f" {s['factors_kept']} factors of {s['candidates']} candidates;"
                   f" {aucs}")  # fmt: skip
    if capacity := s.get("capacity"):
        typer.echo(capacity["reason"])
    typer.echo(f"report: {result.report_path}")
    typer.echo(f"to apply: {s['apply_command']}")


def calibration_apply(
    proposal: str = typer.Argument(
        "latest", help="Proposal folder, its name under <home>/calibration/proposals, or latest."
    ),
    force: bool = typer.Option(False, help="Apply even if the proposal breaks a seed rule."),
) -> None:
    """Copy a calibration proposal's seeds and threshold into the dbt project."""
    from lead_scoring.calibration import CalibrationError, apply_proposal

    try:
        applied = apply_proposal(get_settings(), proposal, force=force)
    except CalibrationError as exc:
        typer.secho(f"calibration-apply: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"applied {applied['proposal']}: seeds {', '.join(applied['seeds'])}; threshold"
        f" {applied['previous_threshold']} -> {applied['threshold']:g}. The next dbt build"
        " scores under a new model_version (previous seeds kept in"
        f" {applied['replaced_seeds']})."
    )
