"""Web-layer transport checks: HTTPS at all, HSTS on the HTTPS answers, and the plain-HTTP port redirecting."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from pipeline.endpoint.http import HttpClient, Response, Target, parse_url
from pipeline.endpoint.mcp_http import is_loopback_host
from pipeline.errors import CheckError
from pipeline.findings import Finding, Location, Severity
from pipeline.rules import Rule, declare

MOZILLA_HSTS = 63072000  # two years

RULES: list[Rule] = [
    declare(
        "MH-HTTP-NOT-HTTPS",
        name="http-not-https",
        stage="check-endpoint",
        severity=Severity.LOW,
        summary="The endpoint is served over plain HTTP.",
        standard="https://wiki.mozilla.org/Security/Server_Side_TLS",
        fix="Serve the endpoint over HTTPS (TLS 1.2+), or keep a local server on loopback or stdio.",
    ),
    declare(
        "MH-HTTP-HSTS",
        name="http-hsts",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="Strict-Transport-Security is missing or too short.",
        standard="https://www.rfc-editor.org/rfc/rfc6797",
        fix="Send Strict-Transport-Security: max-age=63072000 (two years); at least endpoint.hsts_min_age.",
    ),
    declare(
        "MH-HTTP-REDIRECT",
        name="http-redirect",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="The plain-HTTP port does not redirect to HTTPS.",
        standard="https://wiki.mozilla.org/Security/Server_Side_TLS",
        fix="Answer every http:// request with a 301/308 to the same https:// URL and nothing else.",
    ),
]
_RULE = {rule.id: rule for rule in RULES}


def _finding(
    rule: Rule, severity: Severity, title: str, location: Location, evidence: str, fix: str
) -> Finding:
    return rule.finding(title, severity=severity, location=location, evidence=evidence, fix=fix)


def not_https(target: Target) -> Finding:
    """The finding for an http:// endpoint URL (high, or low on a loopback URL)."""
    loopback = is_loopback_host(target.host)
    return _RULE["MH-HTTP-NOT-HTTPS"].finding(
        "The endpoint is plain HTTP" + (" (loopback)" if loopback else ""),
        severity=Severity.LOW if loopback else Severity.HIGH,
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
            _finding(
                _RULE["MH-HTTP-HSTS"],
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
            _finding(
                _RULE["MH-HTTP-HSTS"],
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
            _finding(
                _RULE["MH-HTTP-HSTS"],
                Severity.MEDIUM,
                f"HSTS max-age {age} is below the policy's {min_age}",
                location,
                f"{sent}, Strict-Transport-Security: {value[:120]}; spec wants: max-age ≥ {min_age}",
                f"Raise max-age to at least {min_age} ({MOZILLA_HSTS} per Mozilla).",
            )
        ], f"max-age={age}"
    if age < MOZILLA_HSTS:
        return [
            _finding(
                _RULE["MH-HTTP-HSTS"],
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
            _finding(
                _RULE["MH-HTTP-REDIRECT"],
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
            _finding(
                _RULE["MH-HTTP-REDIRECT"],
                Severity.MEDIUM,
                "Plain HTTP redirects somewhere other than this https:// host",
                location,
                sent,
                f"Redirect to https://{host}… .",
            )
        ], f"{resp.status} → {dest[:80]}"
    if resp.status in (302, 303, 307):
        return [
            _finding(
                _RULE["MH-HTTP-REDIRECT"],
                Severity.INFO,
                f"Plain HTTP redirects with a temporary {resp.status}",
                location,
                sent,
                "Use a permanent 301 or 308.",
            )
        ], f"{resp.status} → https"
    return [], f"{resp.status} → https"
