"""Checks shared by both ways of calling `verify`: one Verifier and one signer policy per run, bundles read
once (bounded), artifacts hashed once, and every problem turned into a critical finding.

Results are keyed by what a file *is* (its path and sha256), never by its name alone: two artifacts may share
a name, and an attestation covers an artifact only when one of its subjects has that artifact's name AND
digest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import Signer
from pipeline.errors import ConfigError, one_line
from pipeline.fileio import read_bounded
from pipeline.findings import Location, Severity, StageResult
from pipeline.rules import Rule, declare
from pipeline.verify.trust import TrustedRootInfo

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
BUNDLE_SUFFIXES = (".sigstore.json", ".sigstore")
BUNDLE_LIMIT = 4 << 20  # a bundle is a few kilobytes (certificate, signature, log proof)


def _rule(rule_id: str, name: str, summary: str, fix: str) -> Rule:
    return declare(rule_id, name=name, stage="verify", severity=Severity.CRITICAL, summary=summary, fix=fix)


SIGNATURE = _rule(
    "MH-VERIFY-SIGNATURE",
    "signature",
    "The signature, certificate chain or transparency-log proof does not verify.",
    "Do not deploy it: re-download the artifact and its bundle from the release, or re-sign from a clean build.",
)
IDENTITY = _rule(
    "MH-VERIFY-IDENTITY",
    "identity",
    "The signature is valid but its signer is not one the policy allows.",
    "Deploy only what the allowed workflow signed; if the signer legitimately changed, update verify.signers "
    "after review.",
)
MISSING_BUNDLE = _rule(
    "MH-VERIFY-MISSING-BUNDLE",
    "missing-bundle",
    "An artifact that must be signed has no Sigstore bundle.",
    "Ship the artifact's .sigstore.json bundle beside it (mcp-harden sign writes one per file).",
)
BUNDLE = _rule(
    "MH-VERIFY-BUNDLE",
    "bundle",
    "A Sigstore bundle cannot be read, is malformed, or is of the wrong kind (an attestation for a signature).",
    "Fetch the bundle again from the release; a damaged or hand-edited bundle proves nothing.",
)
ATTESTATION = _rule(
    "MH-VERIFY-ATTESTATION",
    "attestation",
    "A required attestation is missing, unsigned, not in-toto, or not the one the release record lists.",
    "Produce the attestation in the release (mcp-harden sign --sbom/--manifest/--provenance) and ship its bundle.",
)
SUBJECT = _rule(
    "MH-VERIFY-SUBJECT",
    "subject",
    "An artifact is not a subject (by name and digest) of the attestation that must cover it.",
    "Attest the artifact you ship: the attestation was made for other bytes.",
)
DIGEST = _rule(
    "MH-VERIFY-DIGEST",
    "digest",
    "An artifact differs from the digest in the release record, or cannot be read as a regular file.",
    "Do not deploy it: the file is not the one that was signed and audited.",
)
RECORD = _rule(
    "MH-VERIFY-RECORD",
    "record",
    "The file handed to verify as a release record is signed but is not a well-formed record listing at "
    "least one artifact by relative path.",
    "Pass the release.json that mcp-harden sign --record wrote (with its own bundle); verify a plain signed "
    "file with --bundle instead.",
)
MISSING_ARTIFACT = _rule(
    "MH-VERIFY-MISSING-ARTIFACT",
    "missing-artifact",
    "An artifact listed in the release record is missing.",
    "Ship every file the release record lists, or release again without it.",
)
UNLISTED = _rule(
    "MH-VERIFY-UNLISTED",
    "unlisted-distribution",
    "A release folder holds a distribution (wheel, sdist, .mcpb) that the release record does not list.",
    "Remove it before deploying (an install of dist/*.whl would take it unverified), or sign a release that "
    "lists it.",
)
RULES: list[Rule] = [
    SIGNATURE,
    IDENTITY,
    MISSING_BUNDLE,
    BUNDLE,
    ATTESTATION,
    SUBJECT,
    DIGEST,
    RECORD,
    MISSING_ARTIFACT,
    UNLISTED,
]


@dataclass(frozen=True)
class Artifact:
    """One file as it was read for verification: where, its name, and the sha256 of the bytes read."""

    path: Path
    name: str
    sha256: str


@dataclass
class Verified:
    """Attestation kinds that verified, and which (name, sha256) subjects each covers."""

    covered: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    identities: set[str] = field(default_factory=set)


def find_bundle(artifact: Path) -> Path | None:
    for suffix in BUNDLE_SUFFIXES:
        candidate = artifact.with_name(artifact.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def _bundle_problem(exc: BaseException) -> str:
    """One readable line for a bundle that failed to load (pydantic errors name the missing/bad field)."""
    seen: BaseException | None = exc
    while seen is not None:
        errors = getattr(seen, "errors", None)
        if callable(errors) and type(seen).__name__ == "ValidationError":
            try:
                parts = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in errors()[:3]]
                return "; ".join(parts)
            except (TypeError, KeyError):
                break
        seen = seen.__context__
    return one_line(exc, with_type=False, limit=300)


def same_distribution(subject: str, artifact: str) -> bool:
    """Whether an in-toto subject name names this artifact: the same name, or (a wheel) the same wheel with its
    compressed tag set in another order, as PEP 740 compares them."""
    if subject == artifact:
        return True
    if not (subject.endswith(".whl") and artifact.endswith(".whl")):
        return False
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        return parse_wheel_filename(subject) == parse_wheel_filename(artifact)
    except InvalidWheelFilename:
        return False


def _statement(payload_type: str, payload: bytes) -> tuple[str, list[tuple[str, str]], Any]:
    """(predicateType, subjects, predicate) of a verified in-toto statement; ValueError when it is not one."""
    from pipeline.sign.attest import STATEMENT_TYPE

    if payload_type != IN_TOTO_PAYLOAD:
        raise ValueError(f"payload type is {payload_type}, not {IN_TOTO_PAYLOAD}")
    try:
        statement = json.loads(payload)
    except RecursionError:
        raise ValueError("payload nested too deeply") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        found = statement.get("_type") if isinstance(statement, dict) else type(statement).__name__
        raise ValueError(f"_type is {found}, not {STATEMENT_TYPE}")
    predicate_type = statement.get("predicateType")
    subjects_in = statement.get("subject")
    if not isinstance(predicate_type, str) or not isinstance(subjects_in, list) or not subjects_in:
        raise ValueError("it needs a predicateType and at least one subject")
    subjects: list[tuple[str, str]] = []
    for item in subjects_in:
        name = item.get("name") if isinstance(item, dict) else None
        digest = item.get("digest") if isinstance(item, dict) else None
        sha256 = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(name, str) or not isinstance(sha256, str):
            raise ValueError("a subject needs a name and a sha256 digest")
        subjects.append((name, sha256.lower()))
    return predicate_type, subjects, statement.get("predicate")


class Checker:
    """Verifies bundles with one Verifier and one policy; every problem becomes a finding on `result`."""

    def __init__(self, root: TrustedRootInfo, signers: Sequence[Signer], result: StageResult) -> None:
        from sigstore.verify import Verifier

        from pipeline.verify.policy import AnySigner

        self.policy = AnySigner(signers)
        self.root = root
        self.verifier = Verifier(trusted_root=root.root)
        self.result = result
        self.verified = Verified()

    def fail(self, rule: Rule, title: str, where: Path, *, evidence: str = "", fix: str = "") -> None:
        self.result.add(
            rule.finding(title, location=Location(path=str(where)), evidence=evidence, fix=fix or None)
        )

    def load_bundle(self, path: Path, subject: Path) -> Any | None:
        """The bundle at `path`, read once; None (with a finding) when it cannot be used."""
        from sigstore.models import Bundle

        try:
            raw = read_bounded(path, what="bundle", limit=BUNDLE_LIMIT)
        except ConfigError as exc:
            self.fail(BUNDLE, f"cannot read bundle {path}: {exc.message}", subject)
            return None
        try:
            text = raw.decode("utf-8")
            json.loads(text)
        except UnicodeDecodeError:
            self.fail(BUNDLE, f"bundle {path} is not UTF-8 JSON", subject)
            return None
        except RecursionError:
            self.fail(BUNDLE, f"bundle {path} is not a bundle: JSON nested too deeply", subject)
            return None
        except ValueError as exc:
            self.fail(BUNDLE, f"bundle {path} is not valid JSON (truncated or damaged): {exc}", subject)
            return None
        try:
            bundle = Bundle.from_json(text)
            bundle._dsse_envelope  # noqa: B018 - sigstore checks the envelope (exactly one signature) here
        except Exception as exc:
            self.fail(BUNDLE, f"bundle {path} is malformed: {_bundle_problem(exc)}", subject)
            return None
        return bundle

    def load_pep740(self, path: Path) -> Any | None:
        """A PEP 740 attestation object (what `twine upload --attestations` sends) as the Sigstore bundle it
        encodes; None (with a finding) when it cannot be used."""
        from pipeline import jsonsafe
        from pipeline.provenance.pep740 import AttestationError, to_bundle

        try:
            raw = read_bounded(path, what="PEP 740 attestation", limit=BUNDLE_LIMIT)
            data = jsonsafe.loads(raw, where=str(path), what="PEP 740 attestation")
            return to_bundle(data)
        except ConfigError as exc:
            self.fail(BUNDLE, f"cannot read PEP 740 attestation {path}: {exc.message}", path)
        except AttestationError as exc:
            self.fail(BUNDLE, f"{path} is not a usable PEP 740 attestation: {exc}", path)
        return None

    def _explain(self, exc: Exception, bundle: Any, sha256: str | None) -> str:
        from pipeline.sign.sandbox import SANDBOX_ISSUER
        from pipeline.verify.certificate import signer_facts

        message = one_line(exc, with_type=False, limit=300)
        try:
            facts = signer_facts(bundle.signing_certificate)
        except Exception:
            facts = None
        if "certificate chain" in message:
            text = f"the signing certificate does not chain to the trusted root {self.root.description}"
            if facts is not None and facts.issuer == SANDBOX_ISSUER:
                text += (
                    ": it was signed by another mcp-harden sandbox"
                    if self.root.sandbox
                    else ": it was signed by the mcp-harden SANDBOX, which this root does not trust"
                )
            elif self.root.sandbox:
                text += ": it was signed by a real Sigstore instance, not this sandbox"
            return text
        if (
            message in ("Signature is invalid for input", "Bundle message digest mismatch")
            or "inconsistent" in message
        ):
            signed = getattr(
                getattr(getattr(bundle._inner, "message_signature", None), "message_digest", None),
                "digest",
                None,
            )
            signed = signed.hex() if isinstance(signed, bytes) else None
            text = f"the file does not match its signature: it has sha256 {sha256}"
            if signed and signed != sha256:
                text += f", the bundle signed sha256 {signed}"
            return text + " (the file was changed, or the bundle belongs to another file)"
        if message.startswith("invalid log entry"):
            return f"the transparency-log entry does not verify ({message})"
        return message

    def _signed_by(self, bundle: Any) -> None:
        from pipeline.verify.certificate import signer_facts

        identity = signer_facts(bundle.signing_certificate).identity
        if identity:
            self.verified.identities.add(identity)

    @staticmethod
    def _named_digest(bundle: Any) -> str | None:
        """The sha256 the bundle says it signs (mcp-harden always writes it; a bundle without one, or with
        another algorithm, is refused rather than verified on the log entry alone)."""
        from sigstore_models.common.v1 import HashAlgorithm

        digest = getattr(getattr(bundle._inner, "message_signature", None), "message_digest", None)
        if (
            digest is None
            or digest.algorithm != HashAlgorithm.SHA2_256
            or not isinstance(digest.digest, bytes)
        ):
            return None
        return digest.digest.hex()

    def check_signature(self, artifact: Path, bundle_path: Path, sha256: str) -> bool:
        """True when the bundle is a valid signature, by an allowed signer, over exactly this digest."""
        from sigstore.hashes import Hashed
        from sigstore_models.common.v1 import HashAlgorithm

        from pipeline.verify.policy import PolicyMismatch

        bundle = self.load_bundle(bundle_path, artifact)
        if bundle is None:
            return False
        if bundle._dsse_envelope is not None:
            self.fail(
                BUNDLE,
                f"bundle {bundle_path} holds an attestation (DSSE), not a signature of the file",
                artifact,
            )
            return False
        named = self._named_digest(bundle)
        if named != sha256:
            self.fail(
                SIGNATURE if named else BUNDLE,
                f"{artifact.name}: the file does not match its signature: it has sha256 {sha256}, the bundle "
                f"signed sha256 {named} (the file was changed, or the bundle belongs to another file)"
                if named
                else f"bundle {bundle_path} names no sha256 message digest for the file it signs",
                artifact,
                evidence=str(bundle_path),
            )
            return False
        try:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(sha256))
            self.verifier.verify_artifact(hashed, bundle, self.policy)
            self._signed_by(bundle)
        except PolicyMismatch as exc:
            self.fail(
                IDENTITY,
                f"{artifact.name}: {exc}",
                artifact,
                evidence=str(bundle_path),
                fix="sign from an allowed identity, or fix the policy if this signer is trusted",
            )
            return False
        except Exception as exc:
            self.fail(
                SIGNATURE,
                f"{artifact.name}: {self._explain(exc, bundle, sha256)}",
                artifact,
                evidence=str(bundle_path),
            )
            return False
        return True

    def check_attestation(
        self,
        path: Path,
        artifacts: Sequence[Artifact],
        *,
        expect_type: str | None = None,
        expect_subjects: Sequence[tuple[str, str]] | None = None,
        source: tuple[Path, bytes] | None = None,
        pep740: bool = False,
    ) -> None:
        """Verify one DSSE attestation (a Sigstore bundle, or `pep740`: a PEP 740 attestation object); count it
        when every subject names a listed artifact by its name AND digest, or neither (and, from a record,
        when it is of the type, about the subjects, and with the predicate the record says)."""
        from pipeline.sign.attest import KIND_OF
        from pipeline.verify.policy import PolicyMismatch

        bundle = self.load_pep740(path) if pep740 else self.load_bundle(path, path)
        if bundle is None:
            return
        if bundle._dsse_envelope is None:
            self.fail(ATTESTATION, f"bundle {path} is a plain signature, not an in-toto attestation", path)
            return
        try:
            payload_type, payload = self.verifier.verify_dsse(bundle, self.policy)
            self._signed_by(bundle)
        except PolicyMismatch as exc:
            self.fail(IDENTITY, f"attestation {path.name}: {exc}", path)
            return
        except Exception as exc:
            self.fail(SIGNATURE, f"attestation {path.name}: {self._explain(exc, bundle, None)}", path)
            return
        try:
            predicate_type, subjects, predicate = _statement(payload_type, payload)
        except (ValueError, TypeError, AttributeError) as exc:
            self.fail(ATTESTATION, f"attestation {path.name} is not a usable in-toto statement: {exc}", path)
            return
        good = True
        if expect_type is not None and predicate_type != expect_type:
            good = False
            self.fail(
                ATTESTATION,
                f"attestation {path.name} is a {predicate_type} statement, the release record says {expect_type}",
                path,
            )
        if expect_subjects is not None and set(expect_subjects) != set(subjects):
            good = False
            self.fail(
                ATTESTATION,
                f"attestation {path.name} is about other subjects than the release record lists "
                "(a bundle from another release?)",
                path,
            )
        if source is not None and not self._same_predicate(predicate, source, path):
            good = False
        if pep740:
            from pipeline.provenance.pep740 import pep740_problem

            problem = pep740_problem(payload_type, payload)
            if problem is not None:
                good = False
                self.fail(ATTESTATION, f"attestation {path.name} is not one PyPI accepts: {problem}", path)
        for name, digest in subjects:
            same_digest = [a for a in artifacts if a.sha256 == digest]
            if same_digest and not any(same_distribution(name, a.name) for a in same_digest):
                good = False
                self.fail(
                    SUBJECT,
                    f"attestation {path.name} is about {name}, but the artifact with its sha256 {digest} is "
                    f"{same_digest[0].name}",
                    same_digest[0].path,
                    fix="the attestation was made for a file of another name: attest the file you ship",
                )
                continue
            same_name = [a for a in artifacts if a.name == name]
            if same_name and not any(a.sha256 == digest for a in same_name):
                good = False
                self.fail(
                    SUBJECT,
                    f"attestation {path.name} is about {name} with sha256 {digest}, "
                    f"but the artifact has sha256 {same_name[0].sha256}",
                    same_name[0].path,
                    fix="the attestation belongs to another build of this artifact: re-attest, or deploy the attested file",
                )
        if good:
            kind = KIND_OF.get(predicate_type, predicate_type)
            self.verified.covered.setdefault(kind, set()).update(subjects)

    def _same_predicate(self, predicate: Any, source: tuple[Path, bytes], path: Path) -> bool:
        """The attested predicate is the content of the file the record names (the SBOM, the tool manifest),
        compared on the bytes that were hashed for that file."""
        where, raw = source
        try:
            content = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            self.fail(ATTESTATION, f"attestation {path.name}: {where.name} is not JSON: {exc}", where)
            return False
        if content != predicate:
            self.fail(
                ATTESTATION,
                f"attestation {path.name} attests other content than {where.name} (the file was changed after signing)",
                where,
            )
            return False
        return True

    def require(self, kinds: Sequence[str], required: Sequence[Artifact], where: Path) -> None:
        """Every required artifact is a subject (by name AND digest) of a verified attestation of each kind."""
        for kind in kinds:
            covered = self.verified.covered.get(kind)
            if covered is None:
                self.fail(ATTESTATION, f"no verified {kind} attestation (the policy requires one)", where)
                continue
            for artifact in required:
                if (artifact.name, artifact.sha256) not in covered:
                    self.fail(
                        SUBJECT,
                        f"the {kind} attestation does not cover {artifact.path} (sha256 {artifact.sha256})",
                        artifact.path,
                    )

    def finish(self, count: int) -> StageResult:
        result = self.result
        result.rules = list(RULES)
        result.summary.update(
            {
                "artifacts": count,
                "trusted_root": self.root.description,
                "signers": sorted(self.verified.identities),
                "attestations": sorted(self.verified.covered),
            }
        )
        if self.root.sandbox:
            result.notes.insert(
                0,
                "verified against a SANDBOX trusted root: these signatures prove nothing outside this machine",
            )
        return result
