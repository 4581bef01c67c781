"""Transport checks of the 2025-11-25 era and those common to both: bind address, Origin, Host, the protocol
version header and GET; the 2026-07-28 transport checks (`modern`) are run from here too."""

from __future__ import annotations

from pipeline.endpoint import eras, modern
from pipeline.endpoint.eras import Answer
from pipeline.endpoint.http import tcp_accepts
from pipeline.endpoint.mcp_base import (
    FOREIGN_HOST,
    FOREIGN_ORIGIN,
    SPEC,
    McpBase,
    Probe,
    _other_port,
    is_loopback_host,
)
from pipeline.findings import Severity
from pipeline.rules import Rule, declare

RULES: list[Rule] = [
    declare(
        "MH-MCP-ORIGIN",
        name="mcp-origin",
        stage="check-endpoint",
        severity=Severity.LOW,
        summary="The endpoint does not validate the Origin header as required.",
        standard=f"{SPEC}/basic/transports",
        fix="Servers MUST validate Origin and answer 403 to an invalid one (T1): DNS rebinding protection.",
    ),
    declare(
        "MH-MCP-HOST",
        name="mcp-host",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="A request with a foreign Host header is served.",
        standard=f"{SPEC}/basic/transports",
        fix="A foreign Host should get 421 or 403 (T2): DNS rebinding protection.",
    ),
    declare(
        "MH-MCP-BIND",
        name="mcp-bind",
        stage="check-endpoint",
        severity=Severity.MEDIUM,
        summary="A server reached on loopback also listens on the machine's network address.",
        standard=f"{SPEC}/basic/transports",
        fix="Local servers SHOULD bind only to localhost (T2).",
    ),
]


class TransportChecks(McpBase):
    def _check_binding(self) -> None:
        """T2: a server reached on loopback should listen on loopback only. A server bound to 127.0.0.1
        refuses 127.0.0.2; one bound to every interface (0.0.0.0, ::) accepts it. The probe never leaves
        loopback, so it is safe anywhere, and it catches the usual fault: the wildcard bind."""
        connect = self.client.resolve.get((self.target.host, self.target.port), self.target.host)
        if not is_loopback_host(connect):
            return
        other = "127.0.0.3" if connect == "127.0.0.2" else "127.0.0.2"
        timeout = min(1.0, self.client.connect_timeout)
        wide = tcp_accepts(other, self.target.port, timeout)
        self.summary["listens"] = "every interface" if wide else "loopback only"
        if wide:
            self._add(
                "MH-MCP-BIND",
                Severity.MEDIUM,
                f"The local server listens on every interface, not only on {connect}",
                f"sent: TCP connect to {other}:{self.target.port} (a loopback address a server bound to "
                f"{connect} refuses); got: accepted, so it is bound to all interfaces and reachable from the "
                "network; spec wants: local servers SHOULD bind only to localhost (T2)",
                "Bind a local server to 127.0.0.1 (or ::1) only; in a container, publish the port on "
                "127.0.0.1 (docker run -p 127.0.0.1:PORT:PORT).",
            )

    def _check_origin(self, auth_required: bool, token: str | None, usable: bool) -> None:
        wanted = "403 (T1: an invalid Origin MUST get 403)"
        fix = "Validate Origin against an allowlist of this server's own origins and answer others with 403."
        if auth_required:
            probe = self._post("no token", self._hello(), origin=FOREIGN_ORIGIN)
            if probe.status == 401:
                self._add(
                    "MH-MCP-ORIGIN",
                    Severity.LOW,
                    "With no token, a foreign Origin gets 401, not 403 (authentication runs first)",
                    probe.evidence(wanted),
                    "Check Origin before authentication.",
                )
        if not usable:
            return
        label = "valid --token" if token else "no token"
        other_local = f"http://localhost:{_other_port(self.target.port)}"
        for origin, what in (
            (FOREIGN_ORIGIN, "a foreign Origin"),
            (other_local, "another local web app's Origin"),
        ):
            probe = self._post(label, self._hello(), token=token, origin=origin)
            if probe.ok:
                self._add(
                    "MH-MCP-ORIGIN",
                    Severity.HIGH,
                    f"{what[0].upper()}{what[1:]} ({origin}) is accepted",
                    probe.evidence(wanted),
                    fix,
                )
        own = self.target.origin
        probe = self._post(label, self._hello(), token=token, origin=own)
        if not probe.ok:
            self._add(
                "MH-MCP-ORIGIN",
                Severity.MEDIUM,
                f"The server's own Origin ({own}) is refused",
                probe.evidence("200: the endpoint's own origin is valid"),
                "Allow the server's own https origin; an allowlist of http:// loopback origins under TLS "
                "both refuses the right origin and admits other local web apps.",
            )

    def _check_host(self, auth_required: bool, token: str | None, usable: bool) -> None:
        if not usable:
            probe = self._post("no token", self._hello(), host=FOREIGN_HOST)
            if probe.status in (421, 403, 400):
                return
            self.notes.append("not run: needs --token (foreign Host header with a valid token)")
            return
        probe = self._post(
            "valid --token" if token else "no token", self._hello(), token=token, host=FOREIGN_HOST
        )
        if probe.ok:
            local = self.target.scheme == "http" or is_loopback_host(self.target.host)
            self._add(
                "MH-MCP-HOST",
                Severity.HIGH if local else Severity.MEDIUM,
                f"A request with Host: {FOREIGN_HOST} is served",
                probe.evidence("421 or 403 (T2: DNS rebinding protection)"),
                "Validate the Host header against the names the server is deployed under "
                "(mcp SDK: TransportSecuritySettings(allowed_hosts=[…]); binding 0.0.0.0 turns it off).",
            )

    def _check_version(self, token: str | None, session: str | None) -> None:
        label = "valid --token" if token else "no token"
        probe = self._post(
            label, self._call("tools/list", 3), token=token, session=session, version="1999-01-01"
        )
        if probe.status != 400:
            self._add(
                "MH-MCP-PROTOCOL-VERSION",
                Severity.LOW,
                f"MCP-Protocol-Version: 1999-01-01 gets {probe.status}, not 400",
                probe.evidence("400 (T7: an unsupported version MUST get 400)"),
                "Refuse unsupported MCP-Protocol-Version values with 400.",
            )

    def _check_get(self, token: str | None, session: str | None) -> None:
        label = "valid --token" if token else "no token"
        base = {**self._auth(token), "MCP-Protocol-Version": self._version}
        if session:
            base["Mcp-Session-Id"] = session
        probe = self._request(
            "GET", f"{label}, Accept: text/event-stream", {**base, "Accept": "text/event-stream"}, stream=True
        )
        ctype = (probe.resp.header("content-type") or "").lower()
        self.summary["get"] = f"{probe.status} {ctype}".strip()
        if probe.ok and not ctype.startswith("text/event-stream"):
            self._add(
                "MH-MCP-GET",
                Severity.LOW,
                f"GET answers {probe.status} with {ctype or 'no content type'}",
                probe.evidence("200 text/event-stream, or 405 (T4)"),
                "Serve an SSE stream on GET, or answer 405.",
            )
        probe = self._request(
            "GET", f"{label}, Accept: application/json", {**base, "Accept": "application/json"}
        )
        if probe.ok:
            self._add(
                "MH-MCP-GET",
                Severity.LOW,
                "GET without Accept: text/event-stream is served",
                probe.evidence("405, or 406 Not Acceptable (the client MUST accept text/event-stream)"),
                "Answer GET without text/event-stream in Accept with 405 or 406.",
            )

    # --- 2026-07-28 transport and tools ----------------------------------------------------------------

    def _check_modern(self, token: str | None, discover: Probe, *, modern_only: bool) -> None:
        label = "valid --token" if token else "no token"

        def send(probe: modern.Probe) -> Answer:
            sent = self._post(label, probe.message, token=token, extra=probe.headers)
            return self._answer(sent)

        def send_method(method: str) -> Answer:
            headers = {
                **self._auth(token),
                "Accept": "text/event-stream",
                "MCP-Protocol-Version": eras.LEGACY,
            }
            return self._answer(self._request(method, label, headers, stream=method == "GET"))

        outcome = modern.run(send, send_method, discover=self._answer(discover), modern_only=modern_only)
        for issue, evidence in outcome.issues:
            self._issue(issue, f"{evidence} ({label})")
        self.summary["modern_transport"] = (
            "checked" if not outcome.issues else f"{len(outcome.issues)} findings"
        )
