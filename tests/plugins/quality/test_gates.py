"""Batch-level gates stop the run after recording it; schema problems are named clearly;
first_seen_at survives across runs; Data Docs are written per run."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from quality_rows import AS_OF, contact, product_event, product_user, quality, raw_frame

from lead_scoring.quality.gate import QualityGateFailed, run_quality_gate

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples" / "import"


def _failure(settings, run_id: str, as_of=AS_OF) -> QualityGateFailed:
    with pytest.raises(QualityGateFailed) as caught:
        run_quality_gate(settings, run_id, as_of)
    return caught.value


def _run(settings, run_id: str) -> dict:
    runs = quality(settings, "runs")
    return runs[runs["run_id"] == run_id].iloc[0].to_dict()


def test_clean_batch_passes_and_is_recorded(settings, clean_raw):
    result = run_quality_gate(settings, "ok-1", AS_OF)
    assert (result.status, result.records_quarantined, result.quarantine_rate) == ("passed", 0, 0)
    assert result.counts_by_rule == {}
    run = _run(settings, "ok-1")
    assert run["status"] == "passed" and run["records_checked"] == result.records_checked == 7
    volumes = quality(settings, "source_volumes")
    assert dict(zip(volumes["table_name"], volumes["row_count"], strict=True))["crm_contacts"] == 2


def test_quarantine_rate_above_the_limit_fails_after_writing_the_quarantine(
    settings, write_raw, monkeypatch
):
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "0.10")
    monkeypatch.setenv("LEAD_SCORING_DQ_RATE_MIN_RECORDS", "5")
    contacts = [contact(i) for i in range(1, 9)] + [
        contact(20, email="broken"), contact(21, email="also broken")
    ]  # fmt: skip
    write_raw(crm_contacts=contacts)
    failed = _failure(settings, "rate-1")
    assert failed.result.status == "failed"
    assert failed.result.records_quarantined == 2
    assert "20.0% of contact records quarantined (2 of 10), above 10.0%" in str(failed)
    assert set(quality(settings, "quarantine")["record_id"]) == {"20", "21"}
    assert _run(settings, "rate-1")["status"] == "failed"


def test_row_volume_drop_against_the_previous_passed_run(settings, write_raw):
    write_raw(crm_contacts=[contact(i) for i in range(1, 11)])
    run_quality_gate(settings, "vol-1", AS_OF)
    write_raw(crm_contacts=[contact(i) for i in range(1, 6)])  # -50%: at the limit, passes
    run_quality_gate(settings, "vol-2", AS_OF)
    write_raw(crm_contacts=[contact(1), contact(2)])  # -60% against vol-2
    failed = _failure(settings, "vol-3")
    assert "raw.crm_contacts dropped from 5 to 2 rows (60%, limit 50%)" in str(failed)
    # the failed run is not the baseline: the same drop fails again
    assert "dropped from 5 to 2" in str(_failure(settings, "vol-4"))


def test_stale_source_fails(settings, clean_raw):
    failed = _failure(settings, "fresh-1", as_of=AS_OF + timedelta(days=5))
    assert "CRM is stale" in str(failed) and "limit 72 h" in str(failed)
    assert "product database is stale" in str(failed)


def test_freshness_limit_is_configurable(settings, clean_raw, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_SOURCE_AGE_HOURS", "200")
    assert run_quality_gate(settings, "fresh-2", AS_OF + timedelta(days=5)).status == "passed"


def _gate_message(settings, run_id: str, as_of) -> str:
    try:
        return run_quality_gate(settings, run_id, as_of).message
    except QualityGateFailed as failed:
        return str(failed)


def test_imported_history_is_not_judged_stale_but_a_later_extract_is(settings):
    """Past data loaded by `lead-scoring import` is a backfill; once the extract loads the
    CRM tables again, their age counts."""
    from lead_scoring.byod import run_import
    from lead_scoring.warehouse import open_warehouse

    run_import(settings, EXAMPLES / "mapping.yml")  # leads and events of March 2026
    today = datetime.now(UTC)
    assert "stale" not in _gate_message(settings, "import-1", today)
    with open_warehouse(settings) as wh:
        wh.execute("insert into raw._dlt_loads (load_id, schema_name, status, inserted_at)"
                   " values ('9999999999.0', 'lead_scoring_raw', 0, ?)", [today])  # fmt: skip
        for table in ("crm_contacts", "crm_companies", "crm_deals"):
            wh.execute(f"update raw.{table} set _dlt_load_id = '9999999999.0'")
    message = _gate_message(settings, "import-2", today)
    assert "CRM is stale" in message and "marketing exports is stale" not in message


def test_empty_leads_table_is_an_error(settings, clean_raw):
    clean_raw(crm_contacts=[])
    failed = _failure(settings, "empty-1")
    assert "raw.crm_contacts is empty" in str(failed)
    assert _run(settings, "empty-1")["status"] == "failed"


def test_missing_leads_table_is_an_error(settings):
    assert "raw.crm_contacts does not exist" in str(_failure(settings, "none-1"))
    for table in ("quarantine", "record_flags", "normalised_values", "email_domains",
                  "duplicate_leads", "runs"):  # fmt: skip
        quality(settings, table)  # the tables exist, possibly empty


def test_missing_column_names_table_and_column(settings, clean_raw):
    from lead_scoring.warehouse import open_warehouse

    frame = raw_frame("crm_contacts", [contact(1)]).drop(columns=["country"])
    with open_warehouse(settings) as wh:
        wh.write_df(frame, "raw", "crm_contacts", mode="replace")
    assert "raw.crm_contacts has no column 'country'" in str(_failure(settings, "schema-1"))


def test_wrong_type_names_table_column_and_sample(settings, clean_raw):
    from lead_scoring.warehouse import open_warehouse

    frame = raw_frame("product_events", [product_event(5, 1)])
    frame["occurred_at"] = "yesterday at noon"
    with open_warehouse(settings) as wh:
        wh.write_df(frame, "raw", "product_events", mode="replace")
    message = str(_failure(settings, "schema-2"))
    assert "raw.product_events.occurred_at is VARCHAR, expected timestamp" in message
    assert "sample value: 'yesterday at noon'" in message


def test_unreadable_text_is_named_without_personal_data(settings, clean_raw):
    mojibake = "M\u00c3\u00bcller AG"  # "Müller AG" decoded twice
    clean_raw(crm_contacts=[contact(1), contact(2, firstname="Jos\ufffd", company=mojibake)])
    message = str(_failure(settings, "enc-1"))
    assert "raw.crm_contacts.firstname has unreadable text" in message
    assert "hs_object_id 2" in message and "Jos" not in message
    clean_raw(crm_contacts=[contact(1), contact(2, company=mojibake)])
    message = str(_failure(settings, "enc-2"))
    assert "raw.crm_contacts.company" in message and "'MÃ¼ller AG'" in message


def test_first_seen_is_kept_across_runs_and_fixed_records_leave(settings, write_raw):
    write_raw(crm_contacts=[contact(1), contact(2, email="broken"), contact(3, country="Mars")])
    run_quality_gate(settings, "seen-1", AS_OF)
    first = quality(settings, "quarantine").set_index("record_id")
    write_raw(crm_contacts=[contact(1), contact(2, email="broken"), contact(3)])
    run_quality_gate(settings, "seen-2", AS_OF)
    second = quality(settings, "quarantine").set_index("record_id")
    assert list(second.index) == ["2"]  # contact 3 was fixed
    assert second.at["2", "first_seen_at"] == first.at["2", "first_seen_at"]
    assert second.at["2", "last_seen_at"] > first.at["2", "last_seen_at"]
    assert second.at["2", "run_id"] == "seen-2"


def test_data_docs_are_written_per_run(settings, write_raw):
    write_raw(crm_contacts=[contact(1), contact(2, email="broken")])
    result = run_quality_gate(settings, "docs-1", AS_OF)
    index = settings.reports_dir / "data_docs" / "docs-1" / "index.html"
    assert result.data_docs_path == str(index) and index.exists()
    assert _run(settings, "docs-1")["data_docs_path"] == str(index)
    pages = list((index.parent / "validations" / "raw_leads").rglob("*.html"))
    assert len(pages) == 1
    page = pages[0].read_text()
    assert "email_status" in page and "broken" not in page  # codes and ids, no e-mails


def test_bad_configuration_is_named(settings, clean_raw, monkeypatch):
    from lead_scoring.quality.config import QualityConfigError

    monkeypatch.setenv("LEAD_SCORING_DQ_POLICY_PERSONAL_EMAIL", "merge")
    with pytest.raises(QualityConfigError, match="POLICY_PERSONAL_EMAIL='merge'"):
        run_quality_gate(settings, "cfg-1", AS_OF)
    monkeypatch.setenv("LEAD_SCORING_DQ_POLICY_PERSONAL_EMAIL", "flag")
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_VOLUME_DROP", "half")
    with pytest.raises(QualityConfigError, match="MAX_VOLUME_DROP='half'"):
        run_quality_gate(settings, "cfg-2", AS_OF)


def test_timezone_of_the_as_of_time_does_not_matter(settings, write_raw):
    write_raw(crm_contacts=[contact(1, createdate="2026-11-01T05:30:00.000Z")])
    in_berlin = AS_OF.astimezone(pd.Timestamp("2026-11-01", tz="Europe/Berlin").tzinfo)
    assert run_quality_gate(settings, "tz-1", in_berlin).records_quarantined == 0
    failed = run_quality_gate(settings, "tz-2", AS_OF - timedelta(hours=1))
    assert failed.counts_by_rule == {"future_created_at": 1}


def test_unknown_event_types_are_named_most_frequent_first(settings, write_raw, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "0.10")
    monkeypatch.setenv("LEAD_SCORING_DQ_RATE_MIN_RECORDS", "5")
    events = [product_event(i, 1) for i in range(1, 11)]
    events += [product_event(100 + i, 1, event_type="webinar_v2") for i in range(4)]
    events += [product_event(200, 1, event_type="foo")]
    write_raw(crm_contacts=[contact(i) for i in range(1, 11)], product_users=[product_user(1)],
              product_events=events)  # fmt: skip
    message = str(_failure(settings, "types-1"))
    assert (
        "33.3% of product_event records quarantined (5 of 15), above 10.0%:"
        " unknown event types: 'webinar_v2' (4), 'foo' (1)"
    ) in message
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "1.0")
    passed = run_quality_gate(settings, "types-2", AS_OF)
    assert passed.message.endswith("; unknown event types: 'webinar_v2' (4), 'foo' (1)")


def test_many_unknown_event_types_name_the_most_frequent_few():
    from lead_scoring.quality.batch_gates import unknown_event_types

    values = ["a"] * 3 + ["b"] * 5 + ["c", "d", "e", "f", "g"] + ["login"]
    rules = ["unknown_event_type"] * 13 + ["future_event"]
    rows = pd.DataFrame({"rule": rules, "value": values})
    assert unknown_event_types(rows) == (
        "unknown event types: 'b' (5), 'a' (3), 'c' (1), 'd' (1), 'e' (1) and 2 more (2 events)"
    )
    assert unknown_event_types(rows[rows["rule"] == "future_event"]) == ""
