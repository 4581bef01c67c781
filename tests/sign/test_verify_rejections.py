"""Each way a signature can be wrong is rejected, with its own clear message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.config import Signer
from pipeline.errors import ConfigError
from pipeline.verify import verify_artifacts, verify_record
from tests.sign.conftest import REPO, SANDBOX_ISSUER, SHA, Release

GOOD = {"issuer": SANDBOX_ISSUER, "repository": REPO}


def _titles(result) -> list[tuple[str, str]]:
    return [(f.rule_id, f.title) for f in result.findings if f.severity.value == "critical"]


def _only(result, rule: str) -> str:
    found = _titles(result)
    assert len(found) == 1 and found[0][0] == rule, found
    return found[0][1]


def test_tampered_artifact(release: Release, copy_release: Path) -> None:
    blob = copy_release / "dist" / release.blob.name
    blob.write_text("release notes, edited\n")
    result = verify_artifacts([blob], signers=[Signer(**GOOD)], trusted_root=release.trusted_root)
    title = _only(result, "MH-VERIFY-SIGNATURE")
    assert "does not match its signature" in title and "the bundle signed sha256" in title


def test_bundle_of_another_artifact(release: Release) -> None:
    other = release.wheel.with_name(release.wheel.name + ".sigstore.json")
    result = verify_artifacts(
        [release.blob], bundles=[other], signers=[Signer(**GOOD)], trusted_root=release.trusted_root
    )
    assert "belongs to another file" in _only(result, "MH-VERIFY-SIGNATURE")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"repository": "acme/other"}, "repository is acme/mcp-server, policy allows acme/other"),
        ({"ref": "refs/heads/main"}, "ref is refs/tags/v1.0.0, policy allows refs/heads/main"),
        ({"trigger": "push"}, "trigger is release, policy allows push"),
        ({"sha": "b" * 40}, f"commit is {SHA}, policy allows {'b' * 40}"),
        (
            {"workflow": "ci.yml"},
            "workflow is .github/workflows/release.yml, policy allows .github/workflows/ci.yml",
        ),
        (
            {"issuer": "https://token.actions.githubusercontent.com"},
            "issuer is https://sandbox.mcp-harden.invalid",
        ),
    ],
)
def test_wrong_signer_fields(release: Release, change: dict, expected: str) -> None:
    signer = Signer(**{**GOOD, **change})
    result = verify_artifacts([release.blob], signers=[signer], trusted_root=release.trusted_root)
    title = _only(result, "MH-VERIFY-IDENTITY")
    assert expected in title and "signed by https://github.com/acme/mcp-server/" in title


def test_wrong_identity(release: Release) -> None:
    signer = Signer(
        issuer=SANDBOX_ISSUER,
        identity="https://github.com/acme/mcp-server/.github/workflows/x.yml@refs/heads/main",
    )
    title = _only(
        verify_artifacts([release.blob], signers=[signer], trusted_root=release.trusted_root),
        "MH-VERIFY-IDENTITY",
    )
    assert (
        "identity is https://github.com/acme/mcp-server/.github/workflows/release.yml@refs/tags/v1.0.0"
        in title
    )


def test_several_signers_each_explained(release: Release) -> None:
    signers = [
        Signer(issuer=SANDBOX_ISSUER, repository="a/b"),
        Signer(issuer=SANDBOX_ISSUER, repository=REPO, ref="refs/heads/*"),
    ]
    title = _only(
        verify_artifacts([release.blob], signers=signers, trusted_root=release.trusted_root),
        "MH-VERIFY-IDENTITY",
    )
    assert "signer 1: repository is acme/mcp-server" in title and "signer 2: ref is refs/tags/v1.0.0" in title


def test_sandbox_signature_under_production_root(release: Release) -> None:
    result = verify_artifacts(
        [release.blob], signers=[Signer(**GOOD)], trusted_root=None, instance="production"
    )
    title = _only(result, "MH-VERIFY-SIGNATURE")
    assert "does not chain to the trusted root production" in title and "SANDBOX" in title


def test_another_sandboxs_root(release: Release) -> None:
    result = verify_artifacts(
        [release.blob], signers=[Signer(**GOOD)], trusted_root=release.other_trusted_root
    )
    assert "signed by another mcp-harden sandbox" in _only(result, "MH-VERIFY-SIGNATURE")


def test_dsse_subject_mismatch(release: Release) -> None:
    result = verify_artifacts(
        [release.rebuilt_wheel],
        signers=[Signer(**GOOD)],
        trusted_root=release.trusted_root,
        attestations=[release.sbom_attestation],
        require_attestations=["sbom"],
    )
    found = _titles(result)
    assert found[0][0] == "MH-VERIFY-SUBJECT" and "but the artifact has sha256" in found[0][1]
    assert ("MH-VERIFY-ATTESTATION", "no verified sbom attestation (the policy requires one)") in found


def test_missing_required_attestation(release: Release) -> None:
    result = verify_artifacts(
        [release.wheel],
        signers=[Signer(**GOOD)],
        trusted_root=release.trusted_root,
        require_attestations=["slsa-provenance"],
    )
    assert "no verified slsa-provenance attestation" in _only(result, "MH-VERIFY-ATTESTATION")


def _bundle(copy: Path, release: Release) -> Path:
    return copy / "dist" / (release.blob.name + ".sigstore.json")


def test_truncated_bundle(release: Release, copy_release: Path) -> None:
    bundle = _bundle(copy_release, release)
    bundle.write_text(bundle.read_text()[:500])
    title = _only(
        verify_artifacts(
            [copy_release / "dist" / release.blob.name],
            signers=[Signer(**GOOD)],
            trusted_root=release.trusted_root,
        ),
        "MH-VERIFY-BUNDLE",
    )
    assert "not valid JSON (truncated or damaged)" in title and str(bundle) in title and "\n" not in title


def test_malformed_bundle(release: Release, copy_release: Path) -> None:
    bundle = _bundle(copy_release, release)
    bundle.write_text(json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}))
    title = _only(
        verify_artifacts(
            [copy_release / "dist" / release.blob.name],
            signers=[Signer(**GOOD)],
            trusted_root=release.trusted_root,
        ),
        "MH-VERIFY-BUNDLE",
    )
    assert "is malformed" in title and "\n" not in title


def test_inclusion_proof_removed(release: Release, copy_release: Path) -> None:
    bundle = _bundle(copy_release, release)
    data = json.loads(bundle.read_text())
    del data["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    bundle.write_text(json.dumps(data))
    title = _only(
        verify_artifacts(
            [copy_release / "dist" / release.blob.name],
            signers=[Signer(**GOOD)],
            trusted_root=release.trusted_root,
        ),
        "MH-VERIFY-BUNDLE",
    )
    assert "tlogEntries.0.inclusionProof: Field required" in title


def test_inclusion_proof_hash_altered(release: Release, copy_release: Path) -> None:
    bundle = _bundle(copy_release, release)
    data = json.loads(bundle.read_text())
    data["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] = "A" * 43 + "="
    bundle.write_text(json.dumps(data))
    title = _only(
        verify_artifacts(
            [copy_release / "dist" / release.blob.name],
            signers=[Signer(**GOOD)],
            trusted_root=release.trusted_root,
        ),
        "MH-VERIFY-SIGNATURE",
    )
    assert "transparency-log entry does not verify" in title


def test_missing_bundle(release: Release, copy_release: Path) -> None:
    _bundle(copy_release, release).unlink()
    title = _only(
        verify_artifacts(
            [copy_release / "dist" / release.blob.name],
            signers=[Signer(**GOOD)],
            trusted_root=release.trusted_root,
        ),
        "MH-VERIFY-MISSING-BUNDLE",
    )
    assert "no Sigstore bundle" in title


@pytest.mark.parametrize(
    "signers",
    [
        [],
        [Signer(issuer=SANDBOX_ISSUER)],
        [Signer(repository=REPO)],
        [Signer(issuer=SANDBOX_ISSUER, identity_pattern=".*")],
    ],
)
def test_policy_accepting_anyone_is_a_config_error(release: Release, signers: list) -> None:
    with pytest.raises(ConfigError):
        verify_artifacts([release.blob], signers=signers, trusted_root=release.trusted_root)


def test_record_with_replaced_artifact(release: Release, copy_release: Path) -> None:
    shutil.copy(release.rebuilt_wheel, copy_release / "dist" / release.wheel.name)
    result = verify_record(
        copy_release / "release" / "release.json",
        signers=[Signer(**GOOD)],
        trusted_root=release.trusted_root,
        require_attestations=["sbom"],
    )
    rules = {rule for rule, _ in _titles(result)}
    assert {"MH-VERIFY-DIGEST", "MH-VERIFY-SIGNATURE", "MH-VERIFY-SUBJECT"} <= rules


def test_record_unsigned_or_edited(release: Release, copy_release: Path) -> None:
    record = copy_release / "release" / "release.json"
    data = json.loads(record.read_text())
    data["attestations"] = []
    record.write_text(json.dumps(data))
    result = verify_record(record, signers=[Signer(**GOOD)], trusted_root=release.trusted_root)
    assert "release.json: the file does not match its signature" in _titles(result)[0][1]


def test_record_sbom_changed_after_signing(release: Release, copy_release: Path) -> None:
    sbom = copy_release / "release" / "sbom.cdx.json"
    data = json.loads(sbom.read_text())
    data["components"] = []
    sbom.write_text(json.dumps(data))
    result = verify_record(
        copy_release / "release" / "release.json", signers=[Signer(**GOOD)], trusted_root=release.trusted_root
    )
    titles = [t for rule, t in _titles(result) if rule == "MH-VERIFY-ATTESTATION"]
    assert titles == [
        "attestation sbom.intoto.sigstore.json attests other content than sbom.cdx.json (the file was changed after signing)"
    ]


def test_edited_record_is_not_read_further(release: Release, copy_release: Path) -> None:
    """An altered record cannot say which files to check: after its own signature fails, its bytes are not
    even parsed (an absolute path in a *signed* record is refused by the parser: tests/verify)."""
    record = copy_release / "release" / "release.json"
    data = json.loads(record.read_text())
    data["artifacts"][0]["path"] = "/etc/hostname"
    record.write_text(json.dumps(data))
    result = verify_record(record, signers=[Signer(**GOOD)], trusted_root=release.trusted_root)
    rules = [rule for rule, _ in _titles(result)]
    assert rules == ["MH-VERIFY-SIGNATURE"], _titles(result)
    assert "the release record's contents were not used: it did not verify" in result.notes
    assert result.summary["artifacts"] == 0
