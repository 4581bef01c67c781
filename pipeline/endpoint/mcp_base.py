"""The common part of the MCP HTTP checks: one endpoint's state, how a probe is sent and recorded, and the
parsing of what comes back. The checks themselves are mixins in `auth`, `transport`, `sessions` and
`metadata`; `mcp_http.McpCheck` puts them together and runs them."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.endpoint import eras, modern
from pipeline.endpoint.eras import Answer, EraVerdict
from pipeline.endpoint.http import HttpClient, Response, Target, parse_url
from pipeline.endpoint.rules_mcp import CONFORMANCE, OFFLINE_ACCESS, scenario_url
from pipeline.errors import CheckError
from pipeline.findings import Finding, Location, Severity
from pipeline.rules import lookup

SPEC = "https://modelcontextprotocol.io/specification/2025-11-25"
PROTOCOL_VERSION = eras.LEGACY
FOREIGN_ORIGIN = "https://evil.example"
FOREIGN_HOST = "evil.example"
MIN_SESSION_BITS = 118  # 122 random bits (UUID4) less slack for chance overlap between two samples
WEAK_SESSION_BITS = 64

CONFORMANCE_OF = {
    **CONFORMANCE,
    "MH-MCP-ORIGIN": "dns-rebinding-protection",
    "MH-MCP-HOST": "dns-rebinding-protection",
}


class NotMcpEndpoint(CheckError):
    """The URL answers HTTP but speaks neither era of MCP: a finding of its own, the other layers still judged."""


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
class McpBase:
    """One endpoint's probes: findings and notes accumulate so a late failure keeps them."""

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
    era: str = eras.LEGACY  # the era whose messages the request-level checks send
    eras_seen: EraVerdict = field(default_factory=EraVerdict)
    _tag: str = ""  # " (2026-07-28)" on era-specific findings when the server speaks both eras
    # HTTPS authorization servers whose metadata was read: the orchestrator checks their TLS too (A7).
    auth_servers: list[Target] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.target: Target = parse_url(self.url)
        self.location = Location(url=self.url)

    # --- helpers ----------------------------------------------------------------------------------

    def _add(self, rule: str, severity: Severity, title: str, evidence: str, fix: str) -> None:
        properties: dict[str, Any] = {"era": self.era} if self._tag else {}
        declared = lookup(rule)
        assert declared is not None, rule
        finding = declared.finding(
            self.scrub(title + self._tag),
            severity=severity,
            location=self.location,
            evidence=self.scrub(evidence),
            fix=fix,
            properties=properties,
        )
        scenario = CONFORMANCE_OF.get(rule)
        if scenario:  # beside the spec anchor: the conformance suite's scenario checking the same thing
            finding.properties["conformance_scenario"] = scenario
            finding.references.append(scenario_url(scenario))
        self.findings.append(finding)

    def _issue(self, issue: modern.Issue, evidence: str) -> None:
        self._add(issue.rule.id, issue.severity, issue.title, evidence, issue.fix)

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
        extra: dict[str, str] | None = None,
    ) -> Probe:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        headers.update(self._auth(token))
        params = message.get("params")
        if extra is not None:
            headers.update(extra)
        elif isinstance(params, dict) and "_meta" in params:
            headers.update(eras.modern_headers(message))
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
        return eras.initialize(request_id)

    def _hello(self, request_id: int = 1) -> dict[str, Any]:
        """The request the request-level checks send: `initialize` in 2025-11-25, `server/discover` in
        2026-07-28 (each era's one request that any server of it must answer)."""
        if self.era == eras.MODERN:
            return eras.modern_request("server/discover", request_id=request_id)
        return eras.initialize(request_id)

    def _answer(self, probe: Probe) -> Answer:
        resp = probe.resp
        ctype = resp.header("content-type") or ""
        return Answer(
            resp.status,
            ctype,
            resp.body,
            resp.header("mcp-session-id"),
            eras.jsonrpc_message(ctype, resp.body),
        )

    @staticmethod
    def _call(method: str, request_id: int = 2) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": {}}

    def _check_offline_access(self, scopes: object, where: str) -> None:
        if offline_access_offered(scopes):
            self._add(
                OFFLINE_ACCESS.id,
                Severity.LOW,
                "The protected resource offers the offline_access scope",
                f"sent: {where}; got: {str(scopes)[:200]}; spec wants: no offline_access (refresh tokens are "
                "not a resource requirement)",
                "Drop offline_access from scopes_supported and from WWW-Authenticate scope.",
            )

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


def offline_access_offered(scopes: object) -> bool:
    """A scope list (a space-separated string or a JSON array) that offers offline_access."""
    listed = scopes.split() if isinstance(scopes, str) else scopes if isinstance(scopes, list) else []
    return "offline_access" in listed


def _plain_severity(host: str) -> Severity:
    """Plain HTTP is high, except on loopback where the traffic never leaves the machine (low)."""
    return Severity.LOW if is_loopback_host(host) else Severity.HIGH


def _other_port(port: int) -> int:
    return 3000 if port != 3000 else 8080
