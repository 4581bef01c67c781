"""Fixtures for the check-endpoint tests: a trustme PKI, real SDK servers, hostile raw-socket servers.
Everything listens on 127.0.0.1 and stops at the end of its test."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.endpoint.conftest_tls import *  # noqa: F403  (the TLS tests' fixtures)
from tests.endpoint.mcp_servers import McpDeployment, Pki, RawServer, make_pki, start_mcp


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def mcp_server(pki: Pki) -> Iterator[Callable[..., McpDeployment]]:
    """Start SDK deployments: `mcp_server(fault=None, tls=True, **kw)`; all stopped after the test."""
    started: list[McpDeployment] = []

    def start(fault: str | None = None, *, tls: bool = True, **kwargs: object) -> McpDeployment:
        deployment = start_mcp(pki if tls else None, fault, **kwargs)  # type: ignore[arg-type]
        started.append(deployment)
        return deployment

    yield start
    for deployment in started:
        deployment.stop()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """Start raw-socket servers: `raw_server(handler)`; `raw_server.stop_event` releases blocked handlers."""
    servers: list[RawServer] = []
    stop = threading.Event()

    def start(handler: Callable) -> RawServer:
        server = RawServer(handler)
        servers.append(server)
        return server

    start.stop_event = stop  # type: ignore[attr-defined]
    yield start
    stop.set()
    for server in servers:
        server.stop()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path
