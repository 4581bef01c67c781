"""check-endpoint: TLS and MCP Streamable HTTP hardening of deployed endpoints, many at once.

One `StageResult` per endpoint, named `endpoint <url>`. TLS (`pipeline.endpoint.tls`) and the HTTP checks
(`mcp_http`, `web`) of every endpoint run concurrently under one deadline per endpoint, which starts when the
endpoint's first check starts (not when it is queued: the last endpoint of a fleet loses no time waiting).
Endpoints start in turns across their hosts (`dispatch_order`): a list grouped by host still spreads its load.
The run's TLS client contexts are built once and shared (`contexts.py`). Each endpoint's HTTP probes keep
their connection alive from one request to the next (`http.py` says when not); no connection is shared
between endpoints. An endpoint that cannot be checked gets `error` set (exit 3); the others' results still come.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin

from pipeline.endpoint import mcp_http, web
from pipeline.endpoint.contexts import Contexts
from pipeline.endpoint.http import HttpClient, Response, Target, TlsVerifyError, parse_url
from pipeline.endpoint.mcp_http import Credentials, McpCheck, NotMcpEndpoint
from pipeline.endpoint.rules_mcp import NOT_ENDPOINT
from pipeline.errors import CheckError, UsageError, one_line
from pipeline.findings import Finding, Location, StageResult
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
    tls_workers: int = 12  # handshakes in flight per endpoint; `check_endpoints` lowers it for a fleet
    mcp: bool = True  # False (--no-mcp): TLS and the HTTP layer (HSTS, redirects) only
    workers: int = 64
    keep_alive: bool = True  # False: a new connection for every HTTP request (as before keep-alive)
    contexts: Contexts | None = None  # set by `check_endpoints`: one set per run, trusting `ca_file`


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
    # Many endpoints already keep every worker busy: fewer handshake threads per endpoint then means less
    # switching between threads for the same work (one endpoint alone keeps the full parallelism).
    options = replace(
        options,
        tls_workers=max(2, min(options.tls_workers, 96 // len(targets))),
        contexts=Contexts(options.ca_file),
    )
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="endpoint") as pool:
        started: dict[int, tuple[Target, _Clock, Future[Any] | None, Future[Any]]] = {}
        for index in dispatch_order(targets):
            target, clock = targets[index], _Clock(_total(options))
            tls_job = pool.submit(clock.run, _run_tls, target, options) if target.scheme == "https" else None
            http_job = pool.submit(clock.run, _run_http, target, options)
            started[index] = (target, clock, tls_job, http_job)
        jobs = [started[index] for index in range(len(targets))]
        for done, (target, clock, tls_job, http_job) in enumerate(jobs, start=1):
            results.append(_assemble(target, options, tls_job, http_job, clock))
            if progress is not None:
                progress(done, len(jobs), target.url)
    return results


def dispatch_order(targets: list[Target]) -> list[int]:
    """The order the endpoints start in, as indexes into `targets`: one endpoint of each host in turn, each
    host's own in the order given. A list written host by host (one gateway's hundred servers, then the
    next's) would otherwise put every worker on one host while the others wait, and that host's load, not
    the checker, would set the pace."""
    by_host: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        by_host.setdefault(target.host.lower(), []).append(index)
    rounds = itertools.zip_longest(*by_host.values())
    return [index for row in rounds for index in row if index is not None]


def check_endpoint(url: str, options: EndpointOptions) -> StageResult:
    """One endpoint (a convenience over `check_endpoints`)."""
    return check_endpoints([url], options)[0]


# --- the parts ----------------------------------------------------------------------------------------


def _total(options: EndpointOptions) -> float:
    return options.total_timeout if options.total_timeout else max(30.0, 6 * options.timeout)


class _Clock:
    """One endpoint's time budget, started by the first of its checks to run."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.started: float | None = None
        self._lock = threading.Lock()

    def deadline(self) -> float:
        with self._lock:
            if self.started is None:
                self.started = time.monotonic()
            return self.started + self.budget

    def run(
        self,
        check: Callable[[Target, EndpointOptions, float], _Part],
        target: Target,
        options: EndpointOptions,
    ) -> _Part:
        return check(target, options, self.deadline())


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
            workers=options.tls_workers,
            contexts=options.contexts,
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
    client = _client(options, deadline)
    try:
        if target.scheme == "http":
            moved = _plain_http(client, target, part)
            if moved is not None:
                client.close()
                _follow_to_https(moved, options, deadline, part)
                return part
        _http_checks(target, options, deadline, part, client)
    except CheckError as exc:
        part.error = str(exc)
    except Exception as exc:  # fail closed: one line, this endpoint only
        part.error = f"internal error: {one_line(exc, limit=200)}"
    finally:
        client.close()
    return part


def _client(options: EndpointOptions, deadline: float) -> HttpClient:
    """One endpoint's client: its kept connections are its own, and end with `close()`."""
    return HttpClient(
        resolve=options.resolve,
        ca_file=options.ca_file,
        contexts=options.contexts,
        timeout=options.timeout,
        connect_timeout=options.connect_timeout or min(5.0, options.timeout),
        deadline=deadline,
        keep_alive=options.keep_alive,
    )


def _plain_http(client: HttpClient, target: Target, part: _Part) -> Target | None:
    """An http:// URL: a redirect to https:// on the same host is judged as a redirect (301/308 pass) and
    its target returned to be checked; anything else is plain HTTP (a finding) and checked as it is."""
    try:
        resp = client.request("GET", target.url, headers={"Accept": "application/json, text/event-stream"})
    except CheckError:
        resp = None  # the POST probes will say what is wrong
    location = resp.header("location") if resp is not None else None
    if resp is None or not 300 <= resp.status < 400 or not location:
        part.findings.append(web.not_https(target))
        return None
    found, value = web.judge_redirect(resp, target.url, target)
    part.findings += found
    part.summary["plain_http"] = value
    try:
        moved = parse_url(urljoin(target.url, location.strip()))
    except ValueError:
        moved = None
    if moved is None or moved.scheme != "https" or moved.host != target.host:
        # Never carry the user's tokens to a host they did not name; the redirect's finding says where.
        part.notes.append(f"redirect to {location[:120]} not followed (only https:// on the same host is)")
        if not found:
            part.findings.append(web.not_https(target))
        return None
    part.notes.append(f"{target.url} redirects to {moved.url}: checked that URL")
    part.summary["redirected_to"] = moved.url
    return moved


def _follow_to_https(moved: Target, options: EndpointOptions, deadline: float, part: _Part) -> None:
    """Check the https:// target of a plain-HTTP redirect: its TLS and its HTTP and MCP layers."""
    tls = _run_tls(moved, options, deadline)
    part.findings += tls.findings
    part.notes += tls.notes
    part.summary["tls_of_redirect_target"] = tls.summary
    http = _Part()
    client = _client(options, deadline)
    try:
        _http_checks(moved, options, deadline, http, client, plain_port=False)
    finally:
        client.close()
        part.findings += http.findings
        part.notes += http.notes
        part.summary.update(http.summary)
    errors = [e for e in (tls.error, http.error) if e]
    if errors:
        part.error = "; ".join(errors)


def _http_checks(
    target: Target,
    options: EndpointOptions,
    deadline: float,
    part: _Part,
    client: HttpClient,
    *,
    plain_port: bool = True,
) -> None:
    """The MCP layer and the web layer (HSTS, the plain-HTTP port). Each is judged whatever happens to the
    other: an MCP failure is reported after HSTS and the redirect have been judged."""
    mcp_error: CheckError | None = None
    first: Response | None = None
    check: McpCheck | None = None
    if options.mcp:
        check = McpCheck(client, target.url, options.creds, allowed_hosts=set(options.allow_hosts))
        try:
            check = _run_mcp(check, client, target, options)
        except NotMcpEndpoint as exc:
            part.findings.append(_not_an_endpoint(target, check.scrub(exc.message)))
            part.summary["mcp"] = "not an MCP endpoint"
        except CheckError as exc:
            mcp_error = CheckError(check.scrub(exc.message), where=exc.where)
        finally:
            part.findings += check.findings
            part.notes += [check.scrub(n) for n in check.notes]
            part.summary.update(check.summary)
        first = check.first_response
        if first is None or part.summary.get("mcp") == "not an MCP endpoint":
            # The web layer is judged on what a browser would get: a GET of the URL.
            first = _web_answer(client, target, part) or first
    else:
        part.notes.append("MCP layer not checked (--no-mcp)")
        part.summary["mcp"] = "not checked (--no-mcp)"
        first = _web_answer(client, target, part)
        if first is None and mcp_error is None:
            raise CheckError("no HTTP answer to GET", where=target.url)
    if check is not None and mcp_error is None:
        for server in check.auth_servers[:3]:
            _auth_server_tls(server, options, deadline, part)
    if target.scheme == "https":
        if first is not None:
            found, value = web.check_hsts(first, target.url, options.hsts_min_age)
            part.findings += found
            part.summary["hsts"] = value
        port = options.http_port if plain_port else 0
        if port is None:
            port = 80 if target.port == 443 else 0
            if not port:
                part.notes.append("plain-HTTP redirect not checked: give --http-port for a non-443 endpoint")
        if port:
            try:
                found, value = web.check_http_redirect(client, target, port)
                part.findings += found
                part.summary["plain_http"] = value
            except CheckError as exc:
                part.notes.append(f"plain-HTTP port {port}: {exc.message[:120]}")
    part.summary["requests"] = client.requests_sent
    if mcp_error is not None:
        raise mcp_error


def _run_mcp(check: McpCheck, client: HttpClient, target: Target, options: EndpointOptions) -> McpCheck:
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
    return check


def _web_answer(client: HttpClient, target: Target, part: _Part) -> Response | None:
    """A plain GET of the URL, for the web layer of a server that is not (or is not checked as) MCP."""
    try:
        return client.request("GET", target.url, headers={"Accept": "text/html, application/json, */*"})
    except TlsVerifyError:
        client.verify = False
        client._context = None
        return client.request("GET", target.url, headers={"Accept": "text/html, application/json, */*"})
    except CheckError as exc:
        part.notes.append(f"GET {target.url}: {exc.message[:120]}")
        return None


def _not_an_endpoint(target: Target, evidence: str) -> Finding:
    return NOT_ENDPOINT.finding(
        "Not an MCP endpoint: it answers neither server/discover (2026-07-28) nor initialize (2025-11-25)",
        location=Location(url=target.url),
        evidence=f"sent: {evidence}",
    )


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
    target: Target,
    options: EndpointOptions,
    tls_job: Future[Any] | None,
    http_job: Future[Any],
    clock: _Clock,
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
    stage.summary["seconds"] = round(time.monotonic() - (clock.started or time.monotonic()), 2)
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
