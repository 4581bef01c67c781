"""The MCP endpoint rules added for the 2026-07-28 revision, era detection, tools and authorization metadata.

Each rule's `help` quotes the spec sentence it enforces and its `help_uri` is that sentence's anchor.
`CONFORMANCE` names the official conformance suite's scenario (modelcontextprotocol/conformance, run as
`conformance server --url URL --scenario NAME`) that checks the same thing, where there is one.
"""

from __future__ import annotations

from pipeline.endpoint.eras import SPEC_LEGACY, SPEC_MODERN
from pipeline.findings import Rule

HTTP = f"{SPEC_MODERN}/basic/transports/streamable-http"
CONFORMANCE_REPO = "https://github.com/modelcontextprotocol/conformance"


def _rule(rule_id: str, name: str, summary: str, quote: str, anchor: str) -> Rule:
    return Rule(rule_id, name, summary, f"Spec: “{quote}”", anchor)


NOT_ENDPOINT = _rule(
    "MH-MCP-NOT-ENDPOINT",
    "McpNotAnEndpoint",
    "The URL answers neither a 2026-07-28 `server/discover` nor a 2025-11-25 `initialize`: not an MCP endpoint.",
    "The server MUST provide a single HTTP endpoint path (hereafter referred to as the MCP endpoint) that "
    "supports POST.",
    HTTP,
)
DISCOVER = _rule(
    "MH-MCP-DISCOVER",
    "McpDiscover",
    "`server/discover` is missing or its result lacks supportedVersions and capabilities.",
    "server/discover lets a client query a server's supported protocol versions, capabilities, and identity "
    "before sending any other requests. Servers MUST implement it.",
    f"{SPEC_MODERN}/server/discover",
)
HEADER_MISMATCH = _rule(
    "MH-MCP-HEADER-MISMATCH",
    "McpHeaderMismatch",
    "A request whose Mcp-Method, Mcp-Name or MCP-Protocol-Version header disagrees with its body is not "
    "refused with 400 and -32020.",
    "Servers that process the request body MUST reject requests where the values specified in the headers do "
    "not match the corresponding values in the request body. … servers MUST return HTTP status 400 Bad "
    "Request and MUST include a JSON-RPC error response using the following error code: -32020 HeaderMismatch",
    f"{HTTP}#server-validation",
)
PROTOCOL_VERSION = Rule(
    "MH-MCP-PROTOCOL-VERSION",
    "McpProtocolVersion",
    "An unsupported MCP-Protocol-Version is not refused (2025-11-25: 400; 2026-07-28: 400 with -32022 "
    "listing the supported versions).",
    "Spec 2026-07-28: “If the server does not implement the requested protocol version … it MUST respond with "
    "400 Bad Request and an UnsupportedProtocolVersionError listing its supported versions.” 2025-11-25: “If "
    "the server receives a request with an invalid or unsupported MCP-Protocol-Version, it MUST respond with "
    "400 Bad Request.” (T7)",
    f"{HTTP}#protocol-version-header",
)
UNKNOWN_METHOD = _rule(
    "MH-MCP-UNKNOWN-METHOD",
    "McpUnknownMethod",
    "A method the server does not implement is not answered with 404 and -32601.",
    "If the server does not implement the requested RPC method, it MUST respond with 404 Not Found and a "
    "JSON-RPC error with code -32601 (Method not found).",
    f"{HTTP}#protocol-version-header",
)
META = _rule(
    "MH-MCP-META",
    "McpRequestMeta",
    "A request missing a required `_meta` field is not refused with 400 and -32602.",
    "A request missing any required field is malformed; the server MUST reject it with JSON-RPC error code "
    "-32602 (Invalid params). On HTTP, the response status MUST be 400 Bad Request.",
    f"{SPEC_MODERN}/basic/index#meta",
)
GET = Rule(
    "MH-MCP-GET",
    "McpGet",
    "GET (or DELETE) on the endpoint is not answered as the spec requires.",
    "Spec 2025-11-25: “The server MUST either return Content-Type: text/event-stream in response to this HTTP "
    "GET, or else return HTTP 405 Method Not Allowed” (T4). 2026-07-28, a server that supports only this "
    "revision: “HTTP GET or DELETE to the MCP endpoint: respond with 405 Method Not Allowed.” (SHOULD)",
    f"{HTTP}#earlier-streamable-http-revisions",
)
SESSIONLESS = _rule(
    "MH-MCP-SESSIONLESS",
    "McpSessionless",
    "A 2026-07-28 answer mints or echoes an Mcp-Session-Id.",
    "An Mcp-Session-Id header on a request: ignore it, and do not mint or echo session IDs.",
    f"{HTTP}#earlier-streamable-http-revisions",
)
NOTIFICATION = _rule(
    "MH-MCP-NOTIFICATION",
    "McpNotification",
    "An accepted notification is not answered with 202 and no body.",
    "If the body is a JSON-RPC notification: If the server accepts it, the server MUST return HTTP status "
    "code 202 Accepted with no body.",
    f"{HTTP}#sending-messages",
)
ERROR_CODE = _rule(
    "MH-MCP-ERROR-CODE",
    "McpReservedErrorCode",
    "The server emits an error code from the range the MCP specification reserves that it does not define.",
    "Implementations MUST NOT emit any code from this sub-range that is not defined by this specification "
    "and MUST use defined codes only with their specified meanings.",
    f"{SPEC_MODERN}/basic/index#error-codes",
)
TOOL_NAME = _rule(
    "MH-MCP-TOOL-NAME",
    "McpToolName",
    "A tool name is empty, longer than 128 characters, outside [A-Za-z0-9_.-], or not unique.",
    "Tool names SHOULD be between 1 and 128 characters in length (inclusive). … Tool names SHOULD be unique "
    "within a server.",
    f"{SPEC_MODERN}/server/tools#tool-names",
)
TOOL_ORDER = _rule(
    "MH-MCP-TOOL-ORDER",
    "McpToolOrder",
    "The tool list changes between two identical requests (order or content).",
    "Servers SHOULD return tools in a deterministic order (i.e., the same ordering across requests when the "
    "underlying set of tools has not changed).",
    f"{SPEC_MODERN}/server/tools#capabilities",
)
TOOL_HEADER = _rule(
    "MH-MCP-TOOL-HEADER",
    "McpToolHeaderAnnotation",
    "An `x-mcp-header` annotation is invalid (not a token, duplicated, or on a non-primitive parameter).",
    "Constraints on x-mcp-header values: MUST NOT be empty; MUST match HTTP field-name token syntax (1*tchar) "
    "…; MUST be case-insensitively unique among all x-mcp-header values in the inputSchema; MUST only be "
    "applied to parameters with primitive types (integer, string, boolean).",
    f"{SPEC_MODERN}/server/tools#x-mcp-header",
)
TOOL_REF = _rule(
    "MH-MCP-TOOL-REF",
    "McpToolNetworkRef",
    "A tool schema has a `$ref` to a network URI.",
    "Implementations MUST NOT automatically dereference $ref values that resolve to a network URI.",
    f"{SPEC_MODERN}/basic/index#ref-resolution",
)
AS_ISS = _rule(
    "MH-MCP-AS-ISS",
    "McpAuthorizationServerIss",
    "The authorization server does not advertise `authorization_response_iss_parameter_supported` (RFC 9207).",
    "MCP authorization servers SHOULD include the iss parameter in authorization responses … Authorization "
    "servers that include the iss parameter MUST advertise this by setting "
    "authorization_response_iss_parameter_supported to true in their metadata",
    f"{SPEC_MODERN}/basic/authorization#authorization-response-validation",
)
AS_CIMD = _rule(
    "MH-MCP-AS-CIMD",
    "McpClientIdMetadataDocuments",
    "The authorization server does not support Client ID Metadata Documents (only dynamic registration, "
    "which is deprecated, or nothing).",
    "Authorization servers and MCP clients SHOULD support OAuth Client ID Metadata Documents",
    f"{SPEC_MODERN}/basic/authorization/client-registration#client-id-metadata-documents",
)
OFFLINE_ACCESS = _rule(
    "MH-MCP-OFFLINE-ACCESS",
    "McpOfflineAccess",
    "The protected resource offers `offline_access` in scopes_supported or a challenge.",
    "MCP Servers (Protected Resources) SHOULD NOT include offline_access in WWW-Authenticate scope or "
    "Protected Resource Metadata scopes_supported, as refresh tokens are not a resource requirement.",
    f"{SPEC_MODERN}/basic/authorization#refresh-tokens",
)

# Where the conformance suite checks the same thing (`conformance server --scenario NAME`).
CONFORMANCE: dict[str, str] = {
    HEADER_MISMATCH.id: "http-header-validation",
    PROTOCOL_VERSION.id: "server-stateless",
    UNKNOWN_METHOD.id: "server-stateless",
    META.id: "server-stateless",
    DISCOVER.id: "server-stateless",
    TOOL_NAME.id: "tools-list",
}

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
LEGACY_SPEC = SPEC_LEGACY
