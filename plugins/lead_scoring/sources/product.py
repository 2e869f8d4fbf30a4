"""The product database (PostgreSQL, or a local SQLite file): users and events."""

from __future__ import annotations

from pathlib import Path

import dlt
import sqlalchemy as sa
from dlt.sources.sql_database import sql_table

from lead_scoring.privacy.tombstones import Tombstones
from lead_scoring.sources.errors import SourceUnavailable

TABLES = {"app_users": "product_users", "app_events": "product_events"}


def check_product_db(url: str) -> None:
    """Fail with one clear message when the product database cannot be read."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise SourceUnavailable(
            f"product database file {url.removeprefix('sqlite:///')} does not exist"
            " (run `lead-scoring simulate` or set LEAD_SCORING_PRODUCT_DB_URL)"
        )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            missing = set(TABLES) - set(sa.inspect(con).get_table_names())
    except sa.exc.OperationalError as exc:
        raise SourceUnavailable(
            f"product database {engine.url.render_as_string(hide_password=True)} is unreachable:"
            f" {exc.orig}"
        ) from exc
    finally:
        engine.dispose()
    if missing:
        raise SourceUnavailable(f"product database lacks table(s): {', '.join(sorted(missing))}")


def product_resources(url: str, tombstones: Tombstones | None = None) -> list:
    """Users (merged on ``user_id``) and events (appended); rows of forgotten people
    (``tombstones``) are left out."""
    users = sql_table(
        credentials=url,
        table="app_users",
        backend="pyarrow",
        chunk_size=200_000,
        incremental=dlt.sources.incremental("updated_at"),
        write_disposition="merge",
        primary_key="user_id",
    ).with_name("product_users")
    events = sql_table(
        credentials=url,
        table="app_events",
        backend="pyarrow",
        chunk_size=200_000,
        incremental=dlt.sources.incremental("event_id"),
        write_disposition="append",
        primary_key="event_id",
    ).with_name("product_events")
    if tombstones:
        users.add_map(lambda rows: tombstones.drop("product_users", rows))
        events.add_map(lambda rows: tombstones.drop("product_events", rows))
    return [users, events]
