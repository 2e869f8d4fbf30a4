"""`lead-scoring security` (`make security`): the security figures, as ``name=value`` lines.

* ``xss_payloads_tried`` / ``xss_payloads_escaped``: tests/test_report_escaping.py pushes
  each payload of its corpus (script tags, attribute breakouts, ``javascript:`` URLs)
  through every text field of every HTML page the product writes (run report, its
  calibration section, the calibration report); a case is escaped when its test passes.
* ``secrets_found_in_logs``: a small ``lead-scoring demo`` run (Airflow, the nightly DAG,
  the CRM sync) with a random CRM token; the places (files under the home: logs, reports,
  dlt's folder; warehouse tables) that hold the token.
* ``forget_traces_left``, ``forget_s``: a simulated warehouse of
  ``LEAD_SCORING_SECURITY_LEADS`` leads (default 1,000,000: simulate, extract, gate, dbt
  build); one person with events forgotten by e-mail (``lead-scoring forget``, without
  ``--crm``); the seconds it took, and the places (warehouse tables, files under the home
  but the CRM sandbox's store, which is the CRM) still holding their e-mail or phone.

Everything runs in a scratch folder under ``LEAD_SCORING_BENCH_DIR`` (removed afterwards
unless ``LEAD_SCORING_BENCH_KEEP=1``); progress goes to stderr.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import typer

from lead_scoring.bench import bench_settings, emit

log = logging.getLogger("lead_scoring.security")
REPO = Path(__file__).resolve().parents[3]
ESCAPING_TESTS = REPO / "tests" / "test_report_escaping.py"
DEMO_SIZE = ("--leads", "2000", "--accounts", "400")


def xss_figures(folder: Path) -> None:
    """Run the escaping tests; count the payload cases and those that passed."""
    if not ESCAPING_TESTS.exists():
        log.warning("security: %s not found (run from a checkout): no XSS figures", ESCAPING_TESTS)
        return
    report = folder / "escaping.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "-n", "0", str(ESCAPING_TESTS), f"--junitxml={report}"],
        cwd=REPO, stdout=sys.stderr, check=False,
    )  # fmt: skip
    cases = [case for case in ET.parse(report).getroot().iter("testcase")
             if "escapes_every_field" in case.get("name", "")]  # fmt: skip
    failed = [case for case in cases if case.find("failure") is not None
              or case.find("error") is not None or case.find("skipped") is not None]  # fmt: skip
    emit("xss_payloads_tried", len(cases))
    emit("xss_payloads_escaped", len(cases) - len(failed))


def secret_figures(folder: Path) -> None:
    """A demo run with a random CRM token; where the token ends up."""
    from lead_scoring.privacy.forget import traces

    token = "tok-" + secrets.token_hex(16)
    home = folder / "demo"
    env = os.environ | {"LEAD_SCORING_HOME": str(home), "LEAD_SCORING_CRM_TOKEN": token,
                        "DO_NOT_TRACK": "1"}  # fmt: skip
    started = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).with_name("lead-scoring")), "demo",
                           *DEMO_SIZE], env=env, stdout=sys.stderr, check=False)  # fmt: skip
    log.info("security: demo exited %s in %.0f s", done.returncode, time.monotonic() - started)
    if done.returncode != 0:
        log.warning("security: the demo failed: no secrets figure")
        return
    settings = bench_settings(home)
    places = traces(settings, [token])
    for place in places:
        log.warning("security: the CRM token is in %s", place)
    emit("secrets_found_in_logs", len(places))


def forget_figures(folder: Path, leads: int) -> None:
    """Forget one person of a simulated warehouse of ``leads`` leads; time and traces."""
    from lead_scoring.bench import END_DATE, run_dbt, simulated_home
    from lead_scoring.privacy.forget import forget_people, traces
    from lead_scoring.warehouse import open_warehouse

    home = simulated_home(folder, leads, max(leads // 5, 10), leads * 30)
    settings = bench_settings(home)
    run_dbt(settings, END_DATE, "build", "--exclude-resource-type", "test")
    with open_warehouse(settings, read_only=True) as wh:
        person = wh.query_df(
            "select c.email, c.phone from raw.crm_contacts as c"
            " where c.email is not null and c.phone is not null and exists ("
            "  select 1 from raw.marketing_events as e where e.contact_id = c.hs_object_id)"
            " order by c.hs_object_id limit 1"
        ).iloc[0]
    started = time.monotonic()
    forget_people(settings, emails=[person["email"]])
    emit("forget_s", round(time.monotonic() - started, 1))
    crm = str(settings.crm_sandbox_dir.relative_to(settings.home))
    places = [p for p in traces(settings, [person["email"], person["phone"]]) if crm not in p]
    for place in places:
        log.warning("security: a trace of the forgotten person is left in %s", place)
    emit("forget_traces_left", len(places))


def security() -> None:
    """Print the security figures (XSS escaping, secrets in logs, erasure) as name=value."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    text = os.environ.get("LEAD_SCORING_SECURITY_LEADS", "1000000").replace("_", "")
    if not text.isdigit() or int(text) < 100:
        typer.secho(f"error: LEAD_SCORING_SECURITY_LEADS must be a whole number of at least"
                    f" 100, got {text!r}", fg="red", err=True)  # fmt: skip
        raise typer.Exit(2)
    parent = os.environ.get("LEAD_SCORING_BENCH_DIR") or None
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="lead-scoring-security-", dir=parent))
    try:
        xss_figures(folder)
        secret_figures(folder)
        forget_figures(folder, int(text))
    finally:
        if os.environ.get("LEAD_SCORING_BENCH_KEEP") == "1":
            log.info("security: kept %s", folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
