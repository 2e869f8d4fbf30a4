"""A small, portable handle on the warehouse for the Python stages.

dbt owns the models; the Python stages (quality gate, CRM sync, report) only
need to read a query into a DataFrame, run a statement and write a DataFrame
into a table. DuckDB (a file) is the default; PostgreSQL is supported through
``LEAD_SCORING_WAREHOUSE=postgres`` and ``LEAD_SCORING_WAREHOUSE_URL``, and a local
Spark through ``LEAD_SCORING_WAREHOUSE=spark`` (the session dbt-spark's ``session``
method also uses: one JVM per process, see ``spark_conf``).
Keep the SQL passed here portable (plain ANSI: no engine-specific functions).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import pandas as pd

from lead_scoring.settings import Settings, get_settings

WriteMode = Literal["append", "replace"]


class WarehouseError(RuntimeError):
    """A warehouse problem a user can fix (missing file, missing table...)."""


class Warehouse:
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
            self._con = spark_session(self.settings)
        else:
            raise WarehouseError(
                f"LEAD_SCORING_WAREHOUSE={self.kind!r} is not supported"
                " (use duckdb, postgres or spark)"
            )

    def close(self) -> None:
        if self.kind != "spark":  # the process's one Spark session outlives the handle
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
        elif self.kind == "spark":
            self._con.sql(sql, args=list(params) if params else None).collect()
        else:
            with self._con.cursor() as cur:
                cur.execute(sql.replace("?", "%s") if params else sql, params)

    def query_df(self, sql: str, params: tuple | list | None = None) -> pd.DataFrame:
        if self.kind == "duckdb":
            return self._con.execute(sql, params or []).df()
        if self.kind == "spark":
            return self._con.sql(sql, args=list(params) if params else None).toPandas()
        with self._con.cursor() as cur:
            cur.execute(sql.replace("?", "%s") if params else sql, params)
            columns = [c.name for c in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=columns)

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
        if self.kind == "spark":  # Spark has no information_schema
            return self._con.catalog.tableExists(f"{schema}.{table}")
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables"
                " where table_schema = ? and table_name = ?",
                [schema, table],
            )
        )

    def columns(self, schema: str, table: str) -> list[str]:
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
        if self.kind == "spark":  # Parquet tables in the session's warehouse directory
            frame = self._con.createDataFrame(df) if len(df) else self._con.createDataFrame(
                [], _columns_ddl(df, "spark"))
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
    """The local Spark session's settings: the same as the ``spark`` target of
    dbt_project/profiles.yml (keep them together), so the stages and dbt, in one process,
    share one session, warehouse directory and metastore."""
    spark_dir = settings.home / "spark"
    env = os.environ.get
    return {
        "spark.master": env("LEAD_SCORING_SPARK_MASTER", "local[2]"),
        "spark.driver.memory": env("LEAD_SCORING_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.shuffle.partitions": env("LEAD_SCORING_SPARK_SHUFFLE_PARTITIONS", "2"),
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.log.level": "ERROR",  # Spark's own warnings stay out of the task logs
        "spark.sql.warehouse.dir": str(spark_dir / "warehouse"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir / 'metastore'}"
        f" -Dderby.stream.error.file={spark_dir / 'derby.log'}",
    }


def spark_session(settings: Settings):
    """This process's Spark session (started on first use, 10-30 s; then shared with dbt)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@contextmanager
def open_warehouse(
    settings: Settings | None = None, read_only: bool = False
) -> Iterator[Warehouse]:
    wh = Warehouse(settings, read_only=read_only)
    try:
        yield wh
    finally:
        wh.close()
