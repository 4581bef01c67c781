"""server.json entries against the files they describe; .mcpb bundles and their MCPB_SIG_V1 blocks."""

from __future__ import annotations

import datetime as dt
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.fileio import sha256_file
from tests.sign.conftest import make_wheel

SERVER = "io.github.acme/notes"
ENDPOINT = "https://mcp.example.com/mcp"


def _mcpb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"manifest_version": "0.2", "name": "notes"}))
        archive.writestr("server/main.py", "print('hi')\n")
    return path


def _sign_like_mcpb(path: Path) -> None:
    """Append the block `mcpb sign` writes: header, length, a PKCS#7 signature over the zip, footer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcpb test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    content = path.read_bytes()
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(cert, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])
    )
    path.write_bytes(
        content + b"MCPB_SIG_V1" + struct.pack("<I", len(signature)) + signature + b"MCPB_SIG_END"
    )


def _entry(tmp_path: Path, bundle: Path, *, sha: str | None, remotes: list[str], wheel: bool = True) -> Path:
    packages: list[dict[str, Any]] = [
        {
            "registryType": "mcpb",
            "identifier": f"https://github.com/acme/notes/releases/download/v1.0.0/{bundle.name}",
            "version": "1.0.0",
            "transport": {"type": "stdio"},
        }
    ]
    if sha is not None:
        packages[0]["fileSha256"] = sha
    if wheel:
        packages.append({"registryType": "pypi", "identifier": "demo-server", "version": "1.0.0"})
    data = {
        "name": SERVER,
        "version": "1.0.0",
        "packages": packages,
        "remotes": [{"type": "streamable-http", "url": u} for u in remotes],
    }
    path = tmp_path / "server.json"
    path.write_text(json.dumps(data))
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["provenance", *args, "--format", "json"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, json.loads(out.out) if out.out.strip() else {"err": out.err}


def _rules(report: dict[str, Any]) -> list[str]:
    return sorted(f["rule_id"] for s in report["stages"] for f in s["findings"])


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    _mcpb(folder / "notes-1.0.0.mcpb")
    # The name in the code, not the README: the registry reads the README, so this must not count.
    make_wheel(folder / "demo_server-1.0.0-py3-none-any.whl", extra=f"# mcp-name: {SERVER}\n")
    return folder


def _with_readme(wheel: Path, text: str) -> None:
    """Rewrite the wheel's METADATA with a long description (the README PyPI shows)."""
    with zipfile.ZipFile(wheel) as archive:
        items = {n: archive.read(n) for n in archive.namelist()}
    meta = next(n for n in items if n.endswith("METADATA"))
    items[meta] = items[meta] + b"\n" + text.encode()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in items.items():
            archive.writestr(name, data)


def test_entry_that_matches(dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = dist / "notes-1.0.0.mcpb"
    _with_readme(dist / "demo_server-1.0.0-py3-none-any.whl", f"# Notes\n<!-- mcp-name: {SERVER} -->\n")
    entry = _entry(tmp_path, bundle, sha=sha256_file(bundle), remotes=[ENDPOINT])
    code, report = _run(capsys, "--server-json", str(entry), "--dist", str(dist), "--endpoint", ENDPOINT)
    assert code == 0, report
    assert report["stages"][0]["stage"] == "server-json"


def test_every_mismatch(dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = dist / "notes-1.0.0.mcpb"
    entry = _entry(tmp_path, bundle, sha="0" * 64, remotes=["https://other.example.com/mcp", "http://x/mcp"])
    code, report = _run(capsys, "--server-json", str(entry), "--dist", str(dist), "--endpoint", ENDPOINT)
    assert code == 1
    assert _rules(report) == [
        "MH-REGISTRY-FILE-SHA256",
        "MH-REGISTRY-MCP-NAME",
        "MH-REGISTRY-REMOTE",
        "MH-REGISTRY-REMOTE",
    ]


def test_missing_file_sha256(dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = _entry(tmp_path, dist / "notes-1.0.0.mcpb", sha=None, remotes=[], wheel=False)
    code, report = _run(capsys, "--server-json", str(entry), "--dist", str(dist))
    assert code == 1 and _rules(report) == ["MH-REGISTRY-FILE-SHA256"]


def test_mcpb_signature_is_informational(
    dist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = dist / "notes-1.0.0.mcpb"
    _sign_like_mcpb(bundle)
    entry = _entry(tmp_path, bundle, sha=sha256_file(bundle), remotes=[], wheel=False)
    code, report = _run(capsys, "--server-json", str(entry), "--dist", str(dist), "--fail-on", "low")
    findings = {f["rule_id"]: f for f in report["stages"][0]["findings"]}
    assert findings["MH-MCPB-SIGNATURE"]["severity"] == "info"
    assert "never takes it as proof" in findings["MH-MCPB-SIGNATURE"]["title"]
    assert findings["MH-MCPB-ARCHIVE"]["severity"] == "medium"
    assert code == 1  # the archive finding, not the signature, fails at --fail-on low


def test_no_local_copy_is_could_not_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = _entry(tmp_path, tmp_path / "absent.mcpb", sha="a" * 64, remotes=[], wheel=False)
    code, report = _run(capsys, "--server-json", str(entry))
    assert code == 3
    assert "no local copy of absent.mcpb" in report["stages"][0]["error"]


def test_not_a_server_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "server.json"
    bad.write_text('{"packages": []}')
    code, report = _run(capsys, "--server-json", str(bad))
    assert code == 2 and "needs a 'name'" in report["err"]


def test_verify_reports_an_mcpb_signature_block_as_information_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Sigstore-signed bundle that also carries MCPB_SIG_V1: verify passes on the Sigstore signature and
    names the block as information; the block alone proves nothing (unsigned: verify fails)."""
    from pipeline.sign import sign_files
    from tests.sign.conftest import ENV, REPO

    bundle = _mcpb(tmp_path / "notes-1.0.0.mcpb")
    _sign_like_mcpb(bundle)
    unsigned = tmp_path / "unsigned" / bundle.name
    unsigned.parent.mkdir()
    unsigned.write_bytes(bundle.read_bytes())
    sign_files([bundle], instance="sandbox", sandbox_dir=tmp_path / "sandbox", env=ENV)
    root = str(tmp_path / "sandbox" / "trusted_root.json")
    for path, expected in ((bundle, 0), (unsigned, 1)):
        code = main(["verify", str(path), "--trusted-root", root, "--repository", REPO, "--format", "json"])
        report = json.loads(capsys.readouterr().out)
        assert code == expected, report
        stages = {s["stage"]: s for s in report["stages"]}
        (info,) = [f for f in stages["mcpb"]["findings"] if f["rule_id"] == "MH-MCPB-SIGNATURE"]
        assert info["severity"] == "info"
