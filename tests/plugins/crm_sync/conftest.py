"""A CRM sandbox shared by the folder, reset before each test (helpers: crm_sync_helpers),
and a PostgreSQL warehouse of a test's own (skipped without a local server)."""

from __future__ import annotations

import uuid
from dataclasses import replace

import psycopg2
import pytest

from lead_scoring.crm_sandbox.server import SandboxHandle, start_sandbox


@pytest.fixture(scope="session")
def shared_crm(tmp_path_factory) -> SandboxHandle:
    handle = start_sandbox(
        tmp_path_factory.mktemp("crm") / "crm.sqlite",
        rate_limit_per_10s=100_000,
        daily_limit=10_000_000,
    )
    yield handle
    handle.stop()


@pytest.fixture
def crm(shared_crm: SandboxHandle) -> SandboxHandle:
    shared_crm.reset()
    return shared_crm


POSTGRES = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def pg_settings(settings):
    """Settings whose warehouse is a new database on the local PostgreSQL server."""
    name = f"crm_sync_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(f"{POSTGRES}/postgres", connect_timeout=3)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {exc}")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'create database "{name}"')
    yield replace(settings, warehouse="postgres", warehouse_url=f"{POSTGRES}/{name}")
    with admin.cursor() as cur:
        cur.execute(f'drop database "{name}" with (force)')
    admin.close()
