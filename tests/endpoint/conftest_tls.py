"""Shared fixtures of the TLS tests (imported by `test_tls.py` and by `tests/endpoint/conftest.py`): one test
PKI, every scenario served by Python's ssl and by one nginx, all on 127.0.0.1 and stopped at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.endpoint.tls_servers import (
    SCENARIOS,
    NginxServers,
    ThreadServer,
    TlsPki,
    make_test_pki,
    python_tls_server,
)

__all__ = ["tls_pki", "tls_ports", "tls_raw_server"]


@pytest.fixture(scope="session")
def tls_pki(tmp_path_factory: pytest.TempPathFactory) -> TlsPki:
    return make_test_pki(tmp_path_factory.mktemp("tls-pki"))


@pytest.fixture(scope="session")
def tls_ports(
    tls_pki: TlsPki, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str], int]]:
    """{("python" | "nginx", scenario): port} for every scenario in `SCENARIOS`."""
    python = {name: python_tls_server(scenario, tls_pki) for name, scenario in SCENARIOS.items()}
    nginx: NginxServers | None = None
    try:
        nginx = NginxServers(tls_pki, Path(tmp_path_factory.mktemp("tls-nginx")))
        ports = {("python", name): server.port for name, server in python.items()}
        ports.update({("nginx", name): port for name, port in nginx.ports.items()})
        yield ports
    finally:
        if nginx is not None:
            nginx.stop()
        for server in python.values():
            server.stop()


@pytest.fixture
def tls_raw_server() -> Iterator[Callable[[Callable[[], ThreadServer]], ThreadServer]]:
    """Start a raw-socket server from a `tls_servers` factory (`silent_server`, ...); stopped after the test."""
    started: list[ThreadServer] = []

    def start(factory: Callable[[], ThreadServer]) -> ThreadServer:
        server = factory()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
