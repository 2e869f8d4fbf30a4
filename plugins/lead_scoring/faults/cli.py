"""``lead-scoring faults`` (``make faults``): the fault campaign, as ``name=value`` lines."""

from __future__ import annotations

import logging
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import typer


def faults(
    leads: int = typer.Option(2_000, help="Leads to simulate."),
    accounts: int = typer.Option(None, help="Accounts to simulate (default: leads / 5)."),
    seed: int = typer.Option(42, help="Random seed of the simulator."),
    only: list[str] = typer.Option(
        None, help="Run only this stage or stage/point (repeatable), e.g. sync/mid_contacts."
    ),
    jobs: int = typer.Option(3, help="Kill points run at once."),
    work_dir: Path = typer.Option(
        None, help="Folder for the homes and logs, kept (default: a temporary folder, removed"
        " unless a rerun differs)."
    ),
) -> None:
    """Kill the nightly run (SIGKILL) inside each stage, rerun the date and compare marts and
    CRM with a clean run; prints progress per kill point, then faults_kill_points,
    faults_reruns_equal and faults_crm_duplicates (docs/faults.md)."""
    from lead_scoring.faults.campaign import CampaignError, PointResult, run_campaign
    from lead_scoring.faults.points import UnknownKillPoint, select

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("uvicorn.error").addFilter(_not_a_killed_client)
    # The stages run in sessions of their own: on SIGTERM, unwind so that they are killed too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        points = select(only)
    except UnknownKillPoint as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    if leads < 10:
        typer.secho("error: --leads must be at least 10", fg="red", err=True)
        raise typer.Exit(2)
    accounts = accounts or max(1, leads // 5)
    if work_dir is not None and work_dir.exists() and any(work_dir.iterdir()):
        typer.secho(f"error: --work-dir {work_dir} is not empty", fg="red", err=True)
        raise typer.Exit(2)
    root = work_dir.resolve() if work_dir else Path(tempfile.mkdtemp(prefix="lead-scoring-faults-"))
    done = 0

    def show(result: PointResult) -> None:
        nonlocal done
        done += 1
        typer.echo(f"kill point {done}/{len(points)} {result.line()}")

    log = logging.getLogger("lead_scoring.faults")
    try:
        campaign = run_campaign(root, points, leads, accounts, seed, jobs, on_result=show)
    except CampaignError as exc:
        typer.secho(f"error: {exc}\n(homes and logs kept in {root})", fg="red", err=True)
        raise typer.Exit(1) from exc
    except BaseException:
        if work_dir is None:
            shutil.rmtree(root, ignore_errors=True)
        raise
    for name, value in campaign.figures().items():
        typer.echo(f"{name}={value}")
    met = campaign.reruns_equal == campaign.kill_points and not campaign.crm_duplicates
    if work_dir is None and met:
        shutil.rmtree(root, ignore_errors=True)
    else:
        log.info("faults: homes and logs kept in %s", root)
    log.info("faults: finished in %.0f s", campaign.seconds)


def _not_a_killed_client(record: logging.LogRecord) -> bool:
    """Drop the sandbox's traceback for a request whose client was killed mid-send."""
    exc = record.exc_info[1] if record.exc_info else None
    return type(exc).__name__ != "ClientDisconnect"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
