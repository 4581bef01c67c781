"""Shared test helpers. Tests reach loopback only; vectors from ../shared are optional extras."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "vectors"
EXAMPLE_SERVER = ROOT / "templates" / "example-server"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> CliResult:
    """Run `python -m pipeline ARGS` in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(result: CliResult) -> str:
    """Bad input ends in exactly one line on stderr, never a traceback."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert "Traceback" not in result.err, result.err
    assert len(lines) == 1, result.err
    return lines[0]


@pytest.fixture(scope="session")
def osv_pypa() -> Path:
    path = SHARED / "osv-pypa" / "vulns"
    if not path.is_dir():
        pytest.skip("../shared/vectors/osv-pypa is absent: the real-advisory extras need it")
    return path
