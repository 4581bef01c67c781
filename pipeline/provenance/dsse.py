"""Verify DSSE in-toto attestation bundles (GitHub artifact attestations, npm provenance) offline.

    verify_attestation_file(Path("x.whl.jsonl"), Digests.of(Path("x.whl")), policy, verifier)
        -> FileVerdict (one BundleVerdict per bundle: a `.sigstore.json`, or JSON Lines as
           `gh attestation download` writes them)

A bundle counts only when sigstore's `Verifier.verify_dsse` accepts it under the policy and the *verified*
payload is an in-toto Statement v1 with a subject whose sha256 (or sha512) is the artifact's. What
sigstore-python 4.5.1 cannot verify is UNSUPPORTED (exit 3, with the reason), never a pass:

- Rekor entries of kind intoto 0.0.2 (sigstore-js / npm provenance bundles): sigstore refuses to take a
  verified time from them, so it never gets to the signature.
- bundles without a transparency-log entry (GitHub's own Sigstore instance: an RFC 3161 timestamp only).

Before giving up on those, the checks that need no trust are still made, so a bundle that is plainly wrong
(another artifact, another signer, a DSSE signature that does not match its certificate's key) is a FAIL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pipeline.errors import one_line
from pipeline.fileio import CHUNK, read_bounded

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1",)
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
MAX_BUNDLE_FILE = 16 << 20  # a JSON Lines file of many bundles; one bundle is a few kB
MAX_BUNDLES = 256
_SUPPORTED_ENTRIES = {("dsse", "0.0.1"), ("hashedrekord", "0.0.2")}


class Verdict(str, Enum):
    VERIFIED = "verified"
    FAILED = "failed"  # verified to be wrong: another artifact, signer, or a bad signature
    MALFORMED = "malformed"  # not a usable bundle
    UNSUPPORTED = "unsupported"  # may be fine, but sigstore-python cannot verify it offline: exit 3


@dataclass(frozen=True)
class Digests:
    """The artifact's digests, computed in one streaming pass, and its file name (a distribution's name is
    part of what its attestation says: a subject with its bytes but another distribution's name is refused)."""

    sha256: str
    sha512: str
    name: str | None = None

    @classmethod
    def of(cls, path: Path) -> Digests:
        h256, h512 = hashlib.sha256(), hashlib.sha512()
        with open(path, "rb", buffering=0) as handle:
            while chunk := handle.read(CHUNK):
                h256.update(chunk)
                h512.update(chunk)
        return cls(h256.hexdigest(), h512.hexdigest(), path.name)

    def matches(self, digest: Any) -> bool:
        """An in-toto subject digest names this artifact: every algorithm we know agrees, and one is given."""
        if not isinstance(digest, dict):
            return False
        known = {"sha256": self.sha256, "sha512": self.sha512}
        shared = [alg for alg in known if isinstance(digest.get(alg), str)]
        return bool(shared) and all(str(digest[alg]).lower() == known[alg] for alg in shared)


@dataclass
class BundleVerdict:
    index: int  # 1-based line (JSON Lines) or 1
    verdict: Verdict
    reason: str = ""
    predicate_type: str | None = None
    signer: str | None = None  # the certificate's SAN
    subjects: list[str] = field(default_factory=list)


@dataclass
class FileVerdict:
    path: Path
    bundles: list[BundleVerdict]

    @property
    def verdict(self) -> Verdict:
        """VERIFIED when one bundle verifies (as `gh attestation verify`); else UNSUPPORTED when one could
        not be judged (it might be the good one); else the first failure."""
        kinds = [b.verdict for b in self.bundles]
        if Verdict.VERIFIED in kinds:
            return Verdict.VERIFIED
        if Verdict.UNSUPPORTED in kinds:
            return Verdict.UNSUPPORTED
        return kinds[0] if kinds else Verdict.MALFORMED

    @property
    def verified(self) -> list[BundleVerdict]:
        return [b for b in self.bundles if b.verdict is Verdict.VERIFIED]

    def reason(self) -> str:
        """Why the file has its verdict: the distinct reasons of the bundles that share it."""
        wanted = self.verdict
        reasons = [b.reason for b in self.bundles if b.verdict is wanted and b.reason]
        return "; ".join(dict.fromkeys(reasons))


def read_bundles(path: Path) -> list[tuple[int, str]]:
    """The bundle texts in a file (Sigstore bundles or PEP 740 attestation objects): one JSON document, or JSON Lines (one bundle a line, blank lines skipped).
    Raises ConfigError for a file that is unreadable, not UTF-8, too large or has too many bundles."""
    from pipeline.errors import ConfigError

    raw = read_bounded(path, what="attestation bundle", limit=MAX_BUNDLE_FILE)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"attestation bundle is not UTF-8 (byte {exc.start})", where=str(path)) from None
    from pipeline import jsonsafe

    try:
        jsonsafe.loads(text, where=str(path), what="attestation bundle")
        return [(1, text)]
    except jsonsafe.LimitError:
        raise
    except ConfigError:
        pass  # not one JSON document: JSON Lines, then
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise ConfigError("attestation bundle file is empty", where=str(path))
    if len(lines) > MAX_BUNDLES:
        raise ConfigError(f"more than {MAX_BUNDLES} bundles in one file", where=str(path))
    return lines


def _pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _leaf_signature_ok(cert: Any, payload_type: str, payload: bytes, signature: bytes) -> bool:
    """The DSSE signature against the leaf key alone: no chain, no time. Only ever used to *reject*."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return True  # cannot tell: never reject on a key type we do not check here
    try:
        key.verify(signature, _pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def _statement(payload_type: str, payload: bytes) -> dict[str, Any]:
    if payload_type != IN_TOTO_PAYLOAD:
        raise ValueError(f"the payload is {payload_type!r}, not an in-toto statement")
    statement = json.loads(payload)
    if not isinstance(statement, dict) or statement.get("_type") not in STATEMENT_TYPES:
        raise ValueError(f"_type is {statement.get('_type') if isinstance(statement, dict) else None!r}")
    if not isinstance(statement.get("subject"), list) or not isinstance(statement.get("predicateType"), str):
        raise ValueError("the statement has no subject list or predicateType")
    return statement


def _names_distribution(name: str) -> bool:
    from pipeline.sign.attest import is_pypi_distribution

    return is_pypi_distribution(name) or name.endswith(".mcpb")


def _subject_problem(statement: dict[str, Any], digests: Digests) -> str | None:
    """None when a subject has the artifact's digest (as `gh attestation verify` matches) and, when the
    artifact is a distribution (wheel, sdist, .mcpb), also its name (wheel tags in any order)."""
    from pipeline.verify.checker import same_distribution

    subjects = statement["subject"]
    matching = [s for s in subjects if isinstance(s, dict) and digests.matches(s.get("digest"))]
    name = digests.name
    if matching and (name is None or not _names_distribution(name)):
        return None
    if any(same_distribution(str(s.get("name")), str(name)) for s in matching):
        return None
    if matching:
        return (
            f"the subject with the artifact's digest is named {matching[0].get('name')}, not {name} "
            "(an attestation of another distribution)"
        )
    named = [
        f"{s.get('name')} ({', '.join(f'{k}:{str(v)[:16]}…' for k, v in _digest_items(s.get('digest')))})"
        for s in subjects[:3]
        if isinstance(s, dict)
    ]
    return (
        f"no subject has the artifact's digest (sha256 {digests.sha256}); the statement is about "
        f"{', '.join(named) or 'nothing'}"
    )


def _digest_items(digest: Any) -> list[tuple[str, Any]]:
    return list(digest.items()) if isinstance(digest, dict) else []


def _claims_problem(
    statement: dict[str, Any],
    digests: Digests,
    policy: Any,
    cert: Any,
    envelope: Any,
    *,
    signer: str | None,
    predicate_type: str | None,
) -> str | None:
    """What is wrong with a bundle before any trust is established: the subject, the predicate type, the
    signer named in the certificate, the DSSE signature against the certificate's own key. Only ever used to
    reject: a bundle with no problem here still has to pass sigstore's verification."""
    problem = _subject_problem(statement, digests)
    if problem is None and predicate_type and statement["predicateType"] != predicate_type:
        problem = f"predicate type is {statement['predicateType']}, the policy requires {predicate_type}"
    if problem is None:
        mismatch = policy.mismatches(cert)
        if mismatch:
            problem = f"signed by {signer}: " + "; ".join(mismatch)
    signatures = envelope.signatures
    if (
        problem is None
        and len(signatures) == 1
        and not _leaf_signature_ok(cert, envelope.payload_type, envelope.payload, signatures[0].sig)
    ):
        problem = "the DSSE signature does not verify against its own certificate's key"
    return problem


def _no_tlog_reason(data: Any) -> str | None:
    """Why sigstore-python cannot load a bundle it would otherwise read, or None."""
    material = data.get("verificationMaterial") if isinstance(data, dict) else None
    if not isinstance(material, dict):
        return None
    has_cert = "certificate" in material or "x509CertificateChain" in material
    if has_cert and not material.get("tlogEntries") and material.get("timestampVerificationData"):
        return (
            "sigstore-python 4.5.1 cannot verify a bundle without a transparency-log entry (this one is "
            "timestamped only, as GitHub's own Sigstore instance signs); verify it with `gh attestation "
            "verify` and GitHub's trusted root"
        )
    return None


def _unloadable(index: int, data: Any, exc: Exception) -> BundleVerdict:
    """A bundle sigstore-python would not load: UNSUPPORTED when it may be fine elsewhere, else MALFORMED."""
    unsupported = _no_tlog_reason(data)
    if unsupported:
        return BundleVerdict(index, Verdict.UNSUPPORTED, unsupported)
    detail = one_line(exc, with_type=False, limit=240)
    return BundleVerdict(index, Verdict.MALFORMED, f"not a Sigstore bundle: {detail}")


def verify_bundle(
    index: int, text: str, digests: Digests, policy: Any, verifier: Any, *, predicate_type: str | None
) -> BundleVerdict:
    """One bundle: trust-free checks first (to reject, and to say why), then sigstore's full verification."""
    from sigstore.models import Bundle

    from pipeline import jsonsafe
    from pipeline.errors import ConfigError

    try:
        data = jsonsafe.loads(text, where=f"bundle {index}", what="bundle")  # bounded: depth, objects
    except ConfigError as exc:
        return BundleVerdict(index, Verdict.MALFORMED, f"not JSON: {exc.message}")
    if isinstance(data, dict) and "verification_material" in data:  # a PEP 740 attestation object
        from pipeline.provenance.pep740 import AttestationError, to_bundle

        try:
            bundle = to_bundle(data)
        except AttestationError as exc:
            return BundleVerdict(index, Verdict.MALFORMED, f"not a PEP 740 attestation: {exc}")
    else:
        try:
            bundle = Bundle.from_json(text)
        except Exception as exc:
            return _unloadable(index, data, exc)
    envelope = bundle._dsse_envelope
    if envelope is None:
        return BundleVerdict(index, Verdict.MALFORMED, "a plain signature, not a DSSE attestation")
    cert = bundle.signing_certificate
    from pipeline.provenance.identity import build_facts

    sans = build_facts(cert).sans
    signer = sans[0] if sans else None
    inner = envelope._inner
    try:
        statement = _statement(inner.payload_type, inner.payload)
    except (ValueError, TypeError) as exc:
        return BundleVerdict(index, Verdict.FAILED, f"not usable: {exc}", signer=signer)
    claimed = BundleVerdict(
        index,
        Verdict.FAILED,
        predicate_type=statement["predicateType"],
        signer=signer,
        subjects=[str(s.get("name")) for s in statement["subject"] if isinstance(s, dict)],
    )
    problem = _claims_problem(
        statement, digests, policy, cert, inner, signer=signer, predicate_type=predicate_type
    )
    if problem is not None:
        claimed.reason = problem
        return claimed
    kind = bundle.log_entry._inner.kind_version
    if (kind.kind, kind.version) not in _SUPPORTED_ENTRIES:
        claimed.verdict = Verdict.UNSUPPORTED
        claimed.reason = (
            f"its transparency-log entry is {kind.kind} {kind.version}, which sigstore-python 4.5.1 cannot "
            "verify (it verifies dsse 0.0.1 and hashedrekord 0.0.2 entries); the claims match, but nothing "
            "is proven: verify it with `gh attestation verify`"
        )
        return claimed
    try:
        payload_type, payload = verifier.verify_dsse(bundle, policy)
        verified = _statement(payload_type, payload)  # judge the verified bytes, not the pre-read ones
    except Exception as exc:
        from pipeline.provenance.identity import Mismatch

        claimed.reason = str(exc) if isinstance(exc, Mismatch) else one_line(exc, with_type=False)
        return claimed
    problem = _subject_problem(verified, digests)
    if problem is not None or (predicate_type and verified["predicateType"] != predicate_type):
        claimed.reason = problem or "predicate type changed"
        return claimed
    claimed.verdict = Verdict.VERIFIED
    return claimed


def verify_attestation_file(
    path: Path,
    digests: Digests,
    policy: Any,
    verifier: Any,
    *,
    predicate_type: str | None = SLSA_PROVENANCE_V1,
) -> FileVerdict:
    """Every bundle in `path` against the artifact's digests under `policy` (`AttestationPolicy`)."""
    return FileVerdict(
        path,
        [
            verify_bundle(n, text, digests, policy, verifier, predicate_type=predicate_type)
            for n, text in read_bundles(path)
        ],
    )
