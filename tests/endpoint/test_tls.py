"""The TLS checker against real servers on 127.0.0.1: Python's ssl and nginx, good and broken, plus hostile
sockets. Every scenario runs against both implementations; each bad one must yield its own finding."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from pipeline.endpoint import hello
from pipeline.endpoint.tls import RULES, TlsResult, check_tls
from pipeline.errors import CheckError
from pipeline.findings import Severity
from tests.endpoint.conftest_tls import *  # noqa: F403
from tests.endpoint.tls_servers import (
    ADDRESS,
    HOST,
    ThreadServer,
    TlsPki,
    drip_server,
    garbage_server,
    hello_only_server,
    silent_server,
)

KINDS = ["python", "nginx"]
TIMINGS: dict[str, float] = {}


def run(
    ports: dict[tuple[str, str], int], pki: TlsPki, kind: str, scenario: str, **kwargs: object
) -> TlsResult:
    options: dict = {"connect_address": ADDRESS, "ca_file": str(pki.ca_file), "timeout": 3.0, **kwargs}
    started = time.monotonic()
    result = check_tls(HOST, ports[(kind, scenario)], **options)
    TIMINGS[f"{kind}/{scenario}"] = time.monotonic() - started
    return result


def ids(result: TlsResult, at_least: Severity = Severity.INFO) -> set[str]:
    return {f.rule_id for f in result.findings if f.severity >= at_least}


def one(result: TlsResult, rule_id: str):
    found = [f for f in result.findings if f.rule_id == rule_id]
    assert len(found) == 1, [f.to_dict() for f in result.findings]
    return found[0]


@pytest.fixture(scope="module", autouse=True)
def report_timings() -> object:
    yield
    if TIMINGS:
        slowest = max(TIMINGS, key=TIMINGS.__getitem__)
        print(  # shown with -s or -rP; measured, not asserted (see the report)
            f"\ncheck_tls on loopback: {len(TIMINGS)} runs, mean {sum(TIMINGS.values()) / len(TIMINGS):.3f} s, "
            f"slowest {slowest} {TIMINGS[slowest]:.3f} s"
        )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scenario", ["good13", "intermediate", "intermediate-rsa"])
def test_good_servers_have_no_finding_at_medium_or_above(
    tls_ports: dict, tls_pki: TlsPki, kind: str, scenario: str
) -> None:
    result = run(tls_ports, tls_pki, kind, scenario)
    assert not ids(result, Severity.MEDIUM), [f.to_dict() for f in result.findings]
    assert not ids(result), "a good intermediate server should have no finding at all"
    expected = ["TLS 1.3"] if scenario == "good13" else ["TLS 1.2", "TLS 1.3"]
    assert result.summary["protocols"] == expected
    assert result.summary["compliant"]["intermediate"] is True
    assert result.summary["compliant_intermediate"] == "yes"
    assert result.summary["compliant"]["modern"] is (scenario == "good13")
    cert = result.summary["certificate"]
    assert cert["verified"] is True and cert["trusted"] is True
    assert cert["chain_length"] == 2
    assert cert["key"] == ("RSA 2048" if scenario == "intermediate-rsa" else "ECDSA secp256r1")
    tls13 = set(result.summary["ciphers"]["TLS 1.3"])
    assert tls13 == {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
    if scenario != "good13":
        assert len(result.summary["ciphers"]["TLS 1.2"]) == 3  # the three of the six that fit the key
        assert all("ECDHE" in s for s in result.summary["ciphers"]["TLS 1.2"])
    if scenario == "good13":
        assert any("OCSP stapling not visible" in n for n in result.notes)


@pytest.mark.parametrize("kind", KINDS)
def test_tls10_server_is_legacy(tls_ports: dict, tls_pki: TlsPki, kind: str) -> None:
    result = run(tls_ports, tls_pki, kind, "tls10")
    assert "TLS 1.0" in result.summary["protocols"] and "TLS 1.2" in result.summary["protocols"]
    finding = one(result, "MH-TLS-PROTOCOL-LEGACY")
    assert finding.severity == Severity.HIGH
    assert "TLS 1.0" in finding.properties["protocols"]
    assert finding.properties["profile"] == "intermediate" and finding.properties["profile_rule"]
    assert "Mozilla intermediate" in finding.title
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in finding.fix
    assert "https://www.rfc-editor.org/rfc/rfc8996" in finding.references
    assert finding.location.url == f"https://{HOST}:{tls_ports[(kind, 'tls10')]}"
    assert finding.stage == ""
    assert result.summary["ciphers"]["TLS 1.0"] == ["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"]
    assert "MH-TLS-CIPHER-CBC" in ids(result)
    assert result.summary["compliant"]["intermediate"] is False
    assert result.summary["compliant_intermediate"] == "no"


@pytest.mark.parametrize("kind", KINDS)
def test_weak_suites_and_small_dh_group(tls_ports: dict, tls_pki: TlsPki, kind: str) -> None:
    result = run(tls_ports, tls_pki, kind, "weak")
    assert set(result.summary["ciphers"]["TLS 1.2"]) == {
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    }
    static = one(result, "MH-TLS-CIPHER-NO-PFS")
    assert static.severity == Severity.MEDIUM
    assert static.properties["suites"] == ["TLS_RSA_WITH_AES_128_CBC_SHA"]
    cbc = one(result, "MH-TLS-CIPHER-CBC")
    assert set(cbc.properties["suites"]) == {
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    }
    dh = one(result, "MH-TLS-DH-WEAK")
    assert dh.severity == Severity.MEDIUM and dh.properties["dh_bits"] == 1024
    assert result.summary["dh_bits"] == {"TLS_DHE_RSA_WITH_AES_128_CBC_SHA": 1024}
    assert "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:" in static.fix
    assert "MH-TLS-PROTOCOL-NO-TLS13" in ids(result)
    assert not ids(result) & {"MH-TLS-CIPHER-INSECURE", "MH-TLS-CIPHER-WEAK", "MH-TLS-PROTOCOL-LEGACY"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("scenario", "rule_id", "severity"),
    [
        ("expired", "MH-TLS-CERT-EXPIRED", Severity.CRITICAL),
        ("wronghost", "MH-TLS-CERT-HOSTNAME", Severity.HIGH),
        ("selfsigned", "MH-TLS-CERT-SELF-SIGNED", Severity.HIGH),
        ("nointermediate", "MH-TLS-CERT-CHAIN-INCOMPLETE", Severity.HIGH),
        ("longlived", "MH-TLS-CERT-LIFESPAN", Severity.MEDIUM),
    ],
)
def test_certificate_problems(
    tls_ports: dict, tls_pki: TlsPki, kind: str, scenario: str, rule_id: str, severity: Severity
) -> None:
    result = run(tls_ports, tls_pki, kind, scenario)
    finding = one(result, rule_id)
    assert finding.severity == severity
    assert finding.evidence and finding.fix and finding.references
    # exactly its own problem: nothing else at medium or above (an expired leaf is still trusted, etc.)
    assert ids(result, Severity.MEDIUM) == {rule_id}, [f.to_dict() for f in result.findings]
    assert result.summary["certificate"]["verified"] is (scenario == "longlived")
    if scenario == "nointermediate":
        assert result.summary["certificate"]["chain_length"] == 1
        assert "mcp-harden test intermediate" in finding.evidence
        assert "http://127.0.0.1:9/inter.der" in finding.evidence
    if scenario == "longlived":
        assert finding.properties["lifespan_days"] == 501
        assert result.summary["compliant"]["intermediate"] is False


@pytest.mark.parametrize("kind", KINDS)
def test_ocsp_stapling_off_with_a_responder_named(tls_ports: dict, tls_pki: TlsPki, kind: str) -> None:
    result = run(tls_ports, tls_pki, kind, "ocsp")
    finding = one(result, "MH-TLS-OCSP-NO-STAPLE")
    assert finding.severity == Severity.LOW and "http://127.0.0.1:9/ocsp" in finding.evidence
    assert "ssl_stapling on;" in finding.fix
    assert result.summary["certificate"]["ocsp_stapled"] is False
    assert not ids(result, Severity.MEDIUM)
    assert result.summary["compliant"]["intermediate"] is False


def test_weak_key_and_sha1_signature(tls_ports: dict, tls_pki: TlsPki) -> None:
    """RSA-1024 signed with SHA-1 (Python's ssl at level 0; nginx refuses to load it)."""
    result = run(tls_ports, tls_pki, "python", "weakkey")
    key = one(result, "MH-TLS-CERT-KEY-WEAK")
    assert key.severity == Severity.HIGH and key.properties["key"] == "RSA 1024"
    signature = one(result, "MH-TLS-CERT-SIGNATURE-WEAK")
    assert signature.severity == Severity.HIGH and "SHA1" in signature.title
    assert ids(result, Severity.MEDIUM) == {"MH-TLS-CERT-KEY-WEAK", "MH-TLS-CERT-SIGNATURE-WEAK"}
    assert result.summary["certificate"]["verified"] is False  # a default client refuses it
    assert result.summary["certificate"]["trusted"] is True  # but the chain itself is the test CA's


def test_unknown_root_is_not_a_missing_intermediate(tls_ports: dict, tls_pki: TlsPki) -> None:
    """Without the test CA, the full chain ends at a root nobody trusts; served leaf-only, the chain is short."""
    full = run(tls_ports, tls_pki, "nginx", "intermediate", ca_file=None)
    finding = one(full, "MH-TLS-CERT-UNTRUSTED-ROOT")
    assert "mcp-harden test root" in finding.evidence
    assert "MH-TLS-CERT-CHAIN-INCOMPLETE" not in ids(full)
    short = run(tls_ports, tls_pki, "nginx", "nointermediate", ca_file=None)
    assert "MH-TLS-CERT-CHAIN-INCOMPLETE" in ids(short)
    assert "MH-TLS-CERT-UNTRUSTED-ROOT" not in ids(short)


def test_expiry_warning_days_and_modern_profile(tls_ports: dict, tls_pki: TlsPki) -> None:
    result = run(tls_ports, tls_pki, "python", "intermediate-rsa", expiry_warning_days=90, profile="modern")
    expiring = one(result, "MH-TLS-CERT-EXPIRING")
    assert expiring.severity == Severity.MEDIUM and "within 90 days" in expiring.title
    protocol = one(result, "MH-TLS-PROTOCOL-PROFILE")
    assert protocol.severity == Severity.MEDIUM
    assert protocol.properties["profile"] == "modern" and "Mozilla modern" in protocol.title
    assert "ssl_protocols TLSv1.3;" in protocol.fix
    key = one(result, "MH-TLS-CERT-KEY-PROFILE")
    assert key.properties["key"] == "RSA 2048"
    assert result.summary["compliant"] == {"intermediate": True, "modern": False}
    assert result.summary["compliant_modern"] == "no"


def test_ip_address_host_matches_ip_san(tls_ports: dict, tls_pki: TlsPki) -> None:
    result = check_tls(ADDRESS, tls_ports[("nginx", "intermediate")], ca_file=str(tls_pki.ca_file), timeout=3)
    assert not ids(result), [f.to_dict() for f in result.findings]
    assert result.summary["certificate"]["verified"] is True


def test_hand_built_hellos_see_what_openssl_cannot_offer(
    tls_raw_server: Callable[[Callable[[], ThreadServer]], ThreadServer],
) -> None:
    """3DES, RC4, NULL, export and SSLv3 answered by a hand-written old server: each in its class."""
    suites = [0x000A, 0x0005, 0x0002, 0x0003, 0x0018, 0x002F]
    server = tls_raw_server(lambda: hello_only_server(suites, {hello.SSL3, hello.TLS10}))
    result = check_tls(HOST, server.port, connect_address=ADDRESS, timeout=3)
    assert result.summary["protocols"] == ["SSL 3.0", "TLS 1.0"]
    assert sorted(result.summary["ciphers"]["TLS 1.0"]) == sorted(hello.SUITES[s] for s in suites)
    assert sorted(result.summary["ciphers"]["SSL 3.0"]) == sorted(hello.SUITES[s] for s in suites)
    assert one(result, "MH-TLS-PROTOCOL-SSL").severity == Severity.CRITICAL
    assert one(result, "MH-TLS-PROTOCOL-LEGACY").properties["protocols"] == ["TLS 1.0"]
    insecure = one(result, "MH-TLS-CIPHER-INSECURE")
    assert insecure.severity == Severity.CRITICAL
    assert set(insecure.properties["suites"]) == {hello.SUITES[s] for s in (0x0005, 0x0002, 0x0003, 0x0018)}
    weak = one(result, "MH-TLS-CIPHER-WEAK")
    assert weak.severity == Severity.HIGH and weak.properties["suites"] == ["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]
    assert any("certificate could not be read" in n for n in result.notes)


def test_rules_are_unique_and_cover_every_finding(tls_ports: dict, tls_pki: TlsPki) -> None:
    rule_ids = [r.id for r in RULES]
    assert len(rule_ids) == len(set(rule_ids))
    assert all(r.id.startswith("MH-TLS-") and r.description for r in RULES)
    for scenario in ("tls10", "weak", "expired", "selfsigned"):
        assert ids(run(tls_ports, tls_pki, "nginx", scenario)) <= set(rule_ids)


# --- cannot be checked: bounded, one line -------------------------------------------------------------


def test_silent_server_ends_in_bounded_time(
    tls_raw_server: Callable[[Callable[[], ThreadServer]], ThreadServer],
) -> None:
    server = tls_raw_server(silent_server)
    started = time.monotonic()
    with pytest.raises(CheckError) as caught:
        check_tls(HOST, server.port, connect_address=ADDRESS, timeout=0.5)
    assert time.monotonic() - started < 3.0
    assert "timed out" in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.where == f"{HOST}:{server.port}"


def test_silent_server_stops_at_the_deadline(
    tls_raw_server: Callable[[Callable[[], ThreadServer]], ThreadServer],
) -> None:
    server = tls_raw_server(silent_server)
    started = time.monotonic()
    with pytest.raises(CheckError):
        check_tls(HOST, server.port, connect_address=ADDRESS, timeout=30.0, deadline=time.monotonic() + 0.7)
    assert time.monotonic() - started < 2.5


def test_dripping_server_ends_in_bounded_time(
    tls_raw_server: Callable[[Callable[[], ThreadServer]], ThreadServer],
) -> None:
    """A byte every 0.3 s never lets a read time out: the whole answer still has to come within `timeout`."""
    server = tls_raw_server(drip_server)
    started = time.monotonic()
    with pytest.raises(CheckError) as caught:
        check_tls(HOST, server.port, connect_address=ADDRESS, timeout=1.0)
    assert time.monotonic() - started < 3.0
    assert "timed out" in str(caught.value)


def test_garbage_server_is_not_tls(
    tls_raw_server: Callable[[Callable[[], ThreadServer]], ThreadServer],
) -> None:
    server = tls_raw_server(garbage_server)
    started = time.monotonic()
    with pytest.raises(CheckError) as caught:
        check_tls(HOST, server.port, connect_address=ADDRESS, timeout=3.0)
    assert time.monotonic() - started < 2.0  # answered at once: no waiting for the timeout
    assert "not TLS" in str(caught.value)


def test_refused_port() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(CheckError) as caught:
            check_tls(HOST, port, connect_address=ADDRESS, timeout=2.0)
    assert "refused" in str(caught.value)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(CheckError, match="unknown TLS profile"):
        check_tls(HOST, 1, profile="old")


def test_a_dripped_handshake_ends_at_its_timeout(
    tls_raw_server: Callable[[Callable[[], ThreadServer]], ThreadServer],
) -> None:
    """The handshake itself (not only the raw hello probes) is bounded as a whole, a byte every 0.3 s or not."""
    import ssl

    from pipeline.endpoint.tls import _handshake

    server = tls_raw_server(drip_server)
    context = ssl.create_default_context()
    started = time.monotonic()
    with pytest.raises(OSError):
        _handshake(context, HOST, ADDRESS, server.port, 1.0, None)
    assert 0.9 < time.monotonic() - started < 2.5


def test_the_watchdog_fires_each_alarm_at_its_time_and_never_a_disarmed_one() -> None:
    import socket

    from pipeline.endpoint.tls import WATCHDOG

    pairs = [socket.socketpair() for _ in range(3)]
    try:
        late = WATCHDOG.arm(0.6, pairs[0][0])
        early = WATCHDOG.arm(0.2, pairs[1][0])  # armed after, due first
        kept = WATCHDOG.arm(0.3, pairs[2][0])
        WATCHDOG.disarm(kept)
        started = time.monotonic()
        for sock, *_ in pairs:
            sock.setblocking(True)
        pairs[1][1].settimeout(2)
        assert pairs[1][1].recv(1) == b""  # shut down: the peer reads end-of-file
        assert time.monotonic() - started < 0.5
        pairs[0][1].settimeout(2)
        assert pairs[0][1].recv(1) == b""
        assert 0.3 < time.monotonic() - started < 1.2
        pairs[2][1].settimeout(0.5)
        with pytest.raises(TimeoutError):  # the disarmed one is still open
            pairs[2][1].recv(1)
        WATCHDOG.disarm(late)
        WATCHDOG.disarm(early)  # already fired: disarming it again is harmless
    finally:
        for a, b in pairs:
            a.close()
            b.close()
