"""The sandbox's Fulcio-like CA: checks a minted OIDC token and issues a short-lived leaf certificate with
GitHub Actions extensions and one embedded SCT."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

from pipeline.sign.sandbox.keys import (
    LEAF_LIFETIME,
    OID_PREFIX,
    SANDBOX_ISSUER,
    SCT_OID,
    SandboxError,
    SandboxKeys,
    key_id,
    utc_now,
)


def _der(tag: int, raw: bytes) -> bytes:
    """One DER TLV (definite length, up to 64 KiB of content)."""
    n = len(raw)
    if n < 0x80:
        head = bytes([n])
    elif n < 0x100:
        head = bytes([0x81, n])
    else:
        head = bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + head + raw


def _der_utf8(text: str) -> bytes:
    return _der(0x0C, text.encode())


def _der_octets(raw: bytes) -> bytes:
    return _der(0x04, raw)


def _github_extensions(claims: dict[str, Any], issuer: str) -> list[tuple[str, bytes]]:
    """Fulcio's OID 1.3.6.1.4.1.57264.1.x extensions for a token: 1.1-1.6 raw text, 1.8-1.22 DER UTF8String."""
    out: list[tuple[str, bytes]] = [("1", issuer.encode()), ("8", _der_utf8(issuer))]
    if "repository" not in claims:
        return out
    gh = "https://github.com/"
    raw = {"2": "event_name", "3": "sha", "4": "workflow", "5": "repository", "6": "ref"}
    for suffix, claim in raw.items():
        if claims.get(claim):
            out.append((suffix, str(claims[claim]).encode()))
    derived = {
        "9": gh + str(claims.get("job_workflow_ref", "")),
        "10": claims.get("job_workflow_sha") or claims.get("sha"),
        "11": claims.get("runner_environment"),
        "12": gh + str(claims["repository"]),
        "13": claims.get("sha"),
        "14": claims.get("ref"),
        "15": claims.get("repository_id"),
        "16": gh + str(claims.get("repository_owner", "")),
        "17": claims.get("repository_owner_id"),
        "18": gh + str(claims.get("workflow_ref", "")),
        "19": claims.get("workflow_sha") or claims.get("sha"),
        "20": claims.get("event_name"),
        "21": f"{gh}{claims['repository']}/actions/runs/{claims.get('run_id', '0')}/attempts/"
        f"{claims.get('run_attempt', '1')}",
        "22": claims.get("repository_visibility"),
    }
    for suffix, value in derived.items():
        if value:
            out.append((suffix, _der_utf8(str(value))))
    return out


class SandboxCA:
    def __init__(self, keys: SandboxKeys) -> None:
        self.keys = keys
        self._ct_key = keys.keys["ct"]
        self._ca_key = keys.keys["ca-intermediate"]

    def check_token(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            return jwt.decode(
                token,
                self.keys.keys["oidc"].public_key(),
                algorithms=["ES256"],
                audience="sigstore",
                issuer=SANDBOX_ISSUER,
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
                leeway=5,
            )
        except jwt.PyJWTError as exc:
            raise SandboxError(f"identity token rejected: {exc}") from None

    def issue(self, token: str, csr_pem: bytes) -> list[x509.Certificate]:
        claims = self.check_token(token)
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise SandboxError(f"bad CSR: {exc}") from None
        if not csr.is_signature_valid:
            raise SandboxError("the CSR's signature does not verify (no proof of key possession)")
        public = csr.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise SandboxError("only EC keys are accepted")
        if "job_workflow_ref" in claims:
            san: x509.GeneralName = x509.UniformResourceIdentifier(
                f"https://github.com/{claims['job_workflow_ref']}"
            )
        elif "email" in claims:
            san = x509.RFC822Name(str(claims["email"]))
        else:
            san = x509.UniformResourceIdentifier(str(claims["sub"]))
        start = utc_now() - dt.timedelta(seconds=60)
        issuer_cert = self.keys.intermediate_cert
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(issuer_cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + LEAF_LIFETIME)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()), critical=False
            )
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
        )
        for suffix, value in _github_extensions(claims, SANDBOX_ISSUER):
            builder = builder.add_extension(
                x509.UnrecognizedExtension(ObjectIdentifier(OID_PREFIX + suffix), value), critical=False
            )
        precert = builder.sign(self._ca_key, hashes.SHA384())
        sct_list = self._sct(precert.tbs_certificate_bytes)
        leaf = builder.add_extension(
            x509.UnrecognizedExtension(SCT_OID, _der_octets(sct_list)), critical=False
        ).sign(self._ca_key, hashes.SHA384())
        if leaf.tbs_precertificate_bytes != precert.tbs_certificate_bytes:
            raise SandboxError("internal: the precertificate does not match the issued certificate")
        return [leaf, issuer_cert, self.keys.root_cert]

    def _sct(self, tbs: bytes) -> bytes:
        """An RFC 6962 SCT list with one precertificate SCT signed by the sandbox CT key."""
        timestamp = int(utc_now().timestamp() * 1000)
        issuer_key_hash = key_id(self._ca_key.public_key())
        signed = (
            struct.pack("!BBQH", 0, 0, timestamp, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", 0)
        )
        signature = self._ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        log_id = key_id(self._ct_key.public_key())
        sct = (
            struct.pack("!B", 0)
            + log_id
            + struct.pack("!Q", timestamp)
            + struct.pack("!H", 0)
            + struct.pack("!BBH", 4, 3, len(signature))
            + signature
        )
        item = struct.pack("!H", len(sct)) + sct
        return struct.pack("!H", len(item)) + item


# --- Rekor v1-like log ---------------------------------------------------------------------------
