"""Every github-provenance case of cases.json, verified offline with its expected verdict.

Where the vectors' README records that sigstore 4.5.1 cannot verify a bundle (intoto 0.0.2 log entries,
GitHub's TSA-only instance), the verdict must be UNSUPPORTED with that reason: never VERIFIED.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import Signer
from pipeline.provenance.dsse import Digests, Verdict, verify_attestation_file
from pipeline.provenance.identity import AttestationPolicy
from tests.provenance.conftest import VECTORS, cases

GH = "https://token.actions.githubusercontent.com"
REUSABLE_SAN = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)
SJS_SAN = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
DEMO_SAN = "https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main"
REUSABLE = Signer(issuer=GH, identity=REUSABLE_SAN, repository="malancas/attest-demo")
SJS = Signer(issuer=GH, identity=SJS_SAN, repository="sigstore/sigstore-js")

# case -> (policy, artifact override or None, our verdict, reason fragment)
TABLE: dict[str, tuple[AttestationPolicy, str | None, Verdict, str]] = {
    "reusable workflow ok": (AttestationPolicy(REUSABLE, owner="malancas"), None, Verdict.VERIFIED, ""),
    "reusable workflow signer-workflow ok": (
        AttestationPolicy(
            Signer(issuer=GH, repository="malancas/attest-demo"),
            signer_workflow="github/artifact-attestations-workflows/.github/workflows/attest.yml",
        ),
        None,
        Verdict.VERIFIED,
        "",
    ),
    "reusable workflow with cli trusted_root.json (old public-good root)": (
        AttestationPolicy(Signer(issuer=GH, identity=REUSABLE_SAN)),
        None,
        Verdict.VERIFIED,
        "",
    ),
    "reusable workflow wrong signer workflow": (
        AttestationPolicy(
            Signer(issuer=GH, repository="malancas/attest-demo"),
            signer_workflow="github.com/foo/bar/.github/workflows/attest.yml",
        ),
        None,
        Verdict.FAILED,
        "signer workflow is https://github.com/github/artifact-attestations-workflows",
    ),
    "reusable workflow: caller workflow as SAN": (
        AttestationPolicy(
            Signer(
                issuer=GH,
                identity="https://github.com/malancas/attest-demo/.github/workflows/shared.yml@refs/heads/main",
            )
        ),
        None,
        Verdict.FAILED,
        "identity is",
    ),
    "reusable workflow wrong repo": (
        AttestationPolicy(Signer(issuer=GH, identity=REUSABLE_SAN, repository="malancas/other")),
        None,
        Verdict.FAILED,
        "repository is malancas/attest-demo, policy allows malancas/other",
    ),
    "reusable workflow wrong artifact": (
        AttestationPolicy(REUSABLE),
        "other",
        Verdict.FAILED,
        "no subject has the artifact's digest",
    ),
    "sigstore-js v0.3 ok": (
        AttestationPolicy(SJS, owner="sigstore"),
        None,
        Verdict.UNSUPPORTED,
        "intoto 0.0.2",
    ),
    "sigstore-js v0.3 ok (cli trusted_root.json)": (
        AttestationPolicy(SJS),
        None,
        Verdict.UNSUPPORTED,
        "intoto 0.0.2",
    ),
    "sigstore-js jsonl 2 bundles ok": (AttestationPolicy(SJS), None, Verdict.UNSUPPORTED, "intoto 0.0.2"),
    "sigstore-js wrong repo": (
        AttestationPolicy(Signer(issuer=GH, repository="sigstore/fakerepo")),
        None,
        Verdict.FAILED,
        "repository is sigstore/sigstore-js, policy allows sigstore/fakerepo",
    ),
    "sigstore-js wrong owner": (
        AttestationPolicy(Signer(issuer=GH), owner="fakeowner"),
        None,
        Verdict.FAILED,
        "owner is https://github.com/sigstore",
    ),
    "invalid signature": (
        AttestationPolicy(Signer(issuer="https://github.com/login/oauth", identity="brian@dehamer.com")),
        "none",
        Verdict.FAILED,
        "not an in-toto statement",
    ),
    "github provenance demo (GitHub Fulcio + TSA)": (
        AttestationPolicy(Signer(issuer=GH, identity=DEMO_SAN, repository="actions/attest-demo")),
        None,
        Verdict.UNSUPPORTED,
        "without a transparency-log entry",
    ),
    "github provenance missing verification material": (
        AttestationPolicy(Signer(issuer=GH, repository="actions/attest-demo")),
        None,
        Verdict.MALFORMED,
        "verificationMaterial",
    ),
}

GITHUB_CASES = cases("github")


def _root(case: dict[str, Any]) -> Any:
    from pipeline.verify import load_trusted_root

    pinned = [f for f in case["files"] if f.endswith("trusted_root.json")]
    return load_trusted_root(VECTORS / pinned[0] if pinned else None, instance="production").root


_ROOT = _root({"files": []})


def test_every_case_is_in_the_table() -> None:
    assert {c["case"] for c in GITHUB_CASES} == set(TABLE)


@pytest.mark.parametrize("case", GITHUB_CASES, ids=[c["case"] for c in GITHUB_CASES])
def test_github_case(case: dict[str, Any], tmp_path: Path) -> None:
    from sigstore.verify import Verifier

    policy, override, verdict, fragment = TABLE[case["case"]]
    expected = case["expected"]
    # Our verdict agrees with the case's: a pass is VERIFIED, or UNSUPPORTED where sigstore 4.5.1 says so.
    if expected.startswith("pass"):
        assert verdict in (Verdict.VERIFIED, Verdict.UNSUPPORTED)
        assert (verdict is Verdict.VERIFIED) == case["observed_offline"].startswith("PASS")
    else:
        assert verdict in (Verdict.FAILED, Verdict.MALFORMED)
        assert (verdict is Verdict.MALFORMED) == ("malformed" in expected)
    policy.check()
    bundle = VECTORS / next(
        f for f in case["files"] if f.endswith((".json", ".jsonl")) and "trusted_root" not in f
    )
    artifacts = [f for f in case["files"] if not f.endswith((".json", ".jsonl"))]
    if override is None:
        artifact = VECTORS / artifacts[0]
    else:
        artifact = tmp_path / "other.txt"
        artifact.write_bytes(b"hello world")
    result = verify_attestation_file(bundle, Digests.of(artifact), policy, Verifier(trusted_root=_root(case)))
    assert result.verdict is verdict, result.bundles
    assert fragment in result.reason(), result.reason()
    if verdict is Verdict.VERIFIED:
        assert result.verified[0].predicate_type == "https://slsa.dev/provenance/v1"
    if case["case"] == "sigstore-js jsonl 2 bundles ok":
        assert [b.index for b in result.bundles] == [1, 2]


def test_unsupported_bundle_for_another_artifact_fails(tmp_path: Path) -> None:
    """Trust-free checks run before giving up: an intoto 0.0.2 bundle about other bytes is a FAIL."""
    from sigstore.verify import Verifier

    other = tmp_path / "sigstore-2.1.0.tgz"
    other.write_bytes(b"not the package")
    result = verify_attestation_file(
        VECTORS / "github/sigstore-js-2.1.0-bundle.json",
        Digests.of(other),
        AttestationPolicy(SJS),
        Verifier(trusted_root=_root({"files": []})),
    )
    assert result.verdict is Verdict.FAILED


def test_tampered_statement_fails(tmp_path: Path) -> None:
    """A bundle whose payload was edited (subject digest swapped to the other artifact) does not verify."""
    import base64

    from sigstore.verify import Verifier

    data = json.loads((VECTORS / "github/reusable-workflow-attestation.sigstore.json").read_text())
    statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
    other = tmp_path / "other.whl"
    other.write_bytes(b"evil")
    statement["subject"][0]["digest"] = {"sha256": Digests.of(other).sha256}
    data["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    forged = tmp_path / "forged.sigstore.json"
    forged.write_text(json.dumps(data))
    result = verify_attestation_file(
        forged, Digests.of(other), AttestationPolicy(REUSABLE), Verifier(trusted_root=_root({"files": []}))
    )
    assert result.verdict is Verdict.FAILED
    assert "signature" in result.reason()


def test_jsonl_one_good_one_broken(tmp_path: Path) -> None:
    """JSON Lines: one verified bundle is enough (as gh); the broken line is still reported."""
    from sigstore.verify import Verifier

    good = (VECTORS / "github/reusable-workflow-attestation.sigstore.json").read_text()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"mediaType": "x"}\n' + json.dumps(json.loads(good)) + "\n")
    result = verify_attestation_file(
        mixed,
        Digests.of(VECTORS / "github/reusable-workflow-artifact"),
        AttestationPolicy(REUSABLE),
        Verifier(trusted_root=_root({"files": []})),
    )
    assert result.verdict is Verdict.VERIFIED
    assert [b.verdict for b in result.bundles] == [Verdict.MALFORMED, Verdict.VERIFIED]


def test_leaf_signature_check_on_real_bundles() -> None:
    """The trust-free DSSE check agrees with the README: sigstore-js's signature is valid, the broken one not."""
    import base64

    from sigstore.models import Bundle

    from pipeline.provenance.dsse import _leaf_signature_ok

    verdicts = []
    for name in ("sigstore-js-2.1.0-bundle.json", "sigstoreBundle-invalid-signature.json"):
        text = (VECTORS / "github" / name).read_text()
        env = json.loads(text)["dsseEnvelope"]
        cert = Bundle.from_json(text).signing_certificate
        payload, sig = base64.b64decode(env["payload"]), base64.b64decode(env["signatures"][0]["sig"])
        verdicts.append(_leaf_signature_ok(cert, env["payloadType"], payload, sig))
    assert verdicts == [True, False]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["payload", "sig"]), position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_is_never_verified(field: str, position: int, bit: int, tmp_path: Path) -> None:
    import base64

    from sigstore.verify import Verifier

    data = json.loads((VECTORS / "github/reusable-workflow-attestation.sigstore.json").read_text())
    env = data["dsseEnvelope"]
    holder = env if field == "payload" else env["signatures"][0]
    raw = bytearray(base64.b64decode(holder[field]))
    raw[position % len(raw)] ^= 1 << bit
    holder[field] = base64.b64encode(bytes(raw)).decode()
    path = tmp_path / f"flip-{field}-{position}-{bit}.json"
    path.write_text(json.dumps(data))
    result = verify_attestation_file(
        path,
        Digests.of(VECTORS / "github/reusable-workflow-artifact"),
        AttestationPolicy(REUSABLE),
        Verifier(trusted_root=_ROOT),
    )
    assert result.verdict is not Verdict.VERIFIED
