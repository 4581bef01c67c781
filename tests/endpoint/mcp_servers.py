"""Real MCP servers for the endpoint tests: the official SDK's Streamable HTTP app with its bearer auth, run
by uvicorn in a thread on 127.0.0.1 (HTTPS from a trustme CA, or plain HTTP), an authorization server metadata
endpoint, and raw-socket hostile servers. Loopback only."""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESOURCE_FOREIGN = "https://other.example/mcp"
TOKENS = {
    "alice": "alice-token-0123456789",
    "bob": "bob-token-0123456789",
    "foreign": "foreign-aud-token-01",
    "low": "low-scope-token-0123",
    "expired": "expired-token-012345",
}
FAULTS = ("host-0.0.0.0", "no-audience", "default-origins", "no-hsts", "no-scopes", "no-expiry")

# Mozilla intermediate TLS 1.2 suites (TLS 1.3 suites are not configurable here and all fine).
MOZILLA_INTERMEDIATE_TLS12 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)

for _name in ("mcp", "uvicorn", "httpx"):  # the SDK logs every refused probe: quiet in tests
    logging.getLogger(_name).setLevel(logging.CRITICAL)


@dataclass
class Pki:
    """A trustme CA and one server certificate for 127.0.0.1 and localhost, written to files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_pki(folder: Path) -> Pki:
    import trustme

    ca = trustme.CA()
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = ca.issue_cert(
        "127.0.0.1",
        "localhost",
        "mcp.test",
        not_before=now - datetime.timedelta(days=1),
        not_after=now + datetime.timedelta(days=89),  # Mozilla recommends 90 days
    )
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(pki.ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(pki.cert_file))
    cert.private_key_pem.write_to_path(str(pki.key_file))
    return pki


def _bind() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Served:
    """A uvicorn server running in a thread; `stop()` ends it."""

    port: int
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def _uvicorn_config(app: Any, pki: Pki | None) -> Any:
    import uvicorn

    kwargs: dict[str, Any] = {}
    if pki is not None:
        kwargs = {
            "ssl_certfile": str(pki.cert_file),
            "ssl_keyfile": str(pki.key_file),
            "ssl_ciphers": MOZILLA_INTERMEDIATE_TLS12,
        }
    return uvicorn.Config(app, log_level="critical", lifespan="on", access_log=False, **kwargs)


def serve_asgi(
    app: Any, sock: socket.socket, pki: Pki | None, *, options: dict[str, Any] | None = None
) -> Served:
    """Run an ASGI app with uvicorn on an already-bound socket, in a daemon thread; wait until it listens.
    `options`: uvicorn's TLS and server options as given (e.g. the template's own), instead of the test
    servers' defaults for `pki`."""
    import uvicorn

    if options is None:
        config = _uvicorn_config(app, pki)
    else:
        config = uvicorn.Config(app, log_level="critical", lifespan="on", access_log=False, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    limit = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > limit or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return Served(sock.getsockname()[1], server, thread)


AS_VARIANTS = ("no-iss", "dcr-only", "plain-endpoint", "offline-access")


def authorization_server_app(issuer: str, *, s256: bool = True, variant: str | None = None) -> Any:
    """RFC 8414 metadata for a test issuer (no real OAuth flows: the checker only reads the metadata)."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    meta = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"] if s256 else ["plain"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
        "scopes_supported": ["mcp"],
    }
    if variant == "no-iss":
        del meta["authorization_response_iss_parameter_supported"]
    elif variant == "dcr-only":
        del meta["client_id_metadata_document_supported"]
        meta["registration_endpoint"] = f"{issuer}/register"
    elif variant == "plain-endpoint":
        meta["token_endpoint"] = "http://127.0.0.1:9/token"
    elif variant not in (None, "offline-access"):
        raise ValueError(variant)

    async def metadata(_request: Any) -> JSONResponse:
        return JSONResponse(meta)

    return Starlette(routes=[Route("/.well-known/oauth-authorization-server", metadata)])


class _OfflineAccess:
    """ASGI middleware adding offline_access to the protected resource metadata's scopes_supported."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/.well-known/oauth-protected-resource"):
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []
        start: dict = {}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                parts.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        doc = json.loads(b"".join(parts))
        doc["scopes_supported"] = [*doc.get("scopes_supported", []), "offline_access"]
        body = json.dumps(doc).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Hsts:
    """ASGI middleware adding Strict-Transport-Security (two years), as a reverse proxy would."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
                ]
            await send(message)

        await self.app(scope, receive, send_with)


@dataclass
class McpDeployment:
    """An SDK server (and its authorization server) as deployed for one test."""

    url: str
    issuer: str
    ca_file: str | None
    fault: str | None
    servers: list[Served] = field(default_factory=list)
    unstarted: list[tuple[Any, socket.socket]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.servers[0].port

    def stop(self) -> None:
        for served in self.servers:
            served.stop()


def start_mcp(
    pki: Pki | None,
    fault: str | None = None,
    *,
    as_s256: bool = True,
    as_variant: str | None = None,
    name: str = "127.0.0.1",
    issuer: str | None = None,
    era: str = "both",
    modern_fault: str | None = None,
    auth: bool = True,
    wrap: Callable[[Any], Any] | None = None,
    start: bool = True,
) -> McpDeployment:
    """The official SDK server with bearer auth and audience-checking token verifier, configured right
    (explicit Host/Origin allowlist of its own https origin, audience validation on, HSTS) or with one fault.
    `start=False`: bind the sockets and build the apps, left in `unstarted` for `serve_many`."""
    from mcp.server.auth.provider import AccessToken
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from mcp.server.transport_security import TransportSecuritySettings

    if fault not in (None, *FAULTS):
        raise ValueError(fault)
    scheme = "https" if pki else "http"
    mcp_sock, as_sock = _bind(), _bind()
    port, as_port = mcp_sock.getsockname()[1], as_sock.getsockname()[1]
    url = f"{scheme}://{name}:{port}/mcp"
    issuer = issuer or f"{scheme}://127.0.0.1:{as_port}"
    # (key, user, scopes, resource, expires_at): who each test token is, and what it is good for.
    # A verifier that forgets `exp` (the no-expiry fault) hands the SDK no expiry, so nothing checks it.
    expired_at = None if fault == "no-expiry" else int(time.time()) - 3600
    grants = [
        ("alice", "alice", ["mcp"], url, None),
        ("bob", "bob", ["mcp"], url, None),
        ("low", "carol", [], url, None),
        ("expired", "alice", ["mcp"], url, expired_at),
        ("foreign", "alice", ["mcp"], RESOURCE_FOREIGN, None),
    ]
    tokens = {
        TOKENS[key]: AccessToken(
            token=TOKENS[key], client_id=user, scopes=scopes, resource=resource, subject=user, expires_at=when
        )
        for key, user, scopes, resource, when in grants
    }

    class Verifier:
        async def verify_token(self, token: str) -> AccessToken | None:
            return tokens.get(token)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = MCPServer(
            "endpoint-test",
            token_verifier=Verifier() if auth else None,
            auth=AuthSettings(
                issuer_url=issuer,
                resource_server_url=url,
                required_scopes=None if fault == "no-scopes" else ["mcp"],
                validate_token_resource=fault != "no-audience",
            )
            if auth
            else None,
        )

    @server.tool()
    def echo(text: str) -> str:
        """Echo the text."""
        return text

    security = None
    host = "127.0.0.1"
    if fault == "host-0.0.0.0":
        host = "0.0.0.0"
    elif fault != "default-origins":
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=[f"{name}:{port}", f"localhost:{port}"],
            allowed_origins=[f"{scheme}://{name}:{port}", f"{scheme}://localhost:{port}"],
        )
    app: Any = server.streamable_http_app(host=host, transport_security=security)
    if era != "both" or modern_fault is not None:
        app = EraFilter(app, era, modern_fault)
    if as_variant == "offline-access":
        app = _OfflineAccess(app)
    if fault != "no-hsts" and pki is not None:
        app = _Hsts(app)
    if wrap is not None:  # a fault the SDK cannot be configured into, as ASGI middleware around it
        app = wrap(app)
    deployment = McpDeployment(url, issuer, str(pki.ca_file) if pki else None, fault)
    as_app = authorization_server_app(issuer, s256=as_s256, variant=as_variant)
    if not start:
        deployment.unstarted = [(app, mcp_sock), (as_app, as_sock)]
        return deployment
    deployment.servers.append(serve_asgi(app, mcp_sock, pki))
    deployment.servers.append(serve_asgi(as_app, as_sock, pki))
    return deployment


@dataclass
class ManyServed:
    """Many uvicorn servers in one event loop on one thread (a fleet: no thread, and no GIL hand-off, per
    server); `stop()` ends them all."""

    servers: list[Any]
    thread: threading.Thread

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        self.thread.join(30)


def serve_many(apps: list[tuple[Any, socket.socket]], pki: Pki | None) -> ManyServed:
    """Run each (app, bound socket) with its own uvicorn server, all in one event loop; wait until they
    listen."""
    import asyncio

    import uvicorn

    class FleetServer(uvicorn.Server):
        async def main_loop(self) -> None:
            # uvicorn wakes every server ten times a second to refresh its Date header and look for the
            # exit flag; hundreds of idle servers then cost more CPU than the requests. Once a second is
            # enough for both (the Date header still changes every second).
            while not await self.on_tick(0):
                await asyncio.sleep(1.0)

    servers = [FleetServer(_uvicorn_config(app, pki)) for app, _ in apps]

    async def main() -> None:
        await asyncio.gather(*(s.serve(sockets=[sock]) for s, (_, sock) in zip(servers, apps, strict=True)))

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    limit = time.monotonic() + 60 + len(apps) / 10
    while not all(s.started for s in servers):
        if time.monotonic() > limit or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    return ManyServed(servers, thread)


# --- hostile servers --------------------------------------------------------------------------------------


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection is handled by `handler(conn)` in its own thread."""

    def __init__(self, handler: Callable[[socket.socket], None], sock: socket.socket | None = None) -> None:
        self.handler = handler
        self.sock = sock or _bind()
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self.handler(conn)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def silent(stop: threading.Event) -> Callable[[socket.socket], None]:
    """Accepts and never answers."""

    def handler(conn: socket.socket) -> None:
        stop.wait(60)

    return handler


def garbage(conn: socket.socket) -> None:
    """Answers with bytes that are not HTTP."""
    _read_request(conn)
    conn.sendall(b"\x00\xff garbage, not http \x13\x37" * 50)


def endless_body(stop: threading.Event) -> Callable[[socket.socket], None]:
    """A 200 whose body never ends (no length, streamed fast)."""

    def handler(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
        block = b"x" * 65536
        while not stop.is_set():
            conn.sendall(block)

    return handler


def endless_headers(stop: threading.Event) -> Callable[[socket.socket], None]:
    """Headers that never end."""

    def handler(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(b"HTTP/1.1 401 Unauthorized\r\n")
        while not stop.is_set():
            conn.sendall(b"X-Pad: " + b"a" * 1000 + b"\r\n")

    return handler


def slow_drip(stop: threading.Event) -> Callable[[socket.socket], None]:
    """One byte a second: each read succeeds, the whole never completes in time."""

    def handler(conn: socket.socket) -> None:
        _read_request(conn)
        for byte in b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 100000\r\n\r\n" + b"a" * 100000:
            if stop.wait(0.5):
                return
            conn.sendall(bytes([byte]))

    return handler


def redirect_loop(port_holder: list[int]) -> Callable[[socket.socket], None]:
    """Every request is redirected, between two paths, forever."""

    def handler(conn: socket.socket) -> None:
        request = _read_request(conn)
        path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b"/mcp"
        nxt = b"/mcp2" if path == b"/mcp" else b"/mcp"
        location = f"http://127.0.0.1:{port_holder[0]}".encode() + nxt
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n")

    return handler


def json_response(status: int, body: dict, extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}\r\n"
    )
    return head.encode() + data


def open_server(conn: socket.socket) -> None:
    """An MCP-ish server with no authentication, no Origin check and a counter for session IDs."""
    request = _read_request(conn)
    if request.startswith(b"GET"):
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        return
    counter = int(time.time() * 1000) % 1000000
    body = {"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25", "capabilities": {}}}
    conn.sendall(json_response(200, body, f"Mcp-Session-Id: session-{counter}\r\n"))


def sse_kept_open(stop: threading.Event) -> Callable[[socket.socket], None]:
    """No auth; POST answers as an event stream that stays open after the response (allowed: SHOULD close)."""

    def handler(conn: socket.socket) -> None:
        request = _read_request(conn)
        if not request.startswith(b"POST"):
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        message = {"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25", "capabilities": {}}}
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        event = b"event: message\r\ndata: " + json.dumps(message).encode() + b"\r\n\r\n"
        conn.sendall(head + f"{len(event):x}\r\n".encode() + event + b"\r\n")
        stop.wait(30)

    return handler


# --- era filters and 2026-07-28 faults: a thin ASGI wrapper around the SDK's app ------------------------

MODERN_FAULTS = (
    "no-header-check",  # headers rewritten to match the body before the SDK sees them: mismatches served
    "unsupported-no-list",  # -32022 without data.supported
    "unknown-method-200",  # -32601 answered with 200
    "meta-lenient",  # a _meta without clientCapabilities is completed and served
    "mints-session",  # modern answers carry an Mcp-Session-Id
    "notification-200",  # a notification gets 200 with a body
    "reserved-code",  # -32601 sent as -32050 (reserved, undefined)
    "bad-tools",  # tools/list gains bad names, a duplicate, bad x-mcp-header and a network $ref
    "tools-shuffle",  # every tools/list comes back in another order
    "modern-get-served",  # modern-only, but GET and DELETE are not refused with 405
)
BAD_TOOLS = [
    {"name": "bad name!", "inputSchema": {"type": "object"}},
    {"name": "echo", "inputSchema": {"type": "object"}},
    {
        "name": "headers",
        "inputSchema": {
            "type": "object",
            "properties": {
                "a": {"type": "string", "x-mcp-header": "Region"},
                "b": {"type": "string", "x-mcp-header": "region"},
                "c": {"type": "number", "x-mcp-header": "Num"},
                "d": {"type": "string", "x-mcp-header": "bad header"},
                "e": {"type": "array", "items": {"type": "string", "x-mcp-header": "Deep"}},
            },
        },
    },
    {"name": "remote", "inputSchema": {"type": "object", "$ref": "https://schemas.example/evil.json"}},
]


class EraFilter:
    """Wraps the SDK's dual-era app: `era` = "both", "modern" (2026-07-28 only) or "legacy" (2025-11-25 only),
    with at most one fault from `MODERN_FAULTS` that the SDK itself cannot be configured to make."""

    def __init__(self, app: Any, era: str = "both", fault: str | None = None) -> None:
        if era not in ("both", "modern", "legacy") or fault not in (None, *MODERN_FAULTS):
            raise ValueError((era, fault))
        self.app, self.era, self.fault = app, era, fault
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        version = headers.get("mcp-protocol-version")
        modern = version is not None and version not in ("2025-11-25", "2025-06-18", "2025-03-26")
        method = scope["method"]
        if self.era == "modern" and method in ("GET", "DELETE") and self.fault != "modern-get-served":
            await _send_plain(send, 405, b"")
            return
        if method != "POST":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if self.era == "legacy" and modern:
            error = {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": "Unsupported version"},
            }
            await _send_plain(send, 400, json.dumps(error).encode(), b"application/json")
            return
        if self.era == "modern" and not modern:
            code = -32022 if version else -32020
            error = {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": "modern only"}}
            await _send_plain(send, 400, json.dumps(error).encode(), b"application/json")
            return
        if modern and isinstance(parsed, dict):
            params = parsed.get("params") if isinstance(parsed.get("params"), dict) else {}
            meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else None
            if self.fault == "meta-lenient" and meta is not None:
                meta.setdefault("io.modelcontextprotocol/clientCapabilities", {})
                body = json.dumps(parsed).encode()
            if self.fault == "no-header-check":
                fixed = [(k, v) for k, v in scope["headers"] if k.lower() not in (b"mcp-method", b"mcp-name")]
                fixed.append((b"mcp-method", str(parsed.get("method")).encode()))
                if "name" in params:
                    fixed.append((b"mcp-name", str(params["name"]).encode()))
                scope = {**scope, "headers": fixed}
        sent = False

        async def replay() -> dict:
            nonlocal sent
            if sent:
                return await receive()  # blocks until the client goes away, as the SDK expects
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        rewrite = modern or (isinstance(parsed, dict) and parsed.get("method") == "tools/list")
        if not rewrite or self.fault is None:
            await self.app(scope, replay, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        status, out_headers, out = self._rewrite(
            start["status"], list(start.get("headers", [])), b"".join(chunks)
        )
        out_headers = [(k, v) for k, v in out_headers if k.lower() != b"content-length"]
        out_headers.append((b"content-length", str(len(out)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": out})

    def _rewrite(self, status: int, headers: list, body: bytes) -> tuple[int, list, bytes]:
        text = body.decode("utf-8", "replace")
        sse = text.startswith("event:") or text.startswith("data:")
        payload = text.split("data: ", 1)[1].split("\r\n", 1)[0].split("\n", 1)[0] if sse else text
        try:
            message = json.loads(payload) if payload else None
        except ValueError:
            message = None
        error = message.get("error") if isinstance(message, dict) else None
        result = message.get("result") if isinstance(message, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if self.fault == "unsupported-no-list" and code == -32022:
            error.pop("data", None)
        elif self.fault == "unknown-method-200" and code == -32601:
            status = 200
        elif self.fault == "reserved-code" and code == -32601:
            error["code"] = -32050
        elif self.fault == "mints-session":
            headers.append((b"mcp-session-id", b"minted-" + str(id(self)).encode()))
        elif self.fault == "notification-200" and status == 202:
            return 200, [*headers, (b"content-type", b"application/json")], b"{}"
        elif isinstance(result, dict) and isinstance(result.get("tools"), list):
            if self.fault == "bad-tools":
                result["tools"] = [*result["tools"], *BAD_TOOLS]
            elif self.fault == "tools-shuffle":
                self.calls += 1
                tools = [*result["tools"], {"name": "second", "inputSchema": {"type": "object"}}]
                result["tools"] = tools if self.calls % 2 else tools[::-1]
        if message is None:
            return status, headers, body
        data = json.dumps(message)
        return status, headers, (f"event: message\r\ndata: {data}\r\n\r\n" if sse else data).encode()


async def _send_plain(send: Any, status: int, body: bytes, ctype: bytes = b"text/plain") -> None:
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
