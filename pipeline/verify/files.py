"""Verify files named on the command line, each against its own bundle, plus any attestation bundles given."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import Signer
from pipeline.errors import UsageError
from pipeline.fileio import sha256_file
from pipeline.findings import StageResult
from pipeline.verify.checker import MISSING_BUNDLE, Artifact, Checker, find_bundle
from pipeline.verify.trust import load_trusted_root

STAGE = "verify"
PEP740_SUFFIX = ".attestation"


def _read(path: Path) -> Artifact:
    try:
        return Artifact(path, path.name, sha256_file(path, what="artifact"))
    except FileNotFoundError:  # a folder, device or FIFO is sha256_file's ConfigError (exit 2), named
        raise UsageError("no such file", where=str(path)) from None
    except OSError as exc:
        raise UsageError(f"cannot read: {exc.strerror or exc}", where=str(path)) from None


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
    """Verify each artifact against its bundle (`bundles[i]`, else ARTIFACT.sigstore.json / .sigstore).
    Each artifact is read once; its digest is what the signature, the attestations and the report use."""
    from pipeline.verify.policy import check_signers

    check_signers(signers, where="policy")
    paths = [Path(a) for a in artifacts]
    if not paths:
        raise UsageError("nothing to verify: name at least one artifact")
    if bundles is not None and len(bundles) != len(paths):
        raise UsageError(
            f"{len(bundles)} bundle(s) for {len(paths)} artifact(s): give one --bundle per artifact"
        )
    read = [_read(path) for path in paths]
    root = load_trusted_root(trusted_root, instance=instance, offline=offline, sandbox_dir=sandbox_dir)
    checker = Checker(root, signers, StageResult(stage=STAGE))
    for index, artifact in enumerate(read):
        bundle = Path(bundles[index]) if bundles is not None else find_bundle(artifact.path)
        if bundle is None or not bundle.exists():
            if require_signed or bundle is not None:
                where = (
                    f" at {bundle}"
                    if bundle is not None
                    else f" ({artifact.name}.sigstore.json or .sigstore)"
                )
                checker.fail(
                    MISSING_BUNDLE,
                    f"{artifact.name}: no Sigstore bundle{where}",
                    artifact.path,
                    fix="sign it with `mcp-harden sign`, or pass --bundle",
                )
            continue
        checker.check_signature(artifact.path, bundle, artifact.sha256)
    for path in attestations:  # `*.attestation`: a PEP 740 object (twine's name for them), else a bundle
        checker.check_attestation(Path(path), read, pep740=Path(path).name.endswith(PEP740_SUFFIX))
    checker.require(require_attestations, read, read[0].path)
    return checker.finish(len(read))
