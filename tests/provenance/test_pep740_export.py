"""mcp-harden's DSSE bundles as PEP 740 attestations: the same object PyPI serves, verifiable by PEP 740 code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import Signer
from pipeline.provenance.pep740 import AttestationError, Distribution, from_bundle, verify_attestation
from tests.provenance.conftest import VECTORS
from tests.sign.conftest import ENV, IDENTITY, SANDBOX_ISSUER, make_wheel


def test_real_bundle_converts_to_the_attestation_pypi_serves() -> None:
    """pypi-attestations' own pair: the .sigstore bundle and the .attestation are the same signature."""
    ours = from_bundle((VECTORS / "pep740/rfc8785-0.1.2-py3-none-any.whl.sigstore").read_text())
    theirs = json.loads((VECTORS / "pep740/rfc8785-0.1.2-py3-none-any.whl.attestation").read_text())
    assert ours == theirs


def test_multi_subject_statement_is_refused(tmp_path: Path) -> None:
    import base64

    data = json.loads((VECTORS / "pep740/rfc8785-0.1.2-py3-none-any.whl.sigstore").read_text())
    statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
    statement["subject"] = statement["subject"] * 2
    data["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(AttestationError, match="exactly one subject"):
        from_bundle(json.dumps(data))


def test_mcp_harden_slsa_provenance_is_a_pep740_attestation(tmp_path: Path) -> None:
    """Sign a wheel's SLSA provenance with mcp-harden (sandbox Sigstore), export it, verify it as PEP 740."""
    from sigstore.verify import Verifier

    from pipeline.fileio import sha256_file
    from pipeline.sign import sign_files
    from pipeline.verify import load_trusted_root
    from pipeline.verify.policy import AnySigner

    wheel = make_wheel(tmp_path / "dist" / "demo_server-1.0.0-py3-none-any.whl")
    sign_files(
        [wheel],
        instance="sandbox",
        sandbox_dir=tmp_path / "sandbox",
        provenance=True,
        record=tmp_path / "release" / "release.json",
        env=ENV,
    )
    bundle = wheel.with_name(wheel.name + ".provenance.sigstore.json")
    attestation = from_bundle(bundle.read_text())
    assert attestation == json.loads(wheel.with_name(wheel.name + ".slsa.attestation").read_text())
    root = load_trusted_root(tmp_path / "sandbox" / "trusted_root.json")
    verified = verify_attestation(
        attestation,
        Distribution(wheel.name, sha256_file(wheel)),
        AnySigner([Signer(issuer=SANDBOX_ISSUER, identity=IDENTITY)]),
        Verifier(trusted_root=root.root),
    )
    assert verified.predicate_type == "https://slsa.dev/provenance/v1"
