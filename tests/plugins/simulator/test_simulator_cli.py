"""The `simulate` command: options, summary, re-runs that replace data, clear errors."""

import pyarrow.parquet as pq
import typer
from conftest import truth
from typer.testing import CliRunner

from lead_scoring.crm_sandbox.store import CrmStore
from lead_scoring.simulator.cli import simulate

app = typer.Typer()
app.command("simulate")(simulate)
app.command("help")(lambda: None)  # two commands, so `simulate` is a sub-command
ARGS = ["simulate", "--leads", "400", "--accounts", "60", "--events", "6000", "--days", "30",
        "--end-date", "2026-11-01", "--seed", "9"]  # fmt: skip


def test_simulate_prints_a_summary_and_reruns_replace_the_data(settings):
    home = ["--home", str(settings.home)]
    result = CliRunner().invoke(app, [*ARGS, *home, "--error-rate", "invalid_email=0.05"])
    assert result.exit_code == 0, result.output
    assert "simulation: 2026-10-02 .. 2026-11-01" in result.output
    assert "400 contacts" in result.output and "replaced" not in result.output
    labels = truth(settings, "leads")["injected_error"]
    assert (labels == "invalid_email").sum() == 20

    again = CliRunner().invoke(app, [*ARGS, *home, "--leads", "300"])
    assert again.exit_code == 0, again.output
    assert f"replaced the earlier simulated data in {settings.home}" in again.output
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    assert store.count("contacts") == 300
    store.close()

    day = CliRunner().invoke(app, ["simulate", "--next-day", *home])
    assert day.exit_code == 0, day.output
    assert "next day: 2026-11-01 .. 2026-11-02" in day.output


def test_bad_options_fail_with_one_clear_line(settings):
    home = ["--home", str(settings.home)]
    result = CliRunner().invoke(app, [*ARGS, *home, "--error-rate", "invalid_email"])
    assert result.exit_code == 2
    assert "--error-rate: expected NAME=SHARE" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["simulate", "--next-day", *home])
    assert result.exit_code == 2
    assert f"no simulation in {settings.sources_dir}" in result.output


def test_crm_option_writes_salesforce_records_and_next_day_keeps_the_crm(settings):
    home = ["--home", str(settings.home)]
    result = CliRunner().invoke(app, [*ARGS, *home, "--crm", "salesforce"])
    assert result.exit_code == 0, result.output
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    assert store.count("sf:Lead") == 400 and store.count("contacts") == 0
    named = set(pq.read_table(settings.marketing_exports_dir).column("contact_id").to_pylist())
    leads = store.get_many("sf:Lead", [i for i in named if i[:3] == "00Q"])
    contacts = store.get_many("sf:Contact", [i for i in named if i[:3] == "003"])
    store.close()
    # marketing exports name the Lead, or the Contact once converted, as a Salesforce
    # marketing tool does; the rest are the injected unknown contacts
    assert {i[:3] for i in named} == {"00Q", "003"}
    assert contacts and all(c.properties["Email"] for c in contacts.values())
    assert len(leads) + len(contacts) > 0.9 * len({i for i in named if i[:3] in ("00Q", "003")})
    wrong = CliRunner().invoke(app, ["simulate", "--next-day", *home, "--crm", "hubspot"])
    assert wrong.exit_code == 2 and "salesforce, not hubspot" in wrong.output
    day = CliRunner().invoke(app, ["simulate", "--next-day", *home])
    assert day.exit_code == 0, day.output
    store = CrmStore(settings.crm_sandbox_dir / "crm.sqlite")
    assert store.count("sf:Lead") > 400 and store.count("contacts") == 0
    store.close()
    bad = CliRunner().invoke(app, [*ARGS, *home, "--crm", "pipedrive"])
    assert bad.exit_code == 2 and "crm 'pipedrive'" in bad.output


def test_hours_option_appends_part_of_a_day(settings):
    home = ["--home", str(settings.home)]
    assert CliRunner().invoke(app, [*ARGS, *home]).exit_code == 0
    hour = CliRunner().invoke(app, ["simulate", "--next-day", "--hours", "1", *home])
    assert hour.exit_code == 0, hour.output
    assert "next 1 h: 2026-11-01 00:00 .. 2026-11-01 01:00" in hour.output
    assert (settings.marketing_exports_dir / "events_2026-11-01T00.parquet").exists()
    wrong = CliRunner().invoke(app, ["simulate", "--next-day", "--hours", "30", *home])
    assert wrong.exit_code == 2 and "hours must be 1 to 24, got 30" in wrong.output
    alone = CliRunner().invoke(app, [*ARGS, *home, "--hours", "3"])
    assert alone.exit_code == 2 and "--hours 3: goes with --next-day" in alone.output
