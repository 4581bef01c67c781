"""No layer hides another: a server that is not an MCP endpoint still gets its TLS and HSTS judged, an
http:// URL redirecting to https:// is judged as a redirect and its target checked, `--no-mcp` checks TLS and
HTTP only. Real servers on 127.0.0.1 (uvicorn with a trustme certificate, the SDK's server)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipeline.endpoint import EndpointOptions, check_endpoint
from pipeline.endpoint.rules_mcp import NOT_ENDPOINT
from pipeline.findings import Severity
from tests.conftest import run_cli
from tests.endpoint.mcp_servers import (
    TOKENS,
    McpDeployment,
    Pki,
    RawServer,
    Served,
    _bind,
    _read_request,
    serve_asgi,
)
from tests.endpoint.test_mcp_http import ALL_CREDS, options


def web_app(hsts: str | None, *, body: bytes = b"<html>front page</html>", status: int = 200) -> Any:
    """A plain web server (a gateway's front page, an authorization server's root): HTML on every request."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]
        if hsts:
            headers.append((b"strict-transport-security", hsts.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@pytest.fixture
def web_server(pki: Pki) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(hsts: str | None, **kwargs: Any) -> Served:
        served = serve_asgi(web_app(hsts, **kwargs), _bind(), pki)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def ids(stage: Any) -> set[str]:
    return {f.rule_id for f in stage.findings}


@pytest.mark.parametrize(
    ("hsts", "title"),
    [(None, "No Strict-Transport-Security header"), ("max-age=86400", "HSTS max-age 86400 is below")],
)
def test_not_an_mcp_endpoint_still_gets_tls_and_hsts(
    web_server: Callable[..., Served], pki: Pki, hsts: str | None, title: str
) -> None:
    served = web_server(hsts)
    url = f"https://127.0.0.1:{served.port}/"
    stage = check_endpoint(url, EndpointOptions(ca_file=str(pki.ca_file), timeout=5.0, creds=ALL_CREDS))
    assert stage.error is None, stage.error  # a finding, not "could not check"
    assert NOT_ENDPOINT.id in ids(stage)
    hsts_titles = [f.title for f in stage.findings if f.rule_id == "MH-HTTP-HSTS"]
    assert any(t.startswith(title) for t in hsts_titles), hsts_titles
    assert all(f.severity >= Severity.MEDIUM for f in stage.findings if f.rule_id == "MH-HTTP-HSTS")
    assert stage.summary["tls_protocols"] == ["TLS 1.2", "TLS 1.3"]  # TLS judged, and named as people do
    assert stage.summary["mcp"] == "not an MCP endpoint"
    not_endpoint = next(f for f in stage.findings if f.rule_id == NOT_ENDPOINT.id)
    assert "server/discover" in not_endpoint.evidence and "initialize" in not_endpoint.evidence
    assert TOKENS["alice"] not in json.dumps([f.to_dict() for f in stage.findings])


def test_good_hsts_on_a_web_server_is_not_reported(web_server: Callable[..., Served], pki: Pki) -> None:
    served = web_server("max-age=63072000; includeSubDomains")
    stage = check_endpoint(f"https://127.0.0.1:{served.port}/", EndpointOptions(ca_file=str(pki.ca_file)))
    assert "MH-HTTP-HSTS" not in ids(stage)
    assert NOT_ENDPOINT.id in ids(stage)


def _redirector(location: str) -> Callable[[Any], None]:
    def handler(conn: Any) -> None:
        data = _read_request(conn)
        path = data.split(b" ", 2)[1].decode() if data.count(b" ") >= 2 else "/"
        conn.sendall(
            f"HTTP/1.1 301 Moved Permanently\r\nLocation: {location}{path}\r\nContent-Length: 0\r\n\r\n".encode()
        )

    return handler


def test_http_redirect_to_https_is_a_pass_and_the_target_is_checked(
    mcp_server: Callable[..., McpDeployment], raw_server: Callable[..., RawServer]
) -> None:
    deployment = mcp_server()
    redirector = raw_server(_redirector(f"https://127.0.0.1:{deployment.port}"))
    url = f"http://127.0.0.1:{redirector.port}/mcp"
    stage = check_endpoint(url, options(deployment))
    assert stage.error is None, stage.error
    assert "MH-HTTP-NOT-HTTPS" not in ids(stage)  # not "plain HTTP": it redirects
    assert "MH-HTTP-REDIRECT" not in ids(stage)  # 301 to https on the same host: a pass
    assert stage.summary["plain_http"] == "301 → https"
    assert stage.summary["redirected_to"] == deployment.url
    assert stage.summary["eras"] == "2026-07-28 and 2025-11-25"  # the target's MCP layer was checked
    assert stage.summary["tls_of_redirect_target"]["protocols"] == ["TLS 1.2", "TLS 1.3"]
    assert stage.summary["hsts"] == "max-age=63072000"
    assert [f.title for f in stage.findings if f.severity >= Severity.MEDIUM] == []


def test_http_redirect_to_another_host_is_not_followed(
    raw_server: Callable[..., RawServer],
) -> None:
    redirector = raw_server(_redirector("https://elsewhere.example"))
    stage = check_endpoint(
        f"http://127.0.0.1:{redirector.port}/mcp", EndpointOptions(timeout=3.0, creds=ALL_CREDS)
    )
    assert "MH-HTTP-REDIRECT" in ids(stage)
    assert "redirected_to" not in stage.summary
    assert any("not followed" in n for n in stage.notes)


def test_temporary_redirect_is_info_and_followed(
    mcp_server: Callable[..., McpDeployment], raw_server: Callable[..., RawServer]
) -> None:
    deployment = mcp_server()

    def handler(conn: Any) -> None:
        conn.recv(65536)
        conn.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: {deployment.url}\r\nContent-Length: 0\r\n\r\n".encode()
        )

    redirector = raw_server(handler)
    stage = check_endpoint(f"http://127.0.0.1:{redirector.port}/mcp", options(deployment))
    redirect = [f for f in stage.findings if f.rule_id == "MH-HTTP-REDIRECT"]
    assert [f.severity for f in redirect] == [Severity.INFO]
    assert stage.summary["redirected_to"] == deployment.url


def test_no_mcp_checks_tls_and_http_only(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server(fault="no-hsts")
    result = run_cli(
        "check-endpoint",
        deployment.url,
        "--ca-file",
        deployment.ca_file or "",
        "--no-mcp",
        "--format",
        "json",
    )
    assert result.code == 0, result.err  # the missing HSTS is medium, under the default threshold (high)
    stage = json.loads(result.out)["stages"][0]
    rules = {f["rule_id"] for f in stage["findings"]}
    assert "MH-HTTP-HSTS" in rules
    assert not {r for r in rules if r.startswith("MH-MCP-")}, rules
    assert stage["summary"]["mcp"] == "not checked (--no-mcp)"
    assert stage["summary"]["requests"] == 1  # one GET: no MCP request was sent
    assert stage["summary"]["tls_protocols"] == ["TLS 1.2", "TLS 1.3"]
