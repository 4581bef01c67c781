"""The MCP endpoint rules added for the 2026-07-28 revision, era detection, tools and authorization metadata.

Each rule's `help` quotes the spec sentence it enforces and its `help_uri` is that sentence's anchor.
`CONFORMANCE` names the official conformance suite's scenario (modelcontextprotocol/conformance, run as
`conformance server --url URL --scenario NAME`) that checks the same thing, where there is one.
"""

from __future__ import annotations

from pipeline.endpoint.eras import SPEC_LEGACY, SPEC_MODERN
from pipeline.findings import Severity
from pipeline.rules import Rule, declare

HTTP = f"{SPEC_MODERN}/basic/transports/streamable-http"
CONFORMANCE_REPO = "https://github.com/modelcontextprotocol/conformance"


def _rule(
    rule_id: str, name: str, summary: str, quote: str, anchor: str, severity: Severity, fix: str
) -> Rule:
    """Declare one rule: its standard is the spec sentence it enforces, quoted, with the sentence's anchor."""
    return declare(
        rule_id,
        name=name,
        summary=summary,
        severity=severity,
        stage="check-endpoint",
        standard=f"“{quote}” ({anchor})",
        fix=fix,
        references=(anchor,),
    )


NOT_ENDPOINT = _rule(
    "MH-MCP-NOT-ENDPOINT",
    "mcp-not-an-endpoint",
    "The URL answers neither a 2026-07-28 `server/discover` nor a 2025-11-25 `initialize`: not an MCP endpoint "
    "(its TLS and HSTS are still judged).",
    "The server MUST provide a single HTTP endpoint path (hereafter referred to as the MCP endpoint) that "
    "supports POST.",
    HTTP,
    Severity.MEDIUM,
    "Point check-endpoint at the MCP endpoint itself (often …/mcp), or use --no-mcp for a plain web server.",
)
DISCOVER = _rule(
    "MH-MCP-DISCOVER",
    "mcp-discover",
    "`server/discover` is missing or its result lacks supportedVersions and capabilities.",
    "server/discover lets a client query a server's supported protocol versions, capabilities, and identity "
    "before sending any other requests. Servers MUST implement it.",
    f"{SPEC_MODERN}/server/discover",
    Severity.MEDIUM,
    "Implement server/discover with supportedVersions and capabilities (the mcp SDK does by default).",
)
HEADER_MISMATCH = _rule(
    "MH-MCP-HEADER-MISMATCH",
    "mcp-header-mismatch",
    "A request whose Mcp-Method, Mcp-Name or MCP-Protocol-Version header disagrees with its body is not "
    "refused with 400 and -32020.",
    "Servers that process the request body MUST reject requests where the values specified in the headers do "
    "not match the corresponding values in the request body. … servers MUST return HTTP status 400 Bad "
    "Request and MUST include a JSON-RPC error response using the following error code: -32020 HeaderMismatch",
    f"{HTTP}#server-validation",
    Severity.HIGH,
    "Compare the request metadata headers with the body before acting on either; refuse a mismatch with 400 "
    "and -32020.",
)
PROTOCOL_VERSION = declare(
    "MH-MCP-PROTOCOL-VERSION",
    name="mcp-protocol-version",
    summary="An unsupported MCP-Protocol-Version is not refused (2025-11-25: 400; 2026-07-28: 400 with -32022 "
    "listing the supported versions).",
    severity=Severity.LOW,
    stage="check-endpoint",
    standard="2026-07-28: “If the server does not implement the requested protocol version … it MUST respond "
    "with 400 Bad Request and an UnsupportedProtocolVersionError listing its supported versions.” "
    f"({HTTP}#protocol-version-header); 2025-11-25: “If the server receives a request with an invalid or "
    "unsupported MCP-Protocol-Version, it MUST respond with 400 Bad Request.” "
    f"({SPEC_LEGACY}/basic/transports#protocol-version-header)",
    fix="Refuse versions you do not implement with 400 (and, in 2026-07-28, -32022 with data.supported).",
    references=(f"{HTTP}#protocol-version-header", f"{SPEC_LEGACY}/basic/transports#protocol-version-header"),
)
UNKNOWN_METHOD = _rule(
    "MH-MCP-UNKNOWN-METHOD",
    "mcp-unknown-method",
    "A method the server does not implement is not answered with 404 and -32601.",
    "If the server does not implement the requested RPC method, it MUST respond with 404 Not Found and a "
    "JSON-RPC error with code -32601 (Method not found).",
    f"{HTTP}#protocol-version-header",
    Severity.LOW,
    "Answer unknown methods with 404 and -32601.",
)
META = _rule(
    "MH-MCP-META",
    "mcp-request-meta",
    "A request missing a required `_meta` field is not refused with 400 and -32602.",
    "A request missing any required field is malformed; the server MUST reject it with JSON-RPC error code "
    "-32602 (Invalid params). On HTTP, the response status MUST be 400 Bad Request.",
    f"{SPEC_MODERN}/basic/index#meta",
    Severity.MEDIUM,
    "Refuse requests whose _meta lacks protocolVersion or clientCapabilities with 400 and -32602.",
)
GET = declare(
    "MH-MCP-GET",
    name="mcp-get",
    summary="GET (or DELETE) on the endpoint is not answered as the spec requires.",
    severity=Severity.LOW,
    stage="check-endpoint",
    standard="2025-11-25: “The server MUST either return Content-Type: text/event-stream in response to this "
    "HTTP GET, or else return HTTP 405 Method Not Allowed” "
    f"({SPEC_LEGACY}/basic/transports#listening-for-messages-from-the-server); 2026-07-28, for a server that "
    "supports only this revision: “HTTP GET or DELETE to the MCP endpoint: respond with 405 Method Not "
    f"Allowed.” (SHOULD; {HTTP}#earlier-streamable-http-revisions)",
    fix="Serve an SSE stream on GET or answer 405 (2025-11-25); answer GET and DELETE with 405 (2026-07-28 only).",
    references=(
        f"{SPEC_LEGACY}/basic/transports#listening-for-messages-from-the-server",
        f"{HTTP}#earlier-streamable-http-revisions",
    ),
)
SESSIONLESS = _rule(
    "MH-MCP-SESSIONLESS",
    "mcp-sessionless",
    "A 2026-07-28 answer mints or echoes an Mcp-Session-Id.",
    "An Mcp-Session-Id header on a request: ignore it, and do not mint or echo session IDs.",
    f"{HTTP}#earlier-streamable-http-revisions",
    Severity.LOW,
    "Ignore Mcp-Session-Id on 2026-07-28 requests and never send one.",
)
NOTIFICATION = _rule(
    "MH-MCP-NOTIFICATION",
    "mcp-notification",
    "An accepted notification is not answered with 202 and no body.",
    "If the body is a JSON-RPC notification: If the server accepts it, the server MUST return HTTP status "
    "code 202 Accepted with no body.",
    f"{HTTP}#sending-messages",
    Severity.LOW,
    "Answer accepted notifications with 202 and an empty body, refused ones with an HTTP error status.",
)
ERROR_CODE = _rule(
    "MH-MCP-ERROR-CODE",
    "mcp-reserved-error-code",
    "The server emits an error code from the range the MCP specification reserves that it does not define.",
    "Implementations MUST NOT emit any code from this sub-range that is not defined by this specification "
    "and MUST use defined codes only with their specified meanings.",
    f"{SPEC_MODERN}/basic/index#error-codes",
    Severity.LOW,
    "Use the defined codes only; allocate your own outside -32768…-32000.",
)
TOOL_NAME = _rule(
    "MH-MCP-TOOL-NAME",
    "mcp-tool-name",
    "A tool name is empty, longer than 128 characters, outside [A-Za-z0-9_.-], or not unique.",
    "Tool names SHOULD be between 1 and 128 characters in length (inclusive). … Tool names SHOULD be unique "
    "within a server.",
    f"{SPEC_MODERN}/server/tools#tool-names",
    Severity.LOW,
    "Name tools with 1-128 letters, digits, '_', '-' and '.'; one name per tool.",
)
TOOL_ORDER = _rule(
    "MH-MCP-TOOL-ORDER",
    "mcp-tool-order",
    "The tool list changes between two identical requests on two connections (order or content).",
    "Servers SHOULD return tools in a deterministic order (i.e., the same ordering across requests when the "
    "underlying set of tools has not changed).",
    f"{SPEC_MODERN}/server/tools#capabilities",
    Severity.LOW,
    "Return tools in a fixed order (for example sorted by name), the same on every connection.",
)
TOOL_HEADER = _rule(
    "MH-MCP-TOOL-HEADER",
    "mcp-tool-header-annotation",
    "An `x-mcp-header` annotation is invalid (not a token, duplicated, on a non-primitive or unreachable "
    "parameter).",
    "Constraints on x-mcp-header values: MUST NOT be empty; MUST match HTTP field-name token syntax (1*tchar) "
    "…; MUST be case-insensitively unique among all x-mcp-header values in the inputSchema; MUST only be "
    "applied to parameters with primitive types (integer, string, boolean).",
    f"{SPEC_MODERN}/server/tools#x-mcp-header",
    Severity.MEDIUM,
    "Fix the annotation: 2026-07-28 clients MUST drop a tool whose x-mcp-header is invalid.",
)
TOOL_REF = _rule(
    "MH-MCP-TOOL-REF",
    "mcp-tool-network-ref",
    "A tool schema has a `$ref` to a network URI.",
    "Implementations MUST NOT automatically dereference $ref values that resolve to a network URI.",
    f"{SPEC_MODERN}/basic/index#ref-resolution",
    Severity.MEDIUM,
    "Inline the referenced schema under $defs and point at it with #/$defs/….",
)
AS_ISS = _rule(
    "MH-MCP-AS-ISS",
    "mcp-authorization-server-iss",
    "The authorization server does not advertise `authorization_response_iss_parameter_supported` (RFC 9207).",
    "MCP authorization servers SHOULD include the iss parameter in authorization responses … Authorization "
    "servers that include the iss parameter MUST advertise this by setting "
    "authorization_response_iss_parameter_supported to true in their metadata",
    f"{SPEC_MODERN}/basic/authorization#authorization-response-validation",
    Severity.LOW,
    "Send iss in authorization responses and set authorization_response_iss_parameter_supported to true.",
)
AS_CIMD = _rule(
    "MH-MCP-AS-CIMD",
    "mcp-client-id-metadata-documents",
    "The authorization server does not support Client ID Metadata Documents (only dynamic registration, "
    "which is deprecated, or nothing).",
    "Authorization servers and MCP clients SHOULD support OAuth Client ID Metadata Documents",
    f"{SPEC_MODERN}/basic/authorization/client-registration#client-id-metadata-documents",
    Severity.LOW,
    "Support Client ID Metadata Documents and set client_id_metadata_document_supported to true.",
)
OFFLINE_ACCESS = _rule(
    "MH-MCP-OFFLINE-ACCESS",
    "mcp-offline-access",
    "The protected resource offers `offline_access` in scopes_supported or a challenge.",
    "MCP Servers (Protected Resources) SHOULD NOT include offline_access in WWW-Authenticate scope or "
    "Protected Resource Metadata scopes_supported, as refresh tokens are not a resource requirement.",
    f"{SPEC_MODERN}/basic/authorization#refresh-tokens",
    Severity.LOW,
    "Drop offline_access from scopes_supported and from the WWW-Authenticate scope.",
)

# Where the conformance suite checks the same thing (`conformance server --url URL --scenario NAME`), and the
# suite's source file of that scenario.
SCENARIO_FILES = {
    "http-header-validation": "http-standard-headers.ts",
    "server-stateless": "stateless.ts",
    "dns-rebinding-protection": "dns-rebinding.ts",
    "tools-list": "tools.ts",
}
CONFORMANCE: dict[str, str] = {
    HEADER_MISMATCH.id: "http-header-validation",
    PROTOCOL_VERSION.id: "server-stateless",
    UNKNOWN_METHOD.id: "server-stateless",
    META.id: "server-stateless",
    DISCOVER.id: "server-stateless",
    TOOL_NAME.id: "tools-list",
}


def scenario_url(scenario: str) -> str:
    return f"{CONFORMANCE_REPO}/blob/main/src/scenarios/server/{SCENARIO_FILES[scenario]}"


RULES = [
    NOT_ENDPOINT,
    DISCOVER,
    HEADER_MISMATCH,
    UNKNOWN_METHOD,
    META,
    SESSIONLESS,
    NOTIFICATION,
    ERROR_CODE,
    TOOL_NAME,
    TOOL_ORDER,
    TOOL_HEADER,
    TOOL_REF,
    AS_ISS,
    AS_CIMD,
    OFFLINE_ACCESS,
]
SHARED = [PROTOCOL_VERSION, GET]  # also checked by the 2025-11-25 probes in mcp_http
