"""A sandbox release made the way tests/sign/conftest.py makes one, with what an attacker works with: two
artifacts named notes.txt in different folders, a hash-locked requirements file listed as an artifact, and a
signing session kept open so a test can sign any bytes (a record it builds) in a few milliseconds."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config import Signer
from pipeline.sign import _session, sign_files
from tests.sign.conftest import ENV, REPO, SANDBOX_ISSUER, make_wheel

GOOD = Signer(issuer=SANDBOX_ISSUER, repository=REPO)
LOCK = "requirements.lock.txt"


@dataclass
class Dist:
    root: Path
    sandbox: Path
    trusted_root: Path
    record: Path
    wheel: Path
    notes: Path  # dist/notes.txt: listed, attested
    other_notes: Path  # other/notes.txt: signed alone, not attested
    lock: Path
    sbom: Path
    manifest: Path

    def copy(self, target: Path) -> Dist:
        """The release copied to `target` (keys left behind), with the same relative layout."""
        shutil.copytree(self.root, target, ignore=shutil.ignore_patterns("*.key", "sandbox"))
        moved = {
            k: target / Path(v).relative_to(self.root)
            for k, v in self.__dict__.items()
            if k not in ("root", "sandbox", "trusted_root")
        }
        return Dist(root=target, sandbox=self.sandbox, trusted_root=self.trusted_root, **moved)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    base = tmp_path_factory.mktemp("verify-release")
    sandbox = base / "sandbox"
    wheel = make_wheel(base / "dist" / "demo_server-1.0.0-py3-none-any.whl")
    notes = base / "dist" / "notes.txt"
    notes.write_text("release notes\n")
    lock = base / "dist" / LOCK
    lock.write_text(f"demo-server==1.0.0 --hash=sha256:{sha256(wheel)}\n")
    other = base / "other" / "notes.txt"
    other.parent.mkdir()
    other.write_text("not what was attested\n")
    rel = base / "release"
    rel.mkdir()
    sbom = rel / "sbom.cdx.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}))
    manifest = rel / "mcp-manifest.json"
    manifest.write_text(json.dumps({"tools": [{"name": "read_file", "description": "Read a file"}]}))
    record = rel / "release.json"
    sign_files(
        [wheel, notes, lock, sbom, manifest],
        instance="sandbox",
        sandbox_dir=sandbox,
        sbom=sbom,
        manifest=manifest,
        provenance=True,
        record=record,
        env=ENV,
    )
    sign_files([other], instance="sandbox", sandbox_dir=sandbox, env=ENV)
    return Dist(
        base, sandbox, sandbox / "trusted_root.json", record, wheel, notes, other, lock, sbom, manifest
    )


@pytest.fixture(scope="session")
def sign_bytes(dist: Dist) -> Iterator[Callable[[bytes], str]]:
    """Sign bytes as the release's signer (same sandbox, same identity); returns the bundle's JSON."""
    with (
        _session("sandbox", None, dist.sandbox, ENV) as session,
        session.context.signer(session.token) as signer,
    ):
        yield lambda data: signer.sign_artifact(data).to_json()


def write_signed(path: Path, data: bytes, sign: Callable[[bytes], str]) -> Path:
    """Write `data` at `path` and its bundle beside it: a validly signed file, whatever it says."""
    path.write_bytes(data)
    path.with_name(path.name + ".sigstore.json").write_text(sign(data))
    return path
