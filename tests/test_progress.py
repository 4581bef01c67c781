"""Progress lines of `sbom` and `vulndb update`: on a terminal (a real pty) or with --progress they say where
the run is, on stderr only; off a terminal they say nothing, and machine output never carries them."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli, serve_bytes

RECORDS = 300  # enough entries for the check step to have something to count


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_on_pty(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """`python -m pipeline ARGS` with stderr on a pseudo-terminal and stdout on a pipe: (code, out, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args], stdout=subprocess.PIPE, stderr=slave, env=_env(env)
    )
    os.close(slave)
    seen = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, out.decode(), seen.decode().replace("\r\n", "\n")


def _osv_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(RECORDS):
            record = {
                "id": f"GHSA-prog-{n:04d}",
                "modified": "2026-11-30T00:00:00Z",
                "affected": [{"package": {"name": f"pkg-{n % 7}", "ecosystem": "PyPI"}, "versions": ["1.0"]}],
            }
            archive.writestr(f"GHSA-prog-{n:04d}.json", json.dumps(record))
    return buffer.getvalue()


@pytest.fixture
def osv_url():
    server, url = serve_bytes(_osv_zip())
    yield url
    server.shutdown()
    server.server_close()


def _sbom_args(wheelhouse: Path, out: Path) -> tuple[list[str], dict[str, str]]:
    wheel = next(wheelhouse.glob("example_notes_mcp-*.whl"))
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "SOURCE_DATE_EPOCH": "1767225600"}
    return ["sbom", str(wheel), "-o", str(out), "--format", "json"], env


def test_vulndb_update_on_a_terminal_shows_download_check_index(tmp_path, osv_url):
    db = tmp_path / "osv.zip"
    code, out, terminal = run_on_pty(
        ["vulndb", "update", "--offline-db", str(db), "--source-url", osv_url], {}
    )
    assert code == 0, terminal
    lines = terminal.splitlines()
    assert lines[0] == "[stage 1 of 3] download"
    assert "[stage 2 of 3] check" in lines and "[stage 3 of 3] index" in lines
    assert any(line.startswith("    download: ") and " MiB" in line for line in lines), terminal
    assert any(f"of {RECORDS} entries" in line for line in lines), terminal
    assert f"    index: {RECORDS} records for 7 packages" in terminal
    assert out == ""


def test_vulndb_update_off_a_terminal_prints_no_progress(tmp_path, osv_url):
    db = tmp_path / "osv.zip"
    result = run_cli("vulndb", "update", "--offline-db", str(db), "--source-url", osv_url)
    assert result.code == 0, result.err
    assert result.err.splitlines() == [f"updated {db} from {osv_url}: {RECORDS} records for 7 packages"]
    forced = run_cli("vulndb", "update", "--offline-db", str(db), "--source-url", osv_url, "--progress")
    assert forced.code == 0 and "[stage 2 of 3] check" in forced.err and forced.out == ""


def test_sbom_on_a_terminal_shows_the_resolution(tmp_path, wheelhouse):
    args, env = _sbom_args(wheelhouse, tmp_path / "sbom.cdx.json")
    code, out, terminal = run_on_pty(args, env)
    assert code == 0, terminal
    lines = terminal.splitlines()
    assert lines[0] == "[sbom]" and lines[-1].startswith("    sbom: passed (")
    assert any(line.startswith("    sbom: resolving ") and "with pip" in line for line in lines)
    assert any("packages collected (example_notes_mcp-" in line for line in lines), terminal
    assert any(line.startswith("    sbom: resolved ") for line in lines)
    assert json.loads(out)["exit_code"] == 0  # the machine output is the report alone


def test_sbom_off_a_terminal_prints_no_progress(tmp_path, wheelhouse):
    args, env = _sbom_args(wheelhouse, tmp_path / "sbom.cdx.json")
    result = run_cli(*args, env=env)
    assert result.code == 0, result.err
    assert result.err == "" and json.loads(result.out)["exit_code"] == 0
    forced = run_cli(*args, "--progress", env=env)
    assert forced.code == 0 and forced.err.startswith("[sbom]\n") and "packages collected" in forced.err
    assert json.loads(forced.out)["exit_code"] == 0
