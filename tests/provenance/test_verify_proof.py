"""`verify --proof attestation|both`: a GitHub artifact attestation as proof of origin, end to end."""

from __future__ import annotations

import json

import pytest

from pipeline.cli import main
from tests.provenance.conftest import VECTORS

ARTIFACT = str(VECTORS / "github/reusable-workflow-artifact")
BUNDLE = str(VECTORS / "github/reusable-workflow-attestation.sigstore.json")
REUSABLE = "github/artifact-attestations-workflows/.github/workflows/attest.yml"


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["verify", *args, "--format", "json"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, json.loads(out.out) if out.out.strip() else {}, out.err


def test_attestation_alone_proves_origin(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        ARTIFACT,
        "--attestation",
        BUNDLE,
        "--repository",
        "malancas/attest-demo",
        "--proof",
        "attestation",
    ]
    code, report, _ = _verify(capsys, *args, "--signer-workflow", REUSABLE, "--workflow", "shared.yml")
    assert code == 0, report
    assert [s["stage"] for s in report["stages"]] == ["verify-provenance"]
    code, report, _ = _verify(capsys, *args)
    assert code == 0, report
    assert report["stages"][0]["summary"]["attested"]


def test_without_proof_attestation_a_signature_is_still_demanded(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = _verify(
        capsys, ARTIFACT, "--attestation", BUNDLE, "--repository", "malancas/attest-demo"
    )
    assert code == 1
    assert "MH-VERIFY-MISSING-BUNDLE" in {f["rule_id"] for s in report["stages"] for f in s["findings"]}


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--repository", "malancas/other"], "repository is malancas/attest-demo"),
        (["--repository", "malancas/attest-demo", "--workflow", "attest.yml"], "workflow is"),
        (
            ["--repository", "malancas/attest-demo", "--signer-workflow", "foo/bar/.github/workflows/a.yml"],
            "signer",
        ),
    ],
    ids=["other-repository", "reusable-workflow-is-not-the-callers", "other-signer-workflow"],
)
def test_attestation_under_another_policy_fails(
    capsys: pytest.CaptureFixture[str], extra: list[str], fragment: str
) -> None:
    code, report, _ = _verify(capsys, ARTIFACT, "--attestation", BUNDLE, "--proof", "attestation", *extra)
    assert code == 1
    (finding,) = report["stages"][0]["findings"]
    assert finding["rule_id"] == "MH-VERIFY-PROVENANCE" and fragment in finding["evidence"]


def test_both_needs_the_signature_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = _verify(
        capsys, ARTIFACT, "--attestation", BUNDLE, "--proof", "both", "--repository", "malancas/attest-demo"
    )
    assert code == 1
    stages = {s["stage"]: s for s in report["stages"]}
    assert stages["verify-provenance"]["status"] == "passed"
    assert stages["verify"]["status"] == "failed"


def test_unverifiable_attestation_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = _verify(
        capsys,
        str(VECTORS / "github/sigstore-js-2.1.0.tgz"),
        "--attestation",
        str(VECTORS / "github/sigstore-js-2.1.0_with_2_bundles.jsonl"),
        "--proof",
        "attestation",
        "--repository",
        "sigstore/sigstore-js",
    )
    assert code == 3
    assert "intoto 0.0.2" in report["stages"][0]["error"]


def test_policy_proof_key(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "verify:\n  proof: attestation\n  signers:\n"
        "    - {issuer: https://token.actions.githubusercontent.com, repository: malancas/attest-demo}\n"
    )
    code, report, _ = _verify(capsys, ARTIFACT, "--attestation", BUNDLE, "--policy", str(policy))
    assert code == 0, report
