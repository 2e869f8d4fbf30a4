"""The ``spark`` bench section: the scoring section's warehouse scored again on a local
Spark (dbt-spark's session method), against the DuckDB scores of the same date.

The raw and quality tables the scoring section left in DuckDB are copied to Parquet
tables of the Spark warehouse (``publish``, in a child process: one process at a time
may hold Spark's Derby metastore). dbt then runs twice on Spark, as of the day before the
last and as of the last day (Spark rescores every lead on every run), each as a child
process whose process tree (dbt and the Spark JVM) is sampled for its peak memory. The
Spark marts are read straight from their Parquet files with DuckDB, so no JVM is started
to compare them.
"""

from __future__ import annotations

import logging
import multiprocessing
import subprocess
import time
from dataclasses import replace
from datetime import date, timedelta

from lead_scoring.settings import Settings

log = logging.getLogger(__name__)

SCHEMAS = ("raw", "quality")  # what dbt reads of the extract and the gate
SAMPLE_SECONDS = 0.5


def spark_settings(duckdb_settings: Settings) -> Settings:
    """The same home with a local Spark warehouse (``<home>/spark``) beside the DuckDB file."""
    return replace(duckdb_settings, warehouse="spark", warehouse_url=None)


def publish(duckdb_settings: Settings, schemas: tuple[str, ...] = SCHEMAS) -> dict[str, int]:
    """Copy every table of ``schemas`` from the DuckDB warehouse into Parquet tables of the
    home's Spark warehouse, in a child process; returns rows per table."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_publish, (duckdb_settings, schemas))


def _publish(duckdb_settings: Settings, schemas: tuple[str, ...]) -> dict[str, int]:
    try:
        return _copy_tables(duckdb_settings, schemas)
    except Exception as exc:  # Spark's errors do not pickle back to the parent process
        raise RuntimeError(f"publishing to Spark failed: {type(exc).__name__}: {exc}") from None


def _copy_tables(duckdb_settings: Settings, schemas: tuple[str, ...]) -> dict[str, int]:
    import duckdb
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    from lead_scoring.warehouse import spark_session

    staging = duckdb_settings.home / "spark" / "published"
    spark = spark_session(spark_settings(duckdb_settings))
    counts = {}
    with duckdb.connect(str(duckdb_settings.warehouse_path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables()"
            f" where schema_name in ({', '.join('?' * len(schemas))})"
            " and table_name not like '\\_dlt%' escape '\\' order by 1, 2",  # dlt's own
            list(schemas),
        ).fetchall()
        for schema, table in tables:
            path = staging / schema / f"{table}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            (rows,) = con.execute(
                f"copy {schema}.\"{table}\" to '{path}' (format parquet)").fetchone()
            frame = spark.read.parquet(str(path))
            # a DuckDB timestamp without zone is Spark's timestamp_ntz: the models read instants
            frame = frame.select(*(
                F.col(f.name).cast("timestamp").alias(f.name)
                if isinstance(f.dataType, TimestampNTZType) else F.col(f.name)
                for f in frame.schema.fields
            ))  # fmt: skip
            spark.sql(f"create schema if not exists {schema}")
            frame.write.format("parquet").mode("overwrite").saveAsTable(f"{schema}.{table}")
            counts[f"{schema}.{table}"] = rows
            log.info("bench: %s.%s on Spark (%s rows)", schema, table, rows)
    return counts


def run_dbt_tree(settings: Settings, as_of: date, *args: str) -> int:
    """``dbt <args>`` on ``settings``' target as a child process; returns the peak memory of
    its whole process tree (dbt and a Spark JVM it starts), in MB. Failure raises."""
    import psutil

    from lead_scoring.bench import dbt_command

    command, env = dbt_command(settings, as_of, *args)
    output = settings.home / f"dbt_{settings.warehouse}.out"
    with output.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0
        tree = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                members = [tree, *tree.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in members))
            except psutil.Error:  # a member ended while it was read
                pass
            time.sleep(SAMPLE_SECONDS)
    if process.returncode != 0:
        tail = output.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"dbt {args[0]} on {settings.dbt_target} failed:\n{tail}")
    return round(peak / 2**20)


def spark_table_sql(settings: Settings, schema: str, table: str) -> str:
    """A DuckDB ``read_parquet`` of a Spark managed table's files."""
    folder = settings.home / "spark" / "warehouse" / f"{schema}.db" / table
    return f"read_parquet('{folder}/**/*.parquet')"


def max_score_gap(duckdb_settings: Settings) -> tuple[float, int, int]:
    """(largest |lead_score| difference, leads on DuckDB, leads on Spark) of marts.lead_scores,
    and SDR-ready leads that differ counted as an infinite gap."""
    import duckdb

    spark_scores = spark_table_sql(spark_settings(duckdb_settings), "marts", "lead_scores")
    with duckdb.connect(str(duckdb_settings.warehouse_path), read_only=True) as con:
        gap, on_duckdb, on_spark, ready_differs = con.execute(
            "select max(abs(d.lead_score - s.lead_score)),"
            " count(d.lead_id), count(s.lead_id),"
            " count(*) filter (where d.is_sdr_ready is distinct from s.is_sdr_ready)"
            f" from marts.lead_scores as d full outer join {spark_scores} as s"
            " on s.lead_id = d.lead_id"
        ).fetchone()
    return (float("inf") if ready_differs else float(gap or 0.0)), on_duckdb, on_spark


def bench_spark(duckdb_settings: Settings, last_day: date, duckdb_full_s: float | None):
    """Publish, seed, score the day before ``last_day`` and then ``last_day`` on Spark;
    print the ``spark_*`` figures (``emit``) and return them."""
    from lead_scoring.bench import emit, timed

    settings = spark_settings(duckdb_settings)
    timed("spark_publish_s", publish, duckdb_settings)
    _, seed_rss = timed("spark_seed_s", run_dbt_tree, settings, last_day, "seed")
    full, full_rss = timed("spark_full_s", run_dbt_tree, settings,
                            last_day - timedelta(days=1), "run")  # fmt: skip
    incremental, next_rss = timed("spark_incremental_s", run_dbt_tree, settings,
                                   last_day, "run")  # fmt: skip
    gap, on_duckdb, on_spark = max_score_gap(duckdb_settings)
    figures = {
        "spark_vs_duckdb_full_ratio": round(full / duckdb_full_s, 2) if duckdb_full_s else None,
        "spark_scores_max_abs_diff": gap,
        "spark_leads_scored": on_spark,
        "spark_peak_rss_mb": max(seed_rss, full_rss, next_rss),
    }
    if on_spark != on_duckdb:
        log.warning("bench: %s leads scored on Spark, %s on DuckDB", on_spark, on_duckdb)
    for name, value in figures.items():
        if value is not None:
            emit(name, value)
    return figures | {"spark_full_s": full, "spark_incremental_s": incremental}
