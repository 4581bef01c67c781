"""The stand-ins' own semantics, run directly (no act): they must behave as the actions they replace, or the
workflow test proves nothing about the real runs."""

from __future__ import annotations

import ensurepip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.act.conftest import STANDINS, current_pip


def run_standin(action: str, tmp: Path, **inputs: str) -> tuple[int, str, dict[str, str]]:
    """Run a stand-in's script as its action.yml does, with the runner's files in `tmp`."""
    workspace, output = tmp / "workspace", tmp / "output"
    workspace.mkdir(exist_ok=True)
    output.write_text("")
    env = {
        **os.environ,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_PATH": str(tmp / "path"),
        "GITHUB_ENV": str(tmp / "env"),
        "GITHUB_RUN_ID": "1",
        "RUNNER_TEMP": str(tmp / "runner-temp"),
        "MCP_HARDEN_ACT_ARTIFACTS": str(tmp / "artifacts"),
        **{f"INPUT_{k.upper()}": v for k, v in inputs.items()},
    }
    done = subprocess.run(
        [sys.executable, str(STANDINS / action / "run.py")],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done.returncode, done.stdout + done.stderr, outputs


UPLOAD = {"name": "a", "if_no_files_found": "warn", "include_hidden_files": "false", "overwrite": "false"}


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_upload_keeps_the_real_path_rules(tmp_path: Path) -> None:
    release = tmp_path / "release"
    for name in ("dist/x.whl", "sbom.json", "reports/1-build.json", ".work/venv/cache", ".hidden"):
        (release / name).parent.mkdir(parents=True, exist_ok=True)
        (release / name).write_text(name)
    code, log, outputs = run_standin(
        "upload-artifact", tmp_path, **UPLOAD, path=f"{release}/\n!{release}/dist/\n"
    )
    assert code == 0, log
    assert _tree(tmp_path / "artifacts" / "1" / "a") == ["reports/1-build.json", "sbom.json"]
    assert len(outputs["artifact-digest"]) == 64
    # Two search paths: stored relative to their common folder; a glob's search path is its fixed prefix.
    inputs = {**UPLOAD, "name": "b", "path": f"{release}/dist/*.whl\n{release}/sbom.json"}
    assert run_standin("upload-artifact", tmp_path, **inputs)[0] == 0
    assert _tree(tmp_path / "artifacts" / "1" / "b") == ["dist/x.whl", "sbom.json"]
    # A name already uploaded in the run is an error, as in v4.
    code, log, _ = run_standin("upload-artifact", tmp_path, **{**UPLOAD, "path": str(release / "sbom.json")})
    assert code == 1 and "already exists" in log


def test_upload_with_no_files_warns_or_fails_as_asked(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing-here")
    code, log, _ = run_standin("upload-artifact", tmp_path, **{**UPLOAD, "path": missing})
    assert code == 0 and "::warning::No files were found" in log
    code, log, _ = run_standin(
        "upload-artifact", tmp_path, **{**UPLOAD, "if_no_files_found": "error", "path": missing}
    )
    assert code == 1 and "no files were found" in log
    assert not (tmp_path / "artifacts" / "1" / "a").exists()


def test_download_puts_the_files_into_path_and_fails_on_a_missing_artifact(tmp_path: Path) -> None:
    stored = tmp_path / "artifacts" / "7" / "rel" / "dist"
    stored.mkdir(parents=True)
    (stored / "x.whl").write_text("wheel")
    inputs = {"name": "rel", "path": "out", "github_token": "t", "run_id": "7", "merge_multiple": "false"}
    code, log, outputs = run_standin("download-artifact", tmp_path, **inputs)
    assert code == 0, log
    assert (tmp_path / "workspace" / "out" / "dist" / "x.whl").read_text() == "wheel"
    assert outputs["download-path"] == str((tmp_path / "workspace" / "out").resolve())
    # Without a token, run-id is not used: this run (1) has no such artifact.
    code, log, _ = run_standin("download-artifact", tmp_path, **{**inputs, "github_token": ""})
    assert code == 1 and "Artifact not found for name: rel (run 1)" in log


def test_setup_python_refuses_a_version_no_host_python_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MCP_HARDEN_ACT_PIP_WHEEL", raising=False)
    code, log, _ = run_standin("setup-python", tmp_path, python_version="2.7")
    assert code == 1 and "no host Python satisfies '2.7'" in log
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    code, log, outputs = run_standin("setup-python", tmp_path, python_version=here)
    assert code == 0, log
    assert outputs["python-version"].startswith(here + ".")
    pip = subprocess.run([outputs["python-path"], "-m", "pip", "--version"], capture_output=True, text=True)
    assert pip.returncode == 0 and str(tmp_path) in pip.stdout  # its own pip, in its own environment
    assert pip.stdout.startswith(f"pip {ensurepip.version()} ")  # the one the interpreter bundles


def test_setup_python_gives_the_pip_the_act_world_names(
    tmp_path: Path, act_wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The act world's jobs get the lock's current pip, as GitHub's hosted Pythons have a current one."""
    wheel = current_pip(act_wheelhouse)
    monkeypatch.setenv("MCP_HARDEN_ACT_PIP_WHEEL", str(wheel))
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    code, log, outputs = run_standin("setup-python", tmp_path, python_version=here)
    assert code == 0, log
    pip = subprocess.run([outputs["python-path"], "-m", "pip", "--version"], capture_output=True, text=True)
    assert pip.returncode == 0 and pip.stdout.startswith(f"pip {wheel.name.split('-')[1]} from {tmp_path}")


def test_upload_sarif_refuses_a_file_that_is_not_sarif(tmp_path: Path) -> None:
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "bad.sarif").write_text(json.dumps({"version": "2.1.0"}))
    (tmp_path / "workspace" / "good.sarif").write_text(json.dumps({"version": "2.1.0", "runs": []}))
    code, log, _ = run_standin("codeql-action/upload-sarif", tmp_path, sarif_file="bad.sarif", category="c")
    assert code == 1 and "no runs list" in log
    code, log, outputs = run_standin(
        "codeql-action/upload-sarif", tmp_path, sarif_file="missing.sarif", category="c"
    )
    assert code == 1 and "does not exist" in log
    code, log, outputs = run_standin(
        "codeql-action/upload-sarif", tmp_path, sarif_file="good.sarif", category="c"
    )
    assert code == 0 and outputs["sarif-id"]
    assert (tmp_path / "artifacts" / "1" / ".code-scanning" / "c" / "good.sarif").is_file()
