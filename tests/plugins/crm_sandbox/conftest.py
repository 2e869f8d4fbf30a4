"""One sandbox for the folder, reset before each test; special options start their own."""

from __future__ import annotations

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce

from lead_scoring.crm_sandbox.server import SandboxHandle, start_sandbox, verified_session


@pytest.fixture(scope="session")
def shared_sandbox(tmp_path_factory) -> SandboxHandle:
    handle = start_sandbox(tmp_path_factory.mktemp("crm") / "crm.sqlite", token="test-token")
    yield handle
    handle.stop()


@pytest.fixture
def sandbox(shared_sandbox: SandboxHandle) -> SandboxHandle:
    shared_sandbox.reset()
    return shared_sandbox


def hubspot_client(handle: SandboxHandle) -> HubSpot:
    return HubSpot(access_token=handle.token, host=handle.hubspot_url)


def salesforce_client(handle: SandboxHandle) -> Salesforce:
    return Salesforce(
        instance_url=handle.salesforce_url,
        session_id=handle.token,
        session=verified_session(handle.ca_path),
    )


@pytest.fixture
def hs(sandbox: SandboxHandle) -> HubSpot:
    return hubspot_client(sandbox)


@pytest.fixture
def sf(sandbox: SandboxHandle) -> Salesforce:
    return salesforce_client(sandbox)


@pytest.fixture
def http(sandbox: SandboxHandle) -> requests.Session:
    session = verified_session(sandbox.ca_path)
    session.headers["Authorization"] = f"Bearer {sandbox.token}"
    return session
