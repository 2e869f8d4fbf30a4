"""The product database in PostgreSQL (COPY), on a uniquely named database of the local server."""

import dataclasses
import uuid

import psycopg2
import pytest
from conftest import SMALL

from lead_scoring.simulator import simulate, simulate_next_day

SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def product_db():
    name = f"simulator_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(f"{SERVER}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def _query(url: str, sql: str):
    with psycopg2.connect(url) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_product_database_in_postgres(settings, product_db):
    settings = dataclasses.replace(settings, product_db_url=product_db)
    first = simulate(settings, seed=4, **SMALL)
    assert first.product_db == product_db
    assert not (settings.sources_dir / "product.db").exists()
    users, events, max_id = _query(
        product_db,
        "select (select count(*) from app_users), count(*), max(event_id) from app_events",
    )[0]
    assert (users, events) == (first.product_users, first.product_events)
    assert max_id == events
    keys = _query(
        product_db,
        "select table_name from information_schema.table_constraints"
        " where constraint_type = 'PRIMARY KEY' and table_schema = 'public' order by 1",
    )
    assert keys == [("app_events",), ("app_users",)]
    types = dict(_query(
        product_db,
        "select column_name, data_type from information_schema.columns"
        " where table_name = 'app_events'",
    ))  # fmt: skip
    assert types == {"event_id": "bigint", "user_id": "bigint", "event_type": "text",
                     "occurred_at": "timestamp without time zone"}  # fmt: skip

    day = simulate_next_day(settings)
    after = _query(product_db, "select count(*), min(event_id) from app_events"
                               f" where event_id > {max_id}")[0]  # fmt: skip
    assert after == (day.product_events, max_id + 1)
    assert _query(product_db, "select count(*) from app_users")[0][0] == users + day.product_users

    again = simulate(settings, seed=4, **SMALL)
    assert again.replaced
    assert _query(product_db, "select count(*) from app_events")[0][0] == first.product_events
