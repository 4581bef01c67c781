"""nox, as a user runs it, on the second project: this repository's `nox -s release -- PATH`, and
`templates/noxfile.py` copied into the project. nox's exit code and last line are the report's verdict."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.release.conftest import OSV_DB, write_project
from tests.release.test_deploy import REPOSITORY, _env, _installed
from tests.release.test_release import sbom_set


def _nox(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "nox", *args],
        cwd=cwd,
        env={**os.environ, **env, "PATH": path, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, in the order a terminal shows it
        text=True,
        timeout=900,
        check=False,
    )


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return lines[-1]


@pytest.mark.slow
def test_nox_release_on_any_project_and_the_users_noxfile(
    tmp_path: Path, offline_env: dict[str, str]
) -> None:
    project = write_project(tmp_path / "project")
    sandbox = tmp_path / "sandbox"
    common = ["--sandbox-dir", str(sandbox), "--repository", REPOSITORY]

    # This repository's noxfile on another project, with no vulnerability data reachable: INCOMPLETE, exit 3.
    unreachable = ["--osv-url", "http://127.0.0.1:9/v1/query"]
    env = {**offline_env, "MCP_HARDEN_RELEASE_DIR": str(tmp_path / "first")}
    env.pop("MCP_HARDEN_OFFLINE_DB", None)
    proc = _nox(
        [
            "-f",
            str(ROOT / "noxfile.py"),
            "-s",
            "release",
            "--no-venv",
            "--",
            str(project),
            *common,
            *unreachable,
        ],
        tmp_path,
        env,
    )
    log = proc.stdout
    assert proc.returncode == 3, log
    assert _last_line(proc).startswith("Result: INCOMPLETE (exit 3)"), log
    assert _last_line(proc).endswith("could not check: audit"), log
    assert "Session release failed" not in log
    status = {}
    for path in sorted((tmp_path / "first" / "reports").glob("*.json")):
        for stage in json.loads(path.read_text())["stages"]:
            status[stage["stage"]] = stage["status"]
    assert status == {
        "build": "passed",
        "sbom": "passed",
        "audit": "error",
        "manifest": "passed",
        "scan-tools": "passed",
        "sign": "passed",
        "verify": "passed",
    }, log

    # The user's noxfile, copied into the project, with the offline database: PASS, and a deployable release.
    shutil.copy(ROOT / "templates" / "noxfile.py", project / "noxfile.py")
    proc = _nox(
        ["--no-venv", "--", "--offline-db", str(OSV_DB), "--wheelhouse", *common], project, offline_env
    )
    log = proc.stdout
    assert proc.returncode == 0, log
    assert "Result: PASSED (exit 0)" in log
    release = project / "release"
    assert json.loads((release / "mcp-harden.sarif").read_text())["runs"][0]["invocations"][0][
        "executionSuccessful"
    ]

    # Deploy it as the Kubernetes init container does: verify, then exactly the SBOM's set, no index.
    target = tmp_path / "venv"
    deploy = subprocess.run(
        [str(ROOT / "templates" / "deploy" / "install.sh")],
        env=_env(
            sandbox, RELEASE=str(release), TARGET=str(target), REPOSITORY=REPOSITORY, REF="refs/tags/v*"
        ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert deploy.returncode == 0, deploy.stderr
    assert _installed(target) == sbom_set(release / "sbom.cdx.json")
