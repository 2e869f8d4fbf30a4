"""The same project builds and passes its tests on PostgreSQL, with the same scores and the
same routing, owners and follow-up SLA."""

from __future__ import annotations

import pandas as pd
import pytest
from scoring_harness import MARTS, ROUTING_MARTS, canonical

# the session fixtures they share are built once: these tests run on one xdist worker
pytestmark = pytest.mark.xdist_group("dbt_scenario")


@pytest.fixture(scope="session")
def postgres_marts(postgres_warehouse) -> dict[str, pd.DataFrame]:
    return {**postgres_warehouse.marts(), **postgres_warehouse.routing_marts()}


@pytest.mark.parametrize("mart", MARTS + ROUTING_MARTS)
def test_postgres_scores_equal_duckdb_scores(postgres_marts, duckdb_scenario, mart):
    on_postgres = postgres_marts[mart].drop(columns=["scored_at"], errors="ignore")
    on_duckdb = duckdb_scenario.snapshots["d1"][mart].drop(columns=["scored_at"], errors="ignore")
    assert list(on_postgres.columns) == list(on_duckdb.columns)
    assert len(on_postgres) == len(on_duckdb) > 0
    for column in on_postgres.columns:
        assert [canonical(v) for v in on_postgres[column]] == [
            canonical(v) for v in on_duckdb[column]
        ], column
