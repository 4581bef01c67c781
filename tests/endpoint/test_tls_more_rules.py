"""Three TLS rules against real Python `ssl` servers on 127.0.0.1, each with a certificate or suite list made
for it: a leaf not valid until next week, a leaf issued for client authentication only (a chain OpenSSL
rejects for a reason no narrower rule names), and a server that accepts DHE-RSA with AES-GCM, outside the
Mozilla intermediate list but in no weaker class."""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipeline.endpoint.tls import TLS_RULES, TlsResult, check_tls
from pipeline.findings import Finding, Severity
from tests.endpoint.tls_servers import ADDRESS, HOST, ThreadServer, answering_once

NOT_YET_VALID = TLS_RULES["MH-TLS-CERT-NOT-YET-VALID"]
INVALID = TLS_RULES["MH-TLS-CERT-INVALID"]
PROFILE = TLS_RULES["MH-TLS-CIPHER-PROFILE"]
DHE_GCM = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"


@dataclass(frozen=True)
class Served:
    cert_file: Path
    key_file: Path
    ciphers: str
    dhparam: Path | None = None


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _pem_key(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _leaf(
    ca: tuple[x509.Certificate, Any],
    key: Any,
    *,
    starts_in_days: float = -1,
    usage: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.SERVER_AUTH,),
) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    ca_cert, ca_key = ca
    return (
        x509.CertificateBuilder()
        .subject_name(_name(HOST))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=starts_in_days))
        .not_valid_after(now + dt.timedelta(days=starts_in_days + 60))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage(list(usage)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One root (the clients' trust, given as --ca-file) and a leaf per scenario, signed by it directly."""
    folder = tmp_path_factory.mktemp("tls-more")
    root_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("mcp-harden more-rules root"))
        .issuer_name(_name("mcp-harden more-rules root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaves: dict[str, tuple[PrivateKey, x509.Certificate]] = {
        "future": (ec_key, _leaf((root, root_key), ec_key, starts_in_days=7)),
        "clientauth": (ec_key, _leaf((root, root_key), ec_key, usage=(ExtendedKeyUsageOID.CLIENT_AUTH,))),
        "rsa": (rsa_key, _leaf((root, root_key), rsa_key)),
    }
    files: dict[str, tuple[Path, Path]] = {}
    for name, (key, cert) in leaves.items():
        cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(_pem_key(key))
        files[name] = (cert_file, key_file)
    # RFC 7919 ffdhe2048, a named 2048-bit group: the DHE suite is judged for its class, not for a weak group.
    dhparam = folder / "ffdhe2048.pem"
    dhparam.write_bytes(
        subprocess.run(
            ["openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"],
            check=True,
            capture_output=True,
            timeout=30,
        ).stdout
    )
    return {"ca_file": ca_file, "files": files, "dhparam": dhparam}


def _server(served: Served) -> ThreadServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(served.ciphers)
    context.load_cert_chain(served.cert_file, served.key_file)
    if served.dhparam is not None:
        context.load_dh_params(str(served.dhparam))

    return answering_once(context)


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[ThreadServer] = []

    def start(served: Served) -> int:
        server = _server(served)
        started.append(server)
        return server.port

    yield start
    for server in started:
        server.stop()


def _check(port: int, ca_file: Path) -> TlsResult:
    return check_tls(HOST, port, connect_address=ADDRESS, ca_file=str(ca_file), timeout=3.0)


def _only(result: TlsResult, rule_id: str) -> Finding:
    found = [f for f in result.findings if f.rule_id == rule_id]
    assert len(found) == 1, [f.to_dict() for f in result.findings]
    return found[0]


AEAD = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"


def test_a_certificate_valid_from_next_week_is_not_yet_valid(pki: dict[str, Any], serve: Any) -> None:
    cert_file, key_file = pki["files"]["future"]
    result = _check(serve(Served(cert_file, key_file, AEAD)), pki["ca_file"])
    finding = _only(result, NOT_YET_VALID.id)
    assert finding.rule_id == "MH-TLS-CERT-NOT-YET-VALID"
    assert finding.severity == Severity.HIGH
    assert finding.title == "Certificate is not yet valid"
    starts = x509.load_pem_x509_certificate(cert_file.read_bytes()).not_valid_before_utc
    assert f"valid {starts:%Y-%m-%d %H:%M}" in finding.evidence
    ids = {f.rule_id for f in result.findings}
    # The chain itself is sound: dates are this rule's alone, not a generic verification failure.
    assert not ids & {INVALID.id, "MH-TLS-CERT-EXPIRED", "MH-TLS-CERT-UNTRUSTED-ROOT"}


def test_a_client_authentication_certificate_fails_verification(pki: dict[str, Any], serve: Any) -> None:
    """OpenSSL rejects a leaf whose extended key usage omits serverAuth (error 26, unsupported purpose):
    no narrower rule covers it, so it is reported as an invalid chain with OpenSSL's own words."""
    cert_file, key_file = pki["files"]["clientauth"]
    result = _check(serve(Served(cert_file, key_file, AEAD)), pki["ca_file"])
    finding = _only(result, INVALID.id)
    assert finding.rule_id == "MH-TLS-CERT-INVALID"
    assert finding.severity == Severity.HIGH
    assert "OpenSSL verification error 26" in finding.evidence
    assert "purpose" in finding.title
    assert result.summary["certificate"]["verified"] is False
    assert not {f.rule_id for f in result.findings} & {
        "MH-TLS-CERT-SELF-SIGNED",
        "MH-TLS-CERT-UNTRUSTED-ROOT",
        "MH-TLS-CERT-CHAIN-INCOMPLETE",
    }


def test_dhe_with_aes_gcm_is_outside_the_intermediate_profile(pki: dict[str, Any], serve: Any) -> None:
    cert_file, key_file = pki["files"]["rsa"]
    served = Served(
        cert_file, key_file, "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", pki["dhparam"]
    )
    result = _check(serve(served), pki["ca_file"])
    assert DHE_GCM in result.summary["ciphers"]["TLS 1.2"]
    finding = _only(result, PROFILE.id)
    assert finding.rule_id == "MH-TLS-CIPHER-PROFILE"
    assert finding.severity == Severity.LOW
    assert finding.properties["suites"] == [DHE_GCM]
    assert DHE_GCM not in finding.properties["allowed"]
    assert finding.properties["profile"] == "intermediate" and finding.properties["profile_rule"]
    ids = {f.rule_id for f in result.findings}
    # An AEAD suite with forward secrecy and a 2048-bit group: no weaker class applies to it.
    assert not ids & {"MH-TLS-CIPHER-CBC", "MH-TLS-CIPHER-NO-PFS", "MH-TLS-DH-WEAK", "MH-TLS-CIPHER-WEAK"}


def test_the_same_suite_is_not_judged_against_the_modern_profile(pki: dict[str, Any], serve: Any) -> None:
    """Under modern, TLS 1.2 itself is the finding (PROTOCOL-PROFILE), not each of its suites."""
    cert_file, key_file = pki["files"]["rsa"]
    served = Served(cert_file, key_file, "DHE-RSA-AES128-GCM-SHA256", pki["dhparam"])
    port = serve(served)
    result = check_tls(
        HOST, port, connect_address=ADDRESS, ca_file=str(pki["ca_file"]), timeout=3.0, profile="modern"
    )
    ids = {f.rule_id for f in result.findings}
    assert "MH-TLS-PROTOCOL-PROFILE" in ids and PROFILE.id not in ids
