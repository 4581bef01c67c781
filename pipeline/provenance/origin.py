"""Proof of origin from GitHub artifact attestations, for `verify` (`verify.proof: attestation|both`).

    verify_origin([Path("x.whl")], attestations=[Path("x.whl.jsonl")], policies=[AttestationPolicy(...)],
                  root=load_trusted_root(...)) -> StageResult (stage "verify-provenance")

An artifact is proven when one bundle of the given attestation files (or of `sha256:<digest>.jsonl` beside
it or in the current folder, the name `gh attestation download` writes; or `<artifact>.provenance.sigstore.json`,
the one `mcp-harden sign --provenance` writes) verifies under one allowed policy and has the artifact's
digest as a subject. A bundle sigstore-python cannot verify makes the stage "could not check" (exit 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.findings import Location, Severity, StageResult
from pipeline.provenance.dsse import Digests, Verdict, verify_attestation_file
from pipeline.provenance.identity import AttestationPolicy, Mismatch
from pipeline.rules import declare

STAGE = "verify-provenance"
PROVENANCE = declare(
    "MH-VERIFY-PROVENANCE",
    name="provenance",
    stage="verify",
    severity=Severity.CRITICAL,
    summary="An artifact has no provenance attestation that verifies under the signer policy and names its digest.",
    standard="https://docs.github.com/en/actions/security-for-github-actions/using-artifact-attestations",
    fix="`gh attestation download` the artifact's attestations, or fix the signer policy if this builder is trusted.",
)


class AnyPolicy:
    """Accept a certificate when one allowed policy does; else every policy's mismatches."""

    def __init__(self, policies: Sequence[AttestationPolicy]) -> None:
        for policy in policies:
            policy.check()
        self._policies = list(policies)

    def mismatches(self, cert: Any) -> list[str]:
        problems: list[list[str]] = []
        for policy in self._policies:
            found = policy.mismatches(cert)
            if not found:
                return []
            problems.append(found)
        if len(problems) == 1:
            return problems[0]
        return [" | ".join(f"signer {i}: " + "; ".join(p) for i, p in enumerate(problems, 1))]

    def verify(self, cert: Any) -> None:
        problems = self.mismatches(cert)
        if problems:
            raise Mismatch(problems)


def _beside(artifact: Path, digests: Digests) -> list[Path]:
    """`gh attestation download` writes `sha256:DIGEST.jsonl` into the current folder: look there and
    beside the artifact; and `mcp-harden sign --provenance` writes `<artifact>.provenance.sigstore.json`."""
    from pipeline.sign.attest import PROVENANCE_SUFFIX

    name = f"sha256:{digests.sha256}.jsonl"
    found = [folder / name for folder in (artifact.parent, Path.cwd())]
    found.append(artifact.with_name(artifact.name + PROVENANCE_SUFFIX))
    return list(dict.fromkeys(p.resolve() for p in found if p.is_file()))


def verify_origin(
    artifacts: Sequence[Path],
    *,
    attestations: Sequence[Path],
    policies: Sequence[AttestationPolicy],
    root: Any,  # pipeline.verify.TrustedRootInfo
) -> StageResult:
    from sigstore.verify import Verifier

    policy = AnyPolicy(policies)
    verifier = Verifier(trusted_root=root.root)
    result = StageResult(stage=STAGE, rules=[PROVENANCE])
    unchecked: list[str] = []
    proven: dict[str, list[str]] = {}
    for artifact in artifacts:
        digests = Digests.of(artifact)
        files = list(dict.fromkeys(Path(p).resolve() for p in [*attestations, *_beside(artifact, digests)]))
        verdicts = [verify_attestation_file(Path(f), digests, policy, verifier) for f in files]
        good = [b for v in verdicts for b in v.verified]
        if good:
            proven[artifact.name] = sorted({b.signer or "?" for b in good})
            continue
        unsupported = [v for v in verdicts if v.verdict is Verdict.UNSUPPORTED]
        if unsupported:
            unchecked.append(f"{artifact.name}: {unsupported[0].reason()}")
            continue
        reasons = [f"{v.path.name}: {v.reason()}" for v in verdicts]
        result.add(
            PROVENANCE.finding(
                f"{artifact.name}: no provenance attestation verifies"
                + ("" if files else " (none given: --attestation FILE, or sha256:DIGEST.jsonl beside it)"),
                location=Location(path=str(artifact)),
                evidence="; ".join(reasons)[:2000],
            )
        )
    if unchecked:
        result.error = "could not check provenance: " + "; ".join(unchecked)
    result.summary.update(
        {
            "artifacts": len(artifacts),
            "trusted_root": root.description,
            "attested": [f"{name} by {', '.join(who)}" for name, who in proven.items()],
        }
    )
    return result


def origin_for_verify(
    artifacts: Sequence[Path],
    attestations: Sequence[Path],
    signers: Sequence[Any],
    *,
    signer_workflow: str | None,
    trusted_root: Any,
    instance: str,
    offline: bool,
    sandbox_dir: Any,
) -> StageResult:
    """`verify_origin` with verify's signers (one `AttestationPolicy` each) and its root of trust."""
    from pipeline.errors import UsageError
    from pipeline.verify import load_trusted_root
    from pipeline.verify.policy import check_signers

    check_signers(signers, where="policy")
    for artifact in artifacts:
        if not Path(artifact).is_file():
            raise UsageError(
                "no such file" if not Path(artifact).exists() else "not a file", where=str(artifact)
            )
    root = load_trusted_root(trusted_root, instance=instance, offline=offline, sandbox_dir=sandbox_dir)
    policies = [AttestationPolicy(s, signer_workflow=signer_workflow) for s in signers]
    return verify_origin(artifacts, attestations=attestations, policies=policies, root=root)
