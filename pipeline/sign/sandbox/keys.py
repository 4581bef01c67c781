"""The sandbox's keys and trust material: the OIDC issuer, the CA pair, the CT and log keys, the
trusted root and trust config that let `verify` check sandbox signatures offline."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from pipeline.errors import ConfigError
from pipeline.fileio import write_atomic

SANDBOX_ISSUER = "https://sandbox.mcp-harden.invalid"
SANDBOX_ORG = "mcp-harden sandbox (NOT TRUSTED)"
TRUSTED_ROOT = "trusted_root.json"
TRUST_CONFIG = "trust_config.json"
STATE_FILE = "server.json"
LEAF_LIFETIME = dt.timedelta(minutes=20)
TOKEN_LIFETIME = dt.timedelta(minutes=10)

OID_PREFIX = "1.3.6.1.4.1.57264.1."
SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_KEY_FILES = ("oidc", "ca-root", "ca-intermediate", "ct", "rekor")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- keys and the trusted root -------------------------------------------------------------------


@dataclass
class SandboxKeys:
    """The sandbox's private keys and CA certificates, read from (or created in) its folder."""

    folder: Path
    keys: dict[str, ec.EllipticCurvePrivateKey]
    root_cert: x509.Certificate
    intermediate_cert: x509.Certificate

    @property
    def trusted_root_path(self) -> Path:
        return self.folder / TRUSTED_ROOT

    @classmethod
    def load_or_create(cls, folder: Path) -> SandboxKeys:
        folder = Path(folder)
        if (folder / "ca-root.pem").is_file():
            return cls._load(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the sandbox folder: {exc.strerror}", where=str(folder)
            ) from None
        keys = {
            name: ec.generate_private_key(ec.SECP384R1() if name.startswith("ca-") else ec.SECP256R1())
            for name in _KEY_FILES
        }
        start = utc_now() - dt.timedelta(days=1)
        root = _ca_cert(keys["ca-root"], keys["ca-root"], None, "mcp-harden sandbox root", start)
        inter = _ca_cert(
            keys["ca-intermediate"], keys["ca-root"], root, "mcp-harden sandbox intermediate", start
        )
        for name, key in keys.items():
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            write_atomic(folder / f"{name}.key", pem, mode=0o600)  # private: whatever the umask
        write_atomic(folder / "ca-intermediate.pem", inter.public_bytes(serialization.Encoding.PEM))
        write_atomic(folder / "ca-root.pem", root.public_bytes(serialization.Encoding.PEM))
        made = cls(folder, keys, root, inter)
        write_atomic(made.trusted_root_path, json.dumps(made.trusted_root(), indent=2) + "\n")
        return made

    @classmethod
    def _load(cls, folder: Path) -> SandboxKeys:
        try:
            keys = {}
            for name in _KEY_FILES:
                key = serialization.load_pem_private_key((folder / f"{name}.key").read_bytes(), None)
                if not isinstance(key, ec.EllipticCurvePrivateKey):
                    raise ValueError(f"{name}.key is not an EC key")
                keys[name] = key
            root = x509.load_pem_x509_certificate((folder / "ca-root.pem").read_bytes())
            inter = x509.load_pem_x509_certificate((folder / "ca-intermediate.pem").read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"the sandbox folder is damaged ({exc}); delete it to start afresh", where=str(folder)
            ) from None
        made = cls(folder, keys, root, inter)
        if not made.trusted_root_path.is_file():
            write_atomic(made.trusted_root_path, json.dumps(made.trusted_root(), indent=2) + "\n")
        return made

    def trusted_root(self) -> dict[str, Any]:
        start = _iso(self.root_cert.not_valid_before_utc)

        def log(name: str, url: str) -> dict[str, Any]:
            public = self.keys[name].public_key()
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(_spki(public)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": b64(key_id(public))},
            }

        der = serialization.Encoding.DER
        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log("rekor", "http://127.0.0.1")],
            "certificateAuthorities": [
                {
                    "subject": {"organization": SANDBOX_ORG, "commonName": "mcp-harden sandbox"},
                    "uri": "http://127.0.0.1",
                    "certChain": {
                        "certificates": [
                            {"rawBytes": b64(self.intermediate_cert.public_bytes(der))},
                            {"rawBytes": b64(self.root_cert.public_bytes(der))},
                        ]
                    },
                    "validFor": {"start": start},
                }
            ],
            "ctlogs": [log("ct", "http://127.0.0.1/ct")],
            "timestampAuthorities": [],
        }

    def trust_config(self, url: str) -> dict[str, Any]:
        """The ClientTrustConfig document for a server listening at `url`."""
        start = _iso(self.root_cert.not_valid_before_utc)

        def service(path: str) -> dict[str, Any]:
            return {
                "url": url + path,
                "majorApiVersion": 1,
                "validFor": {"start": start},
                "operator": "mcp-harden-sandbox",
            }

        return {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": {
                "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                "caUrls": [service("")],
                "oidcUrls": [service("/sandbox-oidc")],
                "rekorTlogUrls": [service("")],
                "tsaUrls": [],
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            },
        }

    def mint_token(self, claims: dict[str, Any]) -> str:
        """A signed JWT from the sandbox issuer, shaped like a GitHub Actions token."""
        import jwt

        now = int(utc_now().timestamp())
        body = {
            "aud": "sigstore",
            "iss": SANDBOX_ISSUER,
            "iat": now,
            "nbf": now - 5,
            "exp": now + int(TOKEN_LIFETIME.total_seconds()),
            **claims,
        }
        body.setdefault("sub", f"repo:{body.get('repository', 'local/unknown')}:ref:{body.get('ref', '')}")
        return jwt.encode(body, self.keys["oidc"], algorithm="ES256")


def _ca_cert(
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    name: str,
    start: dt.datetime,
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, SANDBOX_ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=3650))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(signer, hashes.SHA384())


# --- Fulcio-like CA ------------------------------------------------------------------------------


class SandboxError(Exception):
    """A request the sandbox refuses (bad token, bad CSR, bad entry): answered with HTTP 400."""
