"""A CRM sandbox shared by the folder, reset before each test (helpers: crm_sync_helpers)."""

from __future__ import annotations

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
