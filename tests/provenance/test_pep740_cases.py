"""Every PEP 740 case of cases.json (attestations, provenance objects, publisher policies) with its verdict."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import Signer
from pipeline.provenance.dsse import Digests
from pipeline.provenance.identity import Mismatch, Publisher
from pipeline.provenance.pep740 import (
    AttestationError,
    Distribution,
    verify_attestation,
    verify_provenance,
)
from tests.provenance.conftest import VECTORS, cases

GH = "https://token.actions.githubusercontent.com"
PA = "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml@refs/tags/"
PA_PUBLISHER = Publisher(kind="GitHub", repository="trailofbits/pypi-attestations", workflow="release.yml")
WILLIAM = Signer(issuer="https://github.com/login/oauth", identity="william@yossarian.net")
SWIFT = Publisher(kind="GitHub", repository="SWIFTSIM/swiftgalaxy", workflow="python-publish.yml")
PA16 = Distribution(
    "pypi_attestations-0.0.16.tar.gz", "cbd2b946fe160793606dee4516ef58ac5959456e69630a7f03e7de73aa7f2737"
)
SPT3G = Distribution(
    "spt3g-1.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
    "d2772f9a5199f05ed1be8d9aa78b879e51772e3ead9d73fe8057257b1aec7cf8",
)
RFC_OTHER = Distribution(
    "rfc8785-0.1.2-py3-none-any.whl", "c1ca9b0d85df1606451098233018534497bf584362e10e4a8c21dfaea92c02a8"
)


def _signer(identity: str, issuer: str = GH) -> Any:
    from pipeline.verify.policy import AnySigner

    return AnySigner([Signer(issuer=issuer, identity=identity)])


def _william(identity: str = "william@yossarian.net") -> Any:
    return _signer(identity, "https://github.com/login/oauth")


# case -> (policy, instance, distribution override, passes, reason fragment)
TABLE: dict[str, tuple[Any, str, Distribution | None, bool, str]] = {
    "pa-0.0.19 publish ok (identity)": (_signer(PA + "v0.0.19"), "production", None, True, ""),
    "pa-0.0.19 publish ok (publisher)": (PA_PUBLISHER, "production", None, True, ""),
    "pa-0.0.19 slsa ok": (_signer(PA + "v0.0.19"), "production", None, True, ""),
    "pa-0.0.19 publish wrong tag identity": (_signer(PA + "v0.0.18"), "production", None, False, "v0.0.18"),
    "pa-0.0.19 publish with staging root": (_signer(PA + "v0.0.19"), "staging", None, False, "chain"),
    "pa-0.0.19 publish wrong workflow": (
        Publisher(kind="GitHub", repository="trailofbits/pypi-attestations", workflow="wrong.yml"),
        "production",
        None,
        False,
        "expected GitHub trailofbits/pypi-attestations (wrong.yml)",
    ),
    "pa-0.0.16 attestation vs 0.0.19 sdist": (
        _signer(PA + "v0.0.16"),
        "production",
        None,
        False,
        "is about pypi_attestations-0.0.16.tar.gz, not pypi_attestations-0.0.19.tar.gz",
    ),
    "pa-0.0.16 attestation vs its own digest": (_signer(PA + "v0.0.16"), "production", PA16, True, ""),
    "rfc8785 staging attestation": (_william(), "staging", None, True, ""),
    "rfc8785 staging publish.attestation": (_william(), "staging", None, True, ""),
    "rfc8785 staging sigstore bundle": (_william(), "staging", None, True, ""),
    "rfc8785 staging attestation vs production root": (_william(), "production", None, False, "chain"),
    "rfc8785 wrong identity": (_william("fake@example.com"), "staging", None, False, "fake@example.com"),
    "rfc8785 attestation, right name, other bytes' digest": (
        _william(),
        "staging",
        RFC_OTHER,
        False,
        "sha256 is not the distribution's",
    ),
    "spt3g staging (reordered tags)": (_william(), "staging", SPT3G, True, ""),
    "pa-0.0.19 provenance ok": (PA_PUBLISHER, "production", None, True, ""),
    "pa-0.0.19 provenance wrong repo": (
        Publisher(kind="GitHub", repository="other/repo", workflow="release.yml"),
        "production",
        None,
        False,
        "published by GitHub trailofbits/pypi-attestations (release.yml), expected GitHub other/repo",
    ),
    "pa-0.0.19 provenance gitlab host": (
        Publisher(kind="GitLab", repository="trailofbits/pypi-attestations", workflow="release.yml"),
        "production",
        None,
        False,
        "expected GitLab trailofbits/pypi-attestations",
    ),
    "cert without source-ref ext, GitHubPublisher": (SWIFT, "none", None, True, ""),
    "cert without source-ref ext, wrong workflow": (
        Publisher(kind="GitHub", repository="SWIFTSIM/swiftgalaxy", workflow="other.yml"),
        "none",
        None,
        False,
        "expected GitHub SWIFTSIM/swiftgalaxy (other.yml)",
    ),
}

PEP740_CASES = cases("pep740")
_VERIFIERS: dict[str, Any] = {}


def _verifier(instance: str) -> Any:
    from sigstore.verify import Verifier

    from pipeline.verify import load_trusted_root

    if instance not in _VERIFIERS:
        _VERIFIERS[instance] = Verifier(trusted_root=load_trusted_root(None, instance=instance).root)
    return _VERIFIERS[instance]


def _distribution(case: dict[str, Any], override: Distribution | None) -> Distribution:
    if override is not None:
        return override
    dist = next(f for f in case["files"] if f.endswith((".whl", ".tar.gz")))
    return Distribution(Path(dist).name, Digests.of(VECTORS / dist).sha256)


def test_every_case_is_in_the_table() -> None:
    assert {c["case"] for c in PEP740_CASES} == set(TABLE)


@pytest.mark.parametrize("case", PEP740_CASES, ids=[c["case"] for c in PEP740_CASES])
def test_pep740_case(case: dict[str, Any]) -> None:
    import json

    policy, instance, override, passes, fragment = TABLE[case["case"]]
    assert passes == case["expected"].startswith("pass")
    first = VECTORS / case["files"][0]
    if case["kind"] == "pep740-publisher-policy":
        cert = x509.load_pem_x509_certificate(first.read_bytes())
        if passes:
            policy.verify(cert)
        else:
            with pytest.raises(Mismatch, match=re.escape(fragment)):
                policy.verify(cert)
        return
    dist = _distribution(case, override)
    if case["kind"] == "pep740-provenance":
        result = verify_provenance(first.read_text(), dist, policy, _verifier(instance))
        assert result.ok is passes, result.failures
        if passes:
            assert result.publishers == [PA_PUBLISHER]
        else:
            assert fragment in " ".join(result.failures), result.failures
        return
    attestation = json.loads(first.read_text())
    if passes:
        verified = verify_attestation(attestation, dist, policy, _verifier(instance))
        assert verified.predicate_type == (
            "https://slsa.dev/provenance/v1"
            if "slsa" in first.name
            else "https://docs.pypi.org/attestations/publish/v1"
        )
    else:
        with pytest.raises(AttestationError) as info:
            verify_attestation(attestation, dist, policy, _verifier(instance))
        assert fragment in str(info.value), str(info.value)


@settings(max_examples=25, deadline=None)
@given(
    field=st.sampled_from(["statement", "signature"]),
    position=st.integers(min_value=0),
    bit=st.integers(0, 7),
)
def test_any_flipped_bit_never_verifies(field: str, position: int, bit: int) -> None:
    import base64
    import json

    path = VECTORS / "pep740/pypi_attestations-0.0.19.tar.gz.publish.attestation"
    attestation = json.loads(path.read_text())
    raw = bytearray(base64.b64decode(attestation["envelope"][field]))
    raw[position % len(raw)] ^= 1 << bit
    attestation["envelope"][field] = base64.b64encode(bytes(raw)).decode()
    dist = Distribution(
        "pypi_attestations-0.0.19.tar.gz",
        Digests.of(VECTORS / "pep740/pypi_attestations-0.0.19.tar.gz").sha256,
    )
    with pytest.raises(AttestationError):
        verify_attestation(attestation, dist, PA_PUBLISHER, _verifier("production"))


def test_claimed_publisher_is_compared_with_the_certificate() -> None:
    """PyPI's publisher beside the attestations is unsigned: a differently-cased repository is the same one,
    another workflow is not."""
    import json

    dist = Distribution(
        "pypi_attestations-0.0.19.tar.gz",
        Digests.of(VECTORS / "pep740/pypi_attestations-0.0.19.tar.gz").sha256,
    )
    original = json.loads((VECTORS / "pep740/pypi_attestations-0.0.19.tar.gz.provenance").read_text())
    verdicts = []
    for field_name, value in (("repository", "TrailOfBits/pypi-attestations"), ("workflow", "publish.yml")):
        edited = json.loads(json.dumps(original))
        edited["attestation_bundles"][0]["publisher"][field_name] = value
        verdicts.append(verify_provenance(json.dumps(edited), dist, None, _verifier("production")).ok)
    assert verdicts == [True, False]
