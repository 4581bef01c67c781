"""Authentication checks (MCP authorization, both eras): a token on every request, the 401 challenge, invalid,
expired, foreign-audience and low-scope tokens, no token in the query string."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from pipeline.endpoint.mcp_base import (
    SPEC,
    McpBase,
    Probe,
    _bearer_params,
)
from pipeline.errors import CheckError
from pipeline.findings import Severity
from pipeline.rules import Rule, declare

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
]


class AuthChecks(McpBase):
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
            self._check_offline_access(params.get("scope"), "POST without a token: WWW-Authenticate scope")
            if "scope" not in params:
                self._add(
                    "MH-MCP-WWW-AUTH",
                    Severity.LOW,
                    "The 401 challenge carries no scope",
                    first.evidence(wanted),
                    'Add scope="…" to the challenge (SHOULD, 2025-11-25).',
                )
        # T3: every method, not just initialize.
        unauthenticated: list[tuple[str, Callable[[], Probe]]] = [
            ("tools/list", lambda: self._post("no token", self._call("tools/list"), version=self._version)),
            ("GET", lambda: self._request("GET", "no token", {"Accept": "text/event-stream"}, stream=True)),
            ("DELETE", lambda: self._request("DELETE", "no token", {})),
        ]
        for label, probe in unauthenticated:
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
        probe = self._post("a garbage bearer token", self._hello(), token=garbage)
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
            probe = self._post("", self._hello(), url=url)
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
            self._hello(),
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
            self._add(
                "MH-MCP-AUDIENCE",
                Severity.LOW,
                f"A token issued for another resource gets {probe.status}, not 401",
                probe.evidence("401 (invalid tokens MUST receive a HTTP 401 response)"),
                'Answer tokens for another audience with 401 and error="invalid_token".',
            )

    def _check_expired(self, auth_required: bool) -> None:
        if not auth_required:
            return
        if not self.creds.expired_token:
            self.notes.append("not run: needs --expired-token (a token for this server past its expiry)")
            return
        probe = self._post("--expired-token (past its expiry)", self._hello(), token=self.creds.expired_token)
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
            self._add(
                "MH-MCP-TOKEN-INVALID",
                Severity.LOW,
                f"An expired token gets {probe.status}, not 401",
                probe.evidence("401 (expired tokens MUST receive a HTTP 401 response)"),
                'Answer expired tokens with 401 and error="invalid_token".',
            )

    def _check_scope(self, auth_required: bool) -> None:
        if not auth_required:
            return
        if not self.creds.low_scope_token:
            self.notes.append("not run: needs --low-scope-token (a valid token without the required scopes)")
            return
        probe = self._post(
            "--low-scope-token (valid, without the required scopes)",
            self._hello(),
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
