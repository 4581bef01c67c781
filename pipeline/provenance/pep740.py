"""PEP 740 attestations and provenance objects (what PyPI's integrity API serves), verified offline.

    verify_provenance(provenance_json, Distribution("x-1.0.tar.gz", sha256), pinned_publisher, verifier)
        -> ProvenanceResult: the publishers the certificates prove, and every attestation that failed

An attestation (`{"version": 1, "verification_material": {...}, "envelope": {"statement", "signature"}}`) is
turned into a Sigstore bundle v0.3 and verified with sigstore's `Verifier.verify_dsse`; then the *verified*
statement must be an in-toto Statement v1 with exactly one subject, named like the distribution (wheel tags in
any order) and carrying its sha256, with a predicate type PEP 740 knows. The `publisher` a provenance object
names beside its attestations is not signed: it is compared with what the certificate proves, never trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import one_line
from pipeline.provenance.dsse import IN_TOTO_PAYLOAD, STATEMENT_TYPES
from pipeline.provenance.identity import Mismatch, Publisher, publisher_of

PUBLISH_V1 = "https://docs.pypi.org/attestations/publish/v1"
SLSA_V1 = "https://slsa.dev/provenance/v1"
PREDICATE_TYPES = (PUBLISH_V1, SLSA_V1)
MAX_ATTESTATIONS = 64


class AttestationError(ValueError):
    """An attestation that does not verify, or is not usable: the message says why, in one line."""


@dataclass(frozen=True)
class Distribution:
    """A distribution file as an attestation must name it: its file name and sha256."""

    name: str
    sha256: str


def _parsed_name(filename: str) -> Any:
    """A wheel or sdist file name, parsed so that equal names compare equal (wheel tag sets, any order)."""
    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    if filename.endswith(".whl"):
        return ("wheel", *parse_wheel_filename(filename))
    if filename.endswith((".tar.gz", ".zip")):
        return ("sdist", *parse_sdist_filename(filename))
    raise ValueError(f"not a wheel or sdist file name: {filename}")


def to_bundle(attestation: Any) -> Any:
    """A sigstore `Bundle` for a PEP 740 attestation object, or for a Sigstore bundle given as such."""
    from sigstore.models import Bundle

    if not isinstance(attestation, dict):
        raise AttestationError("an attestation is a JSON object")
    if "mediaType" in attestation:  # already a Sigstore bundle (as `.sigstore` files are)
        try:
            return Bundle.from_json(json.dumps(attestation))
        except Exception as exc:
            raise AttestationError(
                f"not a Sigstore bundle: {one_line(exc, with_type=False, limit=200)}"
            ) from None
    try:
        if attestation.get("version") != 1:
            raise AttestationError(f"unknown attestation version {attestation.get('version')!r}")
        material = attestation["verification_material"]
        envelope = attestation["envelope"]
        entries = material["transparency_entries"]
        if not isinstance(entries, list) or len(entries) != 1:
            raise AttestationError("an attestation needs exactly one transparency-log entry")
        for value in (material["certificate"], envelope["statement"], envelope["signature"]):
            base64.b64decode(value, validate=True)
        data = {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": material["certificate"]},
                "tlogEntries": entries,
            },
            "dsseEnvelope": {
                "payload": envelope["statement"],
                "payloadType": IN_TOTO_PAYLOAD,
                "signatures": [{"sig": envelope["signature"]}],
            },
        }
    except (KeyError, TypeError, binascii.Error) as exc:
        raise AttestationError(f"not a PEP 740 attestation: {one_line(exc)}") from None
    try:
        return Bundle.from_json(json.dumps(data))
    except Exception as exc:
        raise AttestationError(f"unusable attestation: {one_line(exc, with_type=False, limit=200)}") from None


@dataclass
class Verified:
    predicate_type: str
    publisher: Publisher | None  # what the certificate proves
    identity: str | None


def verify_attestation(attestation: Any, dist: Distribution, policy: Any, verifier: Any) -> Verified:
    """Verify one attestation for `dist` under `policy` (a sigstore policy, e.g. a `Publisher`)."""
    from pipeline.provenance.identity import build_facts

    bundle = to_bundle(attestation)
    try:
        payload_type, payload = verifier.verify_dsse(bundle, policy)
    except Exception as exc:  # a policy mismatch (ours or verify's) carries `problems`: keep it whole
        limit = None if hasattr(exc, "problems") else 300
        raise AttestationError(one_line(exc, with_type=False, limit=limit)) from None
    if payload_type != IN_TOTO_PAYLOAD:
        raise AttestationError(f"the payload is {payload_type!r}, not an in-toto statement")
    try:
        statement = json.loads(payload)
        if statement.get("_type") not in STATEMENT_TYPES:
            raise AttestationError(f"not an in-toto Statement v1 (_type {statement.get('_type')!r})")
        subjects = statement["subject"]
        predicate_type = statement["predicateType"]
        if not isinstance(subjects, list) or len(subjects) != 1:
            raise AttestationError("the statement must have exactly one subject")
        name, digest = subjects[0]["name"], subjects[0]["digest"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AttestationError(f"not a usable in-toto statement: {one_line(exc)}") from None
    try:
        same_name = _parsed_name(str(name)) == _parsed_name(dist.name)
    except ValueError as exc:
        raise AttestationError(f"invalid subject: {exc}") from None
    if not same_name:
        raise AttestationError(f"the attestation is about {name}, not {dist.name}")
    if not isinstance(digest, dict) or str(digest.get("sha256", "")).lower() != dist.sha256.lower():
        raise AttestationError(f"the attestation's sha256 is not the distribution's ({dist.sha256})")
    if predicate_type not in PREDICATE_TYPES:
        raise AttestationError(f"unknown attestation type {predicate_type!r}")
    cert = bundle.signing_certificate
    sans = build_facts(cert).sans
    return Verified(str(predicate_type), publisher_of(cert), sans[0] if sans else None)


class AnyPublisher:
    """A sigstore policy: the certificate proves some trusted publisher (first use, nothing pinned yet)."""

    def verify(self, cert: Any) -> None:
        if publisher_of(cert) is None:
            raise Mismatch(["the certificate proves no trusted publisher (not a GitHub/GitLab/Google build)"])


@dataclass
class ProvenanceResult:
    publishers: list[Publisher] = field(default_factory=list)  # proven by a verified attestation
    failures: list[str] = field(default_factory=list)  # one line each
    attestations: int = 0
    predicate_types: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.publishers) and not self.failures


def parse_provenance(text: str | bytes) -> list[tuple[Any, list[Any]]]:
    """(claimed publisher, attestations) pairs of a PEP 740 provenance object; AttestationError if malformed."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != 1:
            raise AttestationError("not a PEP 740 provenance object (version 1)")
        bundles = data["attestation_bundles"]
        pairs = [(b.get("publisher"), list(b["attestations"])) for b in bundles]
    except AttestationError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AttestationError(f"not a PEP 740 provenance object: {one_line(exc)}") from None
    if not pairs or not any(atts for _, atts in pairs):
        raise AttestationError("the provenance object holds no attestation")
    if sum(len(atts) for _, atts in pairs) > MAX_ATTESTATIONS:
        raise AttestationError(f"more than {MAX_ATTESTATIONS} attestations for one file")
    return pairs


def _same_claim(said: Publisher, proven: Publisher) -> bool:
    """PyPI's unsigned claim agrees with the certificate (repository names are case-insensitive on GitHub
    and GitLab; workflow files and emails are compared exactly)."""
    return (said.kind, (said.repository or "").casefold(), said.workflow, said.email) == (
        proven.kind,
        (proven.repository or "").casefold(),
        proven.workflow,
        proven.email,
    )


def verify_provenance(
    text: str | bytes, dist: Distribution, pinned: Publisher | None, verifier: Any
) -> ProvenanceResult:
    """Every attestation of a provenance object, each under the pinned publisher (or, unpinned, under "some
    trusted publisher"). Any failing attestation, or a claimed publisher the certificate does not prove,
    is a failure: a provenance object is either wholly right or it is a mismatch."""
    result = ProvenanceResult()
    policy: Any = pinned if pinned is not None else AnyPublisher()
    for claimed, attestations in parse_provenance(text):
        for number, attestation in enumerate(attestations, 1):
            result.attestations += 1
            try:
                verified = verify_attestation(attestation, dist, policy, verifier)
            except AttestationError as exc:
                result.failures.append(f"attestation {number}: {exc}")
                continue
            proven = verified.publisher
            if proven is None:  # cannot happen under either policy; fail closed all the same
                result.failures.append(f"attestation {number}: the certificate proves no publisher")
                continue
            try:
                said = Publisher.from_dict(claimed)
            except ValueError:
                said = None
            if said is not None and not _same_claim(said, proven):
                result.failures.append(
                    f"attestation {number}: PyPI says {said}, the certificate proves {proven}"
                )
                continue
            if proven not in result.publishers:
                result.publishers.append(proven)
            if verified.predicate_type not in result.predicate_types:
                result.predicate_types.append(verified.predicate_type)
    if len(result.publishers) > 1:
        result.failures.append(
            "attestations from more than one publisher: " + ", ".join(map(str, result.publishers))
        )
    return result


def from_bundle(bundle_json: str) -> dict[str, Any]:
    """A PEP 740 attestation object from a Sigstore DSSE bundle (what `twine upload --attestations` and PyPI
    take), after checking the statement is one PyPI accepts. AttestationError says why it is not."""
    try:
        data = json.loads(bundle_json)
        material, envelope = data["verificationMaterial"], data["dsseEnvelope"]
        certificate = material.get("certificate", {}).get("rawBytes")
        if certificate is None:  # bundle v0.1/v0.2: the leaf is the first certificate of the chain
            certificate = material["x509CertificateChain"]["certificates"][0]["rawBytes"]
        entries = material["tlogEntries"]
        signatures = envelope["signatures"]
        payload_type, payload = envelope["payloadType"], base64.b64decode(envelope["payload"], validate=True)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, binascii.Error) as exc:
        raise AttestationError(f"not a Sigstore DSSE bundle: {one_line(exc)}") from None
    if len(signatures) != 1 or len(entries) != 1:
        raise AttestationError("PEP 740 needs exactly one signature and one transparency-log entry")
    problem = pep740_problem(payload_type, payload)
    if problem:
        raise AttestationError(problem)
    return {
        "version": 1,
        "verification_material": {"certificate": certificate, "transparency_entries": entries},
        "envelope": {"statement": envelope["payload"], "signature": signatures[0]["sig"]},
    }


def pep740_problem(payload_type: str, payload: bytes) -> str | None:
    """Why PyPI would refuse this statement as an attestation of a distribution, or None."""
    if payload_type != IN_TOTO_PAYLOAD:
        return f"the payload is {payload_type!r}, not an in-toto statement"
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        kind = statement["predicateType"]
        if statement.get("_type") not in STATEMENT_TYPES:
            return f"not an in-toto Statement v1 (_type {statement.get('_type')!r})"
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"not an in-toto statement: {one_line(exc)}"
    if kind not in PREDICATE_TYPES:
        return f"predicate type {kind!r} is not one PEP 740 knows ({', '.join(PREDICATE_TYPES)})"
    if not isinstance(subjects, list) or len(subjects) != 1:
        return f"PEP 740 needs exactly one subject (the distribution); this statement has {len(subjects)}"
    try:
        _parsed_name(str(subjects[0]["name"]))
        digest = str(subjects[0]["digest"]["sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        return f"the subject is not a distribution file with a sha256: {one_line(exc, with_type=False)}"
    if len(digest) != 64:
        return "the subject's sha256 is not 64 hex digits"
    return None
