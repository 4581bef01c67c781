"""Black-box checks of an MCP Streamable HTTP endpoint against the transport and authorization specs.

Each probe is one request; each finding's evidence says what was sent, what came back and what the spec wants.
Rows of the table in docs/mcp-endpoint.md: T1 Origin, T2 Host, T3 authentication on every request, T4 GET,
T5-T8 sessions, A1-A8 protected resource and authorization server metadata. A check that needs a token the
user did not give is a note ("not run: needs --token"), never a pass.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pipeline.endpoint.http import HttpClient, Response, Target, parse_url, tcp_accepts
from pipeline.errors import CheckError
from pipeline.findings import Finding, Location, Severity
from pipeline.rules import Rule, declare

SPEC = "https://modelcontextprotocol.io/specification/2025-11-25"
PROTOCOL_VERSION = "2025-11-25"
FOREIGN_ORIGIN = "https://evil.example"
FOREIGN_HOST = "evil.example"
MIN_SESSION_BITS = 118  # 122 random bits (UUID4) less slack for chance overlap between two samples
WEAK_SESSION_BITS = 64

RULES: list[Rule] = [
    declare(
        "MH-MCP-AUTH-MISSING",
        name="mcp-auth-missing",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="The MCP endpoint answers requests that carry no token.",
        fix="Verify a bearer token on every request (RFC 6750) and answer 401 with WWW-Authenticate otherwise.",
        standard=f"{SPEC}/basic/authorization",
    ),
    declare(
        "MH-MCP-WWW-AUTH",
        name="mcp-www-authenticate",
        stage="check-endpoint",
        severity=Severity.LOW,
        summary="A 401 lacks `WWW-Authenticate: Bearer` with `resource_metadata` (and `scope`).",
        standard=f"{SPEC}/basic/authorization",
        fix="RFC 9728 §5.1; MCP authorization (A2).",
    ),
    declare(
        "MH-MCP-TOKEN-INVALID",
        name="mcp-invalid-token",
        stage="check-endpoint",
        severity=Severity.CRITICAL,
        summary="An invalid bearer token is not answered with 401.",
        standard=f"{SPEC}/basic/authorization",
        fix="Invalid or expired tokens MUST get 401 (A3, RFC 6750 §3.1).",
    ),
    declare(
        "MH-MCP-TOKEN-QUERY",
        name="mcp-token-in-query",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="An access token in the query string is accepted.",
        standard=f"{SPEC}/basic/authorization",
        fix="Access tokens MUST NOT be accepted in the URI query string (A6).",
    ),
    declare(
        "MH-MCP-AUDIENCE",
        name="mcp-audience",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="A token issued for another resource (audience) is accepted.",
        standard=f"{SPEC}/basic/authorization",
        fix="Servers MUST validate that tokens were issued for them (A4): otherwise token passthrough and "
        "confused-deputy attacks.",
    ),
    declare(
        "MH-MCP-SCOPE",
        name="mcp-scope",
        stage="check-endpoint",
        severity=Severity.LOW,
        summary="A token without the required scopes is not refused with 403 insufficient_scope.",
        standard=f"{SPEC}/basic/authorization",
        fix="Insufficient scope SHOULD get 403 with error=insufficient_scope, scope and resource_metadata (A5).",
    ),
    declare(
        "MH-MCP-ORIGIN",
        name="mcp-origin",
        stage="check-endpoint",
        severity=Severity.LOW,
        summary="The endpoint does not validate the Origin header as required.",
        standard=f"{SPEC}/basic/transports",
        fix="Servers MUST validate Origin and answer 403 to an invalid one (T1): DNS rebinding protection.",
    ),
    declare(
        "MH-MCP-HOST",
        name="mcp-host",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="A request with a foreign Host header is served.",
        standard=f"{SPEC}/basic/transports",
        fix="A foreign Host should get 421 or 403 (T2): DNS rebinding protection.",
    ),
    declare(
        "MH-MCP-BIND",
        name="mcp-bind",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="A server reached on loopback also listens on the machine's network address.",
        standard=f"{SPEC}/basic/transports",
        fix="Local servers SHOULD bind only to localhost (T2).",
    ),
    declare(
        "MH-MCP-SESSION-ID",
        name="mcp-session-id",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="Session IDs are guessable or malformed.",
        standard=f"{SPEC}/basic/security_best_practices",
        fix="Session IDs SHOULD be cryptographically secure, MUST be visible ASCII, MUST be non-deterministic (T5).",
    ),
    declare(
        "MH-MCP-SESSION-AUTH",
        name="mcp-session-auth",
        stage="check-endpoint",
        severity=Severity.CRITICAL,
        summary="A session ID is accepted without a token.",
        standard=f"{SPEC}/basic/security_best_practices",
        fix="Servers MUST NOT use sessions for authentication (T8).",
    ),
    declare(
        "MH-MCP-SESSION-BIND",
        name="mcp-session-binding",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="Another user's token can use a session.",
        standard=f"{SPEC}/basic/security_best_practices",
        fix="Servers SHOULD bind session IDs to the user (T8).",
    ),
    declare(
        "MH-MCP-SESSION-LIFECYCLE",
        name="mcp-session-lifecycle",
        stage="check-endpoint",
        severity=Severity.CRITICAL,
        summary="Missing, unknown or terminated session IDs are not answered 400/404.",
        standard=f"{SPEC}/basic/transports",
        fix="Requests without a required session ID SHOULD get 400; unknown or terminated sessions MUST get 404 (T6).",
    ),
    declare(
        "MH-MCP-PROTOCOL-VERSION",
        name="mcp-protocol-version",
        stage="check-endpoint",
        severity=Severity.LOW,
        summary="An unsupported MCP-Protocol-Version is not refused.",
        standard=f"{SPEC}/basic/transports",
        fix="An invalid or unsupported MCP-Protocol-Version MUST get 400 (T7).",
    ),
    declare(
        "MH-MCP-GET",
        name="mcp-get",
        stage="check-endpoint",
        severity=Severity.LOW,
        summary="GET on the endpoint is not answered as the spec requires.",
        standard=f"{SPEC}/basic/transports",
        fix="GET MUST return text/event-stream or 405 (T4).",
    ),
    declare(
        "MH-MCP-PRM",
        name="mcp-protected-resource-metadata",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="Protected resource metadata is missing or wrong.",
        standard="https://www.rfc-editor.org/rfc/rfc9728",
        fix="Servers MUST publish RFC 9728 metadata naming this resource and at least one authorization server (A1).",
    ),
    declare(
        "MH-MCP-AS-HTTPS",
        name="mcp-authorization-server-https",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="An authorization server endpoint is not HTTPS.",
        standard=f"{SPEC}/basic/authorization",
        fix="All authorization server endpoints MUST be served over HTTPS (A7).",
    ),
    declare(
        "MH-MCP-AS-METADATA",
        name="mcp-authorization-server-metadata",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="Authorization server metadata is missing or does not advertise PKCE S256.",
        standard="https://www.rfc-editor.org/rfc/rfc8414",
        fix="RFC 8414 or OIDC discovery metadata with code_challenge_methods_supported containing S256 (A8).",
    ),
]
_RULES_BY_ID = {rule.id: rule for rule in RULES}


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback IP literal."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Credentials:
    token: str | None = None  # valid for this resource
    foreign_token: str | None = None  # valid, but issued for another resource (audience)
    second_token: str | None = None  # valid for this resource, another user
    low_scope_token: str | None = None  # valid for this resource, without the scopes the endpoint needs
    expired_token: str | None = None  # once valid for this resource, now past its expiry


@dataclass
class Probe:
    """One request as evidence: what was sent and what came back."""

    sent: str
    resp: Response

    @property
    def status(self) -> int:
        return self.resp.status

    @property
    def ok(self) -> bool:
        return 200 <= self.resp.status < 300

    def evidence(self, wanted: str) -> str:
        return f"sent: {self.sent}; got: {self.resp.describe()}; spec wants: {wanted}"


@dataclass
class McpCheck:
    """Runs the probes against one endpoint; findings and notes accumulate so a late failure keeps them."""

    client: HttpClient
    url: str
    creds: Credentials = field(default_factory=Credentials)
    allowed_hosts: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    first_response: Response | None = None
    _sessions: list[str] = field(default_factory=list)
    _version: str = PROTOCOL_VERSION
    # HTTPS authorization servers whose metadata was read: the orchestrator checks their TLS too (A7).
    auth_servers: list[Target] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.target: Target = parse_url(self.url)
        self.location = Location(url=self.url)

    # --- helpers ----------------------------------------------------------------------------------

    def _add(self, rule: str, severity: Severity, title: str, evidence: str, fix: str) -> None:
        self.findings.append(
            _RULES_BY_ID[rule].finding(
                self.scrub(title),
                severity=severity,
                location=self.location,
                evidence=self.scrub(evidence),
                fix=fix,
            )
        )

    def scrub(self, text: str) -> str:
        """Never let a token reach the report (a server may echo it, e.g. in a Location)."""
        creds = self.creds
        secrets_given = (
            creds.token,
            creds.foreign_token,
            creds.second_token,
            creds.low_scope_token,
            creds.expired_token,
        )
        for secret in secrets_given:
            if secret:
                text = text.replace(secret, "<token>")
        return text

    def _auth(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _post(
        self,
        label: str,
        message: dict[str, Any],
        *,
        token: str | None = None,
        session: str | None = None,
        version: str | None = None,
        origin: str | None = None,
        host: str | None = None,
        url: str | None = None,
        follow: int = 0,
    ) -> Probe:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        headers.update(self._auth(token))
        sent = [f"POST {message.get('method')}"]
        if token:
            sent.append(f"{label}")
        if session:
            headers["Mcp-Session-Id"] = session
            sent.append("with a session ID")
        if version:
            headers["MCP-Protocol-Version"] = version
            if version != self._version:
                sent.append(f"MCP-Protocol-Version: {version}")
        if origin:
            headers["Origin"] = origin
            sent.append(f"Origin: {origin}")
        if host:
            sent.append(f"Host: {host}")
        if not token:
            sent.append(label)
        body = json.dumps(message).encode()
        resp = self.client.request(
            "POST",
            url or self.url,
            headers=headers,
            body=body,
            host_header=host,
            follow_redirects=follow,
            until=_sse_answered,
        )
        self._remember_session(resp)
        return Probe(", ".join(s for s in sent if s), resp)

    def _request(self, method: str, label: str, headers: dict[str, str], *, stream: bool = False) -> Probe:
        resp = self.client.request(method, self.url, headers=headers, stream=stream)
        return Probe(f"{method} {label}", resp)

    def _remember_session(self, resp: Response) -> None:
        sid = resp.header("mcp-session-id")
        if sid and 200 <= resp.status < 300 and sid not in self._sessions:
            self._sessions.append(sid)

    def _initialize(self, request_id: int = 1) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "mcp-harden", "version": "check-endpoint"},
            },
        }

    @staticmethod
    def _call(method: str, request_id: int = 2) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {}}

    def fetchable(self, url: str) -> bool:
        """Only the endpoint's host and hosts the user allowed are contacted; loopback only when the endpoint
        itself is reached on loopback (a remote server's metadata must not make us probe our own machine)."""
        try:
            host = parse_url(url).host
        except ValueError:
            return False
        if host == self.target.host or host in self.allowed_hosts:
            return True
        local = is_loopback_host(
            self.client.resolve.get((self.target.host, self.target.port), self.target.host)
        )
        return local and is_loopback_host(host)

    # --- the run ----------------------------------------------------------------------------------

    def run(self) -> None:
        first = self._reachability()
        self.first_response = first.resp
        self._check_binding()
        auth_required = first.status in (401, 403)
        self.summary["authentication"] = "required" if auth_required else "none"
        token = self.creds.token
        if auth_required:
            self._check_unauthenticated(first)
            self._check_invalid_token()
        else:
            self._add(
                "MH-MCP-AUTH-MISSING",
                Severity.HIGH,
                "The endpoint serves initialize without any token",
                first.evidence("401 with WWW-Authenticate: Bearer resource_metadata=… (T3)"),
                "Put the endpoint behind OAuth 2.1 bearer authentication (MCP authorization), or keep it "
                "on loopback/stdio only.",
            )
            token = None
        usable = not auth_required or token is not None
        if auth_required and token is not None:
            probe = self._post("valid --token", self._initialize(), token=token)
            if not probe.ok:
                raise CheckError(
                    f"the --token given was refused ({probe.resp.describe()[:200]}): check it is valid and "
                    "unexpired for this endpoint",
                    where=self.url,
                )
            self._version = _negotiated_version(probe.resp) or PROTOCOL_VERSION
            self._check_query_token(token)
        elif auth_required:
            self.notes.append(
                "not run: needs --token (token in query string, Origin and Host with a valid token, "
                "sessions, protocol version, GET)"
            )
        self._check_audience(auth_required)
        self._check_expired(auth_required)
        self._check_scope(auth_required)
        self._check_origin(auth_required, token, usable)
        self._check_host(auth_required, token, usable)
        if usable:
            self._check_sessions(auth_required, token)
        self._check_metadata(first, auth_required)
        self._cleanup(token)

    def _reachability(self) -> Probe:
        probe = self._post("no token", self._initialize())
        resp = probe.resp
        if 300 <= resp.status < 400:
            location = resp.header("location") or "(no Location)"
            # Follow (bounded) only to tell a loop from a move; the endpoint itself is not checked elsewhere.
            self._post("no token", self._initialize(), follow=5)
            raise CheckError(
                f"the endpoint redirects ({resp.status}) to {location[:200]}: check that URL instead",
                where=self.url,
            )
        if resp.status in (401, 403):
            return probe
        if 200 <= resp.status < 300:
            if _jsonrpc(resp) is None:
                raise CheckError(
                    f"not an MCP endpoint: initialize got {resp.status} without a JSON-RPC answer "
                    f"({resp.text(80)!r})",
                    where=self.url,
                )
            return probe
        raise CheckError(
            f"not a working MCP endpoint: POST initialize got {resp.status} {resp.reason} ({resp.text(80)!r})",
            where=self.url,
        )

    def _check_binding(self) -> None:
        """T2: a server reached on loopback should listen on loopback only. A server bound to 127.0.0.1
        refuses 127.0.0.2; one bound to every interface (0.0.0.0, ::) accepts it. The probe never leaves
        loopback, so it is safe anywhere, and it catches the usual fault: the wildcard bind."""
        connect = self.client.resolve.get((self.target.host, self.target.port), self.target.host)
        if not is_loopback_host(connect):
            return
        other = "127.0.0.3" if connect == "127.0.0.2" else "127.0.0.2"
        timeout = min(1.0, self.client.connect_timeout)
        wide = tcp_accepts(other, self.target.port, timeout)
        self.summary["listens"] = "every interface" if wide else "loopback only"
        if wide:
            self._add(
                "MH-MCP-BIND",
                Severity.MEDIUM,
                f"The local server listens on every interface, not only on {connect}",
                f"sent: TCP connect to {other}:{self.target.port} (a loopback address a server bound to "
                f"{connect} refuses); got: accepted, so it is bound to all interfaces and reachable from the "
                "network; spec wants: local servers SHOULD bind only to localhost (T2)",
                "Bind a local server to 127.0.0.1 (or ::1) only; in a container, publish the port on "
                "127.0.0.1 (docker run -p 127.0.0.1:PORT:PORT).",
            )

    def _check_unauthenticated(self, first: Probe) -> None:
        wanted = '401 with WWW-Authenticate: Bearer resource_metadata="…", scope="…"'
        if first.status == 403:
            self._add(
                "MH-MCP-WWW-AUTH",
                Severity.LOW,
                "A request without a token gets 403, not 401",
                first.evidence(wanted),
                "Answer a missing token with 401 (RFC 6750 §3.1).",
            )
        challenge = first.resp.header("www-authenticate") or ""
        params = _bearer_params(challenge)
        if params is None:
            self._add(
                "MH-MCP-WWW-AUTH",
                Severity.MEDIUM,
                "The 401 carries no WWW-Authenticate: Bearer challenge",
                first.evidence(wanted),
                'Send WWW-Authenticate: Bearer resource_metadata="<protected resource metadata URL>".',
            )
        else:
            if "resource_metadata" not in params:
                self._add(
                    "MH-MCP-WWW-AUTH",
                    Severity.MEDIUM,
                    "The 401 challenge does not point at the protected resource metadata",
                    first.evidence(wanted),
                    'Add resource_metadata="…/.well-known/oauth-protected-resource…" to the challenge '
                    "(MUST in 2025-06-18).",
                )
            if "scope" not in params:
                self._add(
                    "MH-MCP-WWW-AUTH",
                    Severity.LOW,
                    "The 401 challenge carries no scope",
                    first.evidence(wanted),
                    'Add scope="…" to the challenge (SHOULD, 2025-11-25).',
                )
        # T3: every method, not just initialize.
        for label, probe in (
            ("tools/list", lambda: self._post("no token", self._call("tools/list"), version=self._version)),
            ("GET", lambda: self._request("GET", "no token", {"Accept": "text/event-stream"}, stream=True)),
            ("DELETE", lambda: self._request("DELETE", "no token", {})),
        ):
            result = probe()
            if result.ok:
                self._add(
                    "MH-MCP-AUTH-MISSING",
                    Severity.HIGH,
                    f"{label} is served without a token",
                    result.evidence("401 (T3: every inbound request is verified)"),
                    "Authenticate every request on the endpoint, whatever its method.",
                )

    def _check_invalid_token(self) -> None:
        garbage = "mcp-harden-invalid-" + secrets.token_hex(12)
        probe = self._post("a garbage bearer token", self._initialize(), token=garbage)
        wanted = '401 with error="invalid_token" (A3)'
        if probe.ok:
            self._add(
                "MH-MCP-TOKEN-INVALID",
                Severity.CRITICAL,
                "A garbage bearer token is accepted",
                probe.evidence(wanted),
                "Verify every token (signature, issuer, expiry, audience).",
            )
        elif probe.status != 401:
            self._add(
                "MH-MCP-TOKEN-INVALID",
                Severity.LOW,
                f"An invalid token gets {probe.status}, not 401",
                probe.evidence(wanted),
                'Answer invalid tokens with 401 and error="invalid_token".',
            )
        elif "invalid_token" not in (probe.resp.header("www-authenticate") or ""):
            self._add(
                "MH-MCP-TOKEN-INVALID",
                Severity.LOW,
                'The 401 for an invalid token lacks error="invalid_token"',
                probe.evidence(wanted),
                'Add error="invalid_token" to the WWW-Authenticate challenge.',
            )

    def _check_query_token(self, token: str) -> None:
        parts = urlsplit(self.url)
        query = (parts.query + "&" if parts.query else "") + "access_token=" + token
        url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
        try:
            probe = self._post("", self._initialize(), url=url)
        except CheckError as exc:  # its `where` would carry the token
            raise CheckError(self.scrub(exc.message), where=self.url) from None
        probe.sent = "POST initialize, valid --token as ?access_token= (no Authorization header)"
        if probe.ok:
            self._add(
                "MH-MCP-TOKEN-QUERY",
                Severity.HIGH,
                "A token in the query string is accepted",
                probe.evidence("401 (A6: tokens MUST NOT be accepted in the query string)"),
                "Accept bearer tokens only in the Authorization header.",
            )

    def _check_audience(self, auth_required: bool) -> None:
        if not auth_required:
            return
        if not self.creds.foreign_token:
            self.notes.append(
                "not run: needs --foreign-token (a token issued for another resource: audience check)"
            )
            return
        probe = self._post(
            "--foreign-token (issued for another resource)",
            self._initialize(),
            token=self.creds.foreign_token,
        )
        if probe.ok:
            self._add(
                "MH-MCP-AUDIENCE",
                Severity.HIGH,
                "A token issued for another resource is accepted",
                probe.evidence("401 (A4: tokens MUST have been issued for this server)"),
                "Check the token's audience/resource against this server's canonical URL "
                "(mcp SDK: AuthSettings(validate_token_resource=True)).",
            )
        elif probe.status != 401:
            self.notes.append(
                f"--foreign-token got {probe.status}, not 401: refused, but not as the spec says"
            )

    def _check_expired(self, auth_required: bool) -> None:
        if not auth_required:
            return
        if not self.creds.expired_token:
            self.notes.append("not run: needs --expired-token (a token for this server past its expiry)")
            return
        probe = self._post(
            "--expired-token (past its expiry)", self._initialize(), token=self.creds.expired_token
        )
        wanted = '401 with error="invalid_token" (A3: expired tokens MUST get 401)'
        if probe.ok:
            self._add(
                "MH-MCP-TOKEN-INVALID",
                Severity.CRITICAL,
                "An expired token is accepted",
                probe.evidence(wanted),
                "Check the token's expiry (`exp`) on every request; the mcp SDK does when the verifier "
                "returns AccessToken(expires_at=…).",
            )
        elif probe.status != 401:
            self.notes.append(
                f"--expired-token got {probe.status}, not 401: refused, but not as the spec says"
            )

    def _check_scope(self, auth_required: bool) -> None:
        if not auth_required:
            return
        if not self.creds.low_scope_token:
            self.notes.append("not run: needs --low-scope-token (a valid token without the required scopes)")
            return
        probe = self._post(
            "--low-scope-token (valid, without the required scopes)",
            self._initialize(),
            token=self.creds.low_scope_token,
        )
        wanted = '403 with WWW-Authenticate: Bearer error="insufficient_scope", scope="…", resource_metadata="…" (A5)'
        params = _bearer_params(probe.resp.header("www-authenticate") or "") or {}
        if probe.ok:
            self._add(
                "MH-MCP-SCOPE",
                Severity.HIGH,
                "A token without the required scopes is accepted",
                probe.evidence(wanted),
                "Check the token's scopes on every request (mcp SDK: AuthSettings(required_scopes=[…])).",
            )
        elif probe.status != 403 or params.get("error") != "insufficient_scope":
            self._add(
                "MH-MCP-SCOPE",
                Severity.LOW,
                f"A token without the required scopes gets {probe.status} without insufficient_scope",
                probe.evidence(wanted),
                'Answer 403 with error="insufficient_scope" and the scope needed (SHOULD).',
            )
        elif "scope" not in params or "resource_metadata" not in params:
            missing = " and ".join(k for k in ("scope", "resource_metadata") if k not in params)
            self._add(
                "MH-MCP-SCOPE",
                Severity.LOW,
                f"The insufficient_scope challenge carries no {missing}",
                probe.evidence(wanted),
                "Name the scope needed and the resource metadata in the 403 challenge (SHOULD).",
            )

    def _check_origin(self, auth_required: bool, token: str | None, usable: bool) -> None:
        wanted = "403 (T1: an invalid Origin MUST get 403)"
        fix = "Validate Origin against an allowlist of this server's own origins and answer others with 403."
        if auth_required:
            probe = self._post("no token", self._initialize(), origin=FOREIGN_ORIGIN)
            if probe.status == 401:
                self._add(
                    "MH-MCP-ORIGIN",
                    Severity.LOW,
                    "With no token, a foreign Origin gets 401, not 403 (authentication runs first)",
                    probe.evidence(wanted),
                    "Check Origin before authentication.",
                )
        if not usable:
            return
        label = "valid --token" if token else "no token"
        other_local = f"http://localhost:{_other_port(self.target.port)}"
        for origin, what in (
            (FOREIGN_ORIGIN, "a foreign Origin"),
            (other_local, "another local web app's Origin"),
        ):
            probe = self._post(label, self._initialize(), token=token, origin=origin)
            if probe.ok:
                self._add(
                    "MH-MCP-ORIGIN",
                    Severity.HIGH,
                    f"{what[0].upper()}{what[1:]} ({origin}) is accepted",
                    probe.evidence(wanted),
                    fix,
                )
        own = self.target.origin
        probe = self._post(label, self._initialize(), token=token, origin=own)
        if not probe.ok:
            self._add(
                "MH-MCP-ORIGIN",
                Severity.MEDIUM,
                f"The server's own Origin ({own}) is refused",
                probe.evidence("200: the endpoint's own origin is valid"),
                "Allow the server's own https origin; an allowlist of http:// loopback origins under TLS "
                "both refuses the right origin and admits other local web apps.",
            )

    def _check_host(self, auth_required: bool, token: str | None, usable: bool) -> None:
        if not usable:
            probe = self._post("no token", self._initialize(), host=FOREIGN_HOST)
            if probe.status in (421, 403, 400):
                return
            self.notes.append("not run: needs --token (foreign Host header with a valid token)")
            return
        probe = self._post(
            "valid --token" if token else "no token", self._initialize(), token=token, host=FOREIGN_HOST
        )
        if probe.ok:
            local = self.target.scheme == "http" or is_loopback_host(self.target.host)
            self._add(
                "MH-MCP-HOST",
                Severity.HIGH if local else Severity.MEDIUM,
                f"A request with Host: {FOREIGN_HOST} is served",
                probe.evidence("421 or 403 (T2: DNS rebinding protection)"),
                "Validate the Host header against the names the server is deployed under "
                "(mcp SDK: TransportSecuritySettings(allowed_hosts=[…]); binding 0.0.0.0 turns it off).",
            )

    def _check_sessions(self, auth_required: bool, token: str | None) -> None:
        label = "valid --token" if token else "no token"
        first = self._post(label, self._initialize(10), token=token)
        second = self._post(label, self._initialize(11), token=token)
        ids = [p.resp.header("mcp-session-id") for p in (first, second)]
        if not first.ok:
            self.notes.append(f"session checks not run: initialize got {first.resp.describe()[:120]}")
            return
        if not ids[0] or not ids[1]:
            self.summary["sessions"] = "none (stateless)"
            self.notes.append("the server issues no Mcp-Session-Id (stateless): session checks do not apply")
            self._check_version(token, None)
            self._check_get(token, None)
            return
        s1, s2 = ids[0], ids[1]
        self.summary["sessions"] = "stateful"
        self._check_session_ids(s1, s2, first, second)
        self._post(
            label,
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            token=token,
            session=s1,
            version=self._version,
        )
        baseline = self._post(label, self._call("tools/list"), token=token, session=s1, version=self._version)
        if not baseline.ok:
            self.notes.append(
                f"session checks not run: tools/list in a fresh session got {baseline.resp.describe()[:120]}"
            )
            return
        lifecycle = "MH-MCP-SESSION-LIFECYCLE"
        if auth_required:
            probe = self._post("no token", self._call("tools/list"), session=s1, version=self._version)
            if probe.ok:
                self._add(
                    "MH-MCP-SESSION-AUTH",
                    Severity.CRITICAL,
                    "A session ID is accepted without a token",
                    probe.evidence("401 (T8: sessions MUST NOT be used for authentication)"),
                    "Authenticate every request; a session ID is not a credential.",
                )
            if self.creds.second_token:
                probe = self._post(
                    "--second-token (another user)",
                    self._call("tools/list"),
                    token=self.creds.second_token,
                    session=s1,
                    version=self._version,
                )
                if probe.ok:
                    self._add(
                        "MH-MCP-SESSION-BIND",
                        Severity.HIGH,
                        "Another user's token can use this user's session",
                        probe.evidence("404 or 403 (T8: bind session IDs to the user)"),
                        "Record who created each session and refuse it to anyone else.",
                    )
            else:
                self.notes.append("not run: needs --second-token (another user's token: session binding)")
        probe = self._post(label, self._call("tools/list"), token=token, version=self._version)
        if probe.ok or probe.status >= 500:
            self._add(
                lifecycle,
                Severity.LOW,
                f"A request without the session ID gets {probe.status}, not 400",
                probe.evidence("400 (T6: SHOULD)"),
                "Refuse requests without the session ID with 400.",
            )
        unknown = secrets.token_hex(16)
        probe = self._post(
            label, self._call("tools/list"), token=token, session=unknown, version=self._version
        )
        if probe.status != 404:
            self._add(
                lifecycle,
                Severity.MEDIUM if probe.ok else Severity.LOW,
                f"An unknown session ID gets {probe.status}, not 404",
                probe.evidence("404 (T6: MUST)"),
                "Answer unknown or expired session IDs with 404.",
            )
        self._check_version(token, s1)
        self._check_get(token, s1)
        headers = {**self._auth(token), "Mcp-Session-Id": s2, "MCP-Protocol-Version": self._version}
        deleted = self._request("DELETE", f"{label}, with a session ID", headers)
        if deleted.status == 405:
            self.notes.append(
                "the server does not let clients end sessions (DELETE → 405): reuse check not run"
            )
        elif deleted.ok:
            self._sessions = [s for s in self._sessions if s != s2]
            probe = self._post(
                label, self._call("tools/list"), token=token, session=s2, version=self._version
            )
            probe.sent += " (ended by DELETE)"
            if probe.status != 404:
                self._add(
                    lifecycle,
                    Severity.MEDIUM if probe.ok else Severity.LOW,
                    f"A session ended by DELETE still gets {probe.status}, not 404",
                    probe.evidence("404 (T6: a terminated session MUST get 404)"),
                    "Forget sessions on DELETE and answer their IDs with 404.",
                )
        else:
            self.notes.append(f"DELETE of a session got {deleted.status}: reuse-after-DELETE check not run")

    def _check_session_ids(self, s1: str, s2: str, first: Probe, second: Probe) -> None:
        rule = "MH-MCP-SESSION-ID"
        evidence = (
            f"sent: two POST initialize; got session IDs {s1[:80]!r} and {s2[:80]!r}; spec wants: "
            "visible ASCII, ≥ 122 bits of randomness, no pattern (T5)"
        )
        if not all(0x21 <= ord(c) <= 0x7E for c in s1 + s2):
            self._add(
                rule,
                Severity.MEDIUM,
                "A session ID has characters outside visible ASCII",
                evidence,
                "Use visible ASCII (0x21-0x7E) only, e.g. a UUID4 or base64url of 16+ random bytes.",
            )
        if s1 == s2:
            self._add(
                rule,
                Severity.HIGH,
                "Two initializations got the same session ID",
                evidence,
                "Make a new random session ID for each session.",
            )
            return
        bits = session_id_bits(s1, s2)
        self.summary["session_id_bits"] = bits
        if bits < WEAK_SESSION_BITS:
            self._add(
                rule,
                Severity.HIGH,
                f"Session IDs carry at most ~{bits} bits of randomness (guessable)",
                evidence,
                "Make session IDs from a CSPRNG: 16+ random bytes (secrets.token_urlsafe(16)).",
            )
        elif bits < MIN_SESSION_BITS:
            self._add(
                rule,
                Severity.LOW,
                f"Session IDs carry at most ~{bits} bits of randomness (< 122)",
                evidence,
                "Make session IDs from a CSPRNG with at least 122 random bits.",
            )

    def _check_version(self, token: str | None, session: str | None) -> None:
        label = "valid --token" if token else "no token"
        probe = self._post(
            label, self._call("tools/list", 3), token=token, session=session, version="1999-01-01"
        )
        if probe.status != 400:
            self._add(
                "MH-MCP-PROTOCOL-VERSION",
                Severity.LOW,
                f"MCP-Protocol-Version: 1999-01-01 gets {probe.status}, not 400",
                probe.evidence("400 (T7: an unsupported version MUST get 400)"),
                "Refuse unsupported MCP-Protocol-Version values with 400.",
            )

    def _check_get(self, token: str | None, session: str | None) -> None:
        label = "valid --token" if token else "no token"
        base = {**self._auth(token), "MCP-Protocol-Version": self._version}
        if session:
            base["Mcp-Session-Id"] = session
        probe = self._request(
            "GET", f"{label}, Accept: text/event-stream", {**base, "Accept": "text/event-stream"}, stream=True
        )
        ctype = (probe.resp.header("content-type") or "").lower()
        self.summary["get"] = f"{probe.status} {ctype}".strip()
        if probe.ok and not ctype.startswith("text/event-stream"):
            self._add(
                "MH-MCP-GET",
                Severity.LOW,
                f"GET answers {probe.status} with {ctype or 'no content type'}",
                probe.evidence("200 text/event-stream, or 405 (T4)"),
                "Serve an SSE stream on GET, or answer 405.",
            )
        probe = self._request(
            "GET", f"{label}, Accept: application/json", {**base, "Accept": "application/json"}
        )
        if probe.ok:
            self._add(
                "MH-MCP-GET",
                Severity.LOW,
                "GET without Accept: text/event-stream is served",
                probe.evidence("405, or 406 Not Acceptable (the client MUST accept text/event-stream)"),
                "Answer GET without text/event-stream in Accept with 405 or 406.",
            )

    # --- metadata (A1, A7, A8) ----------------------------------------------------------------------

    def _check_metadata(self, first: Probe, auth_required: bool) -> None:
        if not auth_required:
            return
        params = _bearer_params(first.resp.header("www-authenticate") or "") or {}
        candidates: list[str] = []
        pointed = params.get("resource_metadata")
        if pointed:
            if self.fetchable(pointed):
                candidates.append(pointed)
            else:
                self.notes.append(
                    f"not fetched: resource_metadata {pointed[:120]} is on a host not given "
                    "(add it with --allow-host)"
                )
        path = self.target.path.split("?", 1)[0].rstrip("/")
        origin = self.target.origin
        for form in (
            f"{origin}/.well-known/oauth-protected-resource{path}",
            f"{origin}/.well-known/oauth-protected-resource",
        ):
            if form not in candidates:
                candidates.append(form)
        doc, where, tried = None, "", []
        for url in candidates:
            resp = self.client.request("GET", url, headers={"Accept": "application/json"})
            tried.append(f"GET {url} → {resp.status}")
            doc = _json_object(resp) if resp.status == 200 else None
            if doc is not None:
                where = url
                break
        rule = "MH-MCP-PRM"
        wanted = "200 JSON with resource = this endpoint and authorization_servers (A1, RFC 9728)"
        if doc is None:
            self._add(
                rule,
                Severity.MEDIUM,
                "No protected resource metadata found",
                f"sent: {'; '.join(tried)}; spec wants: {wanted}",
                "Serve RFC 9728 metadata at /.well-known/oauth-protected-resource{path}.",
            )
            return
        self.summary["protected_resource_metadata"] = where
        if pointed and where != pointed and pointed in candidates:
            self._add(
                rule,
                Severity.MEDIUM,
                "The resource_metadata URL in the 401 does not serve the metadata",
                f"sent: {'; '.join(tried)}; spec wants: {wanted}",
                "Point resource_metadata at the URL that serves the metadata.",
            )
        resource = doc.get("resource")
        if not isinstance(resource, str) or _canonical(resource) != _canonical(self.url):
            self._add(
                rule,
                Severity.MEDIUM,
                "The metadata's resource is not this endpoint",
                f"sent: GET {where}; got: resource={resource!r}; spec wants: resource = {self.url}",
                "Set resource to the endpoint's canonical URL (RFC 9728 §3.3: clients MUST check it).",
            )
        servers = doc.get("authorization_servers")
        if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
            self._add(
                rule,
                Severity.MEDIUM,
                "The metadata names no authorization server",
                f"sent: GET {where}; got: authorization_servers={servers!r}; spec wants: {wanted}",
                "List at least one authorization server issuer URL.",
            )
            return
        self.summary["authorization_servers"] = ", ".join(servers)
        for issuer in servers[:3]:
            self._check_authorization_server(issuer, where)

    def _check_authorization_server(self, issuer: str, prm_url: str) -> None:
        try:
            target = parse_url(issuer)
        except ValueError:
            self._add(
                "MH-MCP-AS-METADATA",
                Severity.MEDIUM,
                f"Authorization server {issuer[:120]!r} is not a URL",
                f"sent: GET {prm_url}; got: authorization_servers entry {issuer[:120]!r}",
                "List issuer URLs (https://…).",
            )
            return
        if target.scheme != "https":
            self._add(
                "MH-MCP-AS-HTTPS",
                _plain_severity(target.host),
                f"Authorization server {issuer} is not HTTPS",
                f"sent: GET {prm_url}; got: authorization_servers entry {issuer}; spec wants: https (A7)",
                "Serve the authorization server over HTTPS only.",
            )
        if not self.fetchable(issuer):
            self.notes.append(
                f"not fetched: authorization server {issuer[:120]} is on another host "
                "(add it with --allow-host to check its metadata)"
            )
            return
        path = target.path.split("?", 1)[0].rstrip("/")
        origin = target.origin
        forms = [
            f"{origin}/.well-known/oauth-authorization-server{path}",
            f"{origin}/.well-known/openid-configuration{path}",
        ]
        if path:
            forms.append(f"{origin}{path}/.well-known/openid-configuration")
        doc, where, tried = None, "", []
        for url in forms:
            try:
                resp = self.client.request("GET", url, headers={"Accept": "application/json"})
            except CheckError as exc:
                tried.append(f"GET {url} → {exc.message}")
                continue
            tried.append(f"GET {url} → {resp.status}")
            doc = _json_object(resp) if resp.status == 200 else None
            if doc is not None:
                where = url
                break
        if doc is None:
            self._add(
                "MH-MCP-AS-METADATA",
                Severity.MEDIUM,
                f"No authorization server metadata for {issuer}",
                f"sent: {'; '.join(tried)}; spec wants: RFC 8414 or OIDC discovery metadata (A8)",
                "Publish /.well-known/oauth-authorization-server (RFC 8414).",
            )
            return
        methods = doc.get("code_challenge_methods_supported")
        if not isinstance(methods, list) or "S256" not in methods:
            self._add(
                "MH-MCP-AS-METADATA",
                Severity.HIGH,
                f"Authorization server {issuer} does not advertise PKCE S256",
                f"sent: GET {where}; got: code_challenge_methods_supported={methods!r}; "
                "spec wants: a list containing S256 (A8: clients MUST refuse otherwise)",
                "Support PKCE with S256 and list it in code_challenge_methods_supported.",
            )
        if doc.get("issuer") not in (issuer, issuer.rstrip("/")):
            self._add(
                "MH-MCP-AS-METADATA",
                Severity.MEDIUM,
                f"The metadata's issuer is not {issuer}",
                f"sent: GET {where}; got: issuer={doc.get('issuer')!r}; spec wants: {issuer} (RFC 8414 §3.3)",
                "Make issuer identical to the authorization server URL.",
            )
        plain = sorted(
            f"{k}={v}"
            for k, v in doc.items()
            if k.endswith(("_endpoint", "_uri")) and isinstance(v, str) and v.startswith("http://")
        )
        if plain:
            self._add(
                "MH-MCP-AS-HTTPS",
                _plain_severity(target.host),
                f"Authorization server {issuer} names plain-HTTP endpoints",
                f"sent: GET {where}; got: {', '.join(plain)[:300]}; spec wants: https only (A7)",
                "Serve every authorization server endpoint over HTTPS.",
            )
        if target.scheme == "https" and target.origin != self.target.origin:
            self.auth_servers.append(target)

    def _cleanup(self, token: str | None) -> None:
        """End the sessions the checker opened (best effort, bounded)."""
        for sid in self._sessions[:8]:
            headers = {**self._auth(token), "Mcp-Session-Id": sid, "MCP-Protocol-Version": self._version}
            try:
                self.client.request("DELETE", self.url, headers=headers)
            except CheckError:
                break
        self._sessions.clear()


# --- parsing helpers ------------------------------------------------------------------------------------

_PARAM = re.compile(r'([A-Za-z0-9_\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _bearer_params(challenge: str) -> dict[str, str] | None:
    """Parameters of the Bearer challenge in a WWW-Authenticate value, or None if there is none."""
    match = re.search(r"(?i)(?:^|,\s*)bearer(?:\s+|$)", challenge)
    if not match:
        return None
    rest = challenge[match.end() :]
    params: dict[str, str] = {}
    for m in _PARAM.finditer(rest):
        params.setdefault(m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3))
    return params


def _json_object(resp: Response) -> dict[str, Any] | None:
    try:
        data = json.loads(resp.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _jsonrpc(resp: Response) -> dict[str, Any] | None:
    """The JSON-RPC answer in a JSON or SSE body."""
    ctype = (resp.header("content-type") or "").lower()
    if ctype.startswith("text/event-stream"):
        text = resp.body.decode("utf-8", "replace")
        for event in re.split(r"\r?\n\r?\n", text):
            data = "\n".join(line[5:].lstrip() for line in event.splitlines() if line.startswith("data:"))
            try:
                message = json.loads(data) if data else None
            except ValueError:
                continue
            if isinstance(message, dict) and "id" in message:
                return message
        return None
    message = _json_object(resp)
    return message if message is not None and message.get("jsonrpc") == "2.0" else None


def _sse_answered(body: bytes) -> bool:
    """True once an event stream holds a complete JSON-RPC response (the rest of the stream is not needed)."""
    if b"\n\n" not in body and b"\r\n\r\n" not in body:
        return False
    events = re.split(r"\r?\n\r?\n", body.decode("utf-8", "replace"))[:-1]  # complete events only
    for event in events:
        data = "\n".join(line[5:].lstrip() for line in event.splitlines() if line.startswith("data:"))
        try:
            message = json.loads(data) if data else None
        except ValueError:
            continue
        if isinstance(message, dict) and "id" in message and ("result" in message or "error" in message):
            return True
    return False


def _negotiated_version(resp: Response) -> str | None:
    message = _jsonrpc(resp) or {}
    result = message.get("result")
    version = result.get("protocolVersion") if isinstance(result, dict) else None
    return version if isinstance(version, str) and re.fullmatch(r"[\w.\-]{1,40}", version) else None


def _canonical(url: str) -> str:
    """Compare resource URLs as RFC 8707 does: scheme and host case-insensitive, default port, no slash."""
    try:
        target = parse_url(url.strip())
    except ValueError:
        return url
    return f"{target.origin}{target.path.rstrip('/')}"


def _plain_severity(host: str) -> Severity:
    """Plain HTTP is high, except on loopback where the traffic never leaves the machine (low)."""
    return Severity.LOW if is_loopback_host(host) else Severity.HIGH


def _other_port(port: int) -> int:
    return 3000 if port != 3000 else 8080


def session_id_bits(a: str, b: str) -> int:
    """An upper bound on the randomness in session IDs like `a` and `b`: the bits each varying character can
    carry (by the alphabet seen), over the characters outside their common prefix and suffix."""
    prefix = len(_common_prefix(a, b))
    suffix = len(_common_prefix(a[prefix:][::-1], b[prefix:][::-1]))
    varying = min(len(a), len(b)) - prefix - suffix
    chars = set(a + b) - {"-"}
    if chars <= set("0123456789"):
        alphabet = 10
    elif chars <= set("0123456789abcdef") or chars <= set("0123456789ABCDEF"):
        alphabet = 16
    elif chars <= set("0123456789abcdefghijklmnopqrstuvwxyz") or chars <= set(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ):
        alphabet = 36
    elif chars <= set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"):
        alphabet = 64
    else:
        alphabet = 94
    dashes = sum(1 for c in a[prefix : len(a) - suffix] if c == "-")
    if _numeric_neighbours(a, b):
        return 0
    return max(0, int((varying - dashes) * math.log2(alphabet)))


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def _numeric_neighbours(a: str, b: str) -> bool:
    """Counters and timestamps: the numbers in the two IDs differ by little."""
    na, nb = re.findall(r"\d+", a), re.findall(r"\d+", b)
    if not na or len(na) != len(nb) or re.sub(r"\d+", "#", a) != re.sub(r"\d+", "#", b):
        return False
    if len(re.sub(r"\d+", "", a)) > 8:  # mostly non-digits: random text with digits in it
        return False
    return all(abs(int(x) - int(y)) < 10**6 for x, y in zip(na, nb, strict=False))
