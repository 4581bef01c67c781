"""Sign with sigstore's own signer against the sandbox, verify with sigstore's own Verifier."""

from __future__ import annotations

import base64
import json
import zipfile

from pipeline.config import Signer
from pipeline.findings import Severity
from pipeline.sign.attest import CYCLONEDX_BOM, SLSA_PROVENANCE, TOOL_MANIFEST
from pipeline.verify import verify_artifacts, verify_record
from tests.sign.conftest import IDENTITY, REF, REPO, SANDBOX_ISSUER, SHA, WORKFLOW, Release

GITHUB_POLICY = Signer(
    issuer=SANDBOX_ISSUER, repository=REPO, workflow=WORKFLOW, ref="refs/tags/v*", trigger="release", sha=SHA
)


def _passed(result) -> bool:
    return result.status(Severity.HIGH).value == "passed" and not result.findings


def test_blob_round_trip(release: Release) -> None:
    result = verify_artifacts([release.blob], signers=[GITHUB_POLICY], trusted_root=release.trusted_root)
    assert _passed(result), [f.title for f in result.findings]
    assert result.summary["signers"] == [IDENTITY]
    assert any("SANDBOX" in note for note in result.notes)


def test_bundle_is_v03_beside_the_file(release: Release) -> None:
    bundle = json.loads((release.blob.parent / (release.blob.name + ".sigstore.json")).read_text())
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    entry = bundle["verificationMaterial"]["tlogEntries"][0]
    assert entry["inclusionProof"]["hashes"] and entry["inclusionPromise"]["signedEntryTimestamp"]


def test_wheel_round_trip_exact_identity(release: Release) -> None:
    assert zipfile.ZipFile(release.wheel).testzip() is None
    signer = Signer(issuer=SANDBOX_ISSUER, identity=IDENTITY)
    result = verify_artifacts([release.wheel], signers=[signer], trusted_root=release.trusted_root)
    assert _passed(result), [f.title for f in result.findings]


def test_identity_pattern(release: Release) -> None:
    signer = Signer(
        issuer=SANDBOX_ISSUER, identity_pattern=r"https://github\.com/acme/mcp-server/.*@refs/tags/v.*"
    )
    result = verify_artifacts(
        [release.wheel, release.blob], signers=[signer], trusted_root=release.trusted_root
    )
    assert _passed(result)


def test_each_attestation_type(release: Release) -> None:
    both = {release.wheel.name, release.blob.name}
    for paths, kind, predicate, names in [
        ([release.provenance], "slsa-provenance", SLSA_PROVENANCE, [{release.wheel.name}]),
        (
            [release.provenance, release.blob_provenance],
            "slsa-provenance",
            SLSA_PROVENANCE,
            [{release.wheel.name}, {release.blob.name}],
        ),
        ([release.sbom_attestation], "sbom", CYCLONEDX_BOM, [both]),
        ([release.manifest_attestation], "tool-manifest", TOOL_MANIFEST, [both]),
    ]:
        artifacts = [release.wheel] if len(names) == 1 and names[0] != both else [release.wheel, release.blob]
        result = verify_artifacts(
            artifacts,
            signers=[GITHUB_POLICY],
            trusted_root=release.trusted_root,
            attestations=paths,
            require_attestations=[kind],
        )
        assert _passed(result), (kind, [f.title for f in result.findings])
        for path, expected in zip(paths, names, strict=True):
            payload = json.loads(base64.b64decode(json.loads(path.read_text())["dsseEnvelope"]["payload"]))
            assert payload["predicateType"] == predicate
            assert {s["name"] for s in payload["subject"]} == expected


def test_one_provenance_does_not_cover_another_file(release: Release) -> None:
    """Per-file provenance: the wheel's attestation says nothing about the blob."""
    result = verify_artifacts(
        [release.wheel, release.blob],
        signers=[GITHUB_POLICY],
        trusted_root=release.trusted_root,
        attestations=[release.provenance],
        require_attestations=["slsa-provenance"],
    )
    assert [f.rule_id for f in result.findings] == ["MH-VERIFY-SUBJECT"]
    assert release.blob.name in result.findings[0].title


def test_provenance_content(release: Release) -> None:
    payload = json.loads(
        base64.b64decode(json.loads(release.provenance.read_text())["dsseEnvelope"]["payload"])
    )
    build = payload["predicate"]["buildDefinition"]
    assert build["externalParameters"]["workflow"] == {
        "ref": REF,
        "repository": f"https://github.com/{REPO}",
        "path": WORKFLOW,
    }
    deps = build["resolvedDependencies"]
    assert deps[0] == {"uri": f"git+https://github.com/{REPO}@{REF}", "digest": {"gitCommit": SHA}}
    assert {"uri": "pkg:pypi/mcp@1.0", "name": "mcp", "digest": {"sha256": "b" * 64}} in deps
    assert payload["predicate"]["runDetails"]["metadata"]["invocationId"].endswith(
        "/actions/runs/42/attempts/1"
    )


def test_release_record_round_trip(release: Release) -> None:
    record = json.loads(release.record.read_text())
    assert record["sandbox"] is True and record["signer"]["identity"] == IDENTITY
    assert {a["kind"] for a in record["attestations"]} == {
        "slsa-provenance",
        "pypi-publish",
        "sbom",
        "tool-manifest",
    }
    result = verify_record(
        release.record,
        signers=[GITHUB_POLICY],
        trusted_root=release.trusted_root,
        require_attestations=["slsa-provenance", "sbom", "tool-manifest"],
    )
    assert _passed(result), [f.title for f in result.findings]
    assert result.summary["artifacts"] == 4
