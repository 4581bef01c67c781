"""The release record's one writer and one parser: what the writer emits parses back to the same record;
what the parser refuses (signed or not) is named in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.record import (
    RECORD_TYPE,
    RecordArtifact,
    RecordAttestation,
    RecordError,
    ReleaseRecord,
    parse_record,
)
from pipeline.sign import sign_files
from pipeline.verify import verify_record
from tests.sign.conftest import ENV
from tests.verify.conftest import GOOD, Dist

ARTIFACT = {
    "name": "x.whl",
    "path": "../dist/x.whl",
    "sha256": "a" * 64,
    "bundle": "../dist/x.whl.sigstore.json",
}


def _doc(**changes: object) -> bytes:
    return json.dumps({"_type": RECORD_TYPE, "artifacts": [ARTIFACT], **changes}).encode()


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=20).filter(
    lambda n: n not in (".", "..")
)


@given(
    st.lists(
        st.tuples(
            st.lists(_names, min_size=1, max_size=3), st.text("0123456789abcdef", min_size=64, max_size=64)
        ),
        min_size=1,
        max_size=5,
    ),
    st.booleans(),
)
def test_written_records_parse_back(entries: list[tuple[list[str], str]], attested: bool) -> None:
    artifacts = [
        RecordArtifact(
            name=parts[-1], path="/".join(parts), sha256=digest, bundle="/".join(parts) + ".sigstore.json"
        )
        for parts, digest in entries
    ]
    attestations = (
        [
            RecordAttestation(
                "sbom",
                "https://cyclonedx.org/bom",
                "sbom.intoto.sigstore.json",
                ((artifacts[0].name, artifacts[0].sha256),),
                "sbom.cdx.json",
            )
        ]
        if attested
        else []
    )
    record = ReleaseRecord(
        instance="sandbox",
        signer={"identity": "x"},
        artifacts=artifacts,
        attestations=attestations,
        created="now",
    )
    assert parse_record(record.to_bytes()) == record


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_doc(artifacts=[]), "lists no artifact"),
        (json.dumps({"artifacts": [ARTIFACT]}).encode(), "_type is None"),
        (json.dumps({"bomFormat": "CycloneDX"}).encode(), "_type is None"),
        (b"[1, 2]", "_type is 'list'"),
        (_doc(artifacts=[{**ARTIFACT, "path": "/etc/passwd", "name": "passwd"}]), "absolute path"),
        (_doc(artifacts=[{**ARTIFACT, "path": "C:/x.whl"}]), "absolute path"),
        (
            _doc(artifacts=[{**ARTIFACT, "path": "..\\dist\\x.whl", "name": "..\\dist\\x.whl"}]),
            "not a plain relative POSIX path",
        ),
        (_doc(artifacts=[{**ARTIFACT, "name": "y.whl"}]), "is not the file name of its path"),
        (_doc(artifacts=[{**ARTIFACT, "sha256": "a" * 63}]), "64 hex digits"),
        (_doc(artifacts=[{**ARTIFACT, "sha256": None}]), "64 hex digits"),
        (_doc(artifacts=["x.whl"]), "must be an object"),
        (_doc(artifacts={"x": 1}), "must be a list"),
        (_doc(attestations=[{"kind": "sbom"}]), "predicateType must be a non-empty string"),
        (_doc(notes=[1]), "must be strings"),
        (_doc()[:-1] + b', "artifacts": []}', "appears twice"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"{", "not JSON"),
    ],
)
def test_parser_refuses(data: bytes, message: str) -> None:
    with pytest.raises(RecordError, match=message.replace("\\", "\\\\").replace("(", "\\(")) as caught:
        parse_record(data)
    assert "\n" not in str(caught.value)


def test_a_symlinked_artifact_keeps_its_name(dist: Dist, tmp_path: Path) -> None:
    """sign names each artifact as it is found in the release folder (a symlink is not followed), and the
    record it writes verifies."""
    (tmp_path / "build").mkdir()
    target = tmp_path / "build" / "server-1.0-py3-none-any.whl.real"
    target.write_bytes(dist.wheel.read_bytes())
    (tmp_path / "dist").mkdir()
    link = tmp_path / "dist" / "server-1.0-py3-none-any.whl"
    link.symlink_to(target)
    record = tmp_path / "release" / "release.json"
    sign_files([link], instance="sandbox", sandbox_dir=dist.sandbox, record=record, env=ENV)
    entry = json.loads(record.read_text())["artifacts"][0]
    assert entry["name"] == link.name and entry["path"] == f"../dist/{link.name}"
    result = verify_record(record, signers=[GOOD], trusted_root=dist.trusted_root)
    assert not result.findings, [f.title for f in result.findings]
