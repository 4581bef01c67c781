"""Black-box checks of an MCP Streamable HTTP endpoint against the transport and authorization specs.

Each probe is one request; each finding's evidence says what was sent, what came back and what the spec wants.
Rows of the table in docs/mcp-endpoint.md: T1 Origin, T2 Host, T3 authentication on every request, T4 GET,
T5-T8 sessions, A1-A8 protected resource and authorization server metadata. A check that needs a token the
user did not give is a note ("not run: needs --token"), never a pass.
"""

from __future__ import annotations

from typing import Any

from pipeline.endpoint import auth, eras, metadata, sessions, tools_list, transport
from pipeline.endpoint.auth import AuthChecks
from pipeline.endpoint.eras import EraVerdict
from pipeline.endpoint.mcp_base import (
    PROTOCOL_VERSION,
    Credentials,
    NotMcpEndpoint,
    Probe,
    _bearer_params,
    is_loopback_host,
)
from pipeline.endpoint.metadata import MetadataChecks
from pipeline.endpoint.rules_mcp import GET as GET_RULE
from pipeline.endpoint.rules_mcp import PROTOCOL_VERSION as VERSION_RULE
from pipeline.endpoint.rules_mcp import RULES as ERA_RULES
from pipeline.endpoint.sessions import SessionChecks, session_id_bits
from pipeline.errors import CheckError
from pipeline.findings import Severity
from pipeline.rules import Rule

__all__ = [
    "RULES",
    "Credentials",
    "McpCheck",
    "NotMcpEndpoint",
    "Probe",
    "_bearer_params",
    "is_loopback_host",
    "session_id_bits",
]

RULES: list[Rule] = [
    *auth.RULES,
    *transport.RULES,
    *sessions.RULES,
    VERSION_RULE,
    GET_RULE,
    *metadata.RULES,
    *ERA_RULES,
]


class McpCheck(AuthChecks, SessionChecks, MetadataChecks):  # SessionChecks brings TransportChecks
    """Runs the probes against one endpoint: which eras it speaks, then each era's checks on what it speaks."""

    def run(self) -> None:
        first, discover = self._reachability()
        self.first_response = first.resp
        self._check_binding()
        auth_required = first.status in (401, 403) or discover.status in (401, 403)
        self.summary["authentication"] = "required" if auth_required else "none"
        token = self.creds.token
        challenged = first  # the unauthenticated answer: its challenge names the resource metadata
        if auth_required:
            challenged = first if first.status in (401, 403) else discover
            self._check_unauthenticated(challenged)
            for other, method in ((first, "initialize"), (discover, "server/discover")):
                if other.ok:
                    self._add(
                        "MH-MCP-AUTH-MISSING",
                        Severity.HIGH,
                        f"{method} is served without a token",
                        other.evidence("401 (T3: every inbound request is verified)"),
                        "Authenticate every request on the endpoint, whatever its era or method.",
                    )
        else:
            self._add(
                "MH-MCP-AUTH-MISSING",
                Severity.HIGH,
                "The endpoint serves MCP requests without any token",
                first.evidence("401 with WWW-Authenticate: Bearer resource_metadata=… (T3)"),
                "Put the endpoint behind OAuth 2.1 bearer authentication (MCP authorization), or keep it "
                "on loopback/stdio only.",
            )
            token = None
        usable = not auth_required or token is not None
        if auth_required and token is not None:
            first = self._post("valid --token", self._initialize(), token=token)
            discover = self._post("valid --token", eras.modern_request("server/discover"), token=token)
            if first.status in (401, 403) and discover.status in (401, 403):
                raise CheckError(
                    f"the --token given was refused ({first.resp.describe()[:200]}): check it is valid and "
                    "unexpired for this endpoint",
                    where=self.url,
                )
        verdict = self._eras(first, discover, known=usable)
        if usable:
            self._version = verdict.legacy_version or PROTOCOL_VERSION
        elif auth_required:
            self.notes.append(
                "not run: needs --token (which eras the server speaks, token in query string, Origin and Host "
                "with a valid token, sessions, protocol version, GET, the 2026-07-28 transport checks, tools)"
            )
        spoken = verdict.spoken or [eras.LEGACY]  # with no token, the era-neutral checks use initialize
        for era in spoken:
            self.era = era
            self._tag = f" ({era})" if len(spoken) > 1 else ""
            if auth_required:
                self._check_invalid_token()
            if auth_required and token is not None:
                self._check_query_token(token)
            self._check_audience(auth_required)
            self._check_expired(auth_required)
            self._check_scope(auth_required)
            self._check_origin(auth_required, token, usable)
            self._check_host(auth_required, token, usable)
            if usable and era == eras.LEGACY:
                self._check_sessions(auth_required, token)
            if usable and era == eras.MODERN:
                self._check_modern(token, discover, modern_only=not verdict.legacy)
            if usable:
                self._check_tools(token)
        self.era, self._tag = spoken[0], ""
        self._check_metadata(challenged, auth_required)  # not `first`: with a token that is a 200
        self._cleanup(token)

    def _reachability(self) -> tuple[Probe, Probe]:
        """The first two requests, without a token: a 2025-11-25 initialize and a 2026-07-28 discover."""
        probe = self._post("no token", self._initialize())
        resp = probe.resp
        self.first_response = resp
        if 300 <= resp.status < 400:
            location = resp.header("location") or "(no Location)"
            # Follow (bounded) only to tell a loop from a move; the endpoint itself is not checked elsewhere.
            self._post("no token", self._initialize(), follow=5)
            raise CheckError(
                f"the endpoint redirects ({resp.status}) to {location[:200]}: check that URL instead",
                where=self.url,
            )
        discover = self._post("no token", eras.modern_request("server/discover"))
        return probe, discover

    def _eras(self, first: Probe, discover: Probe, *, known: bool) -> EraVerdict:
        """Which eras the server speaks (from answers it could give: with a token where one is needed)."""
        verdict = eras.judge_eras(self._answer(discover), self._answer(first))
        self.eras_seen = verdict
        if not known:
            self.summary["eras"] = "unknown (needs --token)"
            return verdict
        self.summary["eras"] = verdict.describe()
        if verdict.supported:
            self.summary["supported_versions"] = ", ".join(verdict.supported)
        if not verdict.spoken:
            raise NotMcpEndpoint(
                "; ".join(verdict.evidence)
                + "; spec wants: a JSON-RPC answer to server/discover (2026-07-28) "
                "or initialize (2025-11-25)",
                where=self.url,
            )
        self.notes.append(f"the server speaks {verdict.describe()} ({'; '.join(verdict.evidence)})")
        return verdict

    def _list_tools(self, token: str | None) -> tuple[list[dict[str, Any]] | None, str]:
        label = "valid --token" if token else "no token"
        if self.era == eras.MODERN:
            probe = self._post(label, eras.modern_request("tools/list", request_id=31), token=token)
            return tools_list.tools_of(self._answer(probe).result), probe.resp.describe()
        init = self._post(label, self._initialize(30), token=token)
        sid = init.resp.header("mcp-session-id")
        if not init.ok:
            return None, init.resp.describe()
        notice = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        self._post(label, notice, token=token, session=sid, version=self._version)
        probe = self._post(
            label, self._call("tools/list", 31), token=token, session=sid, version=self._version
        )
        return tools_list.tools_of(self._answer(probe).result), probe.resp.describe()

    def _listing(self, token: str | None) -> tuple[list[dict[str, Any]] | None, str]:
        """One tools listing on a connection of its own, shared with no other request: the list must not vary
        per connection, so the two that are compared come over two."""
        self.client.close()
        try:
            return self._list_tools(token)
        finally:
            self.client.close()

    def _check_tools(self, token: str | None) -> None:
        """Tool names, a stable order across two connections, x-mcp-header and $ref (server/tools)."""
        first, got = self._listing(token)
        if first is None:
            self.notes.append(f"tools not checked ({self.era}): tools/list got {got[:120]}")
            return
        second, _ = self._listing(token)
        self.summary[f"tools_{self.era}"] = len(first)
        for issue in tools_list.judge_tools(first, second):
            self._issue(issue, f"sent: tools/list ({self.era}), twice; spec wants: {issue.wanted}")
