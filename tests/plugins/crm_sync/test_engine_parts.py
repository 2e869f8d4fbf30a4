"""Parts of the sync that need no CRM: configuration, wire values, limiter, match keys."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pandas as pd
import pytest
from crm_sync_helpers import marts

from lead_scoring.crm_sync import CrmPreflightError, CrmTarget, target_from_connection
from lead_scoring.crm_sync.config import target_from_env
from lead_scoring.crm_sync.fields import (
    LEAD_FIELDS,
    LEADS,
    csv_value,
    hubspot_values,
    later_stage,
    reason_labels,
    salesforce_values,
    shown_score,
)
from lead_scoring.crm_sync.marts import prepare, redact
from lead_scoring.crm_sync.throttle import RateLimiter, Verdict, verdict_for_response
from lead_scoring.warehouse import open_warehouse

DATE = next(f for f in LEAD_FIELDS if f.kind == "date")
DATETIME = next(f for f in LEAD_FIELDS if f.kind == "datetime")
NUMBER = next(f for f in LEAD_FIELDS if f.kind == "number")
BOOL = next(f for f in LEAD_FIELDS if f.kind == "bool")
TEXT = next(f for f in LEAD_FIELDS if f.kind == "text")


def test_target_from_env_reads_kind_url_token_ca_and_options():
    env = {
        "LEAD_SCORING_CRM_KIND": "salesforce",
        "LEAD_SCORING_CRM_URL": "https://acme.my.salesforce.com/",
        "LEAD_SCORING_CRM_TOKEN": "00Dxx!secret",
        "LEAD_SCORING_CRM_CA_BUNDLE": "/etc/ca.pem",
        "LEAD_SCORING_CRM_BATCH_SIZE": "150",
        "LEAD_SCORING_CRM_DEAD_LETTER_ATTEMPTS": "3",
        "LEAD_SCORING_CRM_SYNC_ACCOUNTS": "false",
    }
    target = target_from_env(env)
    assert (target.kind, target.base_url, target.ca_bundle) == (
        "salesforce", "https://acme.my.salesforce.com", "/etc/ca.pem")  # fmt: skip
    assert (target.batch_size, target.options.dead_letter_attempts) == (150, 3)
    assert target.options.sync_accounts is False
    assert target.api_version == "59.0" and target.name == "salesforce:acme.my.salesforce.com"
    assert "secret" not in repr(target)


def test_target_defaults_to_hubspot_and_caps_the_batch_size():
    target = target_from_env({"LEAD_SCORING_CRM_TOKEN": "t", "LEAD_SCORING_CRM_BATCH_SIZE": "500"})
    assert (target.kind, target.base_url, target.batch_size) == (
        "hubspot", "https://api.hubapi.com", 100)  # fmt: skip
    assert target.max_requests_per_10s == 100


def test_unassigned_owners_come_from_the_option_or_the_one_environment_setting(monkeypatch):
    monkeypatch.delenv("LEAD_SCORING_CRM_UNASSIGNED_OWNERS", raising=False)
    env = {"LEAD_SCORING_CRM_TOKEN": "t", "LEAD_SCORING_CRM_UNASSIGNED_OWNERS": " 1009, ,q1 "}
    assert target_from_env(env).unassigned_owners == {"1009", "q1"}
    conn = SimpleNamespace(conn_type="salesforce", host="acme.my.salesforce.com", port=None,
                           schema="https", password="t",
                           extra_dejson={"unassigned_owners": "005000000000001AAA"})  # fmt: skip
    assert target_from_connection(conn).unassigned_owners == {"005000000000001AAA"}
    conn.extra_dejson = {}
    assert target_from_connection(conn).unassigned_owners == set()
    monkeypatch.setenv("LEAD_SCORING_CRM_UNASSIGNED_OWNERS", "00G000000000001AAA")
    assert target_from_connection(conn).unassigned_owners == {"00G000000000001AAA"}


def test_bad_configuration_is_one_clear_error():
    with pytest.raises(CrmPreflightError, match="CRM kind 'pipedrive' is not supported"):
        target_from_env({"LEAD_SCORING_CRM_KIND": "pipedrive", "LEAD_SCORING_CRM_URL": "x"})
    with pytest.raises(CrmPreflightError, match="no CRM URL for the salesforce target"):
        target_from_env({"LEAD_SCORING_CRM_KIND": "salesforce"})
    with pytest.raises(CrmPreflightError, match="batch_size must be a int, got 'many'"):
        target_from_env({"LEAD_SCORING_CRM_BATCH_SIZE": "many"})


def test_target_from_an_airflow_style_connection():
    conn = SimpleNamespace(
        conn_type="salesforce", host="crm-sandbox", port=8766, schema="https",
        password="tok", extra_dejson={"ca_bundle": "/ca.pem", "bulk_threshold": 500,
                                      "name": "sf-prod"},
    )  # fmt: skip
    target = target_from_connection(conn)
    assert target == CrmTarget(
        "salesforce", "https://crm-sandbox:8766", "tok", ca_bundle="/ca.pem", name="sf-prod",
        options=target.options,
    )  # fmt: skip
    assert target.options.bulk_threshold == 500
    http = SimpleNamespace(
        conn_type="http",
        host="http://127.0.0.1:8765",
        port=None,
        schema=None,
        password="t",
        extra_dejson={"kind": "hubspot"},
    )
    assert target_from_connection(http).base_url == "http://127.0.0.1:8765"


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Pacific/Kiritimati"])
def test_wire_dates_do_not_depend_on_the_local_time_zone(monkeypatch, zone):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        late = pd.Series([pd.Timestamp("2026-11-01 23:59:00")])  # naive: UTC by contract
        aware = pd.Series([pd.Timestamp("2026-03-08 21:30:00", tz="America/New_York")])
        assert hubspot_values(DATE, late) == [
            str(int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()) * 1000)]  # fmt: skip
        assert hubspot_values(DATE, aware) == [  # 01:30 UTC on March 9
            str(int(datetime(2026, 3, 9, tzinfo=UTC).timestamp()) * 1000)]  # fmt: skip
        assert hubspot_values(DATETIME, late) == ["1793577540000"]
        assert salesforce_values(DATE, aware) == ["2026-03-09"]
        assert salesforce_values(DATETIME, aware) == ["2026-03-09T01:30:00.000Z"]
        assert salesforce_values(DATE, pd.Series([date(2026, 3, 8), None])) == ["2026-03-08", None]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_wire_values_for_numbers_booleans_and_nulls():
    numbers = pd.Series([42.0, 42.5, 1 / 3, None, -0.0, 1234567.0])
    assert hubspot_values(NUMBER, numbers) == ["42", "42.5", "0.3333", "", "0", "1234567"]
    assert salesforce_values(NUMBER, pd.Series([2.5, float("nan")])) == [2.5, None]
    flags = pd.Series([True, False, None], dtype=object)
    assert hubspot_values(BOOL, flags) == ["true", "false", ""]
    assert salesforce_values(BOOL, flags) == [True, False, None]
    assert [csv_value(v) for v in (None, True, 2.50, "a")] == ["#N/A", "true", "2.5", "a"]


def test_blank_text_clears_the_crm_value():
    text = pd.Series(["A1", "  ", None, "customer"])
    assert hubspot_values(TEXT, text) == ["A1", "", "", "customer"]
    assert salesforce_values(TEXT, text) == ["A1", None, None, "customer"]


def test_lifecycle_order():
    assert later_stage("sql", "mql") == "sql"
    assert later_stage("mql", "customer") == "customer"
    assert later_stage(None, "iql") == "iql"
    assert later_stage("sql", None) == "sql"


def test_rolling_window_limiter_admits_the_limit_then_makes_the_next_wait():
    limiter = RateLimiter(3, window_s=10.0, margin_s=0.1)
    assert [limiter.start()[0] for _ in range(3)] == [0.0, 0.0, 0.0]
    assert 9.0 < limiter.start()[0] <= 10.1  # the 4th start waits for the window to roll
    limiter.pause(30)
    assert limiter.start()[0] > 29


def test_error_answers_are_classified():
    daily = b'{"status":"error","errorType":"RATE_LIMIT","policyName":"DAILY"}'
    ten = b'{"status":"error","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}'
    assert verdict_for_response(429, daily) is Verdict.DAILY
    assert verdict_for_response(429, ten) is Verdict.RATE
    assert verdict_for_response(403, b'[{"errorCode":"REQUEST_LIMIT_EXCEEDED"}]') is Verdict.DAILY
    assert verdict_for_response(503, b"") is Verdict.RETRY
    assert verdict_for_response(400, b"bad") is None
    assert verdict_for_response(403, b"forbidden") is None


def test_redact_removes_email_addresses():
    assert redact("Email address Bob.X@Example.com is invalid") == (
        "Email address <email> is invalid")  # fmt: skip


def test_match_keys_are_normalised_and_duplicates_collapse_to_the_freshest(settings):
    leads = marts(settings, n=4, email={0: " Ann@X.com", 1: "ann@x.com ", 2: ""})
    leads.loc[1, "scored_at"] = leads.loc[1, "scored_at"] + pd.Timedelta(hours=1)
    with open_warehouse(settings) as wh:
        wh.write_df(leads, "marts", "lead_scores", mode="replace")
        hubspot = prepare(wh, LEADS, CrmTarget("hubspot", "http://x", "t"), "rules")
        salesforce = prepare(wh, LEADS, CrmTarget("salesforce", "https://x", "t"), "rules")
    assert [(r.record_id, r.match_key) for r in hubspot.rows] == [
        ("2", "ann@x.com"), ("4", leads.loc[3, "email"])]  # fmt: skip
    assert hubspot.duplicates == [("1", "2")]
    assert hubspot.invalid == [("3", "no e-mail address to match the CRM contact on")]
    assert [r.match_key for r in salesforce.rows] == ["1", "2", "3", "4"]
    assert salesforce.rows[2].create_fields["Email"] is None


def test_a_request_counts_in_the_window_from_its_answer():
    """The CRM counts a request somewhere between its start and its answer: the client
    counts it from the answer, so a slow host cannot run ahead of the CRM's window."""
    limiter = RateLimiter(1, window_s=10.0, margin_s=0.0)
    wait, slot = limiter.start()
    assert wait == 0.0 and slot is not None
    time.sleep(0.3)  # the request is on its way
    limiter.finished(slot)
    assert limiter.start()[0] > 9.95  # from the answer; from the start it would be < 9.75


def test_what_a_rep_sees_of_the_score_and_the_reasons():
    assert [shown_score(v) for v in ("40.4", 40.5, "-0.5", "", None)] == [40, 41, 0, None, None]
    today = "+25 created a document (2d ago); +20 VP title; -5 careers page (5d ago)"
    tomorrow = "+20 VP title; +19 created a document (3d ago); -5 careers page (6d ago)"
    assert reason_labels(today) == reason_labels(tomorrow) == (
        "+VP title; +created a document; -careers page")  # fmt: skip
    assert reason_labels(today.replace("-5 careers", "+5 careers")) != reason_labels(today)
    assert reason_labels("") == reason_labels(None) == ""
