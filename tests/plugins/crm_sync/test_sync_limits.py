"""Reliability tests 3 (ten-secondly 429), 4 (daily 429), 15 (deadline), rate limiter, 5xx.

The "30 s" window of 429s is scaled down to 2 s; the client limiter test needs one real
ten-second window of the sandbox's rolling limit (about 10 s of wall time).
"""

from __future__ import annotations

import logging

import pytest
from crm_sync_helpers import (
    STORE_TYPES,
    by_key,
    faults_after,
    make_target,
    marts,
    requests_to,
    table,
)

from lead_scoring.crm_sandbox.server import start_sandbox
from lead_scoring.crm_sync import preflight, run_sync

BATCH_POST = "hubspot POST /crm/v3/objects/{object_type}/batch/{action}"


def test_ten_secondly_429s_back_off_with_jitter_and_the_posts_are_retried(settings, crm):
    marts(settings, n=200)
    target = make_target(crm, "hubspot", sync_accounts=False, batch_size=20,
                         backoff_base_s=0.25, backoff_cap_s=2.0)  # fmt: skip
    preflight(target, settings)
    crm.faults.set(delay_seconds=0.05)  # keep the run going while the window opens
    # The "30 s" window of the bar, scaled down to 2 s, opens once the first batch landed.
    with faults_after(crm, "contacts", 20, ten_secondly_429_seconds=2.0):
        result = run_sync(settings, target, "run-1")

    assert result.status == "success" and result.inserted == 200
    posts = crm.stats()["requests"][BATCH_POST]
    assert posts["200"] == 10  # every batch POST confirmed exactly once...
    assert posts.get("429", 0) >= 1  # ...after being refused with 429 and retried
    assert posts["429"] < 40  # backing off: no hot loop while the window lasts
    assert len(by_key(crm, "hubspot")) == 200


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_server_errors_on_writes_are_retried(settings, crm, kind):
    marts(settings, n=40)
    target = make_target(crm, kind, sync_accounts=False, batch_size=10, concurrency=1)
    preflight(target, settings)
    crm.faults.set(delay_seconds=0.05)
    with faults_after(crm, STORE_TYPES[kind][0], 10, server_error_next=3):
        result = run_sync(settings, target, "run-1")

    assert result.status == "success" and result.inserted == 40
    writes = "POST /crm/v3/objects" if kind == "hubspot" else "PATCH /services/data"
    assert requests_to(crm, writes, "503") >= 3
    assert len(by_key(crm, kind)) == 40


def test_daily_429_stops_cleanly_and_the_next_run_resumes(settings, tmp_path):
    marts(settings, n=200)
    with start_sandbox(tmp_path / "crm.sqlite", rate_limit_per_10s=100_000) as crm:
        target = make_target(crm, "hubspot", sync_accounts=False, batch_size=20,
                             concurrency=1)  # fmt: skip
        preflight(target, settings)
        crm.state.limiter.daily = crm.stats()["total"] + 2 + 3  # verify GETs + 3 batches

        first = run_sync(settings, target, "run-1")

        assert first.status == "stopped_daily_limit" and first.alert
        assert (first.inserted, first.pending, first.rejected) == (60, 140, 0)
        assert table(settings, "select count(*) from sync.crm_state").iat[0, 0] == 60
        status = table(settings, "select status, pending from sync.runs")
        assert status.values.tolist() == [["stopped_daily_limit", 140]]
        assert requests_to(crm, "batch", "429") == 1  # stopped at the first daily 429

        crm.state.limiter.reset()  # a new day
        second = run_sync(settings, target, "run-2")

        assert (second.status, second.sent, second.inserted) == ("success", 140, 140)
        assert len(by_key(crm, "hubspot")) == 200


def test_salesforce_daily_limit_stops_before_sending_and_resumes(settings, crm):
    marts(settings, n=30)
    target = make_target(crm, "salesforce", sync_accounts=False)
    preflight(target, settings)
    crm.faults.set(daily_limit_exhausted=True)  # 403 REQUEST_LIMIT_EXCEEDED

    first = run_sync(settings, target, "run-1")

    assert (first.status, first.pending, first.sent) == ("stopped_daily_limit", 30, 0)
    crm.faults.clear()
    second = run_sync(settings, target, "run-2")
    assert (second.status, second.inserted) == ("success", 30)


@pytest.mark.parametrize("kind", ["hubspot", "salesforce"])
def test_run_past_its_deadline_ends_with_an_alert_and_the_next_run_resumes(
    settings, crm, kind, caplog
):
    marts(settings, n=100)
    target = make_target(crm, kind, sync_accounts=False, batch_size=10, concurrency=1)
    preflight(target, settings)
    crm.faults.set(delay_seconds=0.3)  # a slow CRM: 10 batches cannot finish in 1 s
    caplog.set_level(logging.WARNING, logger="lead_scoring.crm_sync")

    first = run_sync(settings, target, "run-1", deadline_s=1.0)

    assert first.status == "stopped_deadline" and first.alert
    assert first.pending > 0 and first.inserted + first.pending == 100
    assert "ALERT" in caplog.text and "stopped_deadline" in caplog.text
    crm.faults.clear()
    second = run_sync(settings, target, "run-2")
    assert (second.status, second.sent) == ("success", first.pending)
    assert len(by_key(crm, kind)) == 100


def test_client_rate_limiter_keeps_error_responses_under_five_percent(settings, tmp_path):
    marts(settings, n=175)
    with start_sandbox(tmp_path / "crm.sqlite", rate_limit_per_10s=30) as crm:
        target = make_target(crm, "hubspot", sync_accounts=False, batch_size=5,
                             max_requests_per_10s=30)  # fmt: skip
        preflight(target, settings)
        crm.state.limiter.reset()  # the preflight's requests belong to an earlier window
        crm.state.stats.reset()

        result = run_sync(settings, target, "run-1")  # 37 requests: 30 per 10 s allowed

        assert result.status == "success" and result.inserted == 175
        assert result.requests == 37
        assert result.error_responses <= 0.05 * result.requests
        refused = sum(n for k, n in crm.stats()["by_status"].items() if k.endswith("429"))
        assert refused <= 0.05 * crm.stats()["total"]
