"""The DAG's task bodies: a missing connection fails the task with a message naming it; a
task waits while another holds the DuckDB warehouse file."""

import pytest
from airflow.sdk.exceptions import AirflowFailException

from lead_scoring import nightly


@pytest.mark.parametrize(
    "resolve, conn_id",
    [
        (nightly.crm_source, "lead_scoring_crm_source"),
        (nightly.crm_target, "lead_scoring_crm"),
    ],
)
def test_missing_connection_is_named(resolve, conn_id, airflow_home, monkeypatch):
    monkeypatch.delenv(f"AIRFLOW_CONN_{conn_id.upper()}", raising=False)
    with pytest.raises(AirflowFailException, match=f"'{conn_id}' is not defined"):
        resolve()
