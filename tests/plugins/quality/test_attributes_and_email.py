"""E-mail is optional (a missing one passes, an invalid one does not), and the long attribute
tables are checked like the other raw tables."""

from datetime import UTC, datetime

from quality_rows import AS_OF, RECENT, attribute, company, contact, product_user, quality

from lead_scoring.quality.gate import run_quality_gate


def _quarantined(settings, rule: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = quality(settings, "quarantine")
    rows = rows[rows["rule"] == rule]
    return {(r.record_type, r.record_id): (r.field, r.value) for r in rows.itertuples()}


def test_a_lead_without_email_passes_and_an_invalid_one_is_quarantined(settings, write_raw):
    write_raw(
        crm_contacts=[contact(1, email=""), contact(2, email=None),
                      contact(3, email="jane.doe at acme.com")],
        product_users=[product_user(1, email=None), product_user(2, email="not-an-email")],
    )  # fmt: skip
    result = run_quality_gate(settings, "email-1", AS_OF)
    assert result.status == "passed"
    assert set(quality(settings, "quarantine")["record_id"]) == {"3", "2"}
    assert _quarantined(settings, "invalid_email") == {
        ("contact", "3"): ("email", "j***"),  # redacted (docs/privacy.md)
        ("product_user", "2"): ("email", "n***"),
    }
    assert quality(settings, "record_flags").empty  # no personal/disposable/duplicate rule
    assert quality(settings, "duplicate_leads").empty  # two leads without e-mail: no duplicates


def test_bad_attribute_rows_are_quarantined_with_field_and_value(settings, write_raw):
    write_raw(
        crm_contacts=[contact(1)],
        crm_contact_attributes=[
            attribute("1", "num_visits", "7", "pain"),  # clean
            attribute("1", "segment", "smb", valid_from=""),  # clean: known from the start
            attribute("", "num_visits", "3"),
            attribute("1", "Lead Origin", "API"),
            attribute("1", "", "API"),
            attribute("1", "tier", "A", kind="high"),
            attribute("1", "age", "31", valid_from="yesterday"),
        ],
        crm_company_attributes=[attribute("900", "tech_stack", "kafka"),
                                attribute("900", "size", "9", kind="")],
    )  # fmt: skip
    result = run_quality_gate(settings, "attributes-1", AS_OF)
    assert result.status == "passed"
    assert _quarantined(settings, "invalid_attribute") == {
        ("contact_attribute", f"|num_visits|{RECENT}"): ("hs_object_id", ""),
        ("contact_attribute", f"1|Lead Origin|{RECENT}"): ("attribute", "Lead Origin"),
        ("contact_attribute", f"1||{RECENT}"): ("attribute", ""),
        ("contact_attribute", f"1|tier|{RECENT}"): ("kind", "high"),
        ("contact_attribute", "1|age|yesterday"): ("valid_from", "yesterday"),
        ("company_attribute", f"900|size|{RECENT}"): ("kind", ""),
    }
    assert result.records_checked == 1 + 7 + 2


def test_empty_attribute_tables_pass(settings, write_raw):
    write_raw(crm_contacts=[contact(1)], crm_companies=[company(900)],
              crm_contact_attributes=[], crm_company_attributes=[])  # fmt: skip
    result = run_quality_gate(settings, "attributes-empty", AS_OF)
    assert (result.status, result.records_checked, result.records_quarantined) == ("passed", 2, 0)


def test_imported_attribute_history_is_not_judged_stale(settings, tmp_path):
    from lead_scoring.byod import run_import

    (tmp_path / "leads.csv").write_text(
        "Lead ID,Email,Created,Visits,Plan\n1,ana@initech.example,2024-03-01,4,pro\n"
        "2,,2024-03-02,1,free\n",
        encoding="utf-8",
    )
    (tmp_path / "mapping.yml").write_text(
        "tables:\n  - file: leads.csv\n    kind: leads\n"
        "    columns: {hs_object_id: Lead ID, email: Email, createdate: Created}\n"
        "    attributes: [Visits, Plan]\n    activity: [visits]\n",
        encoding="utf-8",
    )
    run_import(settings, tmp_path / "mapping.yml")
    result = run_quality_gate(settings, "import-attributes", datetime.now(UTC))
    assert result.status == "passed" and "stale" not in result.message
    assert result.records_checked == 2 + 4  # the lead without e-mail passes too
    volumes = quality(settings, "source_volumes").set_index("table_name")["row_count"]
    assert volumes["crm_contact_attributes"] == 4 and volumes["crm_company_attributes"] == 0
