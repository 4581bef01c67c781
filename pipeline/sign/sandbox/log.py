"""The sandbox's Rekor v1-like log: an RFC 6962 Merkle tree with inclusion proofs, signed checkpoints and
signed entry timestamps."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.sign.sandbox.keys import SandboxError, SandboxKeys, b64, key_id, utc_now


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
        self._log_id = key_id(self._key.public_key())

    def add(self, proposed: dict[str, Any]) -> dict[str, Any]:
        import rfc8785

        body = rfc8785.dumps(self._stored_form(proposed))
        with self.lock:
            index = len(self.leaves)
            self.leaves.append(_leaf_hash(body))
            size = len(self.leaves)
            proof = _path(index, self.leaves)
            root = _root(self.leaves)
        integrated = int(utc_now().timestamp())
        body_b64 = b64(body)
        log_id_hex = self._log_id.hex()
        set_payload = rfc8785.dumps(
            {"body": body_b64, "integratedTime": integrated, "logID": log_id_hex, "logIndex": index}
        )
        origin = f"mcp-harden-sandbox - {self.tree_id}"
        note = f"{origin}\n{size}\n{b64(root)}\n"
        note_sig = self._key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = f"{note}\n\u2014 mcp-harden-sandbox {b64(self._log_id[:4] + note_sig)}\n"
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
                    "signedEntryTimestamp": b64(self._key.sign(set_payload, ec.ECDSA(hashes.SHA256()))),
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
