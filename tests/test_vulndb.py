"""The local OSV database: status, update (the online side, from a loopback server), and serve (real
`pip-audit --osv-url` against it)."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli, serve_bytes


def _record(modified: str) -> dict:
    return {
        "id": "GHSA-test-vdb1",
        "summary": "demo",
        "modified": modified,
        "affected": [
            {
                "package": {"name": "demo-lib", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5"}]}],
            }
        ],
    }


def _zip(modified: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("GHSA-test-vdb1.json", json.dumps(_record(modified)))
    return buffer.getvalue()


def test_status_says_age_and_fails_when_stale(tmp_path):
    fresh = tmp_path / "fresh.zip"
    fresh.write_bytes(_zip(dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))
    result = run_cli("vulndb", "status", "--offline-db", str(fresh))
    assert result.code == 0 and "1 records" in result.out and "(0 days ago)" in result.out
    stale = tmp_path / "stale.zip"
    stale.write_bytes(_zip("2020-01-01T00:00:00Z"))
    result = run_cli("vulndb", "status", "--offline-db", str(stale))
    assert result.code == 1 and "vulndb update" in result.err


def test_update_downloads_and_replaces(tmp_path):
    server, url = serve_bytes(_zip("2026-01-01T00:00:00Z"))
    try:
        db = tmp_path / "osv.zip"
        result = run_cli("vulndb", "update", "--offline-db", str(db), "--source-url", url)
    finally:
        server.shutdown()
    assert result.code == 0, result.err
    with zipfile.ZipFile(db) as zf:
        assert zf.namelist() == ["GHSA-test-vdb1.json"]


@pytest.mark.parametrize("status", [404, 200])
def test_failed_update_keeps_the_existing_database(tmp_path, status):
    db = tmp_path / "osv.zip"
    db.write_bytes(_zip("2025-01-01T00:00:00Z"))
    before = db.read_bytes()
    server, url = serve_bytes(b"<html>not a zip</html>", status=status)
    try:
        result = run_cli("vulndb", "update", "--offline-db", str(db), "--source-url", url)
    finally:
        server.shutdown()
    assert result.code == 3
    assert "kept" in result.err and "Traceback" not in result.err
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["osv.zip"]


def test_update_with_no_network_is_exit_3(tmp_path):
    result = run_cli(
        "vulndb",
        "update",
        "--offline-db",
        str(tmp_path / "osv.zip"),
        "--source-url",
        "http://127.0.0.1:9/PyPI/all.zip",
        "--timeout",
        "5",
    )
    assert result.code == 3


def test_plain_pip_audit_against_vulndbserve_bytes(tmp_path):
    """The database served on loopback is a working OSV API for pip-audit's own CLI."""
    if shutil.which("pip-audit") is None and not (Path(sys.executable).parent / "pip-audit").exists():
        pytest.fail("pip-audit is a dependency of mcp-harden and must be installed")
    db = tmp_path / "osv.zip"
    db.write_bytes(_zip("2026-01-01T00:00:00Z"))
    server = subprocess.Popen(  # port 0: any free port, which the first line names
        [sys.executable, "-m", "pipeline", "vulndb", "serve", "--offline-db", str(db), "--port", "0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = server.stderr.readline()  # type: ignore[union-attr]
        assert "OSV API" in first, first
        url = first.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1/query"), url
        req = tmp_path / "r.txt"
        req.write_text("demo-lib==1.0\n")
        pip_audit = shutil.which("pip-audit") or str(Path(sys.executable).parent / "pip-audit")
        proc = subprocess.run(
            [
                pip_audit,
                "-r",
                str(req),
                "--no-deps",
                "--disable-pip",
                "--format",
                "json",
                "-s",
                "osv",
                "--osv-url",
                url,
                "--cache-dir",
                str(tmp_path / "c"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.terminate()
        server.wait(10)
    assert proc.returncode == 1, proc.stderr
    (dep,) = json.loads(proc.stdout)["dependencies"]
    assert dep["vulns"][0]["id"] == "GHSA-test-vdb1" and dep["vulns"][0]["fix_versions"] == ["1.5"]
