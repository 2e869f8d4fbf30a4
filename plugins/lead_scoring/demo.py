"""`lead-scoring demo`: simulate the source systems, then run the nightly DAG with Airflow."""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime

import typer

from lead_scoring.settings import get_settings

CRMS = ("hubspot", "salesforce")


def _show_progress(line: str) -> None:
    from lead_scoring.airflow_runner import progress

    if shown := progress(line):
        typer.echo(f"  {shown}")


def _sandbox_connection(sandbox, crm: str, **extra: object) -> dict:
    """An Airflow connection to the sandbox's HubSpot or Salesforce (HTTPS: its CA file)."""
    from lead_scoring.airflow_runner import http_connection

    if crm == "hubspot":
        return http_connection(sandbox.hubspot_url, sandbox.token, kind="hubspot", **extra)
    return http_connection(
        sandbox.salesforce_url, sandbox.token, "salesforce", ca_bundle=str(sandbox.ca_path),
        **extra,
    )  # fmt: skip


def demo(
    leads: int = typer.Option(20_000, help="Leads to simulate."),
    accounts: int = typer.Option(4_000, help="Accounts to simulate."),
    seed: int = typer.Option(42, help="Random seed of the simulator."),
    keep_data: bool = typer.Option(False, help="Reuse existing demo data instead of regenerating."),
    crm: str = typer.Option("hubspot", help="The demo company's CRM: hubspot or salesforce."),
) -> None:
    """Generate demo data, run `lead_scoring_nightly` end to end and print a summary."""
    from lead_scoring import airflow_runner
    from lead_scoring.crm_sandbox import start_sandbox
    from lead_scoring.simulator import simulate

    if crm not in CRMS:
        raise typer.BadParameter(f"choose one of {', '.join(CRMS)}", param_hint="--crm")
    settings = get_settings()
    started = time.monotonic()
    today = datetime.now(UTC).date()
    if not (keep_data and (settings.sources_dir / "simulation.json").exists()):
        typer.echo(
            f"[1/3] simulating {leads:,} leads and {accounts:,} accounts into {settings.home}"
        )
        simulate(settings, leads=leads, accounts=accounts, end_date=today, seed=seed, crm=crm)
        # New sources, new warehouse: no scores, history or load state from an earlier demo.
        settings.warehouse_path.unlink(missing_ok=True)
        shutil.rmtree(settings.home / ".dlt", ignore_errors=True)
    store = settings.crm_sandbox_dir / "crm.sqlite"
    # the sandbox's token: LEAD_SCORING_CRM_TOKEN as for `lead-scoring crm-sandbox`
    with start_sandbox(store, token=os.environ.get("LEAD_SCORING_CRM_TOKEN") or None) as sandbox:
        url = sandbox.salesforce_url if crm == "salesforce" else sandbox.hubspot_url
        typer.echo(f"[2/3] CRM sandbox ({crm}) at {url}; preparing Airflow")
        env = airflow_runner.airflow_env(
            settings,
            crm_source=_sandbox_connection(sandbox, crm, max_requests_per_second=15),
            # The sandbox gets a new port each run: a stable name keeps the sync state,
            # so a second demo sends only what changed.
            crm_target=_sandbox_connection(sandbox, crm, name=f"{crm}:crm-sandbox"),
        )
        if crm == "salesforce":
            from lead_scoring.crm_sandbox.salesforce_load import INTEGRATION_USER

            # the sandbox's Integration User owns every simulated record: "nobody yet", so
            # routing assigns those leads and the sync may write their OwnerId
            env["LEAD_SCORING_CRM_UNASSIGNED_OWNERS"] = INTEGRATION_USER
        log_file = airflow_runner.new_log_file(settings.home / "logs", "demo")
        try:
            airflow_runner.prepare_airflow(env, log_file)
        except airflow_runner.AirflowCommandFailed as exc:
            typer.secho(f"preparing Airflow failed: {exc}", fg="red", err=True)
            raise typer.Exit(1) from exc
        typer.echo(f"[3/3] airflow dags test lead_scoring_nightly {today} (full log: {log_file})")
        code = airflow_runner.dags_test(
            env,
            "lead_scoring_nightly",
            today.isoformat(),
            log_file,
            on_line=_show_progress,
        )
    if code != 0:
        summary = airflow_runner.failure_summary(log_file)
        typer.secho(
            f"the nightly DAG failed (exit {code})\n{summary}\nfull log of this run: {log_file}",
            fg="red",
            err=True,
        )
        raise typer.Exit(code)
    from lead_scoring.report import format_summary, load_latest

    typer.echo("")
    typer.echo(format_summary(load_latest(settings)))
    typer.echo(f"demo finished in {time.monotonic() - started:.0f} s")
