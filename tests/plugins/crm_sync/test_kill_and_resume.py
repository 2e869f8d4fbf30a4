"""Reliability test 1: kill the sync mid-batch, rerun: everything converges, no duplicates.

The sync runs in a subprocess (target from LEAD_SCORING_CRM_* variables) against a slowed
sandbox and gets SIGKILL while batches are in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from crm_sync_helpers import STORE_TYPES, by_key, make_target, marts, table

from lead_scoring.crm_sync import preflight, run_sync

RUN = """
from lead_scoring.crm_sync import run_sync, target_from_env
from lead_scoring.settings import get_settings
run_sync(get_settings(), target_from_env(), "killed-run")
"""


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_killed_mid_batch_then_rerun_converges_without_duplicates(settings, crm, kind):
    leads = marts(settings, n=400)
    target = make_target(crm, kind, sync_accounts=False)
    preflight(target, settings)
    crm.faults.set(delay_seconds=0.05)
    env = {
        **os.environ,
        "LEAD_SCORING_HOME": str(settings.home),
        "LEAD_SCORING_CRM_KIND": kind,
        "LEAD_SCORING_CRM_URL": target.base_url,
        "LEAD_SCORING_CRM_TOKEN": target.token,
        "LEAD_SCORING_CRM_CA_BUNDLE": target.ca_bundle or "",
        "LEAD_SCORING_CRM_BATCH_SIZE": "10",
        "LEAD_SCORING_CRM_CONCURRENCY": "3",
        "LEAD_SCORING_CRM_SYNC_ACCOUNTS": "false",
        "LEAD_SCORING_CRM_MAX_REQUESTS_PER_10S": "10000",
        "LEAD_SCORING_CRM_RECORD_IDS": "external",
        "LEAD_SCORING_CRM_CREATE_RECORDS": "true",
    }
    child = subprocess.Popen([sys.executable, "-c", RUN], env=env, stderr=subprocess.PIPE)
    store_type = STORE_TYPES[kind][0]
    deadline = time.monotonic() + 60
    while crm.store.count(store_type) < 150 and child.poll() is None:
        assert time.monotonic() < deadline, "the sync did not get going"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()[-2000:]
    in_crm = crm.store.count(store_type)
    assert 150 <= in_crm < 400  # killed mid-run
    confirmed = table(settings, "select count(*) from sync.crm_state").iat[0, 0]
    assert confirmed <= in_crm  # state never runs ahead of the CRM
    killed = table(settings, "select status from sync.runs where run_id = 'killed-run'")
    assert killed["status"].tolist() == ["running"]
    crm.faults.clear()

    rerun = run_sync(settings, target, "rerun")

    assert rerun.status == "success"
    assert rerun.sent == 400 - confirmed  # only what the CRM had not confirmed to us
    assert rerun.inserted + rerun.updated == 400 - confirmed
    stored = by_key(crm, kind)  # asserts no duplicate record
    assert len(stored) == 400
    key = "email" if kind == "hubspot" else "lead_id"
    score = "ls_lead_score" if kind == "hubspot" else "Lead_Score__c"
    expected = dict(zip(leads[key], leads["lead_score"], strict=True))
    assert all(float(stored[k][score]) == pytest.approx(v) for k, v in expected.items())
    assert table(settings, "select count(*) from sync.crm_state").iat[0, 0] == 400
    runs = table(settings, "select run_id, status from sync.runs order by run_id")
    assert runs.values.tolist() == [["killed-run", "failed"], ["rerun", "success"]]
    assert run_sync(settings, target, "third").sent == 0
