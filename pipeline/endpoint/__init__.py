"""check-endpoint: TLS and MCP Streamable HTTP hardening of deployed endpoints, many at once.

One `StageResult` per endpoint, named `endpoint <url>`. TLS (`pipeline.endpoint.tls`) and the HTTP checks
(`mcp_http`, `web`) of every endpoint run concurrently under one deadline per endpoint. An endpoint that
cannot be checked gets `error` set (exit 3); the others' results still come.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pipeline.endpoint import mcp_http, web
from pipeline.endpoint.http import HttpClient, Target, TlsVerifyError, parse_url
from pipeline.endpoint.mcp_http import Credentials, McpCheck
from pipeline.errors import CheckError, UsageError, one_line
from pipeline.findings import Finding, StageResult
from pipeline.rules import Rule

STAGE = "endpoint"
RULES: list[Rule] = [*mcp_http.RULES, *web.RULES]  # the HTTP rules; `rules()` adds the TLS checker's


@dataclass
class EndpointOptions:
    """Everything one run needs; the command fills it from the command line and the policy."""

    ca_file: str | None = None
    profile: str = "intermediate"
    timeout: float = 10.0  # per request (and per TLS connection)
    connect_timeout: float | None = None  # default: min(5, timeout)
    total_timeout: float | None = None  # per endpoint; default: max(30, 6 * timeout)
    expiry_warning_days: int = 30
    hsts_min_age: int = 15768000
    resolve: dict[tuple[str, int], str] = field(default_factory=dict)
    creds: Credentials = field(default_factory=Credentials)
    allow_hosts: set[str] = field(default_factory=set)
    http_port: int | None = None  # plain-HTTP redirect check; None: 80 when the endpoint is on 443; 0: off
    tls: bool = True
    workers: int = 64


def rules() -> list[Rule]:
    """Every rule this stage can report, for SARIF: the HTTP and MCP rules and the TLS rules."""
    from pipeline.endpoint.tls import RULES as TLS_RULES

    return [*RULES, *TLS_RULES]


def parse_resolve(entries: list[str]) -> dict[tuple[str, int], str]:
    """`HOST:PORT:ADDRESS` (curl's --resolve) into {(host, port): address}; IPv6 in brackets."""
    out: dict[tuple[str, int], str] = {}
    for entry in entries:
        parts = entry.split(":", 2)
        if len(parts) != 3 or not parts[0] or not parts[2]:
            raise UsageError(f"--resolve {entry!r}: expected HOST:PORT:ADDRESS", where="--resolve")
        host, port_text, address = parts
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"--resolve {entry!r}: bad port {port_text!r}", where="--resolve")
        out[(host.strip("[]").lower(), int(port_text))] = address.strip("[]")
    return out


def check_endpoints(
    urls: list[str],
    options: EndpointOptions,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[StageResult]:
    """Check every URL concurrently; results come back in the order given (duplicates once)."""
    unique = list(dict.fromkeys(urls))
    targets: list[Target] = []
    for url in unique:
        try:
            targets.append(parse_url(url))
        except ValueError as exc:
            raise UsageError(str(exc), where=url) from None
    if not targets:
        raise UsageError(
            "no endpoint to check: give URLs or set endpoint.urls in the policy", where="check-endpoint"
        )
    results: list[StageResult] = []
    workers = max(2, min(options.workers, 2 * len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="endpoint") as pool:
        jobs: list[tuple[Target, float, Future | None, Future]] = []
        for target in targets:
            deadline = time.monotonic() + _total(options)
            tls_job = pool.submit(_run_tls, target, options, deadline) if target.scheme == "https" else None
            http_job = pool.submit(_run_http, target, options, deadline)
            jobs.append((target, time.monotonic(), tls_job, http_job))
        for done, (target, started, tls_job, http_job) in enumerate(jobs, start=1):
            results.append(_assemble(target, options, tls_job, http_job, started))
            if progress is not None:
                progress(done, len(jobs), target.url)
    return results


def check_endpoint(url: str, options: EndpointOptions) -> StageResult:
    """One endpoint (a convenience over `check_endpoints`)."""
    return check_endpoints([url], options)[0]


# --- the parts ----------------------------------------------------------------------------------------


def _total(options: EndpointOptions) -> float:
    return options.total_timeout if options.total_timeout else max(30.0, 6 * options.timeout)


@dataclass
class _Part:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _run_tls(target: Target, options: EndpointOptions, deadline: float) -> _Part:
    part = _Part()
    if not options.tls:
        part.notes.append("TLS not checked (--no-tls)")
        return part
    try:
        from pipeline.endpoint.tls import check_tls

        result = check_tls(
            target.host,
            target.port,
            connect_address=options.resolve.get((target.host, target.port)),
            ca_file=options.ca_file,
            profile=options.profile,
            timeout=options.timeout,
            expiry_warning_days=options.expiry_warning_days,
            deadline=deadline,
        )
    except CheckError as exc:
        part.error = f"TLS: {exc}"
        return part
    except Exception as exc:  # fail closed: one line, this endpoint only
        part.error = f"TLS: internal error: {one_line(exc, limit=200)}"
        return part
    part.findings = list(result.findings)
    part.notes = [f"TLS: {n}" for n in result.notes]
    part.summary = dict(result.summary)
    return part


def _run_http(target: Target, options: EndpointOptions, deadline: float) -> _Part:
    part = _Part()
    try:
        _http_checks(target, options, deadline, part)
    except CheckError as exc:
        part.error = str(exc)
    except Exception as exc:  # fail closed: one line, this endpoint only
        part.error = f"internal error: {one_line(exc, limit=200)}"
    return part


def _http_checks(target: Target, options: EndpointOptions, deadline: float, part: _Part) -> None:
    client = HttpClient(
        resolve=options.resolve,
        ca_file=options.ca_file,
        timeout=options.timeout,
        connect_timeout=options.connect_timeout or min(5.0, options.timeout),
        deadline=deadline,
    )
    if target.scheme == "http":
        part.findings.append(web.not_https(target))
    check = McpCheck(client, target.url, options.creds, allowed_hosts=set(options.allow_hosts))
    try:
        try:
            check.run()
        except TlsVerifyError as exc:
            # Probe anyway so the HTTP-layer faults are seen, but never hand a token to an unverified server.
            client.verify = False
            client._context = None
            check = McpCheck(client, target.url, Credentials(), allowed_hosts=set(options.allow_hosts))
            check.notes.append(
                f"the certificate did not verify ({exc.message}): HTTP checks ran without verification "
                "and without sending any token"
            )
            check.run()
    except CheckError as exc:
        raise CheckError(check.scrub(exc.message), where=exc.where) from None
    finally:
        part.findings += check.findings
        part.notes += [check.scrub(n) for n in check.notes]
        part.summary.update(check.summary)
        part.summary["requests"] = client.requests_sent
    for server in check.auth_servers[:3]:
        _auth_server_tls(server, options, deadline, part)
    if target.scheme == "https":
        if check.first_response is not None:
            found, value = web.check_hsts(check.first_response, target.url, options.hsts_min_age)
            part.findings += found
            part.summary["hsts"] = value
        port = options.http_port
        if port is None:
            port = 80 if target.port == 443 else 0
            if not port:
                part.notes.append("plain-HTTP redirect not checked: give --http-port for a non-443 endpoint")
        if port:
            found, value = web.check_http_redirect(client, target, port)
            part.findings += found
            part.summary["plain_http"] = value


def _auth_server_tls(server: Target, options: EndpointOptions, deadline: float, part: _Part) -> None:
    """A7: the authorization server's endpoints must be HTTPS with sound TLS; its findings say whose they are."""
    if not options.tls:
        return
    checked = _run_tls(server, options, deadline)
    if checked.error:
        part.notes.append(f"authorization server {server.origin}: {checked.error}")
        return
    for finding in checked.findings:
        finding.title = f"authorization server {server.origin}: {finding.title}"
        part.findings.append(finding)
    part.summary["authorization_server_tls"] = "checked" if not checked.findings else "findings"


def _assemble(
    target: Target, options: EndpointOptions, tls_job: Future | None, http_job: Future, started: float
) -> StageResult:
    tls = tls_job.result() if tls_job is not None else None
    http = http_job.result()
    stage = StageResult(stage=f"{STAGE} {target.url}", rules=rules())
    stage.summary["url"] = target.url
    if tls is not None:
        shown = ("protocols", "certificate_days_left", f"compliant_{options.profile}")
        for key in shown:
            if key in tls.summary:
                stage.summary[f"tls_{key}"] = tls.summary[key]
        if tls.summary:
            stage.summary["tls"] = tls.summary
    elif target.scheme == "http":
        stage.summary["tls"] = "none (http)"
    stage.summary.update(http.summary)
    stage.summary["seconds"] = round(time.monotonic() - started, 2)
    for part in (tls, http):
        if part is None:
            continue
        for finding in part.findings:
            stage.add(finding)
        stage.notes += part.notes
    errors = [p.error for p in (tls, http) if p is not None and p.error]
    if errors:
        stage.error = "; ".join(errors)
    return stage
