"""2025-11-25 session checks: IDs random and well formed, not a credential, bound to the user, their lifecycle;
and ending the sessions the checker opened."""

from __future__ import annotations

import math
import re
import secrets

from pipeline.endpoint.mcp_base import (
    MIN_SESSION_BITS,
    SPEC,
    WEAK_SESSION_BITS,
    Probe,
)
from pipeline.endpoint.transport import TransportChecks
from pipeline.errors import CheckError
from pipeline.findings import Severity
from pipeline.rules import Rule, declare

RULES: list[Rule] = [
    declare(
        "MH-MCP-SESSION-ID",
        name="mcp-session-id",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="Session IDs are guessable or malformed.",
        standard=f"{SPEC}/basic/security_best_practices",
        fix="Session IDs SHOULD be cryptographically secure, MUST be visible ASCII, MUST be non-deterministic (T5).",
    ),
    declare(
        "MH-MCP-SESSION-AUTH",
        name="mcp-session-auth",
        stage="check-endpoint",
        severity=Severity.CRITICAL,
        summary="A session ID is accepted without a token.",
        standard=f"{SPEC}/basic/security_best_practices",
        fix="Servers MUST NOT use sessions for authentication (T8).",
    ),
    declare(
        "MH-MCP-SESSION-BIND",
        name="mcp-session-binding",
        stage="check-endpoint",
        severity=Severity.HIGH,
        summary="Another user's token can use a session.",
        standard=f"{SPEC}/basic/security_best_practices",
        fix="Servers SHOULD bind session IDs to the user (T8).",
    ),
    declare(
        "MH-MCP-SESSION-LIFECYCLE",
        name="mcp-session-lifecycle",
        stage="check-endpoint",
        severity=Severity.CRITICAL,
        summary="Missing, unknown or terminated session IDs are not answered 400/404.",
        standard=f"{SPEC}/basic/transports",
        fix="Requests without a required session ID SHOULD get 400; unknown or terminated sessions MUST get 404 (T6).",
    ),
]


def session_id_bits(a: str, b: str) -> int:
    """An upper bound on the randomness in session IDs like `a` and `b`: the bits each varying character can
    carry (by the alphabet seen), over the characters outside their common prefix and suffix."""
    prefix = len(_common_prefix(a, b))
    suffix = len(_common_prefix(a[prefix:][::-1], b[prefix:][::-1]))
    varying = min(len(a), len(b)) - prefix - suffix
    chars = set(a + b) - {"-"}
    if chars <= set("0123456789"):
        alphabet = 10
    elif chars <= set("0123456789abcdef") or chars <= set("0123456789ABCDEF"):
        alphabet = 16
    elif chars <= set("0123456789abcdefghijklmnopqrstuvwxyz") or chars <= set(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    ):
        alphabet = 36
    elif chars <= set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"):
        alphabet = 64
    else:
        alphabet = 94
    dashes = sum(1 for c in a[prefix : len(a) - suffix] if c == "-")
    if _numeric_neighbours(a, b):
        return 0
    return max(0, int((varying - dashes) * math.log2(alphabet)))


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def _numeric_neighbours(a: str, b: str) -> bool:
    """Counters and timestamps: the numbers in the two IDs differ by little."""
    na, nb = re.findall(r"\d+", a), re.findall(r"\d+", b)
    if not na or len(na) != len(nb) or re.sub(r"\d+", "#", a) != re.sub(r"\d+", "#", b):
        return False
    if len(re.sub(r"\d+", "", a)) > 8:  # mostly non-digits: random text with digits in it
        return False
    return all(abs(int(x) - int(y)) < 10**6 for x, y in zip(na, nb, strict=False))


class SessionChecks(TransportChecks):  # the legacy version and GET checks run inside a session
    def _check_sessions(self, auth_required: bool, token: str | None) -> None:
        label = "valid --token" if token else "no token"
        first = self._post(label, self._initialize(10), token=token)
        second = self._post(label, self._initialize(11), token=token)
        ids = [p.resp.header("mcp-session-id") for p in (first, second)]
        if not first.ok:
            self.notes.append(f"session checks not run: initialize got {first.resp.describe()[:120]}")
            return
        if not ids[0] or not ids[1]:
            self.summary["sessions"] = "none (stateless)"
            self.notes.append("the server issues no Mcp-Session-Id (stateless): session checks do not apply")
            self._check_version(token, None)
            self._check_get(token, None)
            return
        s1, s2 = ids[0], ids[1]
        self.summary["sessions"] = "stateful"
        self._check_session_ids(s1, s2, first, second)
        self._post(
            label,
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            token=token,
            session=s1,
            version=self._version,
        )
        baseline = self._post(label, self._call("tools/list"), token=token, session=s1, version=self._version)
        if not baseline.ok:
            self.notes.append(
                f"session checks not run: tools/list in a fresh session got {baseline.resp.describe()[:120]}"
            )
            return
        lifecycle = "MH-MCP-SESSION-LIFECYCLE"
        if auth_required:
            probe = self._post("no token", self._call("tools/list"), session=s1, version=self._version)
            if probe.ok:
                self._add(
                    "MH-MCP-SESSION-AUTH",
                    Severity.CRITICAL,
                    "A session ID is accepted without a token",
                    probe.evidence("401 (T8: sessions MUST NOT be used for authentication)"),
                    "Authenticate every request; a session ID is not a credential.",
                )
            if self.creds.second_token:
                probe = self._post(
                    "--second-token (another user)",
                    self._call("tools/list"),
                    token=self.creds.second_token,
                    session=s1,
                    version=self._version,
                )
                if probe.ok:
                    self._add(
                        "MH-MCP-SESSION-BIND",
                        Severity.HIGH,
                        "Another user's token can use this user's session",
                        probe.evidence("404 or 403 (T8: bind session IDs to the user)"),
                        "Record who created each session and refuse it to anyone else.",
                    )
            else:
                self.notes.append("not run: needs --second-token (another user's token: session binding)")
        probe = self._post(label, self._call("tools/list"), token=token, version=self._version)
        if probe.ok or probe.status >= 500:
            self._add(
                lifecycle,
                Severity.LOW,
                f"A request without the session ID gets {probe.status}, not 400",
                probe.evidence("400 (T6: SHOULD)"),
                "Refuse requests without the session ID with 400.",
            )
        unknown = secrets.token_hex(16)
        probe = self._post(
            label, self._call("tools/list"), token=token, session=unknown, version=self._version
        )
        if probe.status != 404:
            self._add(
                lifecycle,
                Severity.MEDIUM if probe.ok else Severity.LOW,
                f"An unknown session ID gets {probe.status}, not 404",
                probe.evidence("404 (T6: MUST)"),
                "Answer unknown or expired session IDs with 404.",
            )
        self._check_version(token, s1)
        self._check_get(token, s1)
        headers = {**self._auth(token), "Mcp-Session-Id": s2, "MCP-Protocol-Version": self._version}
        deleted = self._request("DELETE", f"{label}, with a session ID", headers)
        if deleted.status == 405:
            self.notes.append(
                "the server does not let clients end sessions (DELETE → 405): reuse check not run"
            )
        elif deleted.ok:
            self._sessions = [s for s in self._sessions if s != s2]
            probe = self._post(
                label, self._call("tools/list"), token=token, session=s2, version=self._version
            )
            probe.sent += " (ended by DELETE)"
            if probe.status != 404:
                self._add(
                    lifecycle,
                    Severity.MEDIUM if probe.ok else Severity.LOW,
                    f"A session ended by DELETE still gets {probe.status}, not 404",
                    probe.evidence("404 (T6: a terminated session MUST get 404)"),
                    "Forget sessions on DELETE and answer their IDs with 404.",
                )
        else:
            self.notes.append(f"DELETE of a session got {deleted.status}: reuse-after-DELETE check not run")

    def _check_session_ids(self, s1: str, s2: str, first: Probe, second: Probe) -> None:
        rule = "MH-MCP-SESSION-ID"
        evidence = (
            f"sent: two POST initialize; got session IDs {s1[:80]!r} and {s2[:80]!r}; spec wants: "
            "visible ASCII, ≥ 122 bits of randomness, no pattern (T5)"
        )
        if not all(0x21 <= ord(c) <= 0x7E for c in s1 + s2):
            self._add(
                rule,
                Severity.MEDIUM,
                "A session ID has characters outside visible ASCII",
                evidence,
                "Use visible ASCII (0x21-0x7E) only, e.g. a UUID4 or base64url of 16+ random bytes.",
            )
        if s1 == s2:
            self._add(
                rule,
                Severity.HIGH,
                "Two initializations got the same session ID",
                evidence,
                "Make a new random session ID for each session.",
            )
            return
        bits = session_id_bits(s1, s2)
        self.summary["session_id_bits"] = bits
        if bits < WEAK_SESSION_BITS:
            self._add(
                rule,
                Severity.HIGH,
                f"Session IDs carry at most ~{bits} bits of randomness (guessable)",
                evidence,
                "Make session IDs from a CSPRNG: 16+ random bytes (secrets.token_urlsafe(16)).",
            )
        elif bits < MIN_SESSION_BITS:
            self._add(
                rule,
                Severity.LOW,
                f"Session IDs carry at most ~{bits} bits of randomness (< 122)",
                evidence,
                "Make session IDs from a CSPRNG with at least 122 random bits.",
            )

    def _cleanup(self, token: str | None) -> None:
        """End the sessions the checker opened (best effort, bounded)."""
        for sid in self._sessions[:8]:
            headers = {**self._auth(token), "Mcp-Session-Id": sid, "MCP-Protocol-Version": self._version}
            try:
                self.client.request("DELETE", self.url, headers=headers)
            except CheckError:
                break
        self._sessions.clear()
