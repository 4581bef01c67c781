"""The TLS half of check-endpoint: protocols, cipher suites, key exchange, certificate, Mozilla profiles.

`check_tls` probes one endpoint in two short parallel phases. Phase 1: one hand-built ClientHello per protocol
(SSLv3 ... TLS 1.3, see `hello.py`), one Python `ssl` handshake per protocol with a probing context that can
offer TLS 1.0/1.1 (security level 0, certificate not verified), and two verifying handshakes (as a normal
client: the system store or `ca_file` with the hostname; and trust only: time and key strength ignored, so an
unknown root or a missing intermediate is seen even when the certificate has also expired). Phase 2, for each
protocol accepted: the suites, enumerated with hand-built hellos (offer a list, read the server's choice,
remove it, repeat), which also sees 3DES, RC4, NULL, export and anonymous suites and the DH group size.
The certificate is read with `cryptography`. No handshake secrets are derived; nothing is sent after a hello.
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pipeline.endpoint import hello
from pipeline.endpoint.contexts import Contexts
from pipeline.endpoint.profiles import MOZILLA_URL, PROFILES, Profile, classify
from pipeline.errors import CheckError, one_line
from pipeline.findings import Finding, Location, Severity
from pipeline.rules import Rule, declare

RFC8996 = "https://www.rfc-editor.org/rfc/rfc8996"
RFC9325 = "https://www.rfc-editor.org/rfc/rfc9325"
RFC7465 = "https://www.rfc-editor.org/rfc/rfc7465"
SWEET32 = "https://sweet32.info/"
LOGJAM = "https://weakdh.org/"
CABF_BR = "https://cabforum.org/working-groups/server/baseline-requirements/requirements/"
RFC5280 = "https://www.rfc-editor.org/rfc/rfc5280"
RFC6066 = "https://www.rfc-editor.org/rfc/rfc6066#section-8"
CABF_MAX_DAYS = 398

_RULE_TEXT: list[tuple[str, str, str]] = [
    ("MH-TLS-PROTOCOL-SSL", "SSL 3.0 accepted (critical)", "Disable SSL 3.0 (POODLE; RFC 7568)."),
    ("MH-TLS-PROTOCOL-LEGACY", "TLS 1.0 or 1.1 accepted (high)", "Disable TLS 1.0 and 1.1 (RFC 8996)."),
    (
        "MH-TLS-PROTOCOL-PROFILE",
        "TLS 1.2 accepted under the modern profile (medium)",
        "Accept TLS 1.3 only, or set endpoint.profile: intermediate if TLS 1.2 clients must be served.",
    ),
    (
        "MH-TLS-PROTOCOL-NO-TLS13",
        "TLS 1.3 not offered (low)",
        "Enable TLS 1.3 beside TLS 1.2 (nginx: ssl_protocols TLSv1.2 TLSv1.3;).",
    ),
    (
        "MH-TLS-CIPHER-INSECURE",
        "NULL, anonymous, export, RC4 or DES suites accepted (critical)",
        "Remove them: serve only the profile's suites (ECDHE with AES-GCM or ChaCha20-Poly1305).",
    ),
    ("MH-TLS-CIPHER-WEAK", "3DES suites accepted (high; Sweet32)", "Remove 3DES suites."),
    ("MH-TLS-CIPHER-NO-PFS", "Static RSA/ECDH key exchange accepted (medium)", "Use ECDHE suites only."),
    ("MH-TLS-CIPHER-CBC", "CBC-mode suites accepted (low)", "Use AEAD (GCM, ChaCha20-Poly1305) suites only."),
    (
        "MH-TLS-CIPHER-PROFILE",
        "Suites outside the Mozilla profile accepted (low)",
        "Serve exactly the profile's suites (the ssl_ciphers line the finding gives).",
    ),
    (
        "MH-TLS-DH-WEAK",
        "DHE with a group under 2048 bits (medium; under 1024: high)",
        "Drop DHE suites (ECDHE gives forward secrecy); if DHE must stay, use ffdhe2048.",
    ),
    ("MH-TLS-CERT-EXPIRED", "Certificate expired (critical)", "Renew the certificate."),
    (
        "MH-TLS-CERT-NOT-YET-VALID",
        "Certificate not yet valid (high)",
        "Serve a certificate valid now; check the server's and the CA's clocks.",
    ),
    ("MH-TLS-CERT-EXPIRING", "Certificate expires soon (medium)", "Renew it; automate renewal (ACME)."),
    ("MH-TLS-CERT-HOSTNAME", "Certificate does not name the host (high)", "Issue it for this name (SAN)."),
    ("MH-TLS-CERT-SELF-SIGNED", "Self-signed certificate (high)", "Use a certificate from a trusted CA."),
    (
        "MH-TLS-CERT-UNTRUSTED-ROOT",
        "Chain ends at an unknown root (high)",
        "Use a CA the clients trust, or give the private root with --ca-file.",
    ),
    ("MH-TLS-CERT-CHAIN-INCOMPLETE", "Intermediate certificate missing (high)", "Serve the full chain."),
    (
        "MH-TLS-CERT-INVALID",
        "Certificate chain fails verification (high)",
        "Fix what the OpenSSL error names (e.g. a leaf without serverAuth).",
    ),
    (
        "MH-TLS-CERT-KEY-WEAK",
        "Weak certificate key: RSA < 2048, DSA, EC < 256 (high)",
        "Use P-256 or RSA-2048+.",
    ),
    (
        "MH-TLS-CERT-KEY-PROFILE",
        "Key type or curve outside the profile (low)",
        "Use a key the profile allows (modern: ECDSA P-256 or P-384).",
    ),
    ("MH-TLS-CERT-SIGNATURE-WEAK", "Signed with SHA-1 (high) or MD5 (critical)", "Reissue with SHA-256."),
    (
        "MH-TLS-CERT-LIFESPAN",
        "Lifespan over 398 days (medium) or the profile's limit (low)",
        "Issue certificates for at most the profile's lifespan (90 days recommended), renewed by ACME.",
    ),
    (
        "MH-TLS-OCSP-NO-STAPLE",
        "OCSP stapling off though the certificate names a responder (low)",
        "Turn stapling on (nginx: ssl_stapling on; ssl_stapling_verify on;).",
    ),
]


def _declare(rule_id: str, text: str, fix: str) -> Rule:
    """A TLS rule from its table row: the default severity is the first one the text names."""
    summary, _, named = text.rpartition(" (")
    severity = Severity(named.split(";")[0].split(":")[0].split()[0].rstrip(")"))
    return declare(
        rule_id,
        name=rule_id.removeprefix("MH-").lower(),
        stage="check-endpoint",
        severity=severity,
        summary=f"{summary} ({named}" if ";" in named or ":" in named else summary,
        standard=MOZILLA_URL,
        fix=fix,
    )


TLS_RULES: dict[str, Rule] = {rid: _declare(rid, text, fix) for rid, text, fix in _RULE_TEXT}
RULES: list[Rule] = list(TLS_RULES.values())
_PROBED = (hello.SSL3, hello.TLS10, hello.TLS11, hello.TLS12, hello.TLS13)
_SSL_PROBED = (hello.TLS10, hello.TLS11, hello.TLS12, hello.TLS13)


@dataclass
class TlsResult:
    """What `check_tls` found: findings (stage left empty), summary facts, and what could not be seen."""

    findings: list[Finding]
    summary: dict[str, Any]
    notes: list[str]


@dataclass
class _Verify:
    """One verifying handshake: `ok`, or the OpenSSL verification code and message, or another failure."""

    ok: bool = False
    code: int | None = None
    message: str = ""
    protocol: str | None = None
    cipher: str | None = None


@dataclass
class _Scan:
    """Everything seen on the wire, before judging."""

    host: str
    port: int
    raw: dict[int, hello.ServerReply | str] = field(default_factory=dict)  # version: reply or error
    ssl_ok: dict[int, bool | str] = field(default_factory=dict)  # version: accepted, or error text
    suites: dict[int, list[int]] = field(default_factory=dict)  # version: accepted suites, server order
    dh_bits: dict[int, int] = field(default_factory=dict)  # suite: DH prime bits
    ecdh_groups: set[int] = field(default_factory=set)
    chain: list[bytes] = field(default_factory=list)
    ocsp: bool | None = None  # stapled; None: not visible
    client: _Verify = field(default_factory=_Verify)
    trust: _Verify = field(default_factory=_Verify)
    notes: list[str] = field(default_factory=list)
    parsed: list[Any] | None = field(default=None, repr=False)

    def certificates(self) -> list[Any]:
        """The chain parsed once for every judgement of it (a run judges each profile); [] when it cannot be."""
        if self.parsed is None:
            from cryptography import x509

            try:
                self.parsed = [x509.load_der_x509_certificate(der) for der in self.chain]
            except ValueError:
                self.parsed = []
        return self.parsed

    def accepted(self, version: int) -> bool:
        reply = self.raw.get(version)
        raw = isinstance(reply, hello.ServerReply) and reply.accepted and reply.version == version
        return raw or self.ssl_ok.get(version) is True

    @property
    def protocols(self) -> list[int]:
        return [v for v in _PROBED if self.accepted(v)]


def check_tls(
    host: str,
    port: int,
    *,
    connect_address: str | None = None,
    ca_file: str | None = None,
    profile: str = "intermediate",
    timeout: float = 10.0,
    expiry_warning_days: int = 30,
    deadline: float | None = None,
    workers: int = 12,
    contexts: Contexts | None = None,
) -> TlsResult:
    """Check the TLS of `host:port` (SNI and hostname `host`, connecting to `connect_address` if given).
    `contexts`: the run's shared client contexts (they must trust `ca_file`); default: built for this call.

    Raises CheckError (one line) when the endpoint cannot be checked at all: refused, silent, not TLS, or no
    protocol at all could be negotiated."""
    if profile not in PROFILES:
        raise CheckError(f"unknown TLS profile {profile!r} (intermediate or modern)", where=f"{host}:{port}")
    started = time.monotonic()
    if deadline is None:  # never unbounded: as many connection timeouts as the orchestrator's default budget
        deadline = started + max(30.0, 6 * timeout)
    scan = _Scan(host=host, port=port)
    address = connect_address or host
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tls-probe") as pool:
        _phase1(pool, scan, address, contexts or Contexts(ca_file), timeout, deadline)
        _no_tls_at_all(scan)
        _phase2(pool, scan, address, timeout, deadline)
    findings = _judge(scan, PROFILES[profile], expiry_warning_days)
    compliant = {
        name: not any(f.properties.get("profile_rule") for f in _judge(scan, prof, expiry_warning_days))
        for name, prof in PROFILES.items()
    }
    summary = _summary(scan, profile, compliant)
    summary["seconds"] = round(time.monotonic() - started, 3)
    return TlsResult(findings=findings, summary=summary, notes=scan.notes)


# --- probing ------------------------------------------------------------------------------------------


def _phase1(
    pool: ThreadPoolExecutor,
    scan: _Scan,
    address: str,
    contexts: Contexts,
    timeout: float,
    deadline: float | None,
) -> None:
    all_suites = list(hello.SUITES)
    raw_jobs: dict[int, Future[Any]] = {}
    for version in _PROBED:
        suites = list(hello.TLS13_SUITES) if version == hello.TLS13 else all_suites
        raw_jobs[version] = pool.submit(
            hello.probe,
            address,
            scan.port,
            scan.host,
            version,
            suites,
            timeout=timeout,
            deadline=deadline,
            status_request=version != hello.TLS13,
        )
    ssl_jobs = {
        v: pool.submit(_ssl_probe, contexts, scan.host, address, scan.port, v, timeout, deadline)
        for v in _SSL_PROBED
    }
    client_job = pool.submit(_verify, contexts, scan.host, address, scan.port, False, timeout, deadline)
    trust_job = pool.submit(_verify, contexts, scan.host, address, scan.port, True, timeout, deadline)
    for version, job in raw_jobs.items():
        try:
            scan.raw[version] = job.result()
        except hello.ProbeError as exc:
            scan.raw[version] = str(exc)
    chain_by_version: dict[int, list[bytes]] = {}
    for version, job in ssl_jobs.items():
        accepted, chain = job.result()
        scan.ssl_ok[version] = accepted
        if chain:
            chain_by_version[version] = chain
    scan.client = client_job.result()
    scan.trust = trust_job.result()
    if chain_by_version:
        scan.chain = chain_by_version[max(chain_by_version)]
    replies = [r for r in scan.raw.values() if isinstance(r, hello.ServerReply) and r.accepted]
    if not scan.chain:
        with_certs = [r for r in replies if r.certificates]
        if with_certs:
            scan.chain = with_certs[0].certificates
    seen_to_done = [r for r in replies if r.version != hello.TLS13 and r.certificates]
    if any(r.ocsp_response for r in replies):
        scan.ocsp = True
    elif seen_to_done:
        scan.ocsp = False
    for reply in replies:
        if reply.ecdh_group is not None:
            scan.ecdh_groups.add(reply.ecdh_group)
        if reply.dh_bits and reply.suite is not None:
            scan.dh_bits[reply.suite] = reply.dh_bits
    for version in _SSL_PROBED:
        raw = scan.raw.get(version)
        raw_yes = isinstance(raw, hello.ServerReply) and raw.accepted and raw.version == version
        if scan.ssl_ok.get(version) is True and not raw_yes:
            scan.notes.append(
                f"{hello.VERSION_NAMES[version]} completed with Python's ssl but the hand-built hello was not "
                f"accepted ({raw if isinstance(raw, str) else 'refused'}): its suite list may be incomplete"
            )


def _no_tls_at_all(scan: _Scan) -> None:
    """CheckError when nothing negotiated: say why in one line (refused, silent, not TLS, refused all)."""
    if scan.protocols:
        return
    where = f"{scan.host}:{scan.port}"
    errors = [r for r in scan.raw.values() if isinstance(r, str)]
    errors += [r for r in scan.ssl_ok.values() if isinstance(r, str)]
    for key in ("refused", "cannot connect", "not TLS", "timed out", "deadline"):
        hit = next((e for e in errors if key in e), None)
        if hit:
            raise CheckError(f"TLS not checkable: {hit}", where=where)
    raise CheckError(
        "TLS not checkable: the server refused every protocol offered (SSL 3.0 to TLS 1.3) and every suite",
        where=where,
    )


def _phase2(
    pool: ThreadPoolExecutor, scan: _Scan, address: str, timeout: float, deadline: float | None
) -> None:
    jobs: list[tuple[int, Future[Any]]] = []
    for version in scan.protocols:
        if version == hello.TLS13:
            chunks = [list(hello.TLS13_SUITES)]
        else:
            ids = list(hello.SUITES)
            chunks = [ids[i::3] for i in range(3)]  # three independent enumerations in parallel
        for chunk in chunks:
            jobs.append((version, pool.submit(_enumerate, scan, address, version, chunk, timeout, deadline)))
    for version, job in jobs:
        found, dh_bits, groups, error = job.result()
        scan.suites.setdefault(version, []).extend(found)
        scan.dh_bits.update(dh_bits)
        scan.ecdh_groups |= groups
        if error:
            scan.notes.append(f"{hello.VERSION_NAMES[version]} suite list may be incomplete: {error}")


def _enumerate(
    scan: _Scan, address: str, version: int, offered: list[int], timeout: float, deadline: float | None
) -> tuple[list[int], dict[int, int], set[int], str | None]:
    """Offer `offered`, take the server's choice out, repeat until it refuses: the suites it accepts."""
    offered = list(offered)
    found: list[int] = []
    dh_bits: dict[int, int] = {}
    groups: set[int] = set()
    while offered:
        try:
            reply = hello.probe(
                address, scan.port, scan.host, version, offered, timeout=timeout, deadline=deadline
            )
        except hello.ProbeError as exc:
            return found, dh_bits, groups, str(exc)
        if not reply.accepted or reply.version != version:
            break
        if reply.suite not in offered:
            return found, dh_bits, groups, f"the server chose suite {reply.suite:#06x}, which was not offered"
        found.append(reply.suite)
        offered.remove(reply.suite)
        if reply.dh_bits:
            dh_bits[reply.suite] = reply.dh_bits
        if reply.ecdh_group is not None:
            groups.add(reply.ecdh_group)
    return found, dh_bits, groups, None


def _kill(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _handshake(
    context: Any, host: str, address: str, port: int, timeout: float, deadline: float | None
) -> Any:
    """A TLS handshake bounded as a whole: a watchdog shuts the socket when `timeout` (or the deadline) ends."""
    sock = hello.connect(address, port, timeout, deadline)
    try:
        limit = hello.remaining(timeout, deadline)
    except hello.ProbeError:
        sock.close()
        raise
    sock.settimeout(limit)
    alarm = WATCHDOG.arm(limit, sock)
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    finally:
        WATCHDOG.disarm(alarm)


class _Watchdog:
    """One thread for every handshake's alarm (a timer thread per handshake was ~5% of a fleet's CPU): when an
    alarm's time comes, its socket is shut down, which ends a handshake the server drips out byte by byte."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int]] = []  # a heap of (time, alarm)
        self._armed: dict[int, socket.socket] = {}
        self._serial = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, sock: socket.socket) -> int:
        with self._wake:
            self._serial += 1
            heapq.heappush(self._due, (time.monotonic() + seconds, self._serial))
            self._armed[self._serial] = sock
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tls-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()
            return self._serial

    def disarm(self, alarm: int) -> None:
        with self._wake:
            self._armed.pop(alarm, None)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._due and self._due[0][1] not in self._armed:
                    heapq.heappop(self._due)  # disarmed
                if not self._due:
                    self._wake.wait()
                    continue
                due, alarm = self._due[0]
                if due > time.monotonic():
                    self._wake.wait(due - time.monotonic())
                    continue
                heapq.heappop(self._due)
                sock = self._armed.pop(alarm)
            _kill(sock)


WATCHDOG = _Watchdog()


def _ssl_failure(exc: BaseException) -> str:
    import ssl

    if isinstance(exc, hello.ProbeError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "no answer to the handshake (timed out)"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        if reason in (
            "WRONG_VERSION_NUMBER",
            "UNKNOWN_PROTOCOL",
            "RECORD_LAYER_FAILURE",
            "PACKET_LENGTH_TOO_LONG",
        ):
            return f"the answer is not TLS ({reason})"
        return f"handshake refused ({reason})"
    if isinstance(exc, ConnectionResetError):
        return "handshake refused (connection reset)"
    return f"handshake failed ({one_line(exc, with_type=False)})"


def _ssl_probe(
    contexts: Contexts,
    host: str,
    address: str,
    port: int,
    version: int,
    timeout: float,
    deadline: float | None,
) -> tuple[bool | str, list[bytes]]:
    """One handshake pinned to `version` with a probing context (level 0, no verification): accepted, chain."""
    import _ssl
    import ssl

    try:
        context = contexts.probing(version)
    except (ssl.SSLError, ValueError):
        return "this Python/OpenSSL cannot offer it", []
    try:
        ssock = _handshake(context, host, address, port, timeout, deadline)
    except (OSError, hello.ProbeError) as exc:
        failure = _ssl_failure(exc)
        return (False if failure.startswith("handshake refused") else failure), []
    try:
        chain_objects = ssock._sslobj.get_unverified_chain() or []  # public only from Python 3.13
        chain = [c.public_bytes(_ssl.ENCODING_DER) for c in chain_objects]
    except (AttributeError, ValueError, ssl.SSLError):
        leaf = ssock.getpeercert(binary_form=True)
        chain = [leaf] if leaf else []
    finally:
        ssock.close()
    return True, chain


def _verify(
    contexts: Contexts,
    host: str,
    address: str,
    port: int,
    trust_only: bool,
    timeout: float,
    deadline: float | None,
) -> _Verify:
    """A verifying handshake: as a normal client would, or for trust only (dates, key strength ignored)."""
    import ssl

    try:
        context = contexts.verifying(trust_only)
    except (OSError, ssl.SSLError) as exc:
        return _Verify(message=f"cannot load the CA file {contexts.ca_file}: {exc}")
    try:
        ssock = _handshake(context, host, address, port, timeout, deadline)
    except ssl.SSLCertVerificationError as exc:
        return _Verify(code=exc.verify_code, message=exc.verify_message or str(exc.reason))
    except (OSError, hello.ProbeError) as exc:
        return _Verify(message=_ssl_failure(exc))
    try:
        cipher = ssock.cipher()
        return _Verify(ok=True, protocol=ssock.version(), cipher=cipher[0] if cipher else None)
    finally:
        ssock.close()


# --- judging ------------------------------------------------------------------------------------------


class _Out:
    """Collects findings with the shared location, profile and references."""

    def __init__(self, scan: _Scan, profile: Profile) -> None:
        self.profile = profile
        self.location = Location(url=f"https://{scan.host}:{scan.port}")
        self.findings: list[Finding] = []

    def add(
        self,
        rule_id: str,
        severity: Severity,
        title: str,
        evidence: str,
        fix: str,
        references: list[str],
        profile_rule: str | None = None,
        **properties: Any,
    ) -> None:
        props: dict[str, Any] = {"profile": self.profile.name, **properties}
        if profile_rule:
            props["profile_rule"] = profile_rule
            title = f"{title} (Mozilla {self.profile.name}: {profile_rule})"
            evidence = f"{evidence} Mozilla {self.profile.name} (guideline 6.0) requires: {profile_rule}."
        self.findings.append(
            TLS_RULES[rule_id].finding(
                title,
                severity=severity,
                location=self.location,
                evidence=evidence,
                fix=fix,
                references=references,
                properties=props,
            )
        )


def _judge(scan: _Scan, profile: Profile, expiry_warning_days: int) -> list[Finding]:
    out = _Out(scan, profile)
    _judge_protocols(scan, out)
    _judge_suites(scan, out)
    _judge_certificate(scan, out, expiry_warning_days)
    return out.findings


def _judge_protocols(scan: _Scan, out: _Out) -> None:
    profile = out.profile
    names = [hello.VERSION_NAMES[v] for v in scan.protocols]
    allowed = " and ".join(sorted(profile.protocols)).replace("TLSv", "TLS ")
    rule = f"{allowed} only"
    fix = f"nginx: {profile.nginx}"
    if scan.accepted(hello.SSL3):
        out.add(
            "MH-TLS-PROTOCOL-SSL",
            Severity.CRITICAL,
            "SSL 3.0 is accepted",
            f"A hand-built SSL 3.0 ClientHello was answered with an SSL 3.0 ServerHello; accepted: {', '.join(names)}.",
            fix,
            ["https://www.rfc-editor.org/rfc/rfc7568", profile.reference()],
            rule,
            protocol="SSL 3.0",
        )
    legacy = [hello.VERSION_NAMES[v] for v in (hello.TLS10, hello.TLS11) if scan.accepted(v)]
    if legacy:
        out.add(
            "MH-TLS-PROTOCOL-LEGACY",
            Severity.HIGH,
            f"Deprecated protocol accepted: {', '.join(legacy)}",
            f"Handshakes pinned to {', '.join(legacy)} were accepted (accepted: {', '.join(names)}); "
            "RFC 8996 deprecates TLS 1.0 and 1.1.",
            fix,
            [RFC8996, profile.reference()],
            rule,
            protocols=legacy,
        )
    if scan.accepted(hello.TLS12) and "TLSv1.2" not in profile.protocols:
        out.add(
            "MH-TLS-PROTOCOL-PROFILE",
            Severity.MEDIUM,
            "TLS 1.2 accepted",
            f"A TLS 1.2 handshake was accepted (accepted: {', '.join(names)}).",
            fix,
            [profile.reference()],
            rule,
            protocols=["TLS 1.2"],
        )
    if not scan.accepted(hello.TLS13):
        out.add(
            "MH-TLS-PROTOCOL-NO-TLS13",
            Severity.LOW,
            "TLS 1.3 is not offered",
            f"A TLS 1.3 ClientHello was refused (accepted: {', '.join(names)}).",
            fix,
            [RFC9325, profile.reference()],
            "TLS 1.3 enabled",
        )


def _suite_name(suite: int) -> str:
    return hello.SUITES.get(suite) or hello.TLS13_SUITES.get(suite) or f"{suite:#06x}"


def _allowed(profile: Profile) -> list[str]:
    return [_suite_name(s) for s in sorted(profile.tls12_suites) + sorted(profile.tls13_suites)]


def _judge_suites(scan: _Scan, out: _Out) -> None:
    profile = out.profile
    classes: dict[str, list[str]] = {}
    outside: list[str] = []
    for version, suites in scan.suites.items():
        for suite in suites:
            name = _suite_name(suite)
            if version == hello.TLS13:
                if suite not in profile.tls13_suites:
                    outside.append(name)
                continue
            for kind in classify(name):
                classes.setdefault(kind, [])
                if name not in classes[kind]:
                    classes[kind].append(name)
            if suite not in profile.tls12_suites and "TLSv1.2" in profile.protocols and name not in outside:
                outside.append(name)
    fix = f"nginx: {profile.nginx}"
    ref = profile.reference()
    in_profile = "TLS 1.2 suites only ECDHE with AES-GCM or ChaCha20-Poly1305"
    if not profile.tls12_suites:
        in_profile = "TLS 1.3 only, no TLS 1.2 suites"
    specs = [
        ("insecure", "MH-TLS-CIPHER-INSECURE", Severity.CRITICAL, "NULL, anonymous, export, RC4 or DES suites",
         [RFC7465, RFC9325, ref]),
        ("3des", "MH-TLS-CIPHER-WEAK", Severity.HIGH, "3DES suites (64-bit block, Sweet32)", [SWEET32, RFC9325, ref]),
        ("static", "MH-TLS-CIPHER-NO-PFS", Severity.MEDIUM, "static RSA/ECDH key exchange (no forward secrecy)",
         [RFC9325, ref]),
        ("cbc", "MH-TLS-CIPHER-CBC", Severity.LOW, "CBC-mode suites", [RFC9325, ref]),
    ]  # fmt: skip
    flagged: set[str] = set()
    for kind, rule_id, severity, what, refs in specs:
        names = classes.get(kind, [])
        if names:
            flagged |= set(names)
            out.add(
                rule_id,
                severity,
                f"Server accepts {what}",
                f"Accepted ({len(names)}): {', '.join(names)}.",
                fix,
                refs,
                in_profile,
                suites=names,
                allowed=_allowed(profile),
            )
    rest = [n for n in outside if n not in flagged]
    if rest:
        out.add(
            "MH-TLS-CIPHER-PROFILE",
            Severity.LOW,
            "Server accepts suites outside the profile",
            f"Accepted ({len(rest)}): {', '.join(rest)}.",
            fix,
            [ref],
            in_profile
            if any(n in hello.SUITES.values() for n in rest)
            else "TLS 1.3 suites AES-GCM, ChaCha20",
            suites=rest,
            allowed=_allowed(profile),
        )
    weak_dh = {_suite_name(s): bits for s, bits in scan.dh_bits.items() if bits < 2048}
    if weak_dh:
        smallest = min(weak_dh.values())
        out.add(
            "MH-TLS-DH-WEAK",
            Severity.HIGH if smallest < 1024 else Severity.MEDIUM,
            f"DHE key exchange with a {smallest}-bit group",
            "ServerKeyExchange DH prime sizes: "
            + ", ".join(f"{n} {b} bits" for n, b in weak_dh.items())
            + ".",
            f"nginx: {profile.nginx} (no DHE suites; if DHE must stay, ssl_dhparam with the 2048-bit ffdhe2048)",
            [LOGJAM, RFC9325, ref],
            "no DHE suites",
            dh_bits=min(weak_dh.values()),
        )


def _judge_certificate(scan: _Scan, out: _Out, expiry_warning_days: int) -> None:
    profile = out.profile
    certs = scan.certificates()
    if not certs:
        return
    leaf = certs[0]
    now = datetime.now(timezone.utc)
    subject = leaf.subject.rfc4514_string() or "(empty subject)"
    before, after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    dates = f"valid {before:%Y-%m-%d %H:%M} to {after:%Y-%m-%d %H:%M} UTC"
    renew = "Renew the certificate and reload the server (automate it: ACME/certbot)."
    if now > after:
        days = (now - after).days
        out.add("MH-TLS-CERT-EXPIRED", Severity.CRITICAL, "Certificate has expired",
                f"Leaf {subject}: {dates}; expired {days} days ago.", renew, [RFC5280], days_ago=days)  # fmt: skip
    elif now < before:
        out.add("MH-TLS-CERT-NOT-YET-VALID", Severity.HIGH, "Certificate is not yet valid",
                f"Leaf {subject}: {dates}.", "Check the server clock, or serve a certificate valid now.",
                [RFC5280])  # fmt: skip
    elif (after - now).days < expiry_warning_days:
        out.add("MH-TLS-CERT-EXPIRING", Severity.MEDIUM,
                f"Certificate expires within {expiry_warning_days} days",
                f"Leaf {subject}: {dates}; {(after - now).days} days left.", renew, [RFC5280],
                days_left=(after - now).days)  # fmt: skip
    if not _host_matches(scan.host, leaf):
        names = _san_names(leaf)
        out.add(
            "MH-TLS-CERT-HOSTNAME",
            Severity.HIGH,
            f"Certificate does not name {scan.host}",
            f"Leaf {subject} names: {', '.join(names) if names else 'no subjectAltName at all'}.",
            f"Serve a certificate whose subjectAltName includes {scan.host}.",
            [RFC5280, "https://www.rfc-editor.org/rfc/rfc6125"],
        )
    _judge_trust(scan, out, certs)
    _judge_key(out, leaf, subject)
    for index, cert in enumerate(certs):
        if index and cert.issuer == cert.subject:
            continue  # a served root's self-signature is never checked
        algorithm = _hash_name(cert)
        if algorithm in ("md5", "sha1"):
            role = "Leaf" if index == 0 else f"Chain certificate {index}"
            out.add(
                "MH-TLS-CERT-SIGNATURE-WEAK",
                Severity.CRITICAL if algorithm == "md5" else Severity.HIGH,
                f"{role} signed with {algorithm.upper()}",
                f"{role} {cert.subject.rfc4514_string()} signature algorithm {_sig_name(cert)}.",
                "Reissue the certificate signed with SHA-256 or better.",
                [RFC9325, profile.reference()],
                "SHA-256 or better signatures",
            )
    lifespan = (after - before).total_seconds() / 86400
    if lifespan > CABF_MAX_DAYS:
        out.add("MH-TLS-CERT-LIFESPAN", Severity.MEDIUM,
                f"Certificate lifespan {lifespan:.0f} days exceeds the CA/Browser Forum's {CABF_MAX_DAYS}",
                f"Leaf {subject}: {dates}.",
                f"Issue certificates for at most {profile.max_lifespan_days} days (90 recommended), renewed "
                "automatically.",
                [CABF_BR, profile.reference()], f"lifespan at most {profile.max_lifespan_days} days",
                lifespan_days=round(lifespan))  # fmt: skip
    elif lifespan > profile.max_lifespan_days:
        out.add("MH-TLS-CERT-LIFESPAN", Severity.LOW,
                f"Certificate lifespan {lifespan:.0f} days exceeds the profile's {profile.max_lifespan_days}",
                f"Leaf {subject}: {dates}.",
                f"Issue certificates for at most {profile.max_lifespan_days} days, renewed automatically.",
                [profile.reference()], f"lifespan at most {profile.max_lifespan_days} days",
                lifespan_days=round(lifespan))  # fmt: skip
    if scan.ocsp is False and _ocsp_url(leaf):
        out.add(
            "MH-TLS-OCSP-NO-STAPLE",
            Severity.LOW,
            "OCSP stapling is off",
            f"The certificate names the OCSP responder {_ocsp_url(leaf)} but the server stapled no response "
            "to a status_request in a TLS 1.2 handshake.",
            "nginx: ssl_stapling on; ssl_stapling_verify on; ssl_trusted_certificate /path/to/chain.pem;",
            [RFC6066, profile.reference()],
            "OCSP stapling on",
        )


def _judge_trust(scan: _Scan, out: _Out, certs: list[Any]) -> None:
    verify = scan.trust if (scan.trust.ok or scan.trust.code is not None) else scan.client
    if verify.ok or verify.code is None:
        return
    leaf = certs[0]
    subject = leaf.subject.rfc4514_string() or "(empty subject)"
    issuer = leaf.issuer.rfc4514_string() or "(empty issuer)"
    seen = f"OpenSSL verification error {verify.code} ({verify.message}); the server sent {len(certs)} certificate(s)"
    served_subjects = [c.subject for c in certs[1:]]
    self_issued = leaf.issuer == leaf.subject
    refs = [RFC5280, out.profile.reference()]
    if verify.code == 18 or (self_issued and len(certs) == 1 and verify.code in (20, 21)):
        out.add("MH-TLS-CERT-SELF-SIGNED", Severity.HIGH, "Certificate is self-signed",
                f"{seen}: leaf {subject} is its own issuer.",
                "Serve a certificate issued by a CA the clients trust (or pin this one with --ca-file).",
                refs)  # fmt: skip
    elif verify.code in (20, 21, 2) and (len(certs) == 1 or leaf.issuer not in served_subjects):
        aia = _ca_issuers_url(leaf)
        out.add(
            "MH-TLS-CERT-CHAIN-INCOMPLETE",
            Severity.HIGH,
            "Intermediate certificate missing from the served chain",
            f"{seen}: the leaf's issuer {issuer} is neither served nor a trusted root"
            + (f" (its certificate is published at {aia})" if aia else "")
            + ". Clients without that intermediate cached fail.",
            "Serve the leaf followed by its intermediates (nginx: ssl_certificate pointing at fullchain.pem).",
            refs,
            issuer=issuer,
        )
    elif verify.code in (19, 20, 21, 2):
        top = certs[-1]
        out.add(
            "MH-TLS-CERT-UNTRUSTED-ROOT",
            Severity.HIGH,
            "Certificate chain ends at an unknown root",
            f"{seen}: the chain ends at {top.issuer.rfc4514_string()}, which is not in the trust store.",
            "Use a certificate from a publicly trusted CA, or give the private root with --ca-file.",
            refs,
            issuer=top.issuer.rfc4514_string(),
        )
    elif verify.code not in (9, 10, 62, 66, 68):  # those are reported by their own rules
        out.add("MH-TLS-CERT-INVALID", Severity.HIGH, f"Certificate chain fails verification: {verify.message}",
                f"{seen}.", "Fix the certificate chain the error names.", refs)  # fmt: skip


def _judge_key(out: _Out, leaf: Any, subject: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    profile = out.profile
    key = leaf.public_key()
    fix = "Issue a new certificate with an ECDSA P-256 key (or RSA 2048+ where the profile allows RSA)."
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < profile.rsa_min_bits:
            out.add("MH-TLS-CERT-KEY-WEAK", Severity.HIGH, f"Certificate key is RSA {key.key_size} bits",
                    f"Leaf {subject}: RSA {key.key_size}-bit key.", fix, [RFC9325, profile.reference()],
                    f"RSA keys of at least {profile.rsa_min_bits} bits", key=f"RSA {key.key_size}")  # fmt: skip
        elif "rsa" not in profile.key_types:
            out.add("MH-TLS-CERT-KEY-PROFILE", Severity.LOW, "Certificate key is RSA",
                    f"Leaf {subject}: RSA {key.key_size}-bit key.", fix, [profile.reference()],
                    "ECDSA certificates only", key=f"RSA {key.key_size}")  # fmt: skip
    elif isinstance(key, ec.EllipticCurvePublicKey):
        curve = key.curve.name
        if key.curve.key_size < 256:
            out.add("MH-TLS-CERT-KEY-WEAK", Severity.HIGH, f"Certificate key is ECDSA {curve}",
                    f"Leaf {subject}: ECDSA {curve}.", fix, [RFC9325, profile.reference()],
                    "ECDSA P-256 or P-384", key=f"ECDSA {curve}")  # fmt: skip
        elif curve not in profile.ecdsa_curves:
            out.add("MH-TLS-CERT-KEY-PROFILE", Severity.LOW, f"Certificate key uses curve {curve}",
                    f"Leaf {subject}: ECDSA {curve}.", fix, [profile.reference()], "ECDSA P-256 or P-384",
                    key=f"ECDSA {curve}")  # fmt: skip
    elif isinstance(key, dsa.DSAPublicKey):
        out.add("MH-TLS-CERT-KEY-WEAK", Severity.HIGH, "Certificate key is DSA",
                f"Leaf {subject}: DSA {key.key_size}-bit key.", fix, [RFC9325, profile.reference()],
                "ECDSA P-256 or P-384 (or RSA 2048+)", key=f"DSA {key.key_size}")  # fmt: skip


# --- certificate helpers ------------------------------------------------------------------------------


def _san_names(cert: Any) -> list[str]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        *san.get_values_for_type(x509.DNSName),
        *(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
    ]


def _host_matches(host: str, cert: Any) -> bool:
    """RFC 6125 matching on subjectAltName only (no CN fallback): exact, or a left-most `*` label."""
    host = host.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    for name in _san_names(cert):
        if address is not None:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                continue
            continue
        name = name.rstrip(".").lower()
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            first, rest = host.split(".", 1)
            if first and rest == name[2:] and "." in rest:
                return True
    return False


def _hash_name(cert: Any) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except Exception:  # unsupported or hash-less (Ed25519) signatures
        return None
    return algorithm.name if algorithm is not None else None


def _sig_name(cert: Any) -> str:
    oid = cert.signature_algorithm_oid
    return str(getattr(oid, "_name", None) or oid.dotted_string)


def _aia(cert: Any, method: Any) -> str | None:
    from cryptography import x509

    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for desc in aia:
        if desc.access_method == method and isinstance(desc.access_location, x509.UniformResourceIdentifier):
            return str(desc.access_location.value)
    return None


def _ocsp_url(cert: Any) -> str | None:
    from cryptography.x509.oid import AuthorityInformationAccessOID

    return _aia(cert, AuthorityInformationAccessOID.OCSP)


def _ca_issuers_url(cert: Any) -> str | None:
    from cryptography.x509.oid import AuthorityInformationAccessOID

    return _aia(cert, AuthorityInformationAccessOID.CA_ISSUERS)


# --- summary ------------------------------------------------------------------------------------------


def _summary(scan: _Scan, profile: str, compliant: dict[str, bool]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "protocols": [hello.VERSION_NAMES[v] for v in scan.protocols],
        "profile": profile,
        "compliant": compliant,
        f"compliant_{profile}": "yes" if compliant[profile] else "no",
    }
    if scan.client.ok:
        summary["protocol"] = scan.client.protocol
        summary["cipher"] = scan.client.cipher
    summary["ciphers"] = {
        hello.VERSION_NAMES[v]: [_suite_name(s) for s in suites]
        for v, suites in scan.suites.items()
        if suites
    }
    if scan.dh_bits:
        summary["dh_bits"] = {_suite_name(s): bits for s, bits in scan.dh_bits.items()}
    if scan.ecdh_groups:
        summary["ecdh_groups"] = sorted(hello.GROUP_NAMES.get(g, f"{g:#06x}") for g in scan.ecdh_groups)
    cert = _cert_summary(scan)
    if cert:
        summary["certificate"] = cert
        if "days_left" in cert:
            summary["certificate_days_left"] = cert["days_left"]
    if scan.ocsp is None:
        scan.notes.append("OCSP stapling not visible: no TLS 1.2 handshake showed its certificate status")
    scan.notes.append(
        "SSLv2, TLS 1.3 hybrid post-quantum groups and server cipher preference were not probed"
    )
    return summary


def _cert_summary(scan: _Scan) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    verify = scan.client
    out: dict[str, Any] = {
        "verified": verify.ok,
        "verify_error": None
        if verify.ok
        else (f"{verify.message} ({verify.code})" if verify.code else verify.message),
        "chain_length": len(scan.chain),
        "ocsp_stapled": scan.ocsp,
    }
    if not scan.chain:
        scan.notes.append("the certificate could not be read: certificate checks skipped")
        return out
    try:
        leaf = x509.load_der_x509_certificate(scan.chain[0])
    except ValueError as exc:
        scan.notes.append(f"the certificate could not be parsed ({exc}): certificate checks skipped")
        return out
    key = leaf.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_text = f"RSA {key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_text = f"ECDSA {key.curve.name}"
    else:
        key_text = type(key).__name__.removesuffix("PublicKey").lstrip("_")
    after, before = leaf.not_valid_after_utc, leaf.not_valid_before_utc
    out.update(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        names=_san_names(leaf),
        not_before=before.isoformat(),
        not_after=after.isoformat(),
        days_left=(after - datetime.now(timezone.utc)).days,
        lifespan_days=round((after - before).total_seconds() / 86400),
        key=key_text,
        signature=_sig_name(leaf),
        trusted=scan.trust.ok if (scan.trust.ok or scan.trust.code is not None) else verify.ok,
    )
    return out


__all__ = ["RULES", "TlsResult", "check_tls"]
