"""One provenance attestation per distribution, as GitHub and PyPI consume them.

`sign --provenance` writes, beside every file it signs, a Sigstore bundle v0.3 holding a DSSE in-toto
Statement v1 with exactly one subject (the file's name and sha256) and an SLSA v1 predicate, and beside a wheel
or sdist also the PEP 740 attestation objects twine uploads. Checked here with our own verify, with
pypi-attestations (PyPI's own PEP 740 code: its `Attestation.verify` builds `Verifier.production()`, so the
test hands it a Verifier over the sandbox's trusted root; everything else it checks runs as released), and with
the checks `gh attestation verify` makes (cli/cli: sigstore-go's artifact-digest and certificate-identity
policy, the predicate type, then the certificate's owner, repository and issuer extensions). `gh` itself is
not on this machine in a version that has `attestation`, so those checks are spelled out below.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pipeline.config import Signer
from pipeline.fileio import sha256_file
from pipeline.provenance.identity import AttestationPolicy, fulcio_claim
from pipeline.provenance.origin import verify_origin
from pipeline.provenance.pep740 import AttestationError, Distribution, verify_attestation
from pipeline.sign import sign_files
from pipeline.sign.attest import GITHUB_BUILD_TYPE, PYPI_PUBLISH, SLSA_PROVENANCE, STATEMENT_TYPE
from pipeline.verify import load_trusted_root, verify_artifacts, verify_record
from pipeline.verify.policy import AnySigner
from tests.sign.conftest import (
    ENV,
    IDENTITY,
    REF,
    REPO,
    SANDBOX_ISSUER,
    SHA,
    WORKFLOW,
    Release,
    make_mcpb,
    make_sdist,
    make_wheel,
)

BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIGNER = Signer(issuer=SANDBOX_ISSUER, repository=REPO, workflow=WORKFLOW, ref="refs/tags/v*", sha=SHA)


@dataclass
class Dists:
    trusted_root: Path
    wheel: Path
    sdist: Path
    mcpb: Path
    notes: Path
    record: Path

    def provenance(self, path: Path) -> Path:
        return path.with_name(path.name + ".provenance.sigstore.json")

    def pep740(self, path: Path, kind: str) -> Path:
        return path.with_name(f"{path.name}.{kind}.attestation")


@pytest.fixture(scope="module")
def dists(release: Release, tmp_path_factory: pytest.TempPathFactory) -> Dists:
    base = tmp_path_factory.mktemp("per-dist")
    dist = base / "dist"
    wheel = make_wheel(dist / "demo_server-1.0.0-py3-none-any.whl")
    sdist = make_sdist(dist / "demo_server-1.0.0.tar.gz")
    mcpb = make_mcpb(dist / "demo-server-1.0.0.mcpb")
    notes = dist / "NOTES.txt"
    notes.write_text("notes\n")
    record = base / "release" / "release.json"
    sign_files(
        [wheel, sdist, mcpb, notes],
        instance="sandbox",
        sandbox_dir=release.sandbox,
        provenance=True,
        record=record,
        env=ENV,
    )
    return Dists(release.trusted_root, wheel, sdist, mcpb, notes, record)


def _payload(bundle: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return statement


# --- the shape GitHub's actions/attest-build-provenance writes, one subject per distribution ---------------------


def test_each_distribution_has_its_own_single_subject_bundle(dists: Dists) -> None:
    for path in (dists.wheel, dists.sdist, dists.mcpb):
        bundle = json.loads(dists.provenance(path).read_text())
        assert bundle["mediaType"] == BUNDLE_V03
        assert bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
        assert len(bundle["dsseEnvelope"]["signatures"]) == 1
        assert len(bundle["verificationMaterial"]["tlogEntries"]) == 1
        statement = _payload(bundle)
        assert statement["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
        assert statement["predicateType"] == SLSA_PROVENANCE == "https://slsa.dev/provenance/v1"
        assert statement["subject"] == [{"name": path.name, "digest": {"sha256": sha256_file(path)}}]


def test_predicate_is_slsa_v1_as_github_writes_it(dists: Dists) -> None:
    predicate = _payload(json.loads(dists.provenance(dists.wheel).read_text()))["predicate"]
    build, run = predicate["buildDefinition"], predicate["runDetails"]
    assert build["buildType"] == GITHUB_BUILD_TYPE == "https://actions.github.io/buildtypes/workflow/v1"
    assert build["externalParameters"]["workflow"] == {
        "ref": REF,
        "repository": f"https://github.com/{REPO}",
        "path": WORKFLOW,
    }
    assert set(build["internalParameters"]["github"]) >= {
        "event_name",
        "repository_id",
        "repository_owner_id",
    }
    assert build["resolvedDependencies"][0] == {
        "uri": f"git+https://github.com/{REPO}@{REF}",
        "digest": {"gitCommit": SHA},
    }
    assert run["builder"]["id"] == f"https://github.com/{REPO}/{WORKFLOW}@{REF}"
    assert run["metadata"]["invocationId"] == f"https://github.com/{REPO}/actions/runs/42/attempts/1"


def test_outside_github_the_predicate_says_local(release: Release, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "demo_server-2.0.0-py3-none-any.whl", version="2.0.0")
    local = {k: v for k, v in ENV.items() if k != "GITHUB_ACTIONS"}
    stage = sign_files([wheel], instance="sandbox", sandbox_dir=release.sandbox, provenance=True, env=local)
    predicate = _payload(json.loads((tmp_path / (wheel.name + ".provenance.sigstore.json")).read_text()))
    assert (
        predicate["predicate"]["buildDefinition"]["buildType"] == "https://mcp-harden.dev/buildtypes/local/v1"
    )
    assert predicate["predicate"]["runDetails"]["builder"]["id"] == "https://mcp-harden.dev/local-builder"
    assert stage.summary["attestations"] == ["pypi-publish", "slsa-provenance"]


def test_pep740_objects_only_for_pypi_distributions(dists: Dists) -> None:
    for path in (dists.wheel, dists.sdist):
        assert dists.pep740(path, "slsa").is_file() and dists.pep740(path, "publish").is_file()
    for path in (dists.mcpb, dists.notes):
        assert not list(path.parent.glob(f"{path.name}.*.attestation"))
        assert dists.provenance(path).is_file()


def test_the_record_lists_every_per_distribution_attestation(dists: Dists) -> None:
    record = json.loads(dists.record.read_text())
    entries = {
        (a["kind"], a["bundle"], a.get("format", "sigstore-bundle")): a for a in record["attestations"]
    }
    for path in (dists.wheel, dists.sdist, dists.mcpb, dists.notes):
        subject = [{"name": path.name, "sha256": sha256_file(path)}]
        bundle = f"../dist/{path.name}.provenance.sigstore.json"
        assert entries[("slsa-provenance", bundle, "sigstore-bundle")]["subjects"] == subject
    for path in (dists.wheel, dists.sdist):
        subject = [{"name": path.name, "sha256": sha256_file(path)}]
        slsa = entries[("slsa-provenance", f"../dist/{path.name}.slsa.attestation", "pep740")]
        publish = entries[("pypi-publish", f"../dist/{path.name}.publish.attestation", "pep740")]
        assert slsa["subjects"] == publish["subjects"] == subject
        assert publish["predicateType"] == PYPI_PUBLISH
    result = verify_record(
        dists.record,
        signers=[SIGNER],
        trusted_root=dists.trusted_root,
        require_attestations=["slsa-provenance"],
    )
    assert result.findings == [], [f.title for f in result.findings]
    assert result.summary["attestations"] == ["pypi-publish", "slsa-provenance"]


def test_verify_finds_the_bundle_beside_the_artifact(dists: Dists) -> None:
    """`verify --proof attestation` with no --attestation: the bundle sign wrote beside each file."""
    root = load_trusted_root(dists.trusted_root)
    result = verify_origin(
        [dists.wheel, dists.sdist, dists.mcpb],
        attestations=[],
        policies=[AttestationPolicy(SIGNER)],
        root=root,
    )
    assert result.findings == [] and result.error is None, [f.title for f in result.findings]
    assert len(result.summary["attested"]) == 3


# --- PyPI: pypi-attestations' own code ---------------------------------------------------------------------------


@pytest.fixture
def pypi_verifier(dists: Dists, monkeypatch: pytest.MonkeyPatch) -> Any:
    """pypi-attestations' `Attestation.verify` builds `Verifier.production()`: hand it the sandbox's root."""
    import pypi_attestations._impl as impl
    from sigstore.verify import Verifier

    root = load_trusted_root(dists.trusted_root).root

    class SandboxVerifier(Verifier):
        @classmethod
        def production(cls, *, offline: bool = False) -> Verifier:
            return Verifier(trusted_root=root)

    monkeypatch.setattr(impl, "Verifier", SandboxVerifier)
    from sigstore.verify.policy import Identity

    return Identity(identity=IDENTITY, issuer=SANDBOX_ISSUER)


def test_pypi_attestations_verifies_both_attestations(dists: Dists, pypi_verifier: Any) -> None:
    from pypi_attestations import Attestation
    from pypi_attestations import Distribution as PyPIDistribution

    for path in (dists.wheel, dists.sdist):
        dist = PyPIDistribution.from_file(path)
        slsa = Attestation.model_validate_json(dists.pep740(path, "slsa").read_bytes())
        kind, predicate = slsa.verify(pypi_verifier, dist, offline=True)
        assert kind == SLSA_PROVENANCE and predicate is not None and "buildDefinition" in predicate
        publish = Attestation.model_validate_json(dists.pep740(path, "publish").read_bytes())
        assert publish.verify(pypi_verifier, dist, offline=True) == (PYPI_PUBLISH, None)


def test_pypi_attestations_from_bundle_is_our_slsa_attestation(dists: Dists, pypi_verifier: Any) -> None:
    from pypi_attestations import Attestation
    from sigstore.models import Bundle

    for path in (dists.wheel, dists.sdist):
        theirs = Attestation.from_bundle(Bundle.from_json(dists.provenance(path).read_text()))
        ours = Attestation.model_validate_json(dists.pep740(path, "slsa").read_bytes())
        assert theirs == ours


def test_pypi_attestations_refuses_the_other_distribution(dists: Dists, pypi_verifier: Any) -> None:
    from pypi_attestations import Attestation, VerificationError
    from pypi_attestations import Distribution as PyPIDistribution

    wheel_attestation = Attestation.model_validate_json(dists.pep740(dists.wheel, "publish").read_bytes())
    with pytest.raises(VerificationError, match="subject does not match distribution name"):
        wheel_attestation.verify(pypi_verifier, PyPIDistribution.from_file(dists.sdist), offline=True)
    other = PyPIDistribution(name=dists.wheel.name, digest=sha256_file(dists.sdist))
    with pytest.raises(VerificationError, match="subject does not match distribution digest"):
        wheel_attestation.verify(pypi_verifier, other, offline=True)


# --- GitHub: what `gh attestation verify --bundle` checks ----------------------------------------------------------


class _GhIdentity:
    """sigstore-go's certificate identity as gh builds it: SAN matching `(?i)^https://github.com/OWNER_OR_REPO/`
    and the exact OIDC issuer."""

    def __init__(self, san_regex: str, issuer: str) -> None:
        self.san = re.compile(san_regex)
        self.issuer = issuer

    def verify(self, cert: Any) -> None:
        from cryptography.x509 import SubjectAlternativeName, UniformResourceIdentifier
        from sigstore.errors import VerificationError

        sans = cert.extensions.get_extension_for_class(SubjectAlternativeName).value
        uris = sans.get_values_for_type(UniformResourceIdentifier)
        if not any(self.san.match(uri) for uri in uris):
            raise VerificationError(f"SAN {uris} does not match {self.san.pattern}")
        if fulcio_claim(cert, 8) != self.issuer:
            raise VerificationError(f"issuer is {fulcio_claim(cert, 8)}, not {self.issuer}")


def gh_attestation_verify(bundle_path: Path, artifact: Path, *, repo: str, issuer: str, root: Path) -> None:
    """`gh attestation verify ARTIFACT --bundle B --repo O/R --cert-oidc-issuer I --custom-trusted-root R`:
    raises (sigstore's VerificationError or AssertionError) at the first check that fails."""
    from sigstore.models import Bundle
    from sigstore.verify import Verifier

    owner = repo.split("/")[0]
    bundle = Bundle.from_json(bundle_path.read_text())
    verifier = Verifier(trusted_root=load_trusted_root(root).root)
    payload_type, payload = verifier.verify_dsse(
        bundle, _GhIdentity(f"(?i)^https://github.com/{repo}/", issuer)
    )
    assert payload_type == "application/vnd.in-toto+json"
    statement = json.loads(payload)
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    # sigstore-go WithArtifactDigest: a subject has the artifact's digest
    assert any(s.get("digest", {}).get("sha256") == digest for s in statement["subject"]), "no subject digest"
    # the predicate type gh filters on (default https://slsa.dev/provenance/v1)
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1", "predicate type"
    # VerifyCertExtensions: owner and repository URIs, issuer, compared case-insensitively
    cert = bundle.signing_certificate
    assert (fulcio_claim(cert, 16) or "").lower() == f"https://github.com/{owner}".lower(), "owner"
    assert (fulcio_claim(cert, 12) or "").lower() == f"https://github.com/{repo}".lower(), "repository"
    assert (fulcio_claim(cert, 8) or "").lower() == issuer.lower(), "issuer"


def test_gh_attestation_verify_checks_pass(dists: Dists) -> None:
    for path in (dists.wheel, dists.sdist, dists.mcpb):
        gh_attestation_verify(
            dists.provenance(path), path, repo=REPO, issuer=SANDBOX_ISSUER, root=dists.trusted_root
        )


@pytest.mark.parametrize(
    ("repo", "issuer", "artifact"),
    [
        ("acme/other", SANDBOX_ISSUER, "wheel"),
        ("evil/mcp-server", SANDBOX_ISSUER, "wheel"),
        (REPO, "https://token.actions.githubusercontent.com", "wheel"),
        (REPO, SANDBOX_ISSUER, "sdist"),  # the wheel's bundle for the sdist: no subject has its digest
    ],
)
def test_gh_attestation_verify_checks_refuse(dists: Dists, repo: str, issuer: str, artifact: str) -> None:
    from sigstore.errors import VerificationError

    target = dists.wheel if artifact == "wheel" else dists.sdist
    with pytest.raises((VerificationError, AssertionError)):
        gh_attestation_verify(
            dists.provenance(dists.wheel), target, repo=repo, issuer=issuer, root=dists.trusted_root
        )


# --- an attestation presented for another distribution is refused (mutations, hypothesis) ----------------------

_OTHER_NAMES = st.one_of(
    st.builds("demo_server-1.0.{}-py3-none-any.whl".format, st.integers(1, 999)),
    st.sampled_from(
        [
            "demo_server-1.0.0-py2-none-any.whl",
            "demo_server-1.0.0-1-py3-none-any.whl",
            "demo_server2-1.0.0-py3-none-any.whl",
            "other-1.0.0-py3-none-any.whl",
            "demo_server-1.0.0.tar.gz",
            "demo-server-1.0.0.mcpb",
        ]
    ),
)
_MUTATIONS = st.one_of(
    st.tuples(st.just("same name, other bytes"), st.binary(min_size=0, max_size=256)),
    st.tuples(st.just("other name, same bytes"), _OTHER_NAMES),
)


def _refusals(dists: Dists, presented: Path) -> list[str]:
    """Every way our verify is handed the wheel's attestations for `presented`; the ones that accepted it."""
    accepted = []
    checker = verify_artifacts(
        [presented],
        signers=[SIGNER],
        trusted_root=dists.trusted_root,
        attestations=[dists.provenance(dists.wheel)],
        require_signed=False,
        require_attestations=["slsa-provenance"],
    )
    if not any(f.rule_id == "MH-VERIFY-SUBJECT" for f in checker.findings):
        accepted.append(f"verify --attestation: {[f.title for f in checker.findings]}")
    root = load_trusted_root(dists.trusted_root)
    origin = verify_origin(
        [presented],
        attestations=[dists.provenance(dists.wheel)],
        policies=[AttestationPolicy(SIGNER)],
        root=root,
    )
    if not origin.findings:
        accepted.append("verify --proof attestation")
    from sigstore.verify import Verifier

    dist = Distribution(presented.name, sha256_file(presented))
    for kind in ("slsa", "publish"):
        try:
            verify_attestation(
                json.loads(dists.pep740(dists.wheel, kind).read_text()),
                dist,
                AnySigner([SIGNER]),
                Verifier(trusted_root=root.root),
            )
            accepted.append(f"PEP 740 {kind}")
        except AttestationError:
            pass
    return accepted


def test_the_right_distribution_is_accepted_everywhere(dists: Dists, tmp_path: Path) -> None:
    copy = tmp_path / dists.wheel.name
    shutil.copyfile(dists.wheel, copy)
    assert len(_refusals(dists, copy)) == 4


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_MUTATIONS)
def test_an_attestation_for_another_distribution_is_refused(dists: Dists, mutation: tuple[str, Any]) -> None:
    kind, value = mutation
    original = dists.wheel.read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        if kind == "same name, other bytes":
            assume(value != original)
            presented = Path(folder) / dists.wheel.name
            presented.write_bytes(value)
        else:
            presented = Path(folder) / value
            presented.write_bytes(original)
        assert _refusals(dists, presented) == [], kind


def test_swapped_attestations_in_a_release_are_refused(dists: Dists, tmp_path: Path) -> None:
    """The record names each attestation's one subject: the sdist's files put in place of the wheel's (same
    signer, valid signatures) are refused by name, whatever the bundle says."""
    copy = tmp_path / "copy"
    shutil.copytree(dists.record.parent.parent, copy)
    dist = copy / "dist"
    for suffix in (".provenance.sigstore.json", ".slsa.attestation", ".publish.attestation"):
        shutil.copyfile(dist / (dists.sdist.name + suffix), dist / (dists.wheel.name + suffix))
    result = verify_record(
        copy / "release" / "release.json", signers=[SIGNER], trusted_root=dists.trusted_root
    )
    titles = [f.title for f in result.findings if f.rule_id == "MH-VERIFY-ATTESTATION"]
    assert len(titles) == 3 and all("other subjects than the release record lists" in t for t in titles)


def test_a_damaged_pep740_file_is_refused(dists: Dists, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(dists.record.parent.parent, copy)
    target = copy / "dist" / (dists.wheel.name + ".publish.attestation")
    data = json.loads(target.read_text())
    data["envelope"]["statement"] = base64.b64encode(b'{"_type": "x"}').decode()
    target.write_text(json.dumps(data))
    (copy / "dist" / (dists.sdist.name + ".slsa.attestation")).write_text("[1, 2")
    result = verify_record(
        copy / "release" / "release.json", signers=[SIGNER], trusted_root=dists.trusted_root
    )
    by_rule = {(f.rule_id, Path(f.location.path).name) for f in result.findings if f.location}
    assert ("MH-VERIFY-SIGNATURE", dists.wheel.name + ".publish.attestation") in by_rule
    assert ("MH-VERIFY-BUNDLE", dists.sdist.name + ".slsa.attestation") in by_rule


@pytest.mark.parametrize("suffix", [".provenance.sigstore.json", ".slsa.attestation", ".publish.attestation"])
def test_sign_never_writes_provenance_over_a_file_it_was_handed(
    release: Release, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    wheel = make_wheel(tmp_path / "demo_server-1.0.0-py3-none-any.whl")
    victim = tmp_path / (wheel.name + suffix)
    victim.write_bytes(b"the user's own file\n")
    argv = ["sign", str(wheel), str(victim), "--provenance", "--instance", "sandbox"]
    assert main([*argv, "--sandbox-dir", str(release.sandbox)]) == 2
    err = capsys.readouterr().err
    assert "would overwrite this input" in err and str(victim) in err, err
    assert victim.read_bytes() == b"the user's own file\n"
    assert not (tmp_path / (wheel.name + ".sigstore.json")).exists()


def test_verify_cli_takes_what_sign_wrote(
    dists: Dists, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the command line: the provenance bundle beside the wheel (--proof both), and the PEP 740 objects
    handed with --attestation (read as PEP 740 by their `.attestation` name), on both verify paths."""
    from pipeline.cli import main

    common = ["--trusted-root", str(dists.trusted_root), "--repository", REPO, "--format", "json"]

    def verify(*args: str) -> tuple[int, set[str]]:
        code = main(["verify", *args, *common])
        report = json.loads(capsys.readouterr().out)
        return code, {f["rule_id"] for s in report["stages"] for f in s["findings"]}

    assert verify(str(dists.wheel), "--proof", "both") == (0, set())
    for kind in ("slsa", "publish"):
        attestation = str(dists.pep740(dists.wheel, kind))
        assert verify(str(dists.wheel), "--attestation", attestation, "--proof", "both") == (0, set())
    wrong = str(dists.pep740(dists.sdist, "slsa"))
    code, rules = verify(
        str(dists.wheel),
        "--attestation",
        wrong,
        "--require-attestation",
        "slsa-provenance",
        "--proof",
        "both",
    )
    assert code == 1 and rules == {
        "MH-VERIFY-SUBJECT"
    }  # the wheel's own bundle beside it still proves origin
    code, rules = verify(str(dists.wheel), "--attestation", wrong, "--proof", "attestation")
    assert code == 0  # --proof attestation: one verifying bundle (the one beside the wheel) is enough, as gh
    copy = tmp_path / dists.wheel.name  # without the bundle sign wrote beside it
    shutil.copyfile(dists.wheel, copy)
    code, rules = verify(str(copy), "--attestation", wrong, "--proof", "attestation")
    assert code == 1 and rules == {"MH-VERIFY-PROVENANCE"}
