"""The gate on a PostgreSQL warehouse: same rules, same tables, portable SQL."""

import pytest
from quality_rows import AS_OF, contact, product_event, quality, raw_frame

from lead_scoring.quality.gate import QualityGateFailed, run_quality_gate


def test_gate_runs_on_postgres(postgres):
    from lead_scoring.warehouse import open_warehouse

    contacts = [contact(1), contact(2, email="broken", country="Deutschland"),
                contact(3, email=" PERSON1@acme-robotics.com ",
                        createdate="2026-10-05T00:00:00.000Z")]  # fmt: skip
    with open_warehouse(postgres) as wh:
        wh.write_df(raw_frame("crm_contacts", contacts), "raw", "crm_contacts", mode="replace")
        wh.write_df(raw_frame("product_events", [product_event(5, 9)]), "raw", "product_events")
    result = run_quality_gate(postgres, "pg-1", AS_OF)
    assert result.counts_by_rule == {"country_spelling": 1, "duplicate_lead": 1,
                                     "invalid_email": 1, "unknown_lead": 1}  # fmt: skip
    quarantine = quality(postgres, "quarantine")
    assert set(zip(quarantine["record_id"], quarantine["rule"], strict=True)) == {
        ("2", "invalid_email"), ("5", "unknown_lead")
    }  # fmt: skip
    assert set(quarantine["value"]) == {"b***", "9"}  # the e-mail redacted, the user id kept
    assert quality(postgres, "duplicate_leads")["survivor_id"].tolist() == ["1"]

    with open_warehouse(postgres) as wh:
        wh.write_df(raw_frame("crm_contacts", [contact(1, company="Caf\ufffd")]), "raw",
                    "crm_contacts", mode="replace")  # fmt: skip
    with pytest.raises(QualityGateFailed, match="raw.crm_contacts.company has unreadable text"):
        run_quality_gate(postgres, "pg-2", AS_OF)
