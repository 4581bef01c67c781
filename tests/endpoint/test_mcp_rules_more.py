"""The MCP rules no other test saw fire, each against the official SDK server (Streamable HTTP, bearer auth,
uvicorn, trustme TLS on 127.0.0.1) with one fault the SDK cannot be configured into, put in as a thin ASGI
middleware around it; and the SDK server as it is, which must not get them.

- MH-MCP-TOKEN-QUERY: "Access tokens MUST NOT be included in the URI query string" (2025-11-25
  basic/authorization, Token Requirements): a server that takes `?access_token=` as a bearer token.
- MH-MCP-SESSION-AUTH: "MCP Servers MUST NOT use sessions for authentication" (security best practices,
  Session Hijacking): a server that lets a session ID stand in for the token that opened it.
- MH-MCP-SESSION-LIFECYCLE: "The server MAY terminate the session at any time, after which it MUST respond to
  requests containing that session ID with HTTP 404 Not Found" (basic/transports, Session Management):
  a server that answers unknown and ended sessions with 400.
- MH-MCP-PRM: "MCP servers MUST implement one of the following discovery mechanisms" (the 401's
  `resource_metadata`, or a well-known URI; basic/authorization, Protected Resource Metadata Discovery
  Requirements) and RFC 9728 §3.3 (the document's `resource` is the resource's identifier): metadata served
  nowhere, a challenge pointing where nothing is served, metadata naming another resource. And the check
  must follow the 401's pointer even when it was given a token (it once read the authenticated 200,
  which has no challenge, and called metadata served only at the pointed URL missing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest

from pipeline.endpoint import Credentials, EndpointOptions, check_endpoint
from pipeline.findings import Finding, StageResult
from tests.endpoint.mcp_servers import TOKENS, McpDeployment

CREDS = Credentials(token=TOKENS["alice"], second_token=TOKENS["bob"])
WELL_KNOWN = "/.well-known/oauth-protected-resource"
THESE = {"MH-MCP-TOKEN-QUERY", "MH-MCP-SESSION-AUTH", "MH-MCP-SESSION-LIFECYCLE", "MH-MCP-PRM"}

Scope = dict[str, Any]
Asgi = Callable[..., Any]


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope["headers"] if k.lower() == name), None)


def _with_header(scope: Scope, name: bytes, value: bytes) -> Scope:
    return {**scope, "headers": [*[(k, v) for k, v in scope["headers"] if k.lower() != name], (name, value)]}


async def _json_response(
    send: Any, status: int, body: bytes, content_type: bytes = b"application/json"
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class QueryToken:
    """Takes `?access_token=` as the bearer token when there is no Authorization header."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _header(scope, b"authorization") is None:
            token = parse_qs(scope.get("query_string", b"").decode()).get("access_token")
            if token:
                scope = _with_header(scope, b"authorization", f"Bearer {token[0]}".encode())
        await self.app(scope, receive, send)


class SessionAsCredential:
    """A request with a session ID and no token is served as the user who opened the session."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.owners: dict[bytes, bytes] = {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session, auth = _header(scope, b"mcp-session-id"), _header(scope, b"authorization")
        if session is not None and auth is None and session in self.owners:
            scope = _with_header(scope, b"authorization", self.owners[session])

        async def remember(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and auth is not None:
                issued = next(
                    (v for k, v in message.get("headers", []) if k.lower() == b"mcp-session-id"), None
                )
                if issued is not None:
                    self.owners[issued] = auth
            await send(message)

        await self.app(scope, receive, remember)


class SessionNotFoundIs400:
    """Unknown and terminated session IDs get 400 where the SDK answers 404."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _header(scope, b"mcp-session-id") is None:
            await self.app(scope, receive, send)
            return

        async def relabel(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 404:
                message = {**message, "status": 400}
            await send(message)

        await self.app(scope, receive, relabel)


def _challenge_pointing_at(path: str) -> Callable[[Asgi], Asgi]:
    """Rewrites `resource_metadata` in every WWW-Authenticate challenge to `path` on the request's origin."""

    def wrap(app: Asgi) -> Asgi:
        async def rewritten(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            origin = f"{scope['scheme']}://{(_header(scope, b'host') or b'').decode()}"

            async def point(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    headers = []
                    for key, value in message.get("headers", []):
                        if key.lower() == b"www-authenticate":
                            value = re.sub(
                                rb'resource_metadata="[^"]*"',
                                f'resource_metadata="{origin}{path}"'.encode(),
                                value,
                            )
                        headers.append((key, value))
                    message = {**message, "headers": headers}
                await send(message)

            await app(scope, receive, point)

        return rewritten

    return wrap


def _metadata_only_at(path: str) -> Callable[[Asgi], Asgi]:
    """The SDK's protected resource metadata served at `path` only (no well-known URI), and the 401s
    pointing there: discovery by the WWW-Authenticate header alone, which the spec allows."""

    def wrap(app: Asgi) -> Asgi:
        async def moved(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].startswith(WELL_KNOWN):
                await _json_response(send, 404, b"{}")
                return
            if scope["type"] == "http" and scope["path"] == path:
                inner = f"{WELL_KNOWN}/mcp"
                scope = {**scope, "path": inner, "raw_path": inner.encode()}
            await app(scope, receive, send)

        return _challenge_pointing_at(path)(moved)

    return wrap


def _no_metadata(app: Asgi) -> Asgi:
    async def hidden(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(WELL_KNOWN):
            await _json_response(send, 404, b"{}")
            return
        await app(scope, receive, send)

    return hidden


def _metadata_for_another_resource(app: Asgi) -> Asgi:
    async def foreign(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(WELL_KNOWN):
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                parts.append(message.get("body", b""))

        await app(scope, receive, capture)
        doc = json.loads(b"".join(parts))
        doc["resource"] = "https://other.example/mcp"
        await _json_response(send, start["status"], json.dumps(doc).encode())

    return foreign


def _run(deployment: McpDeployment, creds: Credentials = CREDS) -> StageResult:
    stage = check_endpoint(
        deployment.url, EndpointOptions(ca_file=deployment.ca_file, creds=creds, timeout=5.0)
    )
    assert stage.error is None, stage.error
    return stage


def _of(stage: StageResult, rule: str) -> list[Finding]:
    return [f for f in stage.findings if f.rule_id == rule]


def test_the_sdk_server_as_it_is_gets_none_of_them(mcp_server: Callable[..., McpDeployment]) -> None:
    stage = _run(mcp_server())
    assert stage.summary["sessions"] == "stateful"
    assert stage.summary["protected_resource_metadata"].endswith(f"{WELL_KNOWN}/mcp")
    assert [f"{f.rule_id}: {f.title}" for f in stage.findings if f.rule_id in THESE] == []


@pytest.mark.parametrize(
    ("wrap", "rule", "title"),
    [
        (QueryToken, "MH-MCP-TOKEN-QUERY", "A token in the query string is accepted"),
        (SessionAsCredential, "MH-MCP-SESSION-AUTH", "A session ID is accepted without a token"),
        (SessionNotFoundIs400, "MH-MCP-SESSION-LIFECYCLE", "An unknown session ID gets 400, not 404"),
        (
            SessionNotFoundIs400,
            "MH-MCP-SESSION-LIFECYCLE",
            "A session ended by DELETE still gets 400, not 404",
        ),
        (_no_metadata, "MH-MCP-PRM", "No protected resource metadata found"),
        (
            _challenge_pointing_at("/nowhere"),
            "MH-MCP-PRM",
            "The resource_metadata URL in the 401 does not serve the metadata",
        ),
        (_metadata_for_another_resource, "MH-MCP-PRM", "The metadata's resource is not this endpoint"),
    ],
    ids=[
        "query-token",
        "session-auth",
        "unknown-session",
        "ended-session",
        "no-prm",
        "bad-pointer",
        "resource",
    ],
)
def test_each_fault_is_reported(
    mcp_server: Callable[..., McpDeployment], wrap: Callable[[Asgi], Asgi], rule: str, title: str
) -> None:
    deployment = mcp_server(wrap=wrap)
    stage = _run(deployment)
    hits = [f for f in _of(stage, rule) if f.title.startswith(title)]  # an era may follow
    assert hits, [f"{f.rule_id}: {f.title}" for f in stage.findings]
    finding = hits[0]
    assert "sent:" in finding.evidence and "wants:" in finding.evidence, finding.evidence
    assert finding.location.url == deployment.url
    assert TOKENS["alice"] not in finding.evidence + finding.title  # the token is scrubbed
    others = {f.rule_id for f in stage.findings if f.rule_id in THESE} - {rule}
    assert others == set(), [f"{f.rule_id}: {f.title}" for f in stage.findings]  # one fault, one rule


@pytest.mark.parametrize("creds", [CREDS, Credentials()], ids=["with-token", "without-token"])
def test_metadata_found_through_the_challenge_alone_is_not_missing(
    mcp_server: Callable[..., McpDeployment], creds: Credentials
) -> None:
    deployment = mcp_server(wrap=_metadata_only_at("/meta/protected-resource"))
    stage = _run(deployment, creds)
    assert _of(stage, "MH-MCP-PRM") == [], [f.title for f in _of(stage, "MH-MCP-PRM")]
    assert stage.summary["protected_resource_metadata"] == deployment.url.replace(
        "/mcp", "/meta/protected-resource"
    )
