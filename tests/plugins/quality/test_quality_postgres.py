"""The gate on a PostgreSQL warehouse: same rules, same tables, portable SQL."""

import uuid

import pytest
from quality_rows import AS_OF, contact, product_event, quality, raw_frame

from lead_scoring.quality.gate import QualityGateFailed, run_quality_gate


@pytest.fixture
def postgres(settings, monkeypatch):
    import psycopg2

    name = f"dq_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE", "postgres")
    monkeypatch.setenv("LEAD_SCORING_WAREHOUSE_URL", f"postgresql://postgres@127.0.0.1:5432/{name}")
    from lead_scoring.settings import get_settings

    yield get_settings()
    with admin.cursor() as cur:
        cur.execute(f"drop database {name} with (force)")
    admin.close()


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
