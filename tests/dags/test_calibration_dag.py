"""The weekly calibration DAG: thin, weekly, tagged, retried, one run at a time."""

import pytest


@pytest.fixture(scope="module")
def dag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    from lead_scoring.settings import PROJECT_ROOT

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "lead_scoring_calibration.py"))
    assert bag.import_errors == {}
    return bag.dags["lead_scoring_calibration"]


def test_calibration_dag_shape(dag):
    assert set(dag.tags) >= {"lead_scoring", "calibration"}
    assert dag.max_active_runs == 1 and not dag.catchup
    assert [t.task_id for t in dag.tasks] == ["calibrate"]
    assert all(t.retries >= 1 for t in dag.tasks)
    assert dag.schedule == "@weekly"
    assert dag.doc_md and "calibration-apply" in dag.doc_md
