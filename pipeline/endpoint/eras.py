"""The two eras of MCP over Streamable HTTP, and telling which one a server speaks.

Legacy (2025-03-26 … 2025-11-25): an `initialize` handshake, then sessions (`Mcp-Session-Id`), GET streams.
Modern (2026-07-28): no handshake and no sessions; every request carries its protocol version and client
capabilities in `params._meta`, mirrored in the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers,
and `server/discover` lists what the server supports. This module builds each era's messages and judges the
two probe answers (pure functions over what came back); `mcp_http` sends them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
ERAS = (MODERN, LEGACY)
SPEC_LEGACY = f"https://modelcontextprotocol.io/specification/{LEGACY}"
SPEC_MODERN = f"https://modelcontextprotocol.io/specification/{MODERN}"

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
CLIENT_INFO = {"name": "mcp-harden", "version": "check-endpoint"}

# JSON-RPC error codes (basic/index "Error Codes", 2026-07-28).
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
HEADER_MISMATCH = -32020
MISSING_CLIENT_CAPABILITY = -32021
UNSUPPORTED_VERSION = -32022
DEFINED_RESERVED = frozenset({HEADER_MISMATCH, MISSING_CLIENT_CAPABILITY, UNSUPPORTED_VERSION})
RETIRED = frozenset({-32002, -32042})  # earlier revisions' codes: "MUST NOT emit these codes"
MODERN_ERRORS = frozenset({*DEFINED_RESERVED, METHOD_NOT_FOUND, INVALID_PARAMS})

# Methods whose `Mcp-Name` header mirrors a body parameter (transports/streamable-http "Standard Request Headers").
NAME_PARAM = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


def modern_meta(version: str = MODERN) -> dict[str, Any]:
    return {META_VERSION: version, META_CLIENT_INFO: dict(CLIENT_INFO), META_CAPABILITIES: {}}


def modern_request(
    method: str,
    params: dict[str, Any] | None = None,
    request_id: int | str = 1,
    *,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A 2026-07-28 request: `params._meta` carries the protocol version and client capabilities."""
    body: dict[str, Any] = dict(params or {})
    body["_meta"] = modern_meta() if meta is None else meta
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": body}


def modern_headers(message: dict[str, Any], version: str | None = MODERN) -> dict[str, str]:
    """The request metadata headers a conforming client sends with `message`."""
    headers: dict[str, str] = {}
    if version is not None:
        headers["MCP-Protocol-Version"] = version
    method = message.get("method")
    if isinstance(method, str):
        headers["Mcp-Method"] = method
    key = NAME_PARAM.get(str(method))
    params = message.get("params")
    if key and isinstance(params, dict) and isinstance(params.get(key), str):
        headers["Mcp-Name"] = params[key]
    return headers


def initialize(request_id: int = 1) -> dict[str, Any]:
    """The 2025-11-25 handshake's first request."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": dict(CLIENT_INFO)},
    }


def legacy_call(method: str, request_id: int = 2) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {}}


# --- reading answers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What one POST came back with, reduced to what the judges read."""

    status: int
    content_type: str
    body: bytes
    session_id: str | None = None
    message: dict[str, Any] | None = None  # the JSON-RPC response in a JSON or SSE body

    @property
    def error_code(self) -> int | None:
        error = (self.message or {}).get("error")
        code = error.get("code") if isinstance(error, dict) else None
        return code if isinstance(code, int) and not isinstance(code, bool) else None

    @property
    def result(self) -> dict[str, Any] | None:
        result = (self.message or {}).get("result")
        return result if isinstance(result, dict) else None

    @property
    def served(self) -> bool:
        """Answered as a success: a 2xx with no JSON-RPC error (a request that should have been refused)."""
        return 200 <= self.status < 300 and self.error_code is None

    @property
    def error_data(self) -> Any:
        error = (self.message or {}).get("error")
        return error.get("data") if isinstance(error, dict) else None

    def brief(self) -> str:
        text = f"{self.status}"
        if self.error_code is not None:
            text += f" with JSON-RPC error {self.error_code}"
        elif self.result is not None:
            text += " with a JSON-RPC result"
        elif self.body:
            text += f" with a {self.content_type or 'untyped'} body"
        else:
            text += " with no body"
        if self.session_id:
            text += f"; Mcp-Session-Id: {self.session_id[:60]}"
        return text


def jsonrpc_message(content_type: str, body: bytes) -> dict[str, Any] | None:
    """The JSON-RPC response (with an id or an error) in a JSON or SSE body, or None."""
    if content_type.lower().startswith("text/event-stream"):
        for event in re.split(r"\r?\n\r?\n", body.decode("utf-8", "replace")):
            data = "\n".join(line[5:].lstrip() for line in event.splitlines() if line.startswith("data:"))
            try:
                message = json.loads(data) if data else None
            except (ValueError, RecursionError):
                continue
            if isinstance(message, dict) and ("result" in message or "error" in message):
                return message
        return None
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and ("result" in message or "error" in message)
    ):
        return message
    return None


# --- which era ----------------------------------------------------------------------------------------


@dataclass
class EraVerdict:
    """Which eras one server speaks, from a `server/discover` and an `initialize` answer."""

    modern: bool = False
    legacy: bool = False
    discover: bool = False  # server/discover answered with a result
    supported: list[str] = field(default_factory=list)  # as the server listed them
    legacy_version: str | None = None  # what initialize negotiated
    evidence: list[str] = field(default_factory=list)

    @property
    def spoken(self) -> list[str]:
        return [era for era, yes in ((MODERN, self.modern), (LEGACY, self.legacy)) if yes]

    def describe(self) -> str:
        if not self.spoken:
            return "neither"
        return " and ".join(self.spoken)


def judge_eras(discover: Answer, init: Answer) -> EraVerdict:
    """Pure: a modern server answers `server/discover` with a result or with a modern error (the spec's
    Backward Compatibility: "If the body contains a recognized modern JSON-RPC error, the server speaks a
    modern version"); a legacy server answers `initialize` with a result naming a protocolVersion."""
    verdict = EraVerdict()
    result = discover.result
    if 200 <= discover.status < 300 and result is not None:
        versions = result.get("supportedVersions")
        verdict.discover = True
        if isinstance(versions, list):
            verdict.supported = [v for v in versions if isinstance(v, str)][:20]
        verdict.modern = MODERN in verdict.supported or not verdict.supported
    elif discover.error_code in MODERN_ERRORS and discover.status in (400, 404):
        verdict.modern = discover.error_code != METHOD_NOT_FOUND or discover.status == 404
        data = discover.error_data
        if discover.error_code == UNSUPPORTED_VERSION and isinstance(data, dict):
            supported = data.get("supported")
            if isinstance(supported, list):
                verdict.supported = [v for v in supported if isinstance(v, str)][:20]
            verdict.modern = MODERN in verdict.supported
    verdict.evidence.append(f"POST server/discover ({MODERN}) → {discover.brief()}")
    init_result = init.result
    if 200 <= init.status < 300 and init_result is not None:
        version = init_result.get("protocolVersion")
        if isinstance(version, str) and re.fullmatch(r"[\w.\-]{1,40}", version):
            verdict.legacy = True
            verdict.legacy_version = version
    verdict.evidence.append(f"POST initialize ({LEGACY}) → {init.brief()}")
    return verdict
