"""The release composite action's own script, run as the runner runs it, once per job the way release.yml
splits the pipeline: build; SBOM, lock, audit, manifest, scan; then sign and verify in a folder that holds only
what the artifacts carry (no sources, no work area). The merged report has every stage, each passed."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.release.conftest import OSV_DB, write_project
from tests.test_workflows import _run_action


@pytest.mark.slow
def test_release_action_split_across_jobs(tmp_path: Path, offline_env: dict[str, str]) -> None:
    project = write_project(tmp_path / "project")
    env = {
        **offline_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    first = tmp_path / "job1"
    build = _run_action(
        "release", {"project-dir": str(project), "out": str(first), "stages": "build"}, env, tmp_path
    )
    assert build["run.exit-code"] == "0", build["run.log"]
    analysis = {
        "project-dir": str(project),
        "out": str(first),
        "stages": "sbom,audit,manifest,scan-tools",
        "offline-db": str(OSV_DB),
        "fail": "false",
    }
    analyze = _run_action("release", analysis, env, tmp_path)
    assert analyze["run.exit-code"] == "0", analyze["run.log"]
    # What the sign job receives: the distributions and the evidence artifact, nothing else.
    signer = tmp_path / "job3"
    shutil.copytree(first, signer, ignore=shutil.ignore_patterns(".work"))
    empty = tmp_path / "empty"
    empty.mkdir()
    signing = {
        "project-dir": str(empty),
        "out": str(signer),
        "stages": "sign,verify",
        "instance": "sandbox",
        "sandbox-dir": str(tmp_path / "sandbox"),
        "repository": "example/weather-notes-mcp",
    }
    sign = _run_action("release", signing, env, tmp_path)
    assert sign["run.exit-code"] == "0", sign["run.log"]
    merged = run_cli("report", str(signer / "reports"), "--format", "json")
    assert merged.code == 0, merged.out + merged.err
    stages = [(s["stage"], s["status"]) for s in json.loads(merged.out)["stages"]]
    assert stages == [
        (name, "passed") for name in ("build", "sbom", "audit", "manifest", "scan-tools", "sign", "verify")
    ]
    assert (tmp_path / "summary.md").read_text().count("mcp-harden") >= 3  # each job appended its result
