"""The same project builds and passes its tests on PostgreSQL, with the same scores."""

from __future__ import annotations

import pandas as pd
import pytest
import scoring_dataset as ds
from conftest import MARTS


@pytest.mark.parametrize("mart", MARTS)
def test_postgres_scores_equal_duckdb_scores(postgres_warehouse, duckdb_scenario, mart):
    if not hasattr(postgres_warehouse, "built"):
        postgres_warehouse.write(1)
        postgres_warehouse.dbt("build", ds.AS_OF_1)
        postgres_warehouse.built = postgres_warehouse.marts()
    on_postgres = postgres_warehouse.built[mart].drop(columns=["scored_at"], errors="ignore")
    on_duckdb = duckdb_scenario.snapshots["d1"][mart].drop(columns=["scored_at"], errors="ignore")
    assert list(on_postgres.columns) == list(on_duckdb.columns)
    for column in on_postgres.columns:
        left, right = on_postgres[column], on_duckdb[column]
        if column.endswith(("_date", "_at")):
            left, right = pd.to_datetime(left), pd.to_datetime(right)
        elif left.dtype == object and isinstance(left.dropna().iloc[0] if left.notna().any()
                                                  else "", (int, float)) is False:
            pass
        assert list(left.astype(str)) == list(right.astype(str)), column
