"""A local Sigstore instance on 127.0.0.1 for tests and fresh machines: never trusted by a real policy.

It holds an OIDC issuer key that mints GitHub-Actions-shaped tokens, a Fulcio-like CA that issues short-lived
leaf certificates with one embedded SCT, and a Rekor v1-like log (RFC 6962 Merkle tree, inclusion proofs,
signed checkpoints, signed entry timestamps). Keys live in the sandbox folder; its `trusted_root.json` lets
`mcp-harden verify` check sandbox signatures offline later, without the server running.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from pipeline.errors import CheckError, ConfigError
from pipeline.fileio import write_atomic

SANDBOX_ISSUER = "https://sandbox.mcp-harden.invalid"
SANDBOX_ORG = "mcp-harden sandbox (NOT TRUSTED)"
TRUSTED_ROOT = "trusted_root.json"
TRUST_CONFIG = "trust_config.json"
STATE_FILE = "server.json"
LEAF_LIFETIME = dt.timedelta(minutes=20)
TOKEN_LIFETIME = dt.timedelta(minutes=10)

_OID = "1.3.6.1.4.1.57264.1."
_SCT_OID = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_KEY_FILES = ("oidc", "ca-root", "ca-intermediate", "ct", "rekor")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _key_id(key: ec.EllipticCurvePublicKey) -> bytes:
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
        start = _now() - dt.timedelta(days=1)
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
                    "rawBytes": _b64(_spki(public)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start},
                },
                "logId": {"keyId": _b64(_key_id(public))},
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
                            {"rawBytes": _b64(self.intermediate_cert.public_bytes(der))},
                            {"rawBytes": _b64(self.root_cert.public_bytes(der))},
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

        now = int(_now().timestamp())
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
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),  # type: ignore[arg-type]
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    return builder.sign(signer, hashes.SHA384())


# --- Fulcio-like CA ------------------------------------------------------------------------------


class SandboxError(Exception):
    """A request the sandbox refuses (bad token, bad CSR, bad entry): answered with HTTP 400."""


def _der_utf8(text: str) -> bytes:
    raw = text.encode()
    n = len(raw)
    if n < 0x80:
        head = bytes([n])
    elif n < 0x100:
        head = bytes([0x81, n])
    else:
        head = bytes([0x82]) + n.to_bytes(2, "big")
    return b"\x0c" + head + raw


def _der_octets(raw: bytes) -> bytes:
    n = len(raw)
    if n < 0x80:
        head = bytes([n])
    elif n < 0x100:
        head = bytes([0x81, n])
    else:
        head = bytes([0x82]) + n.to_bytes(2, "big")
    return b"\x04" + head + raw


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
        start = _now() - dt.timedelta(seconds=60)
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
                x509.UnrecognizedExtension(ObjectIdentifier(_OID + suffix), value), critical=False
            )
        precert = builder.sign(self._ca_key, hashes.SHA384())
        sct_list = self._sct(precert.tbs_certificate_bytes)
        leaf = builder.add_extension(
            x509.UnrecognizedExtension(_SCT_OID, _der_octets(sct_list)), critical=False
        ).sign(self._ca_key, hashes.SHA384())
        if leaf.tbs_precertificate_bytes != precert.tbs_certificate_bytes:
            raise SandboxError("internal: the precertificate does not match the issued certificate")
        return [leaf, issuer_cert, self.keys.root_cert]

    def _sct(self, tbs: bytes) -> bytes:
        """An RFC 6962 SCT list with one precertificate SCT signed by the sandbox CT key."""
        timestamp = int(_now().timestamp() * 1000)
        issuer_key_hash = _key_id(self._ca_key.public_key())  # type: ignore[arg-type]
        signed = (
            struct.pack("!BBQH", 0, 0, timestamp, 1)
            + issuer_key_hash
            + len(tbs).to_bytes(3, "big")
            + tbs
            + struct.pack("!H", 0)
        )
        signature = self._ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        log_id = _key_id(self._ct_key.public_key())
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


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node_hash(_root(leaves[:k]), _root(leaves[k:]))


def _path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 audit path, lowest level first."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_path(index, leaves[:k]), _root(leaves[k:])]
    return [*_path(index - k, leaves[k:]), _root(leaves[:k])]


@dataclass
class SandboxLog:
    keys: SandboxKeys
    leaves: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tree_id: int = field(default_factory=lambda: secrets.randbelow(1 << 62))

    def __post_init__(self) -> None:
        # Pre-fill a few leaves so inclusion proofs are never trivial.
        self.leaves = [_leaf_hash(secrets.token_bytes(32)) for _ in range(5)]
        self._key = self.keys.keys["rekor"]
        self._log_id = _key_id(self._key.public_key())

    def add(self, proposed: dict[str, Any]) -> dict[str, Any]:
        import rfc8785

        body = rfc8785.dumps(self._stored_form(proposed))
        with self.lock:
            index = len(self.leaves)
            self.leaves.append(_leaf_hash(body))
            size = len(self.leaves)
            proof = _path(index, self.leaves)
            root = _root(self.leaves)
        integrated = int(_now().timestamp())
        body_b64 = _b64(body)
        log_id_hex = self._log_id.hex()
        set_payload = rfc8785.dumps(
            {"body": body_b64, "integratedTime": integrated, "logID": log_id_hex, "logIndex": index}
        )
        origin = f"mcp-harden-sandbox - {self.tree_id}"
        note = f"{origin}\n{size}\n{_b64(root)}\n"
        note_sig = self._key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 mcp-harden-sandbox {_b64(self._log_id[:4] + note_sig)}\n"
        uuid = hashlib.sha256(body).hexdigest()
        return {
            uuid: {
                "body": body_b64,
                "integratedTime": integrated,
                "logID": log_id_hex,
                "logIndex": index,
                "verification": {
                    "inclusionProof": {
                        "logIndex": index,
                        "rootHash": root.hex(),
                        "treeSize": size,
                        "hashes": [h.hex() for h in proof],
                        "checkpoint": checkpoint,
                    },
                    "signedEntryTimestamp": _b64(self._key.sign(set_payload, ec.ECDSA(hashes.SHA256()))),
                },
            }
        }

    @staticmethod
    def _stored_form(proposed: dict[str, Any]) -> dict[str, Any]:
        kind = proposed.get("kind")
        spec = proposed.get("spec") or {}
        if proposed.get("apiVersion") != "0.0.1":
            raise SandboxError("only entries of apiVersion 0.0.1 are accepted")
        if kind == "hashedrekord":
            try:
                cert = x509.load_pem_x509_certificate(
                    base64.b64decode(spec["signature"]["publicKey"]["content"])
                )
                signature = base64.b64decode(spec["signature"]["content"])
                digest = bytes.fromhex(spec["data"]["hash"]["value"])
                algorithm = spec["data"]["hash"]["algorithm"]
            except (KeyError, TypeError, ValueError) as exc:
                raise SandboxError(f"malformed hashedrekord entry: {exc}") from None
            if algorithm != "sha256":
                raise SandboxError("only sha256 hashedrekord entries are accepted")
            _check_signature(cert, signature, digest, prehashed=True)
            return proposed
        if kind == "dsse":
            try:
                content = spec["proposedContent"]
                envelope_text = content["envelope"]
                envelope = json.loads(envelope_text)
                verifier = content["verifiers"][0]
                cert = x509.load_pem_x509_certificate(base64.b64decode(verifier))
                payload = base64.b64decode(envelope["payload"])
                payload_type = envelope["payloadType"]
                signatures = envelope["signatures"]
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise SandboxError(f"malformed dsse entry: {exc}") from None
            pae = b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type.encode(), len(payload), payload)
            for sig in signatures:
                _check_signature(cert, base64.b64decode(sig["sig"]), pae, prehashed=False)
            return {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(envelope_text.encode()).hexdigest(),
                    },
                    "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                    "signatures": [{"signature": sig["sig"], "verifier": verifier} for sig in signatures],
                },
            }
        raise SandboxError(f"unsupported entry kind {kind!r}")


def _check_signature(cert: x509.Certificate, signature: bytes, data: bytes, *, prehashed: bool) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise SandboxError("only EC keys are accepted")
    algorithm = ec.ECDSA(Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256())
    try:
        public.verify(signature, data, algorithm)
    except InvalidSignature:
        raise SandboxError("the entry's signature does not verify") from None


# --- the HTTP server -----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path in ("/", "/healthz"):
            self._send(200, {"sandbox": True, "issuer": SANDBOX_ISSUER})
        else:
            self._send(404, {"code": 404, "message": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 16 << 20:
            self._send(413, {"code": 413, "message": "request too large"})
            return
        body = self.rfile.read(length)
        try:
            request = json.loads(body)
            if self.path == "/api/v2/signingCert":
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer "):
                    raise SandboxError("missing bearer token")
                csr = base64.b64decode(request["certificateSigningRequest"])
                chain = self.server.ca.issue(auth[7:], csr)
                pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain]
                self._send(200, {"signedCertificateEmbeddedSct": {"chain": {"certificates": pems}}})
            elif self.path == "/api/v1/log/entries":
                self._send(201, self.server.log.add(request))
            else:
                self._send(404, {"code": 404, "message": "not found"})
        except (SandboxError, ValueError, KeyError, TypeError) as exc:
            self._send(400, {"code": 400, "message": str(exc)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    ca: SandboxCA
    log: SandboxLog


class Sandbox:
    """A running sandbox: `with Sandbox(folder) as sb: sb.trust_config_json, sb.mint_token(claims)`."""

    def __init__(self, folder: str | os.PathLike[str], *, port: int = 0) -> None:
        self.keys = SandboxKeys.load_or_create(Path(folder))
        self.folder = self.keys.folder
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("sandbox not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Sandbox:
        try:
            server = _Server(("127.0.0.1", self._port), _Handler)
        except OSError as exc:
            raise CheckError(f"cannot start the sandbox on 127.0.0.1:{self._port}: {exc.strerror}") from None
        server.ca = SandboxCA(self.keys)
        server.log = SandboxLog(self.keys)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="mcp-harden-sandbox", daemon=True)
        self._thread.start()
        write_atomic(self.folder / TRUST_CONFIG, json.dumps(self.trust_config(), indent=2) + "\n")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def trust_config(self) -> dict[str, Any]:
        return self.keys.trust_config(self.url)

    def mint_token(self, claims: dict[str, Any]) -> str:
        return self.keys.mint_token(claims)

    def serve_forever(self) -> None:
        """Block until interrupted (used by `mcp-harden sandbox start`)."""
        if self._thread is not None:
            self._thread.join()


# --- a background server for `mcp-harden sandbox start` --------------------------------------------


def serve(folder: Path, port: int) -> None:
    """Run the sandbox until SIGTERM, recording its pid and URL in the folder's server.json."""
    import signal

    sandbox = Sandbox(folder, port=port).start()
    state = folder / STATE_FILE
    write_atomic(state, json.dumps({"pid": os.getpid(), "url": sandbox.url}) + "\n")

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        sandbox.serve_forever()
    finally:
        sandbox.stop()
        state.unlink(missing_ok=True)


if __name__ == "__main__":
    import sys

    serve(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
