"""Choosing the warehouse: one setting picks the engine and dbt's target; a wrong Spark
Thrift address is named in one message (the server itself: tests/dbt/test_spark.py)."""

import socket

import pytest

from lead_scoring.settings import Settings
from lead_scoring.warehouse import Warehouse, WarehouseError, spark_conf


@pytest.mark.parametrize(
    ("warehouse", "url", "target"),
    [
        ("duckdb", None, "duckdb"),
        ("postgres", "postgresql://u@127.0.0.1/test", "postgres"),
        ("spark", None, "spark"),
        ("spark", "hive://spark-thrift:10000", "spark_thrift"),
    ],
)
def test_the_warehouse_setting_picks_the_dbt_target(monkeypatch, tmp_path, warehouse, url, target):
    monkeypatch.delenv("LEAD_SCORING_DBT_TARGET", raising=False)
    settings = Settings(home=tmp_path, warehouse=warehouse, warehouse_url=url)
    assert settings.dbt_target == target
    monkeypatch.setenv("LEAD_SCORING_DBT_TARGET", "postgres")
    assert settings.dbt_target == "postgres"


def test_a_thrift_url_of_another_scheme_is_refused_with_its_password_hidden(tmp_path):
    settings = Settings(
        home=tmp_path, warehouse="spark", warehouse_url="jdbc://user:s3cret@host:10000"
    )
    with pytest.raises(WarehouseError, match="hive://host:port") as caught:
        Warehouse(settings)
    assert "s3cret" not in str(caught.value)


def test_an_unreachable_thrift_server_is_named(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        home=tmp_path, warehouse="spark", warehouse_url=f"hive://127.0.0.1:{port}"
    )
    with pytest.raises(WarehouseError, match=f"Spark Thrift server at 127.0.0.1:{port}"):
        Warehouse(settings)


def test_the_stages_spark_session_takes_the_dbt_profiles_settings(monkeypatch, tmp_path):
    """One list: the spark target's server_side_parameters, with the home and env vars."""
    monkeypatch.setenv("LEAD_SCORING_SPARK_DRIVER_MEMORY", "7g")
    conf = spark_conf(Settings(home=tmp_path, warehouse="spark"))
    assert conf["spark.driver.memory"] == "7g"
    assert conf["spark.master"] == "local[2]"  # the profile's default
    assert conf["spark.sql.warehouse.dir"] == f"{tmp_path}/spark/warehouse"
    java_options = conf["spark.driver.extraJavaOptions"]
    assert f"-Dderby.system.home={tmp_path}/spark/metastore" in java_options
    assert conf["spark.sql.ansi.enabled"] == "false"
