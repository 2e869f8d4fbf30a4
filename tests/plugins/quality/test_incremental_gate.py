"""Incremental gate runs: the next day checks only what changed (and the quarantine) and
leaves the quality tables a full validation of the same raw data leaves; a change of the
rules forces a full run; a failed or killed run does not move the watermarks; chunked
reading gives the same tables."""

from dataclasses import replace
from datetime import timedelta

import pytest
from quality_rows import (
    AS_OF,
    attribute,
    company,
    contact,
    deal,
    load_id,
    marketing_event,
    product_event,
    product_user,
    quality,
    raw_frame,
)

from lead_scoring.quality import store
from lead_scoring.quality.gate import QualityGateFailed, run_quality_gate
from lead_scoring.quality.raw import KEYS
from lead_scoring.warehouse import open_warehouse

DAY_2 = AS_OF + timedelta(days=1)
LATER = (AS_OF + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # after AS_OF only
# What a full run restamps and an incremental run keeps (docs/quality.md, "Incremental
# runs"): when a quarantined record was first and last seen, and the run that last
# checked a record whose findings did not change.
RESTAMPED = {
    "quarantine": ["first_seen_at", "last_seen_at"],
    "record_flags": ["run_id"],
    "normalised_values": ["run_id"],
    "duplicate_leads": ["run_id"],
    "email_domains": [],
}
MERGED = ("crm_contacts", "crm_companies", "crm_deals", "product_users",
          "crm_contact_attributes", "crm_company_attributes")  # fmt: skip


def _write(settings, **tables: list[dict]) -> None:
    """Replace raw tables with the rows, one new load each."""
    with open_warehouse(settings) as wh:
        for table, rows in tables.items():
            wh.write_df(raw_frame(table, rows), "raw", table, mode="replace")


def _day_1(settings) -> None:
    _write(
        settings,
        crm_contacts=[
            contact(1), contact(2),
            contact(3, email="broken"),  # quarantined; a corrected version comes on day 2
            contact(4, email="shared@acme-robotics.com", createdate="2026-10-05T00:00:00.000Z"),
            contact(5, email=" SHARED@acme-robotics.com", createdate="2026-10-10T00:00:00.000Z"),
            contact(6, email="zed.quill@gmail.com"),  # personal: flagged
            contact(7, phone="(415) 555-2671"),  # normalised to E.164
            contact(8, country="Deutschland"),  # normalised to DE
            contact(9, createdate=LATER),  # in the future on day 1 only
            contact(10, email="moving@acme-robotics.com"),  # survivor, changes e-mail on day 2
            contact(11, email="moving@acme-robotics.com", createdate="2026-10-20T00:00:00.000Z"),
        ],
        crm_companies=[company(900), company(901, numberofemployees="-3")],
        crm_deals=[deal(70, 1), deal(71, 99)],  # contact 99 arrives on day 2
        product_users=[product_user(1), product_user(2)],
        product_events=[
            product_event(5, 1), product_event(6, 3),  # user 3 arrives on day 2
            product_event(7, 1, occurred_at=AS_OF.replace(tzinfo=None) + timedelta(hours=2)),
        ],
        marketing_events=[
            marketing_event("m1", "1"), marketing_event("m2", "12"),  # contact 12: day 2
            marketing_event("m3", "1", event_type="webinar_v2"),
        ],
        crm_contact_attributes=[attribute("1", "plan", "pro"),
                                attribute("2", "Bad Name", "x")],  # fmt: skip
    )  # fmt: skip


def _load(settings, **tables: list[dict]) -> None:
    """One dlt load: merged tables replace the rows of the records it carries (the new row
    gets the new load id), event tables get rows appended."""
    load = load_id()
    with open_warehouse(settings) as wh:
        for table, rows in tables.items():
            frame = raw_frame(table, rows, load)
            if table in MERGED:
                listed = ", ".join(f"'{v}'" for v in frame[KEYS[table]].astype(str))
                wh.execute(
                    f"delete from raw.{table} where cast({KEYS[table]} as varchar) in ({listed})"
                )
            wh.write_df(frame, "raw", table)


def _day_2(settings) -> None:
    _load(
        settings,
        crm_contacts=[
            contact(2, phone="030 901820", country="DE"),  # changed: now normalised
            contact(3),  # corrected: leaves the quarantine
            contact(10, email="ten@acme-robotics.com"),  # 11 is no duplicate any more
            contact(12), contact(99),  # the leads of m2 and deal 71
            # created before contact 4: the survivor of 4 and 5 changes
            contact(13, email="shared@acme-robotics.com", createdate="2026-09-01T00:00:00.000Z"),
        ],
        product_users=[product_user(3)],
        product_events=[product_event(8, 1)],
        marketing_events=[marketing_event("m4", "2")],
    )  # fmt: skip


def _copy_raw(source, target) -> None:
    with open_warehouse(source) as src, open_warehouse(target) as dst:
        for table in src.query_df(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )["table_name"]:
            dst.write_df(src.query_df(f"select * from raw.{table}"), "raw", table, mode="replace")


def _tables(settings, *ignored: str) -> dict[str, list[tuple]]:
    """The quality tables row for row, without what a full run restamps (and ``ignored``)."""
    found = {}
    for table, restamped in RESTAMPED.items():
        rows = quality(settings, table).drop(columns=[*restamped, *ignored], errors="ignore")
        rows = rows.astype("str")
        found[table] = sorted(map(tuple, rows.to_numpy().tolist()))
    return found


def _state(settings) -> list[tuple]:
    rows = quality(settings, "gate_state")[["table_name", "load_id", "run_id"]]
    return sorted(map(tuple, rows.to_numpy().tolist()))


def test_next_day_checks_what_changed_and_equals_a_full_run(settings, tmp_path, caplog):
    _day_1(settings)
    first = run_quality_gate(settings, "day-1", AS_OF)
    assert first.records_checked == 11 + 2 + 2 + 2 + 3 + 3 + 2
    assert ("contact", "3", "invalid_email") in _keys(settings)
    quarantined_on_day_1 = {(kind, record) for kind, record, _ in _keys(settings)}
    _day_2(settings)
    caplog.set_level("INFO", logger="lead_scoring.quality")
    incremental = run_quality_gate(settings, "day-2", DAY_2)
    assert "quality gate: incremental: raw.crm_contacts" in caplog.text

    fresh = replace(settings, home=tmp_path / "fresh")
    _copy_raw(settings, fresh)
    full = run_quality_gate(fresh, "day-2", DAY_2, full=True)
    assert _tables(settings) == _tables(fresh)
    assert incremental.counts_by_rule == full.counts_by_rule
    assert incremental.records_quarantined == full.records_quarantined

    # the scenario did change what it should have
    duplicates = quality(settings, "duplicate_leads")
    assert dict(zip(duplicates["record_id"], duplicates["survivor_id"], strict=True)) == {
        "4": "13", "5": "13"
    }  # fmt: skip
    assert _keys(settings, "quarantine") == {
        ("company", "901", "impossible_company_size"),
        ("marketing_event", "m3", "unknown_event_type"),
        ("contact_attribute", "2|Bad Name|2026-10-31T10:00:00.000Z", "invalid_attribute"),
    }
    assert ("contact", "2", "phone_format") in _keys(settings, "normalised_values")
    # what left the quarantine is listed, for event staging to pick up (no new raw row)
    released = quality(settings, "released")
    still = {(kind, record) for kind, record, _ in _keys(settings)}
    assert set(zip(released["record_type"], released["record_id"], strict=True)) == (
        quarantined_on_day_1 - still
    )
    assert {("product_event", "6"), ("marketing_event", "m2"), ("contact", "3")} <= (
        quarantined_on_day_1 - still
    )
    assert set(released["run_id"]) == {"day-2"}
    # new or changed rows (6 contacts, a user, 2 events), the rest of the quarantine
    # (contact 9, company 901, deal 71, events 6, 7, m2, m3, the attribute row), contact
    # 11 (its survivor changed) and 4 and 5 (same e-mail as the new contact 13)
    assert incremental.records_checked == 9 + 8 + 3
    assert full.records_checked == 14 + 2 + 2 + 3 + 4 + 4 + 2
    assert incremental.quarantine_rate == 0.0  # none of the 9 new or changed rows failed


def _keys(settings, table: str = "quarantine") -> set[tuple]:
    rows = quality(settings, table)
    return set(zip(rows["record_type"], rows["record_id"], rows["rule"], strict=True))


def test_nothing_changed_checks_only_the_quarantine(settings):
    _day_1(settings)
    run_quality_gate(settings, "day-1", AS_OF)
    before = _tables(settings, "run_id")
    again = run_quality_gate(settings, "day-1b", AS_OF)
    # the quarantine: contacts 3 and 9, company 901, deal 71, events 6, 7, m2, m3, attribute
    assert again.records_checked == 9
    assert _tables(settings, "run_id") == before
    assert set(quality(settings, "quarantine")["run_id"]) == {"day-1b"}  # all re-checked


def test_a_change_of_the_rules_validates_everything_again(settings, monkeypatch, caplog):
    _day_1(settings)
    everything = run_quality_gate(settings, "rules-1", AS_OF).records_checked
    caplog.set_level("INFO", logger="lead_scoring.quality")
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_SOURCE_AGE_HOURS", "500")  # a batch gate: no rule
    assert run_quality_gate(settings, "rules-2", AS_OF).records_checked == 9
    monkeypatch.setenv("LEAD_SCORING_DQ_POLICY_PERSONAL_EMAIL", "reject")
    result = run_quality_gate(settings, "rules-3", AS_OF)
    assert result.records_checked == everything
    assert "full: raw.crm_contacts (rules changed)" in caplog.text
    assert ("contact", "6", "personal_email") in _keys(settings)
    assert run_quality_gate(settings, "rules-4", AS_OF).records_checked == 10  # 9 and contact 6
    assert run_quality_gate(settings, "rules-5", AS_OF, full=True).records_checked == everything


def test_an_earlier_as_of_time_or_a_replaced_table_validates_in_full(settings, caplog):
    _day_1(settings)
    everything = run_quality_gate(settings, "back-1", DAY_2).records_checked
    caplog.set_level("INFO", logger="lead_scoring.quality")
    assert run_quality_gate(settings, "back-2", AS_OF).records_checked == everything
    assert "as-of time before the last passed run's" in caplog.text
    assert ("contact", "9", "future_created_at") in _keys(settings)
    _write(settings, crm_companies=[company(900)])  # a new load replaced the table
    run_quality_gate(settings, "back-3", AS_OF)
    assert "raw.crm_companies (load" in caplog.text and "(replaced)" in caplog.text
    assert ("company", "901", "impossible_company_size") not in _keys(settings)


def test_a_failed_run_does_not_move_the_watermark(settings, monkeypatch):
    _day_1(settings)
    run_quality_gate(settings, "fail-1", AS_OF)
    state = _state(settings)
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "0.10")
    monkeypatch.setenv("LEAD_SCORING_DQ_RATE_MIN_RECORDS", "5")
    _load(settings, crm_contacts=[contact(i) for i in range(20, 26)]
          + [contact(30, email="broken"), contact(31, email="also broken")])  # fmt: skip
    with pytest.raises(QualityGateFailed, match="25.0% of contact records quarantined"):
        run_quality_gate(settings, "fail-2", AS_OF)
    assert _state(settings) == state
    assert {("contact", "30", "invalid_email"), ("contact", "31", "invalid_email")} <= _keys(
        settings
    )  # recorded all the same
    monkeypatch.setenv("LEAD_SCORING_DQ_MAX_QUARANTINE_RATE", "0.50")
    passed = run_quality_gate(settings, "fail-3", AS_OF)  # the same 8 rows again
    assert passed.records_checked == 8 + 9 and passed.quarantine_rate == 0.25
    assert _state(settings) != state and {r[2] for r in _state(settings)} == {"fail-3"}


def test_a_killed_run_leaves_the_previous_state(settings, monkeypatch, tmp_path):
    _day_1(settings)
    run_quality_gate(settings, "kill-1", AS_OF)
    _day_2(settings)
    before, state = _tables(settings), _state(settings)
    runs = len(quality(settings, "runs"))
    calls, append = [], store.append

    def killed(*args):  # dies after writing part of the run
        calls.append(args)
        if len(calls) == 6:
            raise KeyboardInterrupt
        append(*args)

    monkeypatch.setattr(store, "append", killed)
    with pytest.raises(KeyboardInterrupt):
        run_quality_gate(settings, "kill-2", DAY_2)
    assert (_tables(settings), _state(settings)) == (before, state)
    assert len(quality(settings, "runs")) == runs
    monkeypatch.setattr(store, "append", append)
    run_quality_gate(settings, "kill-2", DAY_2)
    fresh = replace(settings, home=tmp_path / "fresh")
    _copy_raw(settings, fresh)
    run_quality_gate(fresh, "kill-2", DAY_2, full=True)
    assert _tables(settings) == _tables(fresh)


def test_chunks_give_the_tables_of_one_piece(settings, monkeypatch, tmp_path):
    import lead_scoring.quality.raw as raw

    _day_1(settings)
    _day_2(settings)
    whole = replace(settings, home=tmp_path / "whole")
    _copy_raw(settings, whole)
    run_quality_gate(whole, "chunks", DAY_2)
    monkeypatch.setattr(raw, "CHUNK_ROWS", 2)
    result = run_quality_gate(settings, "chunks", DAY_2)
    assert _tables(settings) == _tables(whole)
    pages = list((settings.reports_dir / "data_docs" / "chunks" / "validations" / "raw_events")
                 .rglob("*.html"))  # fmt: skip
    assert len(pages) == 2 + 2  # product events (4 rows) and marketing events (4) by two
    assert result.records_checked == 31


def test_records_deleted_from_raw_leave_and_their_events_lose_their_lead(settings, tmp_path):
    """A CRM deletion (Salesforce's deleted people): the contact's findings go, and the
    events and deals naming it become unknown_lead, as a full run finds."""
    _day_1(settings)
    run_quality_gate(settings, "gone-1", AS_OF)
    with open_warehouse(settings) as wh:
        wh.execute("delete from raw.crm_contacts where hs_object_id in ('1', '6', '8')")
    result = run_quality_gate(settings, "gone-2", AS_OF)
    assert {("deal", "70", "unknown_lead"), ("marketing_event", "m1", "unknown_lead"),
            ("marketing_event", "m3", "unknown_lead")} <= _keys(settings)  # fmt: skip
    assert not _keys(settings, "record_flags") & {("contact", "6", "personal_email")}
    assert not _keys(settings, "normalised_values") & {("contact", "8", "country_spelling")}
    # the quarantine, and m1 and deal 70 (contacts 6 and 8 are gone: rows deleted unread)
    assert result.records_checked == 9 + 2
    fresh = replace(settings, home=tmp_path / "fresh")
    _copy_raw(settings, fresh)
    run_quality_gate(fresh, "gone-2", AS_OF, full=True)
    incremental, full = _tables(settings), _tables(fresh)
    # email_domains only grows between full runs: gmail.com, contact 6's, is used no more
    assert set(incremental.pop("email_domains")) - set(full.pop("email_domains")) == {
        ("gmail.com", "personal")
    }
    assert incremental == full


def test_incremental_runs_on_postgres(postgres):
    """The same next day on PostgreSQL: its tables equal those of a full run on the same
    raw data right after it."""
    _day_1(postgres)
    run_quality_gate(postgres, "pg-day-1", AS_OF)
    _day_2(postgres)
    incremental = run_quality_gate(postgres, "pg-day-2", DAY_2)
    assert incremental.records_checked == 9 + 8 + 3
    tables = _tables(postgres)
    full = run_quality_gate(postgres, "pg-day-2", DAY_2, full=True)
    assert full.records_checked == 31
    assert _tables(postgres) == tables
    assert quality(postgres, "duplicate_leads")["survivor_id"].tolist() == ["13", "13"]
