"""Web-layer transport checks: HTTPS at all, HSTS on the HTTPS answers, and the plain-HTTP port redirecting."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from pipeline.endpoint.http import HttpClient, Response, Target, parse_url
from pipeline.endpoint.mcp_http import is_loopback_host
from pipeline.errors import CheckError
from pipeline.findings import Finding, Location, Rule, Severity

MOZILLA_HSTS = 63072000  # two years

RULES = [
    Rule(
        "MH-HTTP-NOT-HTTPS",
        "HttpNotHttps",
        "The endpoint is served over plain HTTP.",
        "Tokens and MCP traffic travel in clear text. High for a network host; low for a loopback URL, whose "
        "traffic never leaves the machine.",
        "https://wiki.mozilla.org/Security/Server_Side_TLS",
    ),
    Rule(
        "MH-HTTP-HSTS",
        "HttpHsts",
        "Strict-Transport-Security is missing or too short.",
        "HSTS with max-age at least the policy's endpoint.hsts_min_age (six months by default; Mozilla asks for "
        "two years, SSL Labs A+ needs six months).",
        "https://www.rfc-editor.org/rfc/rfc6797",
    ),
    Rule(
        "MH-HTTP-REDIRECT",
        "HttpRedirect",
        "The plain-HTTP port does not redirect to HTTPS.",
        "A request on http:// should get a 301/308 to the same https:// URL and nothing else.",
        "https://wiki.mozilla.org/Security/Server_Side_TLS",
    ),
]


def not_https(target: Target) -> Finding:
    """The finding for an http:// endpoint URL (high, or low on a loopback URL)."""
    loopback = is_loopback_host(target.host)
    return Finding(
        rule_id="MH-HTTP-NOT-HTTPS",
        severity=Severity.LOW if loopback else Severity.HIGH,
        title="The endpoint is plain HTTP" + (" (loopback)" if loopback else ""),
        location=Location(url=target.url),
        evidence="URL scheme http; TLS not checked; spec wants: https for any remote MCP server",
        fix="Serve the endpoint over HTTPS (TLS 1.2+), or keep a local server on loopback/stdio.",
    )


def check_hsts(resp: Response, url: str, min_age: int) -> tuple[list[Finding], str]:
    """HSTS on one HTTPS response: findings and a summary value."""
    location = Location(url=url)
    value = resp.header("strict-transport-security")
    sent = f"sent: request to {resp.url}; got: {resp.status}"
    if not value:
        return [
            Finding(
                "MH-HTTP-HSTS",
                Severity.MEDIUM,
                "No Strict-Transport-Security header",
                location,
                f"{sent} without Strict-Transport-Security; spec wants: max-age ≥ {min_age}",
                f"Send Strict-Transport-Security: max-age={MOZILLA_HSTS}; includeSubDomains.",
            )
        ], "missing"
    match = re.search(r"(?i)(?:^|;)\s*max-age\s*=\s*\"?(\d+)\"?", value)
    if not match:
        return [
            Finding(
                "MH-HTTP-HSTS",
                Severity.MEDIUM,
                "Strict-Transport-Security has no valid max-age",
                location,
                f"{sent}, Strict-Transport-Security: {value[:120]}; spec wants: max-age ≥ {min_age}",
                f"Send Strict-Transport-Security: max-age={MOZILLA_HSTS}.",
            )
        ], "invalid"
    age = int(match.group(1))
    if age < min_age:
        return [
            Finding(
                "MH-HTTP-HSTS",
                Severity.MEDIUM,
                f"HSTS max-age {age} is below the policy's {min_age}",
                location,
                f"{sent}, Strict-Transport-Security: {value[:120]}; spec wants: max-age ≥ {min_age}",
                f"Raise max-age to at least {min_age} ({MOZILLA_HSTS} per Mozilla).",
            )
        ], f"max-age={age}"
    if age < MOZILLA_HSTS:
        return [
            Finding(
                "MH-HTTP-HSTS",
                Severity.INFO,
                f"HSTS max-age {age} is below Mozilla's two years",
                location,
                f"{sent}, Strict-Transport-Security: {value[:120]}; Mozilla wants max-age ≥ {MOZILLA_HSTS}",
                f"Raise max-age to {MOZILLA_HSTS}.",
            )
        ], f"max-age={age}"
    return [], f"max-age={age}"


def check_http_redirect(client: HttpClient, target: Target, http_port: int) -> tuple[list[Finding], str]:
    """GET the endpoint on plain HTTP: a 301/308 to its https:// URL is right; a closed port is fine too."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    plain = f"http://{host}{'' if http_port == 80 else f':{http_port}'}{target.path}"
    try:
        resp = client.request("GET", plain)
    except CheckError as exc:  # closed, filtered or broken: nothing is served in clear text
        if "refused" in exc.message:
            return [], f"port {http_port} closed"
        return [], f"port {http_port}: no HTTP answer ({exc.message[:80]})"
    return judge_redirect(resp, plain, target)


def judge_redirect(resp: Response, plain: str, target: Target) -> tuple[list[Finding], str]:
    """Pure: a plain-HTTP answer for `plain` should be a permanent redirect to https:// on `target`'s host."""
    host = f"[{target.host}]" if ":" in target.host else target.host
    location = Location(url=plain)
    https_url = "https://" + plain.split("://", 1)[1] if target.scheme == "http" else target.url
    port = parse_url(plain).port
    wanted = f"301 or 308 to {https_url}"
    sent = f"sent: GET {plain}; got: {resp.describe()}; spec wants: {wanted}"
    if not 300 <= resp.status < 400:
        return [
            Finding(
                "MH-HTTP-REDIRECT",
                Severity.MEDIUM,
                f"Plain HTTP on port {port} answers {resp.status} instead of redirecting to HTTPS",
                location,
                sent,
                "Redirect every plain-HTTP request to https:// with 301 or 308 (or close the port).",
            )
        ], f"{resp.status}"
    dest = resp.header("location") or ""
    try:
        moved = parse_url(urljoin(plain, dest.strip())) if dest else None
    except ValueError:
        moved = None
    if moved is None or moved.scheme != "https" or moved.host != target.host:
        return [
            Finding(
                "MH-HTTP-REDIRECT",
                Severity.MEDIUM,
                "Plain HTTP redirects somewhere other than this https:// host",
                location,
                sent,
                f"Redirect to https://{host}… .",
            )
        ], f"{resp.status} → {dest[:80]}"
    if resp.status in (302, 303, 307):
        return [
            Finding(
                "MH-HTTP-REDIRECT",
                Severity.INFO,
                f"Plain HTTP redirects with a temporary {resp.status}",
                location,
                sent,
                "Use a permanent 301 or 308.",
            )
        ], f"{resp.status} → https"
    return [], f"{resp.status} → https"
