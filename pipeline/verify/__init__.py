"""Verify Sigstore signatures and in-toto attestations offline against a pinned trusted root.

    verify_artifacts([Path("dist/x.whl")], signers=[Signer(issuer=..., repository="o/r", ref="refs/tags/v*")],
                     trusted_root=None, instance="production", offline=True,
                     attestations=[...], require_attestations=["sbom"]) -> StageResult
    verify_record(Path("release/release.json"), signers=..., trusted_root=...) -> StageResult

Every failure is a `critical` finding (exit 1); a trusted root that cannot be loaded is a ConfigError (exit 2)
or, online, a CheckError (exit 3). The Verifier and the trusted root are built once per call; artifacts are
hashed by streaming and passed as `sigstore.hashes.Hashed`, so large files are never read whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline._compat import SIGSTORE_SHIPPED, sigstore_shipped
from pipeline.config import Signer
from pipeline.errors import CheckError, ConfigError, UsageError, one_line
from pipeline.findings import Location, Severity, StageResult
from pipeline.rules import Rule, declare

STAGE = "verify"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
BUNDLE_SUFFIXES = (".sigstore.json", ".sigstore")
_SHIPPED = SIGSTORE_SHIPPED
# A TUF mirror of the instance's repository (an internal proxy, or a loopback server in tests).
TUF_URL_ENV = "MCP_HARDEN_TUF_URL"


def online_trust_config(instance: str) -> Any:
    """The instance's Sigstore client configuration, refreshed through TUF: from its public repository, or
    from the mirror in $MCP_HARDEN_TUF_URL, bootstrapped from the TUF root shipped with sigstore."""
    from sigstore.models import ClientTrustConfig

    mirror = os.environ.get(TUF_URL_ENV)
    if mirror:
        root = sigstore_shipped(instance, "root.json")
        return ClientTrustConfig.from_tuf(mirror, offline=False, bootstrap_root=root)
    return ClientTrustConfig.production() if instance == "production" else ClientTrustConfig.staging()


RULES: list[Rule] = [
    declare(
        "MH-VERIFY-SIGNATURE",
        name="signature",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="The signature, certificate chain or transparency-log proof does not verify.",
        fix="Do not deploy it: re-download the artifact and its bundle from the release, or re-sign from a clean build.",
    ),
    declare(
        "MH-VERIFY-IDENTITY",
        name="identity",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="The signature is valid but its signer is not one the policy allows.",
        fix="Deploy only what the allowed workflow signed; if the signer legitimately changed, update verify.signers after review.",
    ),
    declare(
        "MH-VERIFY-MISSING-BUNDLE",
        name="missing-bundle",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="An artifact that must be signed has no Sigstore bundle.",
        fix="Ship the artifact's .sigstore.json bundle beside it (mcp-harden sign writes one per file).",
    ),
    declare(
        "MH-VERIFY-BUNDLE",
        name="bundle",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="A Sigstore bundle cannot be read or is malformed.",
        fix="Fetch the bundle again from the release; a damaged or hand-edited bundle proves nothing.",
    ),
    declare(
        "MH-VERIFY-ATTESTATION",
        name="attestation",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="A required attestation is missing, unsigned or not in-toto.",
        fix="Produce the attestation in the release (mcp-harden sign --sbom/--manifest/--provenance) and ship its bundle.",
    ),
    declare(
        "MH-VERIFY-SUBJECT",
        name="subject",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="An attestation's subject digest does not match the artifact.",
        fix="Attest the artifact you ship: the attestation was made for other bytes.",
    ),
    declare(
        "MH-VERIFY-DIGEST",
        name="digest",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="An artifact differs from the digest in the release record.",
        fix="Do not deploy it: the file is not the one that was signed and audited.",
    ),
    declare(
        "MH-VERIFY-RECORD",
        name="record",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="The release record names files by absolute path.",
        fix="Re-create the release record with mcp-harden sign --record; it names files relative to itself.",
    ),
    declare(
        "MH-VERIFY-MISSING-ARTIFACT",
        name="missing-artifact",
        stage="verify",
        severity=Severity.CRITICAL,
        summary="An artifact listed in the release record is missing.",
        fix="Ship every file the release record lists, or release again without it.",
    ),
]
_RULES_BY_ID = {rule.id: rule for rule in RULES}

__all__ = ["RULES", "TrustedRootInfo", "load_trusted_root", "verify_artifacts", "verify_record"]


@dataclass
class TrustedRootInfo:
    root: Any  # sigstore.models.TrustedRoot
    description: str
    sandbox: bool


@dataclass
class _Verified:
    """Attestation kinds that verified, and which (name, sha256) subjects each covers."""

    covered: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    identities: set[str] = field(default_factory=set)


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
    return one_line(exc, with_type=False)


def _is_sandbox_root(data: Any) -> bool:
    from pipeline.sign.sandbox import SANDBOX_ORG

    try:
        return any(ca["subject"]["organization"] == SANDBOX_ORG for ca in data["certificateAuthorities"])
    except (KeyError, TypeError):
        return False


def load_trusted_root(
    trusted_root: str | os.PathLike[str] | None,
    *,
    instance: str = "production",
    offline: bool = True,
    sandbox_dir: str | os.PathLike[str] = ".mcp-harden/sandbox",
) -> TrustedRootInfo:
    """The root of trust: a pinned file, the copy shipped inside sigstore (offline), or TUF (online)."""
    from sigstore.models import TrustedRoot

    if trusted_root is None and instance == "sandbox":
        trusted_root = Path(sandbox_dir) / "trusted_root.json"
        if not Path(trusted_root).is_file():
            raise ConfigError(
                "no sandbox trusted root here: sign with --instance sandbox first, or pass --trusted-root",
                where=str(trusted_root),
            )
    if trusted_root is not None:
        path = Path(trusted_root)
        try:
            raw = path.read_bytes()
            data = json.loads(raw)
            root = TrustedRoot.from_file(str(path))
        except FileNotFoundError:
            raise ConfigError("trusted root file not found", where=str(path)) from None
        except OSError as exc:
            raise ConfigError(f"cannot read the trusted root: {exc.strerror}", where=str(path)) from None
        except Exception as exc:
            raise ConfigError(
                f"not a Sigstore trusted root: {one_line(exc, with_type=False)}", where=str(path)
            ) from None
        sandbox = _is_sandbox_root(data)
        return TrustedRootInfo(root, f"{path}{' (sandbox)' if sandbox else ''}", sandbox)
    if instance not in _SHIPPED:
        raise UsageError(f"unknown instance {instance!r}")
    if offline:
        path = sigstore_shipped(instance, "trusted_root.json")
        try:
            return TrustedRootInfo(
                TrustedRoot.from_file(str(path)), f"{instance} (shipped with sigstore)", False
            )
        except Exception as exc:
            raise CheckError(
                f"cannot load the {instance} trusted root shipped with sigstore: {one_line(exc, with_type=False)}",
                where=str(path),
            ) from None
    try:
        config = online_trust_config(instance)
        return TrustedRootInfo(config.trusted_root, f"{instance} (refreshed via TUF)", False)
    except Exception as exc:
        raise CheckError(
            f"could not refresh the {instance} trusted root via TUF: {one_line(exc, with_type=False)}",
            where="TUF",
        ) from None


def find_bundle(artifact: Path) -> Path | None:
    for suffix in BUNDLE_SUFFIXES:
        candidate = artifact.with_name(artifact.name + suffix)
        if candidate.is_file():
            return candidate
    return None


class _Checker:
    """Verifies bundles with one Verifier and one policy; every problem becomes a finding on `result`."""

    def __init__(self, root: TrustedRootInfo, signers: Sequence[Signer], result: StageResult) -> None:
        from sigstore.verify import Verifier

        from pipeline.verify.policy import AnySigner

        self.policy = AnySigner(signers)
        self.root = root
        self.verifier = Verifier(trusted_root=root.root)
        self.result = result
        self.verified = _Verified()

    def _fail(self, rule: str, title: str, where: Path, *, evidence: str = "", fix: str = "") -> None:
        self.result.add(
            _RULES_BY_ID[rule].finding(
                title,
                severity=Severity.CRITICAL,
                location=Location(path=str(where)),
                evidence=evidence,
                fix=fix,
            )
        )

    def load_bundle(self, path: Path, subject: Path) -> Any | None:
        from sigstore.models import Bundle

        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            self._fail("MH-VERIFY-BUNDLE", f"cannot read bundle {path}: {exc.strerror}", subject)
            return None
        except UnicodeDecodeError:
            self._fail("MH-VERIFY-BUNDLE", f"bundle {path} is not UTF-8 JSON", subject)
            return None
        try:
            json.loads(text)
        except ValueError as exc:
            self._fail(
                "MH-VERIFY-BUNDLE", f"bundle {path} is not valid JSON (truncated or damaged): {exc}", subject
            )
            return None
        try:
            return Bundle.from_json(text)
        except Exception as exc:
            self._fail("MH-VERIFY-BUNDLE", f"bundle {path} is malformed: {_bundle_problem(exc)}", subject)
            return None

    def _explain(self, exc: Exception, bundle: Any, sha256: str | None) -> str:
        from pipeline.sign.sandbox import SANDBOX_ISSUER
        from pipeline.verify.certificate import signer_facts

        message = one_line(exc, with_type=False)
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

    def check_signature(self, artifact: Path, bundle_path: Path, sha256: str) -> bool:
        from sigstore.hashes import Hashed
        from sigstore_models.common.v1 import HashAlgorithm

        from pipeline.verify.policy import PolicyMismatch

        bundle = self.load_bundle(bundle_path, artifact)
        if bundle is None:
            return False
        if bundle._dsse_envelope is not None:
            self._fail(
                "MH-VERIFY-BUNDLE",
                f"bundle {bundle_path} holds an attestation (DSSE), not a signature of the file",
                artifact,
            )
            return False
        try:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(sha256))
            self.verifier.verify_artifact(hashed, bundle, self.policy)
        except PolicyMismatch as exc:
            self._fail(
                "MH-VERIFY-IDENTITY",
                f"{artifact.name}: {exc}",
                artifact,
                evidence=str(bundle_path),
                fix="sign from an allowed identity, or fix the policy if this signer is trusted",
            )
            return False
        except Exception as exc:
            self._fail(
                "MH-VERIFY-SIGNATURE",
                f"{artifact.name}: {self._explain(exc, bundle, sha256)}",
                artifact,
                evidence=str(bundle_path),
            )
            return False
        from pipeline.verify.certificate import signer_facts

        identity = signer_facts(bundle.signing_certificate).identity
        if identity:
            self.verified.identities.add(identity)
        return True

    def check_attestation(self, path: Path, artifacts: dict[str, str], source: Path | None = None) -> None:
        """Verify one DSSE attestation bundle and compare its subjects with the artifacts (name -> sha256)."""
        from pipeline.sign.attest import KIND_OF, STATEMENT_TYPE
        from pipeline.verify.policy import PolicyMismatch

        bundle = self.load_bundle(path, path)
        if bundle is None:
            return
        if bundle._dsse_envelope is None:
            self._fail(
                "MH-VERIFY-ATTESTATION",
                f"bundle {path} is a plain signature, not an in-toto attestation",
                path,
            )
            return
        try:
            payload_type, payload = self.verifier.verify_dsse(bundle, self.policy)
        except PolicyMismatch as exc:
            self._fail("MH-VERIFY-IDENTITY", f"attestation {path.name}: {exc}", path)
            return
        except Exception as exc:
            self._fail(
                "MH-VERIFY-SIGNATURE", f"attestation {path.name}: {self._explain(exc, bundle, None)}", path
            )
            return
        try:
            if payload_type != IN_TOTO_PAYLOAD:
                raise ValueError(f"payload type is {payload_type}, not {IN_TOTO_PAYLOAD}")
            statement = json.loads(payload)
            if statement.get("_type") != STATEMENT_TYPE:
                raise ValueError(f"_type is {statement.get('_type')}, not {STATEMENT_TYPE}")
            predicate_type = str(statement["predicateType"])
            subjects = [(str(s["name"]), str(s["digest"]["sha256"]).lower()) for s in statement["subject"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self._fail(
                "MH-VERIFY-ATTESTATION",
                f"attestation {path.name} is not a usable in-toto statement: {exc}",
                path,
            )
            return
        good = True
        if source is not None and not self._same_predicate(statement.get("predicate"), source, path):
            good = False
        for name, digest in subjects:
            actual = artifacts.get(name)
            if actual is not None and actual != digest:
                good = False
                self._fail(
                    "MH-VERIFY-SUBJECT",
                    f"attestation {path.name} is about {name} with sha256 {digest}, but the artifact has sha256 {actual}",
                    path,
                    fix="the attestation belongs to another build of this artifact: re-attest, or deploy the attested file",
                )
        if good:
            kind = KIND_OF.get(predicate_type, predicate_type)
            self.verified.covered.setdefault(kind, set()).update(subjects)

    def _same_predicate(self, predicate: Any, source: Path, path: Path) -> bool:
        """The attested predicate is the content of the file the record names (the SBOM, the tool manifest)."""
        try:
            content = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self._fail(
                "MH-VERIFY-ATTESTATION", f"attestation {path.name}: cannot read {source}: {exc}", source
            )
            return False
        if content != predicate:
            self._fail(
                "MH-VERIFY-ATTESTATION",
                f"attestation {path.name} attests other content than {source.name} (the file was changed after signing)",
                source,
            )
            return False
        return True

    def require(self, kinds: Sequence[str], artifacts: dict[str, str], where: Path) -> None:
        for kind in kinds:
            covered = self.verified.covered.get(kind)
            if covered is None:
                self._fail(
                    "MH-VERIFY-ATTESTATION",
                    f"no verified {kind} attestation (the policy requires one)",
                    where,
                )
                continue
            for name, digest in artifacts.items():
                if (name, digest) not in covered:
                    self._fail(
                        "MH-VERIFY-SUBJECT",
                        f"the {kind} attestation does not cover {name} (sha256 {digest})",
                        where,
                    )


def _hash(path: Path) -> str:
    from pipeline.fileio import sha256_file

    try:
        return sha256_file(path)
    except OSError as exc:
        raise CheckError(f"cannot read: {exc.strerror}", where=str(path)) from None


def _finish(result: StageResult, checker: _Checker, count: int) -> StageResult:
    result.rules = list(RULES)
    result.summary.update(
        {
            "artifacts": count,
            "trusted_root": checker.root.description,
            "signers": sorted(checker.verified.identities),
            "attestations": sorted(checker.verified.covered),
        }
    )
    if checker.root.sandbox:
        result.notes.insert(
            0, "verified against a SANDBOX trusted root: these signatures prove nothing outside this machine"
        )
    return result


def verify_artifacts(
    artifacts: Sequence[Path],
    *,
    signers: Sequence[Signer],
    bundles: Sequence[Path] | None = None,
    attestations: Sequence[Path] = (),
    trusted_root: str | os.PathLike[str] | None = None,
    instance: str = "production",
    offline: bool = True,
    require_signed: bool = True,
    require_attestations: Sequence[str] = (),
    sandbox_dir: str | os.PathLike[str] = ".mcp-harden/sandbox",
) -> StageResult:
    """Verify each artifact against its bundle (`bundles[i]`, else ARTIFACT.sigstore.json / .sigstore)."""
    from pipeline.verify.policy import check_signers

    check_signers(signers, where="policy")
    artifacts = [Path(a) for a in artifacts]
    if not artifacts:
        raise UsageError("nothing to verify: name at least one artifact")
    if bundles is not None and len(bundles) != len(artifacts):
        raise UsageError(
            f"{len(bundles)} bundle(s) for {len(artifacts)} artifact(s): give one --bundle per artifact"
        )
    for artifact in artifacts:
        if not artifact.is_file():
            raise UsageError("no such file" if not artifact.exists() else "not a file", where=str(artifact))
    root = load_trusted_root(trusted_root, instance=instance, offline=offline, sandbox_dir=sandbox_dir)
    result = StageResult(stage=STAGE)
    checker = _Checker(root, signers, result)
    digests: dict[str, str] = {}
    for index, artifact in enumerate(artifacts):
        sha256 = _hash(artifact)
        digests[artifact.name] = sha256
        bundle = Path(bundles[index]) if bundles is not None else find_bundle(artifact)
        if bundle is None or not bundle.is_file():
            if require_signed or bundle is not None:
                checker._fail(
                    "MH-VERIFY-MISSING-BUNDLE",
                    f"{artifact.name}: no Sigstore bundle"
                    + (
                        f" at {bundle}"
                        if bundle is not None
                        else f" ({artifact.name}.sigstore.json or .sigstore)"
                    ),
                    artifact,
                    fix="sign it with `mcp-harden sign`, or pass --bundle",
                )
            continue
        checker.check_signature(artifact, bundle, sha256)
    for path in attestations:
        if not Path(path).is_file():
            checker._fail("MH-VERIFY-ATTESTATION", f"attestation bundle {path} not found", Path(path))
            continue
        checker.check_attestation(Path(path), digests)
    checker.require(require_attestations, digests, artifacts[0])
    return _finish(result, checker, len(artifacts))


def _record_paths(record: Any) -> list[str]:
    paths = [p for a in record.artifacts for p in (a.path, a.bundle)]
    return paths + [p for a in record.attestations for p in (a.bundle, a.source) if p]


def verify_record(
    record_path: Path,
    *,
    signers: Sequence[Signer],
    trusted_root: str | os.PathLike[str] | None = None,
    instance: str = "production",
    offline: bool = True,
    require_signed: bool = True,
    require_attestations: Sequence[str] = (),
    sandbox_dir: str | os.PathLike[str] = ".mcp-harden/sandbox",
) -> StageResult:
    """Verify a release record: its own signature, every artifact in it, every attestation it lists."""
    from pipeline.sign.record import load_record
    from pipeline.verify.policy import check_signers

    check_signers(signers, where="policy")
    record = load_record(record_path)
    base = record_path.parent
    root = load_trusted_root(trusted_root, instance=instance, offline=offline, sandbox_dir=sandbox_dir)
    result = StageResult(stage=STAGE)
    checker = _Checker(root, signers, result)
    record_bundle = find_bundle(record_path)
    if record_bundle is None:
        checker._fail(
            "MH-VERIFY-MISSING-BUNDLE",
            f"the release record {record_path.name} is not signed (no bundle beside it)",
            record_path,
        )
    trusted = record_bundle is not None and checker.check_signature(
        record_path, record_bundle, _hash(record_path)
    )
    outside = [p for p in _record_paths(record) if Path(p).is_absolute() or Path(p).drive]
    if outside:
        checker._fail(
            "MH-VERIFY-RECORD",
            f"the release record names absolute paths ({', '.join(sorted(outside)[:3])}): it must name files "
            "relative to its own folder",
            record_path,
        )
    if not trusted or outside:
        # Fail closed: an unsigned, altered or foreign record cannot say which files to check.
        result.notes.append("the release record's contents were not used: it did not verify")
        result.summary["record"] = str(record_path)
        return result
    digests: dict[str, str] = {}
    for item in record.artifacts:
        path = base / item.path
        if not path.is_file():
            checker._fail(
                "MH-VERIFY-MISSING-ARTIFACT", f"{item.name}: listed in the release record but missing", path
            )
            continue
        sha256 = _hash(path)
        digests[item.name] = sha256
        if sha256 != item.sha256.lower():
            checker._fail(
                "MH-VERIFY-DIGEST",
                f"{item.name}: sha256 is {sha256}, the release record says {item.sha256}",
                path,
            )
        bundle = base / item.bundle
        if not bundle.is_file():
            if require_signed:
                checker._fail(
                    "MH-VERIFY-MISSING-BUNDLE", f"{item.name}: bundle {item.bundle} is missing", path
                )
            continue
        checker.check_signature(path, bundle, sha256)
    for att in record.attestations:
        checker.check_attestation(base / att.bundle, digests, base / att.source if att.source else None)
    subject_names = {s.get("name") for att in record.attestations for s in att.subjects}
    covered = {n: d for n, d in digests.items() if n in subject_names} or digests
    checker.require(require_attestations, covered, record_path)
    result.summary["record"] = str(record_path)
    if record.instance == "sandbox":
        result.notes.append("the release record says it was signed by the SANDBOX instance")
    return _finish(result, checker, len(record.artifacts))
