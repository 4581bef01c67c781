"""The commands end to end: exit codes 0/1/2/3, one-line errors, JSON output, fast --help."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.cli import main
from tests.conftest import run_cli
from tests.sign.conftest import ENV, REPO, SANDBOX_ISSUER, Release

ROOT = Path(__file__).resolve().parents[2]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_verify_record_ok(release: Release, capsys) -> None:
    code = main(
        [
            "verify",
            str(release.record),
            "--trusted-root",
            str(release.trusted_root),
            "--repository",
            REPO,
            "--require-attestation",
            "sbom",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["exit_code"] == 0
    assert report["stages"][0]["summary"]["attestations"] == [
        "pypi-publish",
        "sbom",
        "slsa-provenance",
        "tool-manifest",
    ]


def test_verify_sandbox_instance_defaults(release: Release, capsys, monkeypatch) -> None:
    # --instance sandbox finds the root in the sandbox dir, and --repository defaults to the sandbox issuer
    code = main(
        [
            "verify",
            str(release.blob),
            "--instance",
            "sandbox",
            "--sandbox-dir",
            str(release.sandbox),
            "--repository",
            REPO,
        ]
    )
    assert code == 0, capsys.readouterr()


def test_verify_findings_exit_1_json(release: Release, capsys) -> None:
    code = main(
        [
            "verify",
            str(release.blob),
            "--trusted-root",
            str(release.trusted_root),
            "--repository",
            REPO,
            "--ref",
            "refs/heads/*",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    finding = report["stages"][0]["findings"][0]
    assert finding["rule_id"] == "MH-VERIFY-IDENTITY" and finding["severity"] == "critical"
    assert "ref is refs/tags/v1.0.0, policy allows refs/heads/*" in finding["title"]


def test_accept_anyone_exit_2(release: Release, capsys) -> None:
    assert main(["verify", str(release.blob), "--trusted-root", str(release.trusted_root)]) == 2
    assert "would accept anyone" in _err_line(capsys)
    assert (
        main(
            [
                "verify",
                str(release.blob),
                "--issuer",
                SANDBOX_ISSUER,
                "--trusted-root",
                str(release.trusted_root),
            ]
        )
        == 2
    )
    assert "would accept anyone" in _err_line(capsys)


def test_policy_file_signers(release: Release, tmp_path: Path, capsys) -> None:
    policy = tmp_path / "mcp-harden.yaml"
    policy.write_text(
        f"verify:\n  trusted_root: {release.trusted_root}\n  signers:\n"
        f"    - issuer: {SANDBOX_ISSUER}\n      repository: {REPO}\n      ref: 'refs/tags/v*'\n"
        "  require_attestations: [slsa-provenance]\n"
    )
    assert main(["verify", str(release.record), "--policy", str(policy)]) == 0, capsys.readouterr()
    policy.write_text(f"verify:\n  signers:\n    - issuer: {SANDBOX_ISSUER}\n")
    assert main(["verify", str(release.record), "--policy", str(policy)]) == 2
    assert "would accept anyone" in _err_line(capsys)


def test_missing_trusted_root_exit_2(release: Release, tmp_path: Path, capsys) -> None:
    code = main(
        ["verify", str(release.blob), "--trusted-root", str(tmp_path / "nope.json"), "--repository", REPO]
    )
    assert code == 2 and "trusted root file not found" in _err_line(capsys)


def test_missing_artifact_exit_2(tmp_path: Path, capsys) -> None:
    code = main(["verify", str(tmp_path / "gone.whl"), "--repository", REPO])
    assert code == 2 and "gone.whl: no such file" in _err_line(capsys)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def tuf_unreachable(monkeypatch: pytest.MonkeyPatch) -> str:
    """The online path, kept on loopback: a TUF mirror URL where nothing listens."""
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("MCP_HARDEN_TUF_URL", url)
    return url


def test_online_without_network_exit_3(release: Release, capsys, tuf_unreachable: str) -> None:
    code = main(["verify", str(release.blob), "--online", "--repository", REPO])
    assert code == 3 and "could not refresh the production trusted root via TUF" in _err_line(capsys)


def test_truncated_bundle_exit_1_one_line(release: Release, tmp_path: Path, capsys) -> None:
    blob = tmp_path / release.blob.name
    shutil.copy(release.blob, blob)
    (tmp_path / (blob.name + ".sigstore.json")).write_text('{"mediaType": "application/vnd.dev.sig')
    code = main(
        [
            "verify",
            str(blob),
            "--trusted-root",
            str(release.trusted_root),
            "--repository",
            REPO,
            "--format",
            "json",
        ]
    )
    finding = json.loads(capsys.readouterr().out)["stages"][0]["findings"][0]
    assert code == 1 and finding["rule_id"] == "MH-VERIFY-BUNDLE" and "\n" not in finding["title"]


def test_sign_then_verify_from_the_command_line(tmp_path: Path, release: Release) -> None:
    """`mcp-harden sign` then `mcp-harden verify` with the CI's environment, as a user types them."""
    artifact = tmp_path / "server.mcpb"
    artifact.write_bytes(b"PK\x03\x04 not really a zip")
    sandbox = str(release.sandbox)
    done = run_cli(
        "sign", "--instance", "sandbox", "--sandbox-dir", sandbox, str(artifact), env=ENV, cwd=tmp_path
    )
    assert done.code == 0, done.err
    assert "SANDBOX SIGNATURES" in done.out
    done = run_cli(
        "verify",
        str(artifact),
        "--trusted-root",
        str(release.trusted_root),
        "--repository",
        REPO,
        "--trigger",
        "release",
        env=ENV,
        cwd=tmp_path,
    )
    assert done.code == 0, done.out + done.err


def test_sign_errors(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SIGSTORE_ID_TOKEN", raising=False)
    assert main(["sign", "--instance", "sandbox", str(tmp_path / "missing.whl")]) == 2
    assert "missing.whl: no such file" in _err_line(capsys)
    (tmp_path / "a.whl").write_bytes(b"x")
    assert (
        main(["sign", "--instance", "production", "--identity-token", "not-a-jwt", str(tmp_path / "a.whl")])
        == 2
    )
    assert "identity token rejected" in _err_line(capsys)
    bad_sbom = tmp_path / "sbom.json"
    bad_sbom.write_text("{")
    assert main(["sign", "--instance", "sandbox", "--sbom", str(bad_sbom), str(tmp_path / "a.whl")]) == 2
    assert "SBOM is not valid JSON" in _err_line(capsys)


def test_sign_production_without_network_exit_3(
    tmp_path: Path, release: Release, capsys, tuf_unreachable: str
) -> None:
    from pipeline.sign.sandbox import SandboxKeys

    token = SandboxKeys.load_or_create(release.sandbox).mint_token({"repository": REPO, "sub": "x"})
    (tmp_path / "a.whl").write_bytes(b"x")
    assert main(["sign", "--instance", "production", "--identity-token", token, str(tmp_path / "a.whl")]) == 3
    assert "could not load the production Sigstore trust configuration" in _err_line(capsys)


def test_help_is_fast_and_lazy() -> None:
    code = (
        "import sys, time; t=time.perf_counter(); from pipeline.cli import build_parser; build_parser(); "
        "print(time.perf_counter()-t, any(m.split('.')[0] in ('sigstore','cryptography') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=30)
    _elapsed, heavy = done.stdout.split()
    assert heavy == "False"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipeline", "verify", "--help"],
        capture_output=True,
        cwd=ROOT,
        timeout=30,
        check=True,
    )
    assert time.perf_counter() - start < 1.0  # the benchmark holds it to 0.3 s on an idle machine


def test_sandbox_command_lifecycle(tmp_path: Path, capsys) -> None:
    folder = str(tmp_path / "sb")
    assert main(["sandbox", "status", "--sandbox-dir", folder]) == 3
    assert main(["sandbox", "start", "--sandbox-dir", folder]) == 0
    try:
        assert main(["sandbox", "status", "--sandbox-dir", folder]) == 0
        assert main(["sandbox", "env", "--sandbox-dir", folder]) == 0
        out = capsys.readouterr().out
        assert "export SIGSTORE_ID_TOKEN=" in out and "MCP_HARDEN_SANDBOX_TRUST_CONFIG" in out
    finally:
        assert main(["sandbox", "stop", "--sandbox-dir", folder]) == 0
