"""Session-scoped sandbox signatures: one sandbox, one signing run, reused by every test (the suite stays fast)."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.sign import sign_files
from pipeline.sign.sandbox import SANDBOX_ISSUER, SandboxKeys

VECTORS = (Path(__file__).resolve().parents[2] / "../shared/vectors/sigstore").resolve()
REPO = "acme/mcp-server"
REF = "refs/tags/v1.0.0"
SHA = "a" * 40
WORKFLOW = ".github/workflows/release.yml"
IDENTITY = f"https://github.com/{REPO}/{WORKFLOW}@{REF}"
ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": REPO,
    "GITHUB_REF": REF,
    "GITHUB_SHA": SHA,
    "GITHUB_WORKFLOW_REF": f"{REPO}/{WORKFLOW}@{REF}",
    "GITHUB_WORKFLOW": "release",
    "GITHUB_EVENT_NAME": "release",
    "GITHUB_RUN_ID": "42",
    "GITHUB_SERVER_URL": "https://github.com",
}


def _metadata(version: str, readme: str | None) -> str:
    text = f"Metadata-Version: 2.1\nName: demo-server\nVersion: {version}\n"
    if readme is not None:  # the long description is the message body, after a blank line
        text += f"Description-Content-Type: text/markdown\n\n{readme}"
    return text


def make_wheel(path: Path, version: str = "1.0.0", extra: str = "", readme: str | None = None) -> Path:
    """A tiny but real wheel: module, METADATA (with `readme` as its long description), WHEEL and RECORD."""
    name = "demo_server"
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n{extra}".encode(),
        f"{dist}/METADATA": _metadata(version, readme).encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for arc, data in files.items():
        digest = hashlib.sha256(data).digest()
        import base64

        record += f"{arc},sha256={base64.urlsafe_b64encode(digest).rstrip(b'=').decode()},{len(data)}\n"
    files[f"{dist}/RECORD"] = (record + f"{dist}/RECORD,,\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data in files.items():
            zf.writestr(arc, data)
    return path


def make_sdist(path: Path, version: str = "1.0.0", readme: str | None = None) -> Path:
    """A real sdist: `demo_server-VERSION/` with PKG-INFO (carrying `readme`), pyproject.toml and the module."""
    import io
    import tarfile

    top = f"demo_server-{version}"
    files = {
        f"{top}/PKG-INFO": _metadata(version, readme),
        f"{top}/pyproject.toml": f'[project]\nname = "demo-server"\nversion = "{version}"\n',
        f"{top}/demo_server/__init__.py": f"VERSION = {version!r}\n",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for arc, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(arc)
            info.size, info.mtime = len(data), 1767225600
            archive.addfile(info, io.BytesIO(data))
    return path


def make_mcpb(path: Path, name: str = "demo-server", version: str = "1.0.0") -> Path:
    """A real MCP bundle: a zip with manifest.json (MCPB manifest 0.2 fields) and the server's entry point."""
    manifest = {
        "manifest_version": "0.2",
        "name": name,
        "version": version,
        "description": "A demo MCP server",
        "author": {"name": "mcp-harden tests"},
        "server": {
            "type": "python",
            "entry_point": "server/main.py",
            "mcp_config": {"command": "python", "args": ["${__dirname}/server/main.py"]},
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
        zf.writestr("server/main.py", "print('demo')\n")
    return path


@dataclass
class Release:
    root: Path  # folder holding everything
    sandbox: Path
    trusted_root: Path
    blob: Path
    wheel: Path
    sbom: Path
    manifest: Path
    record: Path
    provenance: Path  # the wheel's own SLSA provenance bundle (one subject)
    blob_provenance: Path
    sbom_attestation: Path
    manifest_attestation: Path
    other_trusted_root: Path
    rebuilt_wheel: Path  # same name, other content, validly signed: the attestations are not about it


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    base = tmp_path_factory.mktemp("signed")
    sandbox = base / "sandbox"
    dist = base / "dist"
    dist.mkdir()
    blob = dist / "notes.txt"
    blob.write_text("release notes\n")
    wheel = make_wheel(dist / "demo_server-1.0.0-py3-none-any.whl")
    rel = base / "release"
    rel.mkdir()
    sbom = rel / "sbom.cdx.json"
    sbom.write_text(
        json.dumps(
            {
                "bomFormat": "CycloneDX",
                "specVersion": "1.6",
                "components": [
                    {
                        "name": "mcp",
                        "version": "1.0",
                        "purl": "pkg:pypi/mcp@1.0",
                        "hashes": [{"alg": "SHA-256", "content": "b" * 64}],
                    }
                ],
            }
        )
    )
    manifest = rel / "mcp-manifest.json"
    manifest.write_text(json.dumps({"tools": [{"name": "read_file", "description": "Read a file"}]}))
    record = rel / "release.json"
    sign_files(
        [wheel, blob, sbom, manifest],
        instance="sandbox",
        sandbox_dir=sandbox,
        sbom=sbom,
        manifest=manifest,
        provenance=True,
        record=record,
        env=ENV,
    )
    rebuilt = make_wheel(base / "rebuilt" / wheel.name, extra="# rebuilt\n")
    sign_files([rebuilt], instance="sandbox", sandbox_dir=sandbox, env=ENV)
    other = SandboxKeys.load_or_create(base / "other-sandbox").trusted_root_path
    return Release(
        root=base,
        sandbox=sandbox,
        trusted_root=sandbox / "trusted_root.json",
        blob=blob,
        wheel=wheel,
        sbom=sbom,
        manifest=manifest,
        record=record,
        provenance=dist / (wheel.name + ".provenance.sigstore.json"),
        blob_provenance=dist / (blob.name + ".provenance.sigstore.json"),
        sbom_attestation=rel / "sbom.intoto.sigstore.json",
        manifest_attestation=rel / "tool-manifest.intoto.sigstore.json",
        other_trusted_root=other,
        rebuilt_wheel=rebuilt,
    )


@pytest.fixture
def copy_release(release: Release, tmp_path: Path) -> Path:
    """A private copy of the signed release folder, for tests that damage files."""
    target = tmp_path / "copy"
    shutil.copytree(release.root, target, ignore=shutil.ignore_patterns("*.key"))
    return target


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not (VECTORS / "README.md").is_file():
        pytest.skip(f"real Sigstore vectors not present at {VECTORS}")
    return VECTORS


__all__ = [
    "ENV",
    "IDENTITY",
    "REF",
    "REPO",
    "SANDBOX_ISSUER",
    "SHA",
    "WORKFLOW",
    "Release",
    "make_mcpb",
    "make_sdist",
    "make_wheel",
]
