"""Personal values are redacted in every quality table and never reach the Data Docs; with
LEAD_SCORING_DQ_KEEP_VALUES and a retention, quarantined values are kept in full until
they are older than the retention."""

from datetime import timedelta

import pandas as pd
import pytest
from quality_rows import AS_OF, contact, product_user, quality

from lead_scoring.quality.config import QualityConfigError, load_config
from lead_scoring.quality.gate import QualityGateFailed, run_quality_gate
from lead_scoring.quality.redaction import FIELDS, KEEP, redact
from lead_scoring.warehouse import open_warehouse

BAD_CONTACTS = [
    contact(1),
    contact(2, email="zora.quill at example-corp.com"),  # invalid_email: quarantined
    contact(3, firstname="Mickey", lastname="Mouse"),  # placeholder_name: quarantined
    contact(4, phone="+1 555 0199 7766 123"),  # invalid_phone: quarantined (policy below)
    contact(5, phone="(415) 555-2671"),  # phone_format: normalised
    contact(6, email="zed.quill@gmail.com"),  # personal_email: flagged
]
PERSONAL = ["zora.quill", "Mickey", "Mouse", "0199 7766", "555-2671", "5552671", "zed.quill"]
QUALITY_TABLES = ("quarantine", "record_flags", "normalised_values", "duplicate_leads",
                  "email_domains", "runs", "source_volumes")  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("email", "jane.doe@acme.com", "j***@acme.com"),
        ("email", "jane.doe at acme.com", "j***"),
        ("phone", "+14155552671", "+1 ********71"),
        ("phone", "+49 30 901820;ext=12", "+49 ******20"),
        ("phone", "(415) 555-2671", "********71"),
        ("phone", "no phone", "***"),
        ("name", "Mickey Mouse", "M***** M****"),
        ("country", "Narnia", "Narnia"),
        ("createdate", "last tuesday", "last tuesday"),
        ("numberofemployees", "-5", "-5"),
        ("some_new_field", "private", "p***"),  # not in the table: personal
        ("email", "", ""),
    ],
)
def test_redaction_table(field, value, shown):
    assert redact(field, value) == shown
    assert redact(field, shown) == shown  # redacting again changes nothing


def test_every_field_a_rule_reports_is_in_the_table():
    from lead_scoring.quality.config import QualityConfig
    from lead_scoring.quality.suites import suite_expectations

    fields = {e.meta["field"] for suite in suite_expectations(QualityConfig(), AS_OF).values()
              for e in suite}  # fmt: skip
    # suites name these fields; the batches report them under the raw column's name
    reported = (fields - {"lead_id"}) | {"user_id", "contact_id", "signed_up_at"}
    assert reported <= set(FIELDS)
    assert {f for f in reported if FIELDS[f] != KEEP} == {"email", "name", "phone"}


def _text_cells(settings) -> str:
    with open_warehouse(settings) as wh:
        frames = [wh.query_df(f"select * from quality.{table}") for table in QUALITY_TABLES]
    return "\n".join(frame.astype(str).to_csv(index=False) for frame in frames)


def _data_docs_text(settings) -> str:
    files = [p for p in (settings.reports_dir / "data_docs").rglob("*") if p.is_file()]
    assert any(p.name == "index.html" for p in files)
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def test_no_personal_value_in_quality_tables_or_data_docs(settings, write_raw, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_DQ_POLICY_INVALID_PHONE", "reject")
    write_raw(crm_contacts=BAD_CONTACTS,
              product_users=[product_user(1), product_user(2, email="zora.quill@@x")])  # fmt: skip
    result = run_quality_gate(settings, "redact-1", AS_OF)
    assert result.counts_by_rule == {"invalid_email": 2, "placeholder_name": 1,
                                     "invalid_phone": 1, "phone_format": 1,
                                     "personal_email": 1}  # fmt: skip
    tables, docs = _text_cells(settings), _data_docs_text(settings)
    for value in PERSONAL:
        assert value not in tables, value
        assert value not in docs, value
    rows = quality(settings, "quarantine")
    quarantine = dict(zip(zip(rows["record_type"], rows["record_id"], strict=True), rows["value"],
                          strict=True))  # fmt: skip
    assert quarantine == {("contact", "2"): "z***", ("contact", "3"): "M***** M****",
                          ("contact", "4"): "+1 ************23",
                          ("product_user", "2"): "z***@x"}  # fmt: skip
    assert "3" in docs  # the Data Docs still name failing records by id


def _age_quarantine(settings, days: int) -> None:
    with open_warehouse(settings) as wh:
        rows = wh.query_df("select * from quality.quarantine")
        rows["first_seen_at"] = pd.to_datetime(rows["first_seen_at"]) - timedelta(days=days)
        wh.execute("delete from quality.quarantine")
        wh.write_df(rows, "quality", "quarantine")


def _values(settings) -> dict[str, str]:
    rows = quality(settings, "quarantine")
    return dict(zip(rows["record_id"], rows["value"], strict=True))


def test_kept_values_are_redacted_once_older_than_the_retention(settings, write_raw, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_DQ_KEEP_VALUES", "true")
    monkeypatch.setenv("LEAD_SCORING_DQ_VALUE_RETENTION_DAYS", "30")
    write_raw(crm_contacts=BAD_CONTACTS[:3] + [contact(6, email="zed.quill@gmail.com")])
    run_quality_gate(settings, "keep-1", AS_OF)
    assert _values(settings) == {"2": "zora.quill at example-corp.com", "3": "Mickey Mouse"}
    # flags and normalised values are redacted whatever the setting
    assert set(quality(settings, "record_flags")["value"]) == {"z***@gmail.com"}
    assert "Mickey" not in _data_docs_text(settings)

    _age_quarantine(settings, 29)
    run_quality_gate(settings, "keep-2", AS_OF)
    assert _values(settings)["3"] == "Mickey Mouse"  # 29 days: still kept
    _age_quarantine(settings, 2)
    run_quality_gate(settings, "keep-3", AS_OF)
    assert _values(settings) == {"2": "z***", "3": "M***** M****"}  # 31 days: redacted


def test_a_run_stopped_by_the_schema_gate_still_redacts_old_values(
    settings, write_raw, monkeypatch
):
    monkeypatch.setenv("LEAD_SCORING_DQ_KEEP_VALUES", "true")
    monkeypatch.setenv("LEAD_SCORING_DQ_VALUE_RETENTION_DAYS", "30")
    write_raw(crm_contacts=BAD_CONTACTS[:3])
    run_quality_gate(settings, "keep-1", AS_OF)
    _age_quarantine(settings, 31)
    write_raw(crm_contacts=[])
    with pytest.raises(QualityGateFailed, match="raw.crm_contacts is empty"):
        run_quality_gate(settings, "keep-2", AS_OF)
    assert _values(settings) == {"2": "z***", "3": "M***** M****"}


def test_turning_the_keep_setting_off_redacts_at_the_next_run(settings, write_raw, monkeypatch):
    monkeypatch.setenv("LEAD_SCORING_DQ_KEEP_VALUES", "true")
    monkeypatch.setenv("LEAD_SCORING_DQ_VALUE_RETENTION_DAYS", "30")
    write_raw(crm_contacts=BAD_CONTACTS[:3])
    run_quality_gate(settings, "keep-1", AS_OF)
    monkeypatch.delenv("LEAD_SCORING_DQ_KEEP_VALUES")
    run_quality_gate(settings, "keep-2", AS_OF)
    assert _values(settings) == {"2": "z***", "3": "M***** M****"}


def test_keeping_values_needs_a_retention(settings, clean_raw):
    with pytest.raises(QualityConfigError, match="LEAD_SCORING_DQ_VALUE_RETENTION_DAYS"):
        load_config({"LEAD_SCORING_DQ_KEEP_VALUES": "true"})
    with pytest.raises(QualityConfigError, match="expected true or false"):
        load_config({"LEAD_SCORING_DQ_KEEP_VALUES": "maybe"})
    with pytest.raises(QualityConfigError, match="VALUE_RETENTION_DAYS='0'"):
        load_config({"LEAD_SCORING_DQ_KEEP_VALUES": "true",
                     "LEAD_SCORING_DQ_VALUE_RETENTION_DAYS": "0"})  # fmt: skip
    config = load_config({"LEAD_SCORING_DQ_KEEP_VALUES": "true",
                          "LEAD_SCORING_DQ_VALUE_RETENTION_DAYS": "14"})  # fmt: skip
    assert (config.keep_values, config.value_retention_days) == (True, 14)
    assert load_config({}).keep_values is False


def test_quality_check_refuses_to_start_keeping_values_without_a_retention(
    settings, clean_raw, monkeypatch
):
    import typer
    from typer.testing import CliRunner

    from lead_scoring.quality.cli import quality_check

    app = typer.Typer()
    app.command()(quality_check)
    monkeypatch.setenv("LEAD_SCORING_DQ_KEEP_VALUES", "true")
    result = CliRunner().invoke(app, ["--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2
    assert "LEAD_SCORING_DQ_VALUE_RETENTION_DAYS" in result.output
    with open_warehouse(settings) as wh:
        assert not wh.table_exists("quality", "runs")  # refused before doing anything
