"""The same project builds and passes its data tests on a local Apache Spark (dbt-spark,
session method), with the same marts as on DuckDB: two nightly loads, the second on top
of the first (history, first crossings, routing state of the earlier date); and through a
Spark Thrift server (the ``thrift`` method a cluster is reached with), one load.

A local Spark starts a JVM (10-30 s) and plans slowly on small data, so this runs with
`make test-spark` (CI runs it after `make test`), not in the default suite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

import pandas as pd
import pytest
import scoring_dataset as ds
from scoring_harness import WarehouseUnderTest, canonical

from lead_scoring.settings import Settings
from lead_scoring.warehouse import open_warehouse, thrift_server_command

pytestmark = pytest.mark.skipif(
    os.environ.get("LEAD_SCORING_SPARK_TESTS") != "1",
    reason="a local Spark build, several minutes: make test-spark",
)
DAYS = (ds.AS_OF_1, ds.AS_OF_2)
# Written by each run itself, not computed from the data.
RUN_COLUMNS = ["scored_at"]


def build_days(
    warehouse: WarehouseUnderTest, days: tuple = DAYS
) -> dict[str, dict[str, pd.DataFrame]]:
    """Load 1 built as of day 1, then load 2 as of day 2: every mart after each."""
    marts = {}
    for load_number, as_of in enumerate(days, start=1):
        warehouse.write(load_number)
        warehouse.dbt("build", as_of, "--exclude-resource-type", "unit_test")
        marts[as_of] = warehouse.all_marts()
    return marts


@pytest.fixture(scope="module")
def spark_marts(tmp_path_factory, project_dir):
    work = tmp_path_factory.mktemp("dbt_spark")
    settings = Settings(home=work / "home", warehouse="spark")
    return build_days(WarehouseUnderTest(settings, work, "spark", project_dir=project_dir))


@pytest.fixture(scope="module")
def duckdb_marts(tmp_path_factory, project_dir):
    work = tmp_path_factory.mktemp("dbt_duckdb_for_spark")
    settings = Settings(home=work / "home", warehouse="duckdb")
    return build_days(WarehouseUnderTest(settings, work, project_dir=project_dir))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, log_path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, log_path.read_text()[-3000:]
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise AssertionError(f"no Thrift server on port {port}: {log_path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def thrift_server(tmp_path_factory):
    """`lead-scoring spark-thrift-server`'s command on a free port: the settings that reach
    it (LEAD_SCORING_WAREHOUSE=spark with a hive:// URL)."""
    work = tmp_path_factory.mktemp("spark_thrift")
    port = _free_port()
    settings = Settings(home=work / "home", warehouse="spark",
                        warehouse_url=f"hive://127.0.0.1:{port}")  # fmt: skip
    argv, env = thrift_server_command(settings, port)
    log_path = work / "thrift-server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, server, log_path)
        yield settings
    finally:
        server.terminate()
        server.wait(60)


@pytest.fixture(scope="module")
def thrift_marts(thrift_server, project_dir):
    """Day 1 built by dbt's thrift method, the fixture rows written and the marts read
    through the same server."""
    warehouse = WarehouseUnderTest(
        thrift_server, thrift_server.home.parent, thrift_server.dbt_target,
        {"LEAD_SCORING_WAREHOUSE_URL": thrift_server.warehouse_url}, project_dir=project_dir,
    )  # fmt: skip
    return build_days(warehouse, DAYS[:1])


def test_text_a_client_sends_reaches_the_thrift_server_unchanged(thrift_server):
    """Quotes, backslashes and placeholders in values and parameters stay data."""
    awkward = ["it's", "back\\slash", "ends\\", "%s and ?", "naïve\nline", "x' or '1'='1"]
    frame = pd.DataFrame({"id": range(len(awkward)), "text": awkward})
    with open_warehouse(thrift_server) as warehouse:
        warehouse.write_df(frame, "scratch", "awkward", mode="replace")
        stored = warehouse.query_df("select id, text from scratch.awkward order by id")
        assert stored["text"].tolist() == awkward
        for value in awkward:
            found = warehouse.query_df("select id from scratch.awkward where text = ?", [value])
            assert found["id"].tolist() == [awkward.index(value)]


def rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """The frame's rows as canonical text (numbers to 1e-6), sorted, columns by name."""
    columns = sorted(c for c in frame.columns if c not in RUN_COLUMNS)
    return sorted(tuple(canonical(v) for v in row) for row in frame[columns].itertuples(False))


@pytest.mark.parametrize("as_of", DAYS, ids=lambda day: day.isoformat())
def test_every_mart_on_spark_equals_duckdb(spark_marts, duckdb_marts, as_of):
    on_spark, on_duckdb = spark_marts[as_of], duckdb_marts[as_of]
    assert sorted(on_spark) == sorted(on_duckdb)
    for mart, frame in on_duckdb.items():
        assert sorted(on_spark[mart].columns) == sorted(frame.columns), mart
        assert len(on_spark[mart]) == len(frame), mart
        assert rows(on_spark[mart]) == rows(frame), mart
    scores = on_duckdb["lead_scores"]
    assert len(scores) > 0 and scores["is_sdr_ready"].any()
    assert scores["score_reasons"].notna().any()


def test_every_mart_through_a_thrift_server_equals_duckdb(thrift_marts, duckdb_marts):
    on_thrift, on_duckdb = thrift_marts[DAYS[0]], duckdb_marts[DAYS[0]]
    assert sorted(on_thrift) == sorted(on_duckdb)
    for mart, frame in on_duckdb.items():
        assert sorted(on_thrift[mart].columns) == sorted(frame.columns), mart
        assert rows(on_thrift[mart]) == rows(frame), mart


def test_the_sdr_ready_set_and_the_reasons_are_the_same(spark_marts, duckdb_marts):
    for as_of in DAYS:
        on_spark = spark_marts[as_of]["lead_scores"].set_index("lead_id")
        on_duckdb = duckdb_marts[as_of]["lead_scores"].set_index("lead_id")
        assert set(on_spark.index[on_spark["is_sdr_ready"]]) == set(
            on_duckdb.index[on_duckdb["is_sdr_ready"]]
        )
        assert on_spark["score_reasons"].sort_index().fillna("").tolist() == (
            on_duckdb["score_reasons"].sort_index().fillna("").tolist()
        )
        gap = (on_spark["lead_score"].astype(float) - on_duckdb["lead_score"].astype(float)).abs()
        assert gap.max() <= 1e-6
    history = spark_marts[DAYS[1]]["lead_score_history"]
    assert sorted(pd.to_datetime(history["as_of_date"]).dt.date.unique()) == list(DAYS)
