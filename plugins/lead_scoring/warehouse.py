"""A small, portable handle on the warehouse for the Python stages.

dbt owns the models; the Python stages (quality gate, CRM sync, report) only
need to read a query into a DataFrame, run a statement and write a DataFrame
into a table. DuckDB (a file) is the default; PostgreSQL is supported through
``LEAD_SCORING_WAREHOUSE=postgres`` and ``LEAD_SCORING_WAREHOUSE_URL``, and a local
Spark through ``LEAD_SCORING_WAREHOUSE=spark`` (the session dbt-spark's ``session``
method also uses: one JVM per process, see ``spark_conf``), or a Spark Thrift server (a
cluster) when ``LEAD_SCORING_WAREHOUSE_URL`` is also set (``hive://host:port``, PyHive,
as dbt-spark's ``thrift`` method).
Keep the SQL passed here portable (plain ANSI: no engine-specific functions).
"""

from __future__ import annotations

import io
import itertools
import math
import numbers
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from lead_scoring.settings import Settings, get_settings, redact_url

WriteMode = Literal["append", "replace"]


class WarehouseError(RuntimeError):
    """A warehouse problem a user can fix (missing file, missing table...)."""


class Warehouse:
    thrift = False  # a Spark Thrift server: SQL text only (see thrift_connect)

    def __init__(self, settings: Settings | None = None, read_only: bool = False):
        self.settings = settings or get_settings()
        self.kind = self.settings.warehouse
        self.read_only = read_only
        if self.kind == "duckdb":
            import duckdb

            path = self.settings.warehouse_path
            if read_only and not path.exists():
                raise WarehouseError(f"warehouse file {path} does not exist: run the extract first")
            path.parent.mkdir(parents=True, exist_ok=True)
            # Always read-write: DuckDB refuses a read-only connection to a file this process
            # already has open read-write (dbt-duckdb keeps one when dbt runs in-process).
            self._con = duckdb.connect(str(path))
        elif self.kind == "postgres":
            import psycopg2

            if not self.settings.warehouse_url:
                raise WarehouseError(
                    "LEAD_SCORING_WAREHOUSE=postgres needs LEAD_SCORING_WAREHOUSE_URL"
                )
            self._con = psycopg2.connect(self.settings.warehouse_url)
            self._con.autocommit = True
        elif self.kind == "spark":
            self.thrift = self.settings.spark_thrift
            self._con = (
                thrift_connect(self.settings) if self.thrift else spark_session(self.settings)
            )
        else:
            raise WarehouseError(
                f"LEAD_SCORING_WAREHOUSE={self.kind!r} is not supported"
                " (use duckdb, postgres or spark)"
            )

    def close(self) -> None:
        if self.kind != "spark" or self.thrift:  # one Spark session outlives the handle
            self._con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The statements of the block take effect together when it ends, or not at all:
        an exception (or a killed process) leaves the warehouse as it was before."""
        self.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")

    def execute(self, sql: str, params: tuple | list | None = None) -> None:
        if self.kind == "duckdb":
            self._con.execute(sql, params or [])
        elif self.kind == "spark" and not self.thrift:
            self._con.sql(sql, args=list(params) if params else None).collect()
        else:
            with self._cursor(sql, params):
                pass

    def query_df(self, sql: str, params: tuple | list | None = None) -> pd.DataFrame:
        if self.kind == "duckdb":
            return self._con.execute(sql, params or []).df()
        if self.kind == "spark" and not self.thrift:
            return self._con.sql(sql, args=list(params) if params else None).toPandas()
        with self._cursor(sql, params) as cur:
            columns = [c[0] for c in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=columns)
            for name, kind, *_ in cur.description:
                if kind == "DATE_TYPE":  # PyHive returns dates as text
                    frame[name] = pd.to_datetime(frame[name]).dt.date
            return frame

    @contextmanager
    def _cursor(self, sql: str, params: tuple | list | None):
        """A DB-API cursor that ran ``sql`` with ``params`` in its ``?`` places (PostgreSQL:
        bound by psycopg2; a Thrift server takes no parameters: Spark SQL literals)."""
        with self._con.cursor() as cur:
            if not params:
                cur.execute(sql)
            elif self.thrift:
                cur.execute(
                    sql.replace("%", "%%").replace("?", "%s")
                    % tuple(spark_literal(v) for v in params)
                )
            else:
                cur.execute(sql.replace("?", "%s"), params)
            yield cur

    def query_arrow(self, sql: str, params: tuple | list | None = None):
        """A query's rows as a pyarrow Table (from DuckDB without a pandas detour)."""
        if self.kind == "duckdb":
            return self._con.sql(sql, params=params or None).to_arrow_table()
        import pyarrow as pa

        return pa.Table.from_pandas(self.query_df(sql, params), preserve_index=False)

    def scalar(self, sql: str, params: tuple | list | None = None):
        df = self.query_df(sql, params)
        return None if df.empty else df.iat[0, 0]

    def table_exists(self, schema: str, table: str) -> bool:
        if self.thrift:  # Spark has no information_schema
            found = self.query_df(f"show tables in {schema} like ?", [table])
            return not found.empty
        if self.kind == "spark":
            return self._con.catalog.tableExists(f"{schema}.{table}")
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables"
                " where table_schema = ? and table_name = ?",
                [schema, table],
            )
        )

    def columns(self, schema: str, table: str) -> list[str]:
        if self.thrift:
            return self.query_df(f"select * from {schema}.{table} limit 0").columns.tolist()
        if self.kind == "spark":
            return self._con.table(f"{schema}.{table}").columns
        df = self.query_df(
            "select column_name from information_schema.columns"
            " where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
        return df["column_name"].tolist()

    def write_df(self, df: pd.DataFrame, schema: str, table: str, mode: WriteMode = "append"):
        """Write ``df`` into ``schema.table``, creating the table from the frame's types."""
        self.execute(f"create schema if not exists {schema}")
        target = f"{schema}.{table}"
        if self.kind == "duckdb":
            self._con.register("_incoming", df)
            try:
                if mode == "replace" or not self.table_exists(schema, table):
                    self._con.execute(
                        f"create or replace table {target} as select * from _incoming"
                    )
                else:
                    cols = ", ".join(f'"{c}"' for c in df.columns)
                    self._con.execute(f"insert into {target} ({cols}) select {cols} from _incoming")
            finally:
                self._con.unregister("_incoming")
            return
        if self.thrift:
            self._insert_literals(df, target, mode)
            return
        if self.kind == "spark":  # Parquet tables in the session's warehouse directory
            frame = (
                self._con.createDataFrame(df)
                if len(df)
                else self._con.createDataFrame([], _columns_ddl(df, "spark"))
            )
            writer = frame.write.format("parquet")
            if mode == "append" and self.table_exists(schema, table):
                writer.insertInto(target)
            else:
                writer.mode("overwrite").saveAsTable(target)
            return
        if mode == "replace":
            self.execute(f"drop table if exists {target}")
        if not self.table_exists(schema, table):
            self.execute(f"create table {target} ({_columns_ddl(df, 'postgres')})")
        buffer = io.StringIO()
        df.to_csv(buffer, index=False, header=False)
        buffer.seek(0)
        cols = ", ".join(f'"{c}"' for c in df.columns)
        with self._con.cursor() as cur:
            cur.copy_expert(f"copy {target} ({cols}) from stdin with (format csv)", buffer)

    def _insert_literals(self, df: pd.DataFrame, target: str, mode: WriteMode) -> None:
        """Write ``df`` through a Thrift server: a Parquet table from the frame's types, the
        rows as literal ``values`` (a Thrift client has no bulk path), in batches."""
        schema, table = target.split(".")
        if mode == "replace":
            self.execute(f"drop table if exists {target}")
        if not self.table_exists(schema, table):
            self.execute(f"create table {target} ({_columns_ddl(df, 'spark')}) using parquet")
        rows = df.astype(object).where(df.notna(), None).itertuples(index=False)
        cols = ", ".join(f"`{c}`" for c in df.columns)
        while batch := list(itertools.islice(rows, THRIFT_BATCH_ROWS)):
            values = ", ".join(f"({', '.join(spark_literal(v) for v in row)})" for row in batch)
            self.execute(f"insert into {target} ({cols}) values {values}")


THRIFT_BATCH_ROWS = 1000


def spark_literal(value) -> str:
    """``value`` as a Spark SQL literal (backslashes and quotes escaped: Spark reads
    backslash escapes in string literals)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NULL"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, numbers.Number):
        return repr(float(value)) if isinstance(value, float | np.floating) else str(int(value))
    if isinstance(value, datetime | pd.Timestamp):
        moment = pd.Timestamp(value)
        if moment.tzinfo is not None:
            moment = moment.tz_convert("UTC").tz_localize(None)
        return f"timestamp '{moment.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def thrift_connect(settings: Settings):
    """A PyHive connection to the Spark Thrift server at ``LEAD_SCORING_WAREHOUSE_URL``
    (``hive://[user@]host:port``)."""
    from pyhive import hive

    url = urlsplit(settings.warehouse_url)
    if url.scheme != "hive" or not url.hostname:
        raise WarehouseError(
            "LEAD_SCORING_WAREHOUSE_URL for a Spark Thrift server is hive://host:port,"
            f" not {redact_url(settings.warehouse_url)}"
        )
    user = url.username or os.environ.get("LEAD_SCORING_SPARK_USER", "lead_scoring")
    try:
        return hive.connect(host=url.hostname, port=url.port or 10000, username=user)
    except Exception as exc:  # thrift's transport errors name no host
        raise WarehouseError(
            f"cannot reach the Spark Thrift server at {url.hostname}:{url.port or 10000}: {exc}"
        ) from exc


# Column types for a DataFrame's dtype kinds, per engine (any other kind: text).
_COLUMN_TYPES = {
    "postgres": {"b": "boolean", "i": "bigint", "u": "bigint", "f": "double precision",
                 "M": "timestamp", "text": "text"},
    "spark": {"b": "boolean", "i": "bigint", "u": "bigint", "f": "double",
              "M": "timestamp", "text": "string"},
}  # fmt: skip


def _columns_ddl(df: pd.DataFrame, kind: str) -> str:
    """``df``'s columns as SQL column definitions of warehouse ``kind`` (a PostgreSQL
    timestamp with a zone is timestamptz; Spark's timestamp always is an instant)."""
    types, quote = _COLUMN_TYPES[kind], '"' if kind == "postgres" else "`"

    def sql_type(dtype) -> str:
        found = types.get(getattr(dtype, "kind", "O"), types["text"])
        zoned = kind == "postgres" and found == "timestamp" and getattr(dtype, "tz", None)
        return "timestamptz" if zoned else found

    return ", ".join(f"{quote}{name}{quote} {sql_type(t)}" for name, t in df.dtypes.items())


def spark_conf(settings: Settings) -> dict[str, str]:
    """The local Spark session's settings: the ``server_side_parameters`` of the ``spark``
    target in dbt_project/profiles.yml, rendered as dbt renders them (``env_var``, with
    ``LEAD_SCORING_HOME`` the settings' home). One list, so the stages and dbt, in one
    process, share one session, warehouse directory and metastore, and a Thrift server
    started here (``thrift_server_command``) gets the same."""
    import jinja2
    import yaml

    environment = {**os.environ, "LEAD_SCORING_HOME": str(settings.home)}

    def env_var(name: str, default: str | None = None) -> str:
        if name not in environment and default is None:
            raise KeyError(f"dbt_project/profiles.yml reads env var {name}, which is not set")
        return environment.get(name, default)

    jinja = jinja2.Environment(undefined=jinja2.StrictUndefined)
    jinja.filters["as_number"] = lambda value: value
    text = (settings.dbt_project_dir / "profiles.yml").read_text()
    profile = yaml.safe_load(jinja.from_string(text).render(env_var=env_var))
    parameters = profile["lead_scoring"]["outputs"]["spark"]["server_side_parameters"]
    return {key: str(value) for key, value in parameters.items()}


def spark_session(settings: Settings):
    """This process's Spark session (started on first use, 10-30 s; then shared with dbt)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


THRIFT_SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


def thrift_server_command(settings: Settings, port: int, host: str = "127.0.0.1"):
    """The command (argv, environment) that runs a Spark Thrift server on this machine with
    pyspark's own Spark, the settings of ``spark_conf`` and the home's warehouse directory
    and metastore: dbt's ``spark_thrift`` target and the stages then share one long-lived
    JVM instead of starting one per process."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    argv = [str(spark_home / "bin" / "spark-submit"), "--class", THRIFT_SERVER_CLASS,
            "--name", "lead-scoring-thrift-server"]  # fmt: skip
    for key, value in spark_conf(settings).items():
        argv += ["--conf", f"{key}={value}"]
    argv += ["spark-internal", "--hiveconf", f"hive.server2.thrift.port={port}",
             "--hiveconf", f"hive.server2.thrift.bind.host={host}"]  # fmt: skip
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": host}
    return argv, env


@contextmanager
def open_warehouse(
    settings: Settings | None = None, read_only: bool = False
) -> Iterator[Warehouse]:
    wh = Warehouse(settings, read_only=read_only)
    try:
        yield wh
    finally:
        wh.close()
