"""2026-07-28 Streamable HTTP transport checks: request metadata headers, `_meta`, versions, no sessions.

Each check is a probe (one request, built here, sent by the caller's `send`) and a pure judge over the
`Answer` that came back. A judge returns `Issue`s: rule, severity, title, what the spec wants, the fix. The
probes never run a real tool: the `tools/call` probe names a tool that does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.endpoint import eras
from pipeline.endpoint.eras import Answer
from pipeline.endpoint.rules_mcp import (
    DISCOVER,
    ERROR_CODE,
    GET,
    HEADER_MISMATCH,
    META,
    NOTIFICATION,
    PROTOCOL_VERSION,
    SESSIONLESS,
    UNKNOWN_METHOD,
)
from pipeline.findings import Severity
from pipeline.rules import Rule


@dataclass(frozen=True)
class Issue:
    rule: Rule
    severity: Severity
    title: str
    wanted: str
    fix: str


@dataclass(frozen=True)
class Probe:
    """One modern request: a label for the evidence, the body and the headers (auth is the sender's)."""

    key: str
    label: str
    message: dict[str, Any]
    headers: dict[str, str]


Send = Callable[[Probe], Answer]
SendMethod = Callable[[str], Answer]  # GET or DELETE, as a legacy client would send it


def probes() -> list[Probe]:
    """The modern transport probes, in the order they run."""
    nonce = secrets.token_hex(4)
    listing = eras.modern_request("tools/list", request_id=21)
    call = eras.modern_request(
        "tools/call", {"name": f"mcp-harden-no-such-tool-{nonce}", "arguments": {}}, request_id=22
    )
    foreign = eras.modern_request("tools/list", request_id=23, meta=eras.modern_meta("1999-01-01"))
    mismatched = eras.modern_request("tools/list", request_id=24, meta=eras.modern_meta(eras.LEGACY))
    unknown = eras.modern_request(f"mcp-harden/no-such-method-{nonce}", request_id=25)
    no_caps = eras.modern_request("tools/list", request_id=26, meta={eras.META_VERSION: eras.MODERN})
    notification = {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": f"mcp-harden-{nonce}", "_meta": eras.modern_meta()},
    }
    return [
        Probe(
            "method-mismatch",
            "POST tools/list with Mcp-Method: server/discover",
            listing,
            {**eras.modern_headers(listing), "Mcp-Method": "server/discover"},
        ),
        Probe(
            "name-mismatch",
            "POST tools/call of a tool that does not exist, Mcp-Name naming another",
            call,
            {**eras.modern_headers(call), "Mcp-Name": f"mcp-harden-other-{nonce}"},
        ),
        Probe(
            "version-mismatch",
            f"POST tools/list with MCP-Protocol-Version: {eras.MODERN}, _meta protocolVersion {eras.LEGACY}",
            mismatched,
            eras.modern_headers(mismatched, eras.MODERN),
        ),
        Probe(
            "unsupported-version",
            "POST tools/list with protocol version 1999-01-01 (header and _meta)",
            foreign,
            eras.modern_headers(foreign, "1999-01-01"),
        ),
        Probe(
            "unknown-method", "POST of a method that does not exist", unknown, eras.modern_headers(unknown)
        ),
        Probe(
            "missing-meta",
            "POST tools/list whose _meta lacks io.modelcontextprotocol/clientCapabilities",
            no_caps,
            eras.modern_headers(no_caps),
        ),
        Probe(
            "session-echo",
            "POST tools/list with an Mcp-Session-Id header (a legacy client's)",
            listing,
            {**eras.modern_headers(listing), "Mcp-Session-Id": secrets.token_hex(16)},
        ),
        Probe(
            "notification",
            "POST a notification (notifications/cancelled)",
            notification,
            eras.modern_headers(notification),
        ),
    ]


def _rejected(answer: Answer, status: int, code: int) -> bool:
    return answer.status == status and answer.error_code == code


def judge_header_mismatch(key: str, answer: Answer) -> list[Issue]:
    """Mcp-Method / Mcp-Name / MCP-Protocol-Version disagreeing with the body → 400 with -32020."""
    what = {
        "method-mismatch": "Mcp-Method",
        "name-mismatch": "Mcp-Name",
        "version-mismatch": "MCP-Protocol-Version",
    }[key]
    if _rejected(answer, 400, eras.HEADER_MISMATCH):
        return []
    return [
        Issue(
            HEADER_MISMATCH,
            Severity.HIGH if answer.served else Severity.LOW,
            f"A request whose {what} header does not match its body gets {answer.brief()}",
            "400 Bad Request with JSON-RPC error -32020 (HeaderMismatch)",
            "Compare MCP-Protocol-Version, Mcp-Method and Mcp-Name with the body and refuse any mismatch "
            "with 400 and -32020 before acting on either.",
        )
    ]


def judge_unsupported_version(answer: Answer) -> list[Issue]:
    """An unsupported version → 400 with -32022 whose data.supported lists the versions served."""
    wanted = "400 Bad Request with JSON-RPC error -32022 (UnsupportedProtocolVersion) and data.supported"
    fix = "Refuse versions you do not implement with 400 and -32022, listing the supported ones."
    if not _rejected(answer, 400, eras.UNSUPPORTED_VERSION):
        return [
            Issue(
                PROTOCOL_VERSION,
                Severity.MEDIUM if answer.served else Severity.LOW,
                f"Protocol version 1999-01-01 gets {answer.brief()}",
                wanted,
                fix,
            )
        ]
    data = answer.error_data
    supported = data.get("supported") if isinstance(data, dict) else None
    if not isinstance(supported, list) or not supported or not all(isinstance(v, str) for v in supported):
        return [
            Issue(
                PROTOCOL_VERSION,
                Severity.LOW,
                "The UnsupportedProtocolVersion error does not list the supported versions",
                wanted,
                fix,
            )
        ]
    return []


def judge_unknown_method(answer: Answer) -> list[Issue]:
    if _rejected(answer, 404, eras.METHOD_NOT_FOUND):
        return []
    return [
        Issue(
            UNKNOWN_METHOD,
            Severity.LOW,
            f"A method the server does not implement gets {answer.brief()}",
            "404 Not Found with JSON-RPC error -32601 (Method not found)",
            "Answer unknown methods with 404 and -32601.",
        )
    ]


def judge_missing_meta(answer: Answer) -> list[Issue]:
    if _rejected(answer, 400, eras.INVALID_PARAMS):
        return []
    return [
        Issue(
            META,
            Severity.MEDIUM if answer.served else Severity.LOW,
            f"A request missing the required _meta clientCapabilities gets {answer.brief()}",
            "400 Bad Request with JSON-RPC error -32602 (Invalid params)",
            "Refuse requests whose _meta lacks protocolVersion or clientCapabilities with 400 and -32602.",
        )
    ]


def judge_sessionless(answers: Iterable[tuple[str, Answer]], sent_session: str | None = None) -> list[Issue]:
    """No Mcp-Session-Id minted on any modern answer, nor the client's echoed back."""
    for label, answer in answers:
        if answer.session_id:
            echoed = sent_session is not None and answer.session_id == sent_session
            return [
                Issue(
                    SESSIONLESS,
                    Severity.LOW,
                    f"A {eras.MODERN} answer {'echoes' if echoed else 'mints'} an Mcp-Session-Id ({label})",
                    "no Mcp-Session-Id header: this revision has no protocol sessions",
                    "Ignore Mcp-Session-Id on modern requests and never send one.",
                )
            ]
    return []


def judge_notification(answer: Answer) -> list[Issue]:
    """A notification is either accepted (202, no body) or refused with an HTTP error status."""
    if answer.status == 202 and not answer.body.strip():
        return []
    if answer.status >= 400:
        return []
    return [
        Issue(
            NOTIFICATION,
            Severity.LOW,
            f"A notification gets {answer.brief()}",
            "202 Accepted with no body (or an HTTP error status if it is not accepted)",
            "Answer accepted notifications with 202 and an empty body.",
        )
    ]


def judge_error_codes(answers: Iterable[tuple[str, Answer]]) -> list[Issue]:
    """Codes in -32020…-32099 the spec does not define, or the retired -32002 and -32042."""
    bad: dict[int, str] = {}
    for label, answer in answers:
        code = answer.error_code
        if code is None:
            continue
        if (-32099 <= code <= -32020 and code not in eras.DEFINED_RESERVED) or code in eras.RETIRED:
            bad.setdefault(code, label)
    return [
        Issue(
            ERROR_CODE,
            Severity.LOW,
            f"The server emits JSON-RPC error {code}, reserved by the MCP specification ({label})",
            "only the codes the specification defines in -32020…-32099; not the retired -32002 or -32042",
            "Use -32602 for a missing resource and codes outside -32768…-32000 for your own errors.",
        )
        for code, label in sorted(bad.items())
    ]


def judge_discover(answer: Answer) -> list[Issue]:
    """`server/discover` is a server MUST; its result lists supportedVersions and capabilities."""
    result = answer.result
    wanted = "200 with a DiscoverResult: supportedVersions (a list naming 2026-07-28) and capabilities"
    if result is None:
        return [
            Issue(
                DISCOVER,
                Severity.MEDIUM,
                f"server/discover gets {answer.brief()}",
                wanted,
                "Implement server/discover (the mcp SDK does by default).",
            )
        ]
    versions = result.get("supportedVersions")
    if (
        not isinstance(versions, list)
        or eras.MODERN not in versions
        or not isinstance(result.get("capabilities"), dict)
    ):
        return [
            Issue(
                DISCOVER,
                Severity.LOW,
                "The server/discover result lacks supportedVersions naming 2026-07-28 or capabilities",
                wanted,
                "Return supportedVersions and capabilities from server/discover.",
            )
        ]
    return []


def judge_legacy_methods(method: str, answer: Answer) -> list[Issue]:
    """A server that speaks only 2026-07-28 SHOULD answer GET and DELETE with 405."""
    if answer.status == 405:
        return []
    return [
        Issue(
            GET,
            Severity.LOW,
            f"{method} on a {eras.MODERN}-only endpoint gets {answer.status}, not 405",
            "405 Method Not Allowed (this revision has no GET stream and no sessions to DELETE)",
            f"Answer {method} on the MCP endpoint with 405.",
        )
    ]


@dataclass
class ModernRun:
    """Everything the modern checks saw: issues with their evidence, and the exchanges for the code check."""

    issues: list[tuple[Issue, str]]
    exchanges: list[tuple[str, Answer]]


def run(send: Send, send_method: SendMethod, *, discover: Answer, modern_only: bool) -> ModernRun:
    """Send every probe and judge it; `discover` is the answer the era probe already got."""
    out = ModernRun([], [("server/discover", discover)])

    def record(label: str, answer: Answer, found: list[Issue]) -> None:
        out.exchanges.append((label, answer))
        for issue in found:
            out.issues.append((issue, f"sent: {label}; got: {answer.brief()}; spec wants: {issue.wanted}"))

    record("POST server/discover", discover, judge_discover(discover))
    session_sent: str | None = None
    for probe in probes():
        answer = send(probe)
        if probe.key in ("method-mismatch", "name-mismatch", "version-mismatch"):
            found = judge_header_mismatch(probe.key, answer)
        elif probe.key == "unsupported-version":
            found = judge_unsupported_version(answer)
        elif probe.key == "unknown-method":
            found = judge_unknown_method(answer)
        elif probe.key == "missing-meta":
            found = judge_missing_meta(answer)
        elif probe.key == "notification":
            found = judge_notification(answer)
        else:
            session_sent = probe.headers.get("Mcp-Session-Id")
            found = []
        record(probe.label, answer, found)
    for issue in [*judge_sessionless(out.exchanges, session_sent), *judge_error_codes(out.exchanges)]:
        out.issues.append((issue, f"got: {issue.title}; spec wants: {issue.wanted}"))
    if modern_only:
        for method in ("GET", "DELETE"):
            answer = send_method(method)
            record(f"{method} as a {eras.LEGACY} client", answer, judge_legacy_methods(method, answer))
    return out
