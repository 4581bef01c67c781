"""The MCP HTTP checks against the official `mcp` SDK server (Streamable HTTP, bearer auth, uvicorn, trustme
TLS), configured right and with each fault the SDK allows. Loopback only; no mocks."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from pipeline.endpoint import Credentials, EndpointOptions, check_endpoint, parse_resolve
from pipeline.endpoint.http import Response
from pipeline.endpoint.mcp_http import _bearer_params, session_id_bits
from pipeline.endpoint.web import check_hsts
from pipeline.errors import UsageError
from pipeline.findings import Severity, StageResult
from tests.endpoint.mcp_servers import TOKENS, McpDeployment, RawServer

ALL_CREDS = Credentials(
    token=TOKENS["alice"],
    foreign_token=TOKENS["foreign"],
    second_token=TOKENS["bob"],
    low_scope_token=TOKENS["low"],
    expired_token=TOKENS["expired"],
)


def options(deployment: McpDeployment, creds: Credentials = ALL_CREDS, **kwargs: object) -> EndpointOptions:
    base: dict = {"ca_file": deployment.ca_file, "creds": creds, "timeout": 5.0}
    base.update(kwargs)
    return EndpointOptions(**base)


def http_findings(stage: StageResult, at_least: Severity = Severity.MEDIUM) -> list[str]:
    """HTTP-layer findings at or above a severity (TLS findings are the TLS tests' business)."""
    return [
        f"{f.rule_id} {f.severity.value}: {f.title}"
        for f in stage.findings
        if f.rule_id.startswith(("MH-MCP-", "MH-HTTP-")) and f.severity >= at_least
    ]


def rules_at(stage: StageResult, severity: Severity) -> set[str]:
    return {f.rule_id for f in stage.findings if f.severity >= severity}


def test_right_configuration_is_clean(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server()
    start = time.monotonic()
    stage = check_endpoint(deployment.url, options(deployment))
    took = time.monotonic() - start
    assert stage.error is None, stage.error
    # Fully clean at medium and above, TLS included (Mozilla suites, a 90-day certificate, HSTS).
    assert [f"{f.rule_id}: {f.title}" for f in stage.findings if f.severity >= Severity.MEDIUM] == []
    assert not [n for n in stage.notes if "not run:" in n and "TLS" not in n], stage.notes
    assert stage.stage == f"endpoint {deployment.url}"
    assert stage.summary["authentication"] == "required"
    assert stage.summary["sessions"] == "stateful"
    assert stage.summary["session_id_bits"] >= 100  # UUID4 hex: 128 less any chance overlap of two samples
    assert stage.summary["hsts"] == "max-age=63072000"
    assert stage.summary["authorization_servers"] == deployment.issuer
    # The SDK's known SHOULD-level gaps are reported, at low: no scope= in the 401, and 401 before 403.
    low = {f.rule_id for f in stage.findings if f.severity is Severity.LOW}
    assert {"MH-MCP-WWW-AUTH", "MH-MCP-ORIGIN"} <= low
    assert stage.summary["authorization_server_tls"] == "checked"  # A7: its TLS is checked too, and passes
    # Speed is measured in benchmarks/bench_endpoint.py; this bound only catches a hang-like regression.
    assert took < 10.0, f"one endpoint took {took:.2f} s"


def test_authorization_server_tls_is_checked(mcp_server: Callable[..., McpDeployment]) -> None:
    """Under the modern profile (TLS 1.3 only) the test authorization server, which also speaks TLS 1.2,
    has its own finding, labelled with its origin."""
    deployment = mcp_server()
    stage = check_endpoint(deployment.url, options(deployment, profile="modern"))
    assert stage.error is None, stage.error
    origin = deployment.issuer.rstrip("/")
    labelled = [f for f in stage.findings if f.title.startswith(f"authorization server {origin}: ")]
    assert any(f.rule_id == "MH-TLS-PROTOCOL-PROFILE" for f in labelled), [f.title for f in stage.findings]


@pytest.mark.parametrize(
    ("fault", "rule", "severity", "title_part"),
    [
        ("host-0.0.0.0", "MH-MCP-ORIGIN", Severity.HIGH, "https://evil.example"),
        ("host-0.0.0.0", "MH-MCP-HOST", Severity.HIGH, "Host: evil.example"),
        ("no-audience", "MH-MCP-AUDIENCE", Severity.HIGH, "another resource"),
        ("default-origins", "MH-MCP-ORIGIN", Severity.HIGH, "http://localhost:3000"),
        ("default-origins", "MH-MCP-ORIGIN", Severity.MEDIUM, "own Origin"),
        ("no-hsts", "MH-HTTP-HSTS", Severity.MEDIUM, "Strict-Transport-Security"),
        ("no-scopes", "MH-MCP-SCOPE", Severity.HIGH, "required scopes"),
        ("no-expiry", "MH-MCP-TOKEN-INVALID", Severity.CRITICAL, "expired token"),
    ],
)
def test_each_sdk_fault_is_caught(
    mcp_server: Callable[..., McpDeployment], fault: str, rule: str, severity: Severity, title_part: str
) -> None:
    deployment = mcp_server(fault)
    stage = check_endpoint(deployment.url, options(deployment))
    assert stage.error is None, stage.error
    hits = [
        f for f in stage.findings if f.rule_id == rule and f.severity is severity and title_part in f.title
    ]
    assert hits, http_findings(stage, Severity.LOW)
    finding = hits[0]
    # Evidence names what was sent, what came back and what the spec wanted.
    assert "sent:" in finding.evidence and "got:" in finding.evidence and "wants:" in finding.evidence
    assert finding.location.url == deployment.url


def test_missing_tokens_are_not_run_never_passed(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server("no-audience")  # the audience fault is invisible without --foreign-token
    stage = check_endpoint(deployment.url, options(deployment, Credentials()))
    assert stage.error is None, stage.error
    notes = " | ".join(stage.notes)
    assert "not run: needs --token" in notes
    assert "not run: needs --foreign-token" in notes
    assert "not run: needs --expired-token" in notes
    assert "MH-MCP-AUDIENCE" not in rules_at(stage, Severity.INFO)
    assert "sessions" not in stage.summary  # never reported as checked
    # The unauthenticated checks still ran: 401s, garbage token, metadata.
    assert stage.summary["authentication"] == "required"
    assert stage.summary["authorization_servers"] == deployment.issuer


def test_second_user_note_and_session_binding(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server()
    creds = Credentials(token=TOKENS["alice"], foreign_token=TOKENS["foreign"])
    stage = check_endpoint(deployment.url, options(deployment, creds))
    assert any("needs --second-token" in n for n in stage.notes)
    assert "MH-MCP-SESSION-BIND" not in rules_at(stage, Severity.INFO)


def test_refused_token_is_could_not_check(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server()
    stage = check_endpoint(deployment.url, options(deployment, Credentials(token="expired-or-wrong")))
    assert stage.error is not None and "--token given was refused" in stage.error


def test_authorization_server_without_s256(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server(as_s256=False)
    stage = check_endpoint(deployment.url, options(deployment))
    hits = [f for f in stage.findings if f.rule_id == "MH-MCP-AS-METADATA"]
    assert hits and hits[0].severity is Severity.HIGH and "S256" in hits[0].title
    assert "code_challenge_methods_supported=['plain']" in hits[0].evidence


def test_resolve_connects_to_the_address_with_the_name(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server(name="mcp.test")
    resolve = parse_resolve([f"mcp.test:{deployment.port}:127.0.0.1"])
    stage = check_endpoint(deployment.url, options(deployment, resolve=resolve))
    assert stage.error is None, stage.error
    assert http_findings(stage) == []
    assert stage.summary["sessions"] == "stateful"


def test_plain_http_loopback_is_low_and_checks_run(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server(tls=False)
    stage = check_endpoint(deployment.url, options(deployment))
    assert stage.error is None, stage.error
    not_https = [f for f in stage.findings if f.rule_id == "MH-HTTP-NOT-HTTPS"]
    assert len(not_https) == 1 and not_https[0].severity is Severity.LOW
    assert http_findings(stage) == []
    assert "MH-MCP-AS-HTTPS" in rules_at(stage, Severity.LOW)  # the issuer is http:// too (loopback: low)
    assert stage.summary["tls"] == "none (http)"


def test_untrusted_certificate_withholds_tokens(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server()
    stage = check_endpoint(deployment.url, options(deployment, ca_file=None, tls=False))
    assert stage.error is None, stage.error
    assert any("without sending any token" in n for n in stage.notes), stage.notes
    assert any("not run: needs --token" in n for n in stage.notes)


def test_no_auth_server_findings() -> None:
    """A server with no authentication at all (raw, loopback) is high, with weak session IDs spotted."""
    from tests.endpoint.mcp_servers import RawServer, open_server

    server = RawServer(open_server)
    try:
        url = f"http://127.0.0.1:{server.port}/mcp"
        stage = check_endpoint(url, EndpointOptions(timeout=3.0, tls=False))
    finally:
        server.stop()
    assert stage.error is None, stage.error
    rules = rules_at(stage, Severity.HIGH)
    assert {"MH-MCP-AUTH-MISSING", "MH-MCP-ORIGIN", "MH-MCP-HOST", "MH-MCP-SESSION-ID"} <= rules


def test_session_id_bits() -> None:
    import uuid

    assert min(session_id_bits(uuid.uuid4().hex, uuid.uuid4().hex) for _ in range(50)) >= 100
    assert session_id_bits(str(uuid.uuid4()), str(uuid.uuid4())) >= 100
    assert session_id_bits("session-1700000000001", "session-1700000000002") == 0
    assert session_id_bits("1001", "1002") == 0
    assert session_id_bits("abc123def456", "abc123def457") < 64


def test_bearer_params() -> None:
    value = (
        'Bearer error="invalid_token", resource_metadata="https://x/.well-known/oauth-protected-resource/mcp"'
    )
    assert _bearer_params(value) == {
        "error": "invalid_token",
        "resource_metadata": "https://x/.well-known/oauth-protected-resource/mcp",
    }
    assert _bearer_params('Basic realm="x"') is None
    assert _bearer_params("Bearer") == {}


@pytest.mark.parametrize("entry", ["nohost", "a:b:c", "a:70000:1.2.3.4", ":443:1.2.3.4", "a:443:"])
def test_parse_resolve_rejects(entry: str) -> None:
    with pytest.raises(UsageError):
        parse_resolve([entry])


def test_parse_resolve_ipv6() -> None:
    assert parse_resolve(["mcp.example.com:443:[::1]"]) == {("mcp.example.com", 443): "::1"}


def _plain_listener(answer: bytes) -> RawServer:
    def handler(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.recv(65536)
        conn.sendall(answer)

    return RawServer(handler)


@pytest.mark.parametrize(
    ("answer", "finding"),
    [
        (
            b"HTTP/1.1 308 Permanent Redirect\r\nLocation: https://127.0.0.1/mcp\r\nContent-Length: 0\r\n\r\n",
            None,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", Severity.MEDIUM),
        (
            b"HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1/mcp\r\nContent-Length: 0\r\n\r\n",
            Severity.MEDIUM,
        ),
        (
            b"HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1/mcp\r\nContent-Length: 0\r\n\r\n",
            Severity.INFO,
        ),
    ],
)
def test_plain_http_port_redirect(
    mcp_server: Callable[..., McpDeployment], answer: bytes, finding: Severity | None
) -> None:
    deployment = mcp_server()
    listener = _plain_listener(answer)
    try:
        stage = check_endpoint(deployment.url, options(deployment, http_port=listener.port))
    finally:
        listener.stop()
    assert stage.error is None, stage.error
    found = [f.severity for f in stage.findings if f.rule_id == "MH-HTTP-REDIRECT"]
    assert found == ([finding] if finding else [])
    assert "plain_http" in stage.summary


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("max-age=63072000; includeSubDomains", None),
        ("max-age=31536000", Severity.INFO),
        ("max-age=86400", Severity.MEDIUM),
        ("includeSubDomains", Severity.MEDIUM),
        (None, Severity.MEDIUM),
    ],
)
def test_hsts_levels(value: str | None, severity: Severity | None) -> None:
    headers = [("Strict-Transport-Security", value)] if value else []
    resp = Response(url="https://x/mcp", status=401, reason="Unauthorized", headers=headers)
    found, _ = check_hsts(resp, "https://x/mcp", 15768000)
    assert [f.severity for f in found] == ([severity] if severity else [])


def test_metadata_hosts_outside_the_allowed_set_are_not_fetched(
    mcp_server: Callable[..., McpDeployment],
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    deployment = mcp_server(issuer=f"https://auth.invalid:{port}")
    stage = check_endpoint(deployment.url, options(deployment))
    assert stage.error is None, stage.error
    assert any("not fetched: authorization server https://auth.invalid" in n for n in stage.notes)
    assert "MH-MCP-AS-METADATA" not in rules_at(stage, Severity.INFO)
    # Allowed: fetched (nothing answers there, so it is reported as missing metadata, never as a pass).
    # --resolve keeps the test on loopback: auth.invalid goes to 127.0.0.1, where the port is closed.
    resolve = {("auth.invalid", port): "127.0.0.1"}
    stage = check_endpoint(deployment.url, options(deployment, allow_hosts={"auth.invalid"}, resolve=resolve))
    assert stage.error is None, stage.error
    found = [f for f in stage.findings if f.rule_id == "MH-MCP-AS-METADATA"]
    assert found and "auth.invalid" in found[0].evidence


def test_local_server_listening_beyond_loopback() -> None:
    """T2: a server bound to every interface is reported (the probe stays on loopback: 127.0.0.2);
    one bound to 127.0.0.1 is not."""
    from tests.endpoint.mcp_servers import open_server

    wide = socket.socket()
    wide.bind(("0.0.0.0", 0))
    wide.listen(16)
    port = wide.getsockname()[1]
    server = RawServer(open_server, sock=wide)
    try:
        stage = check_endpoint(f"http://127.0.0.1:{port}/mcp", EndpointOptions(timeout=3.0, tls=False))
    finally:
        server.stop()
    assert stage.error is None, stage.error
    assert "MH-MCP-BIND" in rules_at(stage, Severity.MEDIUM)
    narrow = RawServer(open_server)
    try:
        stage = check_endpoint(f"http://127.0.0.1:{narrow.port}/mcp", EndpointOptions(timeout=3.0, tls=False))
    finally:
        narrow.stop()
    assert "MH-MCP-BIND" not in rules_at(stage, Severity.INFO)
    assert stage.summary["listens"] == "loopback only"
