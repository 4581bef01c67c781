"""Real signatures from the public-good instance (nobody here made them) verify offline, and wrong policies fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Signer
from pipeline.verify import verify_artifacts

GITHUB = "https://token.actions.githubusercontent.com"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
WHEEL = "rfc8785-0.1.2-py3-none-any.whl"
WHEEL_POLICY = {
    "issuer": GITHUB,
    "repository": "trailofbits/rfc8785.py",
    "ref": "refs/tags/v0.1.2",
    "trigger": "release",
    "sha": "d8b4a6445f38c48b9137a8099706d9b8073146e4",
}


def _rules(result) -> list[str]:
    return [f.rule_id for f in result.findings]


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned-root-file", "root-shipped-with-sigstore"])
def test_message_signature_v03(vectors: Path, pinned: bool) -> None:
    result = verify_artifacts(
        [vectors / "a.txt"],
        bundles=[vectors / "a.txt.v0.3.sigstore.json"],
        signers=[Signer(issuer=GITHUB, identity=BEACON)],
        trusted_root=vectors / "production.trusted_root.json" if pinned else None,
        instance="production",
        offline=True,
    )
    assert result.findings == [], [f.title for f in result.findings]
    assert result.summary["signers"] == [BEACON]


def test_message_signature_wrong_identity(vectors: Path) -> None:
    result = verify_artifacts(
        [vectors / "a.txt"],
        bundles=[vectors / "a.txt.v0.3.sigstore.json"],
        signers=[Signer(issuer=GITHUB, identity=BEACON.replace("refs/heads/main", "refs/heads/dev"))],
        trusted_root=vectors / "production.trusted_root.json",
    )
    assert _rules(result) == ["MH-VERIFY-IDENTITY"]
    assert "policy allows" in result.findings[0].title


def test_dsse_attestation(vectors: Path) -> None:
    result = verify_artifacts(
        [vectors / "a.txt"],
        bundles=[vectors / "a.txt.v0.3.sigstore.json"],
        attestations=[vectors / "a.txt.intoto-dsse.sigstore.json"],
        require_attestations=["slsa-provenance"],
        signers=[Signer(issuer=GITHUB, identity=BEACON)],
        trusted_root=vectors / "production.trusted_root.json",
    )
    assert result.findings == [], [f.title for f in result.findings]


def test_dsse_attestation_wrong_issuer(vectors: Path) -> None:
    result = verify_artifacts(
        [vectors / "a.txt"],
        bundles=[vectors / "a.txt.v0.3.sigstore.json"],
        attestations=[vectors / "a.txt.intoto-dsse.sigstore.json"],
        signers=[Signer(issuer="https://accounts.google.com", identity=BEACON)],
        trusted_root=vectors / "production.trusted_root.json",
    )
    assert _rules(result) == ["MH-VERIFY-IDENTITY", "MH-VERIFY-IDENTITY"]


def test_wheel_release_signature(vectors: Path) -> None:
    result = verify_artifacts(
        [vectors / WHEEL],
        signers=[Signer(**WHEEL_POLICY)],
        trusted_root=vectors / "production.trusted_root.json",
    )
    assert result.findings == [], [f.title for f in result.findings]


def test_wheel_workflow_and_glob(vectors: Path) -> None:
    signer = Signer(**{**WHEEL_POLICY, "ref": "refs/tags/v*", "workflow": ".github/workflows/release.yml"})
    result = verify_artifacts(
        [vectors / WHEEL], signers=[signer], trusted_root=vectors / "production.trusted_root.json"
    )
    assert result.findings == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"repository": "trailofbits/other"}, "repository is trailofbits/rfc8785.py"),
        ({"ref": "refs/tags/v0.1.3"}, "ref is refs/tags/v0.1.2, policy allows refs/tags/v0.1.3"),
        ({"trigger": "push"}, "trigger is release, policy allows push"),
        ({"sha": "0" * 40}, "commit is d8b4a6445f38c48b9137a8099706d9b8073146e4"),
        ({"issuer": "https://accounts.google.com"}, "issuer is https://token.actions.githubusercontent.com"),
    ],
)
def test_wheel_wrong_policy(vectors: Path, change: dict, expected: str) -> None:
    result = verify_artifacts(
        [vectors / WHEEL],
        signers=[Signer(**{**WHEEL_POLICY, **change})],
        trusted_root=vectors / "production.trusted_root.json",
    )
    assert _rules(result) == ["MH-VERIFY-IDENTITY"]
    assert expected in result.findings[0].title


def test_real_signature_under_sandbox_root(vectors: Path, release) -> None:
    result = verify_artifacts(
        [vectors / WHEEL], signers=[Signer(**WHEEL_POLICY)], trusted_root=release.trusted_root
    )
    assert _rules(result) == ["MH-VERIFY-SIGNATURE"]
    assert "signed by a real Sigstore instance, not this sandbox" in result.findings[0].title
