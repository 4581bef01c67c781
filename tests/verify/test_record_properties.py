"""Property: whatever record the signer is made to sign (duplicate names, reordered keys, other files'
digests and bundles) and whatever is then done to the release folder (files and bundles swapped, edited,
removed, an extra wheel dropped in), `verify` passes only when every listed artifact's own bytes verified:
its digest is the one the record lists, and its own bundle signs exactly that digest."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline.findings import Severity
from pipeline.verify import verify_record
from tests.sign.conftest import make_wheel
from tests.verify.conftest import GOOD, Dist, write_signed

POOL = [
    "dist/demo_server-1.0.0-py3-none-any.whl",
    "dist/notes.txt",
    "other/notes.txt",
    "dist/requirements.lock.txt",
    "release/sbom.cdx.json",
]
DISTRIBUTION = (".whl", ".tar.gz", ".mcpb")


@dataclass(frozen=True)
class Entry:
    file: int  # which pool file the path names
    name_of: int  # whose file name is written as `name`
    digest_of: int  # whose digest is written as `sha256`
    bundle_of: int  # whose bundle is written as `bundle`
    order: tuple[int, ...]  # key order


_index = st.integers(0, len(POOL) - 1)
_entry = st.builds(
    Entry,
    file=_index,
    name_of=st.one_of(st.just(-1), _index),  # -1: its own name (mostly)
    digest_of=st.one_of(st.just(-1), st.just(-1), _index),
    bundle_of=st.one_of(st.just(-1), st.just(-1), _index),
    order=st.permutations(range(4)).map(tuple),
)
_ops = st.lists(
    st.one_of(
        st.tuples(st.just("swap-files"), _index, _index),
        st.tuples(st.just("swap-bundles"), _index, _index),
        st.tuples(st.just("edit"), _index, st.just(0)),
        st.tuples(st.just("remove"), _index, st.just(0)),
        st.tuples(st.just("remove-bundle"), _index, st.just(0)),
        st.tuples(st.just("extra-wheel"), st.just(0), st.just(0)),
    ),
    max_size=3,
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _rel(path: str) -> str:
    return "../" + path if not path.startswith("release/") else path.removeprefix("release/")


def _entry_json(entry: Entry, digests: list[str]) -> dict[str, Any]:
    def own(i: int) -> int:
        return entry.file if i == -1 else i

    path = POOL[entry.file]
    fields = [
        ("name", Path(POOL[own(entry.name_of)]).name),
        ("path", _rel(path)),
        ("sha256", digests[own(entry.digest_of)]),
        ("bundle", _rel(POOL[own(entry.bundle_of)]) + ".sigstore.json"),
    ]
    return dict(fields[i] for i in entry.order)


def _apply(root: Path, op: tuple[str, int, int]) -> None:
    kind, i, j = op
    a, b = root / POOL[i], root / POOL[j]
    if kind.endswith("bundles"):
        a, b = a.with_name(a.name + ".sigstore.json"), b.with_name(b.name + ".sigstore.json")
    if kind.startswith("swap"):
        if a.exists() and b.exists():
            da, db = a.read_bytes(), b.read_bytes()
            a.write_bytes(db)
            b.write_bytes(da)
    elif kind == "edit" and a.exists():
        a.write_bytes(a.read_bytes() + b"\n#")
    elif kind == "remove":
        a.unlink(missing_ok=True)
    elif kind == "remove-bundle":
        a.with_name(a.name + ".sigstore.json").unlink(missing_ok=True)
    elif kind == "extra-wheel":
        make_wheel(root / "dist" / "extra-1.0-py3-none-any.whl")


def _own_bytes_verified(
    record: Path, doc: dict[str, Any], signs: dict[str, str], require_sbom: bool
) -> str | None:
    """None when every listed artifact's own bytes verify (from the disk, independently of `verify`); else why not."""
    base = record.parent
    sources = {str((base / a["source"]).resolve()) for a in doc["attestations"] if a.get("source")}
    sbom_subjects = {
        (s["name"], s["sha256"]) for a in doc["attestations"] if a["kind"] == "sbom" for s in a["subjects"]
    }
    listed = set()
    for item in doc["artifacts"]:
        path = (base / item["path"]).resolve()
        listed.add(path)
        if Path(item["path"]).name != item["name"]:
            return "name is not the path's file name"
        if not path.is_file():
            return f"{item['path']} missing"
        digest = _sha(path.read_bytes())
        if digest != item["sha256"]:
            return f"{item['path']} is not the listed digest"
        bundle = base / item["bundle"]
        if not bundle.is_file() or signs.get(_sha(bundle.read_bytes())) != digest:
            return f"{item['bundle']} does not sign {item['path']}"
        if require_sbom and str(path) not in sources and (item["name"], digest) not in sbom_subjects:
            return f"{item['path']} is not covered by the SBOM attestation"
    for folder in {p.parent for p in listed} | {base.resolve()}:
        for child in folder.iterdir():
            if child.name.lower().endswith(DISTRIBUTION) and child.resolve() not in listed:
                return f"{child} is not listed"
    return None


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    entries=st.lists(_entry, min_size=1, max_size=5),
    top_order=st.permutations(
        ["_type", "created", "instance", "sandbox", "signer", "artifacts", "attestations", "notes"]
    ),
    keep_attestations=st.booleans(),
    ops=_ops,
    require_sbom=st.booleans(),
)
def test_verify_passes_only_when_every_listed_artifact_verified(
    dist: Dist,
    sign_bytes,
    entries: list[Entry],
    top_order: list[str],
    keep_attestations: bool,
    ops,
    require_sbom: bool,
) -> None:
    genuine = json.loads(dist.record.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        copy = dist.copy(Path(tmp) / "r")
        root = copy.root
        digests = [_sha((root / p).read_bytes()) for p in POOL]
        signs = {
            _sha((root / p).with_name(Path(p).name + ".sigstore.json").read_bytes()): digests[i]
            for i, p in enumerate(POOL)
        }
        doc = {**genuine, "artifacts": [_entry_json(e, digests) for e in entries]}
        if not keep_attestations:
            doc["attestations"] = []
        doc = {key: doc[key] for key in top_order}
        write_signed(copy.record, json.dumps(doc).encode(), sign_bytes)
        for op in ops:
            _apply(root, op)
        result = verify_record(
            copy.record,
            signers=[GOOD],
            trusted_root=dist.trusted_root,
            require_attestations=["sbom"] if require_sbom else [],
        )
        passed = result.error is None and not result.failing(Severity.LOW)
        why_not = _own_bytes_verified(copy.record, doc, signs, require_sbom)
        event("passed" if passed else "refused")
        assert not passed or why_not is None, f"verify passed, but {why_not}"
        if passed:
            assert result.summary["artifacts"] == len(doc["artifacts"])


def test_the_generator_can_pass(dist: Dist, sign_bytes, tmp_path: Path) -> None:
    """The honest case of the generator verifies: the property above is not vacuous."""
    copy = dist.copy(tmp_path / "r")
    digests = [_sha((copy.root / p).read_bytes()) for p in POOL]
    doc = json.loads(dist.record.read_text())
    doc["artifacts"] = [
        _entry_json(Entry(i, -1, -1, -1, (3, 2, 1, 0)), digests) for i in (0, 1, 3, 4)
    ]  # other/notes.txt is not attested
    write_signed(copy.record, json.dumps(doc).encode(), sign_bytes)
    result = verify_record(
        copy.record, signers=[GOOD], trusted_root=dist.trusted_root, require_attestations=["sbom"]
    )
    assert not result.findings, [f.title for f in result.findings]
