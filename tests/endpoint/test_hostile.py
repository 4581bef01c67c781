"""Hostile or broken endpoints end in bounded time with "could not check", and never stop the others' results.
Raw-socket servers in threads on 127.0.0.1; the well-behaved neighbour is the real SDK server."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from pipeline.endpoint import EndpointOptions, check_endpoints
from pipeline.endpoint.http import HttpClient
from pipeline.errors import CheckError
from tests.endpoint import mcp_servers as hostile
from tests.endpoint.mcp_servers import McpDeployment, RawServer

TIMEOUT = 1.0
BOUND = 6.0  # seconds for the whole run: one request timeout plus slack on a loaded 2-core machine


def _handler(kind: str, stop: object, port_holder: list[int]) -> Callable:
    return {
        "silent": lambda: hostile.silent(stop),  # type: ignore[arg-type]
        "garbage": lambda: hostile.garbage,
        "endless-body": lambda: hostile.endless_body(stop),  # type: ignore[arg-type]
        "endless-headers": lambda: hostile.endless_headers(stop),  # type: ignore[arg-type]
        "slow-drip": lambda: hostile.slow_drip(stop),  # type: ignore[arg-type]
        "redirect-loop": lambda: hostile.redirect_loop(port_holder),
    }[kind]()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("silent", "timed out"),
        ("garbage", "not an HTTP/1.x response"),
        ("endless-body", "cap"),
        ("endless-headers", "headers exceed"),
        ("slow-drip", "not complete within"),
        ("redirect-loop", "redirect loop"),
    ],
)
def test_hostile_endpoint_is_could_not_check_and_others_still_come(
    kind: str,
    message: str,
    raw_server: Callable[..., RawServer],
    mcp_server: Callable[..., McpDeployment],
) -> None:
    port_holder: list[int] = []
    server = raw_server(_handler(kind, raw_server.stop_event, port_holder))  # type: ignore[attr-defined]
    port_holder.append(server.port)
    good = mcp_server(tls=False)
    bad_url = f"http://127.0.0.1:{server.port}/mcp"
    start = time.monotonic()
    results = check_endpoints([bad_url, good.url], EndpointOptions(timeout=TIMEOUT, tls=False))
    took = time.monotonic() - start
    assert took < BOUND, f"{kind}: {took:.1f} s"
    bad, fine = results
    assert bad.stage == f"endpoint {bad_url}"
    assert bad.error is not None and message in bad.error, bad.error
    assert "\n" not in bad.error
    assert fine.error is None, fine.error
    assert fine.summary["authentication"] == "required"


@pytest.mark.parametrize("tls", [False, True])
def test_tls_handshake_that_never_comes(raw_server: Callable[..., RawServer], tls: bool) -> None:
    """An https:// endpoint that accepts and never answers the ClientHello: the HTTP client (and the TLS
    checker, when present) give up within the timeout."""
    server = raw_server(hostile.silent(raw_server.stop_event))  # type: ignore[attr-defined]
    start = time.monotonic()
    options = EndpointOptions(timeout=TIMEOUT, tls=tls)
    (stage,) = check_endpoints([f"https://127.0.0.1:{server.port}/mcp"], options)
    assert time.monotonic() - start < BOUND
    assert stage.error is not None and "timed out" in stage.error


def test_total_deadline_bounds_many_slow_requests(raw_server: Callable[..., RawServer]) -> None:
    """Each request within its own timeout, but the endpoint's total deadline still ends the run."""
    server = raw_server(hostile.slow_drip(raw_server.stop_event))  # type: ignore[attr-defined]
    start = time.monotonic()
    options = EndpointOptions(timeout=30.0, total_timeout=1.5, tls=False)
    (stage,) = check_endpoints([f"http://127.0.0.1:{server.port}/mcp"], options)
    assert time.monotonic() - start < BOUND
    assert stage.error is not None


def test_refused_port_is_could_not_check() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens here now
    (stage,) = check_endpoints([f"http://127.0.0.1:{port}/mcp"], EndpointOptions(timeout=TIMEOUT, tls=False))
    assert stage.error is not None and "refused" in stage.error


def test_client_caps_body_memory(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(hostile.endless_body(raw_server.stop_event))  # type: ignore[attr-defined]
    client = HttpClient(timeout=5.0, max_body_bytes=256 * 1024)
    with pytest.raises(CheckError, match="262144-byte cap"):
        client.request("GET", f"http://127.0.0.1:{server.port}/")


def test_client_redirect_hop_cap(raw_server: Callable[..., RawServer]) -> None:
    port_holder: list[int] = []
    server = raw_server(hostile.redirect_loop(port_holder))
    port_holder.append(server.port)
    client = HttpClient(timeout=2.0)
    with pytest.raises(CheckError, match="redirect loop"):
        client.request("GET", f"http://127.0.0.1:{server.port}/mcp", follow_redirects=10)
    resp = client.request("GET", f"http://127.0.0.1:{server.port}/mcp")  # not followed unless asked
    assert resp.status == 302


def test_event_stream_kept_open_after_the_answer(raw_server: Callable[..., RawServer]) -> None:
    """Not hostile, just allowed: the answer is read and the stream left, not waited out to a timeout."""
    server = raw_server(hostile.sse_kept_open(raw_server.stop_event))  # type: ignore[attr-defined]
    start = time.monotonic()
    (stage,) = check_endpoints(
        [f"http://127.0.0.1:{server.port}/mcp"], EndpointOptions(timeout=2.0, tls=False)
    )
    assert stage.error is None, stage.error
    assert time.monotonic() - start < 2.0 * 0.9
    assert stage.summary["authentication"] == "none"
