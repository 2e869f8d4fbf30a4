"""Start both sandbox servers in background threads: ``start_sandbox(...) -> SandboxHandle``."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
import uvicorn

from lead_scoring.crm_sandbox.faults import Faults, RateLimiter
from lead_scoring.crm_sandbox.hubspot_api import hubspot_app
from lead_scoring.crm_sandbox.salesforce_api import salesforce_app
from lead_scoring.crm_sandbox.salesforce_load import seed_users
from lead_scoring.crm_sandbox.salesforce_schema import SalesforceSchema
from lead_scoring.crm_sandbox.state import DEFAULT_TOKEN, TOKEN_ENV, SandboxState
from lead_scoring.crm_sandbox.store import CrmStore

DEFAULT_RATE_LIMIT_PER_10S = 190  # HubSpot Professional/Enterprise private apps
DEFAULT_DAILY_LIMIT = 650_000  # HubSpot Professional


class SandboxStartError(RuntimeError):
    """A sandbox server did not come up (port taken, bad host...)."""


def resolve_token(token: str | None = None) -> str:
    return token or os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN


@dataclass
class TlsFiles:
    ca_path: Path
    cert_path: Path
    key_path: Path


def write_tls_files(directory: Path, hostnames: Iterable[str] = ()) -> TlsFiles:
    """A throwaway CA and a server certificate for localhost plus ``hostnames``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    names = dict.fromkeys(["127.0.0.1", "localhost", "::1", socket.gethostname(), *hostnames])
    cert = ca.issue_cert(*[n for n in names if n])
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_path))
    cert.private_key_pem.write_to_path(str(files.key_path))
    with files.cert_path.open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    return files


def verified_session(ca_path: str | Path):
    """A requests.Session that trusts the sandbox CA.

    ``trust_env`` is switched off because requests lets ``REQUESTS_CA_BUNDLE`` /
    ``CURL_CA_BUNDLE`` from the environment override ``session.verify``.
    """
    import requests

    session = requests.Session()
    session.verify = str(ca_path)
    session.trust_env = False
    return session


class _Server:
    def __init__(self, app: Any, host: str, port: int, tls: TlsFiles | None):
        self.sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM
        )
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as exc:
            self.sock.close()
            raise SandboxStartError(f"cannot bind the CRM sandbox to {host}:{port}: {exc}") from exc
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(tls.cert_path) if tls else None,
            ssl_keyfile=str(tls.key_path) if tls else None,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise SandboxStartError(f"CRM sandbox server on port {self.port} did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


class SandboxHandle:
    """A running sandbox: URLs, CA path, token, ``faults``, ``stats()``, ``stop()``."""

    def __init__(self, state: SandboxState, servers: list[_Server], host: str, tls: TlsFiles):
        self.state = state
        self.store_path = state.store.path
        self._servers = servers
        shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self.hubspot_url = f"http://{shown}:{servers[0].port}"
        self.salesforce_url = f"https://{shown}:{servers[1].port}"
        self.ca_path = tls.ca_path
        self.token = state.token
        self.faults: Faults = state.faults
        self.store = state.store

    def stats(self) -> dict[str, Any]:
        return self.state.snapshot()

    def reset(self) -> None:
        self.state.reset()

    def server_cpu_s(self) -> dict[str, float]:
        """CPU seconds each server thread (``hubspot``, ``salesforce``) has used (Linux)."""
        return {
            name: time.clock_gettime(time.pthread_getcpuclockid(server.thread.ident or 0))
            for name, server in zip(("hubspot", "salesforce"), self._servers, strict=True)
        }

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self.state.store.close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    store_path: str | Path,
    *,
    host: str = "127.0.0.1",
    hubspot_port: int = 0,
    salesforce_port: int = 0,
    rate_limit_per_10s: int = DEFAULT_RATE_LIMIT_PER_10S,
    daily_limit: int = DEFAULT_DAILY_LIMIT,
    salesforce_fields: Iterable[str] | None = None,
    token: str | None = None,
    faults: dict[str, Any] | None = None,
    tls_dir: str | Path | None = None,
    cert_hostnames: Iterable[str] = (),
) -> SandboxHandle:
    """Run the HubSpot (HTTP) and Salesforce (HTTPS) servers on ``host``; port 0 = a free one.

    ``salesforce_fields``: the custom fields that exist (None = all of them).
    ``tls_dir``: where ``ca.pem`` and the server certificate go (default: beside the store).
    """
    store_path = Path(store_path)
    state = SandboxState(
        store=CrmStore(store_path),
        token=resolve_token(token),
        limiter=RateLimiter(rate_limit_per_10s, daily_limit),
        salesforce=SalesforceSchema(salesforce_fields),
    )
    if faults:
        state.faults.set(**faults)
    seed_users(state.store)  # every Salesforce org has users: the funnel's and the reps
    tls = write_tls_files(Path(tls_dir) if tls_dir else store_path.parent / "tls", cert_hostnames)
    servers = [
        _Server(hubspot_app(state), host, hubspot_port, None),
        _Server(salesforce_app(state), host, salesforce_port, tls),
    ]
    try:
        for server in servers:
            server.start()
    except SandboxStartError:
        for server in servers:
            server.stop()
        state.store.close()
        raise
    return SandboxHandle(state, servers, host, tls)
