"""Keep-alive in the endpoint checker's HTTP client: one endpoint's probes reuse a connection, never another
endpoint's; a probe that judges what a server does per connection still gets a new one; a connection is kept
only after a response whose end was seen exactly; a kept connection the server closed is retried once; and
the findings are the same with and without it. Real servers on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from typing import Any

import pytest

from pipeline.endpoint import check_endpoints
from pipeline.endpoint.http import HttpClient
from pipeline.errors import CheckError
from pipeline.findings import StageResult
from tests.endpoint.mcp_servers import McpDeployment, RawServer, _read_request
from tests.endpoint.test_mcp_http import options

# --- an SDK server that records which connection carried which request ---------------------------------


class Recorder:
    """ASGI middleware: for every request, the client's address (one per connection), its Host header and
    the JSON-RPC method and id of its body (when the app read it)."""

    def __init__(self) -> None:
        self.seen: list[tuple[tuple[str, int], str, str | None, object]] = []

    def wrap(self, app: Any) -> Any:
        async def recorded(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            body = bytearray()

            async def reading() -> Any:
                message = await receive()
                if message.get("type") == "http.request":
                    body.extend(message.get("body", b""))
                return message

            try:
                await app(scope, reading, send)
            finally:
                host = dict(scope["headers"]).get(b"host", b"").decode()
                try:
                    message = json.loads(bytes(body)) if body else {}
                except ValueError:
                    message = {}
                method = message.get("method") if isinstance(message, dict) else None
                ident = message.get("id") if isinstance(message, dict) else None
                self.seen.append((tuple(scope["client"]), host, method, ident))

        return recorded

    def by_connection(self) -> dict[tuple[str, int], list[tuple[str, str | None, object]]]:
        out: dict[tuple[str, int], list[tuple[str, str | None, object]]] = {}
        for client, host, method, ident in self.seen:
            out.setdefault(client, []).append((host, method, ident))
        return out


def test_an_endpoint_reuses_its_own_connections_only(mcp_server: Callable[..., McpDeployment]) -> None:
    # Two endpoints at one address and port (127.0.0.1 and localhost name the same server): each one's
    # requests must stay on its own connections, while most requests ride on a kept connection.
    recorder = Recorder()
    deployment = mcp_server(wrap=recorder.wrap)
    port = deployment.port
    urls = [deployment.url, deployment.url.replace("127.0.0.1", "localhost")]
    results = check_endpoints(urls, options(deployment, allow_hosts={"localhost"}))
    assert [r.error for r in results] == [None, None]
    own = {f"127.0.0.1:{port}", f"localhost:{port}"}
    connections = recorder.by_connection()
    for requests in connections.values():
        hosts = {host for host, _, _ in requests if host in own}
        assert len(hosts) <= 1, requests  # one endpoint's Host only, never both
    # Each request used to have a connection of its own (63 per endpoint).
    assert len(recorder.seen) > 100
    assert len(connections) < len(recorder.seen) / 2, (len(connections), len(recorder.seen))


LISTING = {("initialize", 30), ("tools/list", 31)}


def test_probes_of_per_connection_behaviour_get_new_connections(
    mcp_server: Callable[..., McpDeployment],
) -> None:
    recorder = Recorder()
    deployment = mcp_server(wrap=recorder.wrap)
    stage = check_endpoints([deployment.url], options(deployment))[0]
    assert stage.error is None, stage.error
    own = f"127.0.0.1:{deployment.port}"
    listings = foreign = 0
    for requests in recorder.by_connection().values():
        # A foreign Host (a front end may route a whole connection by its first Host) is never reused.
        if any(host != own for host, _, _ in requests):
            assert len(requests) == 1, requests
            foreign += 1
        # The tools listings (compared across connections) share their connections with nothing else, and no
        # two share one: initialize 30, the notification and tools/list 31 in 2025-11-25 (a 202 without a
        # length ends its connection), tools/list 31 alone in 2026-07-28.
        if any((method, ident) in LISTING for _, method, ident in requests):
            assert {(m, i) for _, m, i in requests} <= {*LISTING, ("notifications/initialized", None)}, (
                requests
            )
            lists = sum((m, i) == ("tools/list", 31) for _, m, i in requests)
            assert lists <= 1 and sum((m, i) == ("initialize", 30) for _, m, i in requests) <= 1, requests
            listings += lists
    assert listings == 2 * 2 and foreign >= 2, recorder.seen
    assert stage.summary.get("tools_2026-07-28") and stage.summary.get("tools_2025-11-25")


# Differ between any two runs: timings, and the bits two random session IDs share by chance.
VARYING = ("seconds", "session_id_bits")


def _comparable(stage: StageResult) -> dict[str, Any]:
    def flat(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, dict):
                out.update(flat(item, f"{prefix}{key}."))
            elif key not in VARYING:
                out[prefix + key] = item
        return out

    findings = sorted(
        (f.rule_id, f.severity.value, f.title, re.sub(r"[0-9a-f]{8,}", "<id>", f.evidence or ""))
        for f in stage.findings
    )  # session IDs in the evidence are new every run
    return {"error": stage.error, "findings": findings, **flat(stage.summary)}


@pytest.mark.parametrize(
    "kind",
    [
        {},
        {"fault": "default-origins"},
        {"fault": "no-hsts"},
        {"modern_fault": "tools-shuffle"},
        {"modern_fault": "mints-session"},
        {"era": "legacy"},
        {"tls": False},
    ],
    ids=lambda kind: ",".join(f"{k}={v}" for k, v in kind.items()) or "right",
)
def test_findings_are_the_same_with_and_without_keep_alive(
    mcp_server: Callable[..., McpDeployment], kind: dict[str, Any]
) -> None:
    deployment = mcp_server(**kind)
    kept = check_endpoints([deployment.url], options(deployment, http_port=0))[0]
    fresh = check_endpoints([deployment.url], options(deployment, http_port=0, keep_alive=False))[0]
    assert kept.error is None and fresh.error is None, (kept.error, fresh.error)
    a, b = _comparable(kept), _comparable(fresh)
    assert a == b, {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


# --- the client's rules, against raw servers ----------------------------------------------------------


def _requests_on(conn: socket.socket) -> list[bytes]:
    """Read one request (headers and a Content-Length body); empty when the client closed."""
    data = _read_request(conn)
    if not data:
        return []
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
            while len(body) < length:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                body += chunk
    return [head]


def serving(response: bytes, opened: list[int]) -> Callable[[socket.socket], None]:
    """Answers every request on a connection with `response` until the client closes; counts connections."""

    def handler(conn: socket.socket) -> None:
        opened.append(1)
        while _requests_on(conn):
            conn.sendall(response)

    return handler


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    ("response", "kept"),
    [
        (OK + b"Content-Length: 2\r\n\r\n{}", True),
        (OK + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", True),
        (OK + b"Content-Length: 2\r\nConnection: close\r\n\r\n{}", False),  # the server says it closes
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", False),  # HTTP/1.0: not persistent by default
        (OK + b"Content-Length: 2\r\n\r\n{}junk", False),  # more than the response: the framing is off
        (OK + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n", False),  # trailers
    ],
    ids=["length", "chunked", "connection-close", "http-1.0", "extra-bytes", "trailers"],
)
def test_a_connection_is_kept_only_after_an_exactly_framed_response(
    raw_server: Callable[..., RawServer], response: bytes, kept: bool
) -> None:
    opened: list[int] = []
    server = raw_server(serving(response, opened))
    client = HttpClient(timeout=5.0, keep_alive=True)
    url = f"http://127.0.0.1:{server.port}/mcp"
    try:
        bodies = [client.request("POST", url, body=b"{}").body for _ in range(3)]
        client.close()
        bodies.append(client.request("POST", url, body=b"{}").body)
    finally:
        client.close()
    assert bodies[:1] * 4 == bodies and bodies[0].startswith(b"{}")
    # Three requests on one connection when kept, plus the one after close(), on a new one.
    assert client.connections_opened == (2 if kept else 4)
    assert client.requests_sent == 4


def test_without_keep_alive_every_request_has_its_own_connection(
    raw_server: Callable[..., RawServer],
) -> None:
    opened: list[int] = []
    server = raw_server(serving(OK + b"Content-Length: 2\r\n\r\n{}", opened))
    client = HttpClient(timeout=5.0)
    for _ in range(3):
        assert client.request("GET", f"http://127.0.0.1:{server.port}/").status == 200
    assert client.connections_opened == 3


@pytest.mark.parametrize("second", [b"", b"\x00\xff not http at all\r\n\r\n"], ids=["dropped", "garbage"])
def test_a_kept_connection_that_gives_no_answer_is_retried_on_a_new_one(
    raw_server: Callable[..., RawServer], second: bytes
) -> None:
    # The server answers the first request of a connection and keeps it open, but meets a second request on
    # it with a close (or bytes that are no response): the kept connection looks alive until the client sends.
    received: list[bytes] = []

    def handler(conn: socket.socket) -> None:
        received.extend(_requests_on(conn))
        conn.sendall(OK + b"Content-Length: 2\r\n\r\n{}")
        received.extend(_requests_on(conn))
        conn.sendall(second)

    server = raw_server(handler)
    client = HttpClient(timeout=5.0, keep_alive=True)
    url = f"http://127.0.0.1:{server.port}/mcp"
    try:
        answers = [client.request("POST", url, body=b"{}").status for _ in range(2)]
    finally:
        client.close()
    assert answers == [200, 200]
    assert client.connections_opened == 2 and client.requests_sent == 2
    assert len(received) == 3  # the second request was sent on the kept connection, then on a new one
    assert all(b"Connection: close" not in r for r in received)


def test_garbage_on_a_new_connection_is_still_an_error(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(serving(b"\x00\xff not http at all\r\n\r\n", []))
    client = HttpClient(timeout=5.0, keep_alive=True)
    with pytest.raises(CheckError, match=r"not an HTTP/1\.x response"):
        client.request("GET", f"http://127.0.0.1:{server.port}/")
    assert client.connections_opened == 1
