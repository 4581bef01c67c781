"""Proof of origin from GitHub artifact attestations (what `verify --proof attestation` runs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline.config import Signer
from pipeline.provenance.dsse import Digests
from pipeline.provenance.identity import AttestationPolicy
from pipeline.provenance.origin import verify_origin
from pipeline.verify import load_trusted_root
from tests.provenance.conftest import VECTORS

GH = "https://token.actions.githubusercontent.com"
ARTIFACT = VECTORS / "github/reusable-workflow-artifact"
BUNDLE = VECTORS / "github/reusable-workflow-attestation.sigstore.json"
ROOT = load_trusted_root(None, instance="production")
DEMO = AttestationPolicy(Signer(issuer=GH, repository="malancas/attest-demo"), owner="malancas")


def test_attested_artifact_is_proven() -> None:
    result = verify_origin([ARTIFACT], attestations=[BUNDLE], policies=[DEMO], root=ROOT)
    assert result.findings == [] and result.error is None
    assert result.summary["attested"][0].startswith(
        "reusable-workflow-artifact by https://github.com/github/"
    )


def test_second_signer_matches() -> None:
    other = AttestationPolicy(Signer(issuer=GH, repository="someone/else"))
    result = verify_origin([ARTIFACT], attestations=[BUNDLE], policies=[other, DEMO], root=ROOT)
    assert result.findings == []


def test_wrong_policy_and_missing_attestation_are_findings(tmp_path: Path) -> None:
    other = AttestationPolicy(Signer(issuer=GH, repository="someone/else"))
    lone = tmp_path / "lone.whl"
    lone.write_bytes(b"no attestation anywhere")
    result = verify_origin([ARTIFACT], attestations=[BUNDLE], policies=[other], root=ROOT)
    assert [f.rule_id for f in result.findings] == ["MH-VERIFY-PROVENANCE"]
    assert "someone/else" in result.findings[0].evidence
    result = verify_origin([lone], attestations=[], policies=[DEMO], root=ROOT)
    assert "none given" in result.findings[0].title


def test_gh_download_name_beside_the_artifact(tmp_path: Path) -> None:
    artifact = tmp_path / "github_provenance_demo-0.0.0-py3-none-any.whl"
    shutil.copy(ARTIFACT, artifact)
    beside = tmp_path / f"sha256:{Digests.of(artifact).sha256}.jsonl"
    beside.write_text(json.dumps(json.loads(BUNDLE.read_text())) + "\n")
    result = verify_origin([artifact], attestations=[], policies=[DEMO], root=ROOT)
    assert result.findings == [] and result.error is None


def test_unverifiable_bundle_is_could_not_check() -> None:
    sjs = AttestationPolicy(Signer(issuer=GH, repository="sigstore/sigstore-js"))
    result = verify_origin(
        [VECTORS / "github/sigstore-js-2.1.0.tgz"],
        attestations=[VECTORS / "github/sigstore-js-2.1.0-bundle.json"],
        policies=[sjs],
        root=ROOT,
    )
    assert result.findings == []
    assert result.error is not None and "intoto 0.0.2" in result.error
