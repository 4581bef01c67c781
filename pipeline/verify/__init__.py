"""Verify Sigstore signatures and in-toto attestations offline against a pinned trusted root.

    verify_artifacts([Path("dist/x.whl")], signers=[Signer(issuer=..., repository="o/r", ref="refs/tags/v*")],
                     trusted_root=None, instance="production", offline=True,
                     attestations=[...], require_attestations=["sbom"]) -> StageResult
    verify_record(Path("release/release.json"), signers=..., trusted_root=...) -> StageResult

Every failure is a `critical` finding (exit 1); a trusted root that cannot be loaded is a ConfigError (exit 2)
or, online, a CheckError (exit 3). The Verifier and the trusted root are built once per call; every file is
read once, and what is verified is the digest of that read.
"""

from pipeline.verify.checker import BUNDLE_SUFFIXES, IN_TOTO_PAYLOAD, RULES, find_bundle
from pipeline.verify.files import STAGE, verify_artifacts
from pipeline.verify.release import verify_record
from pipeline.verify.trust import TUF_URL_ENV, TrustedRootInfo, load_trusted_root, online_trust_config

__all__ = [
    "BUNDLE_SUFFIXES",
    "IN_TOTO_PAYLOAD",
    "RULES",
    "STAGE",
    "TUF_URL_ENV",
    "TrustedRootInfo",
    "find_bundle",
    "load_trusted_root",
    "online_trust_config",
    "verify_artifacts",
    "verify_record",
]
