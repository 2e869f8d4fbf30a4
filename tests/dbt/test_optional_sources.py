"""A warehouse without the raw attribute tables (it predates them) still builds."""

from __future__ import annotations

import scoring_dataset as ds
from scoring_harness import WarehouseUnderTest

from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse


def test_missing_attribute_tables_give_empty_staging(project_dir, tmp_path):
    warehouse = WarehouseUnderTest(
        Settings(home=tmp_path / "home", warehouse="duckdb"), tmp_path, project_dir=project_dir
    )
    warehouse.write(1)
    with open_warehouse(warehouse.settings) as db:
        for table in ("crm_contact_attributes", "crm_company_attributes"):
            db.execute(f"drop table raw.{table}")
    # cautious: the rules version (an ancestor) would select tests of marts not built here
    warehouse.dbt("build", ds.AS_OF_1, "--select", "+int_lead_signals_scored",
                  "--indirect-selection", "cautious")
    for name in ("stg_crm__contact_attributes", "stg_crm__company_attributes"):
        assert warehouse.table("staging", name).empty
    attributes = warehouse.table("intermediate", "int_lead_attributes_resolved", "1, 2, 3")
    assert not attributes["attribute"].str.startswith("account.").any()
    assert {"email_type", "seniority", "lead_source"} <= set(attributes["attribute"])
    signals = warehouse.table("intermediate", "int_lead_signals_scored", "1, 2, 3")
    assert set(signals.loc[signals["attribute"] == "lead_source", "lead_id"]) == {"c23"}
