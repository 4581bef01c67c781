"""The SBOM's licenses do not depend on which pip made the report.

pip before 25.0 leaves PEP 639's License-Expression out of its installation report. The resolution refuses
such a pip; a report made by one (given with --pip-report) gets its license fields from the wheels it
names, only when their sha256 is the one the report records. All real pips, real wheels, no index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from pipeline.config import Policy
from pipeline.errors import CheckError
from pipeline.sbom import run_sbom
from pipeline.sbom.resolve import run_pip_report
from pipeline.sbom.wheelmeta import PIP_PEP639, pip_drops_pep639
from tests.conftest import run_cli
from tests.test_sbom import _offline_env, _wheel


def _pip_version(python: Path | str) -> str:
    out = subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return out.split()[1]


@pytest.fixture(scope="module")
def seeded_python(tmp_path_factory) -> Path:
    """A venv exactly as `python3 -m venv` makes it: with the pip ensurepip bundles (23.2.1 on Python 3.11)."""
    target = tmp_path_factory.mktemp("seeded") / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    version = _pip_version(python)
    assert pip_drops_pep639(version), (
        f"the seeded pip is {version}: this test needs one older than {PIP_PEP639}"
    )
    return python


def _report(python: Path | str, wheelhouse: Path, out: Path) -> Path:
    env = {**os.environ, **_offline_env(wheelhouse)}
    pip = [str(python), "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q"]
    subprocess.run(
        [*pip, "--report", str(out), str(_wheel(wheelhouse))],
        env=env,
        check=True,
        timeout=300,
    )
    return out


def _licenses(sbom: Path) -> dict[str, str]:
    document = json.loads(sbom.read_text())
    components = [document["metadata"]["component"], *document["components"]]
    return {c["purl"]: json.dumps(c.get("licenses"), sort_keys=True) for c in components}


@pytest.mark.slow
def test_same_licenses_under_the_seeded_pip_and_a_current_one(seeded_python, wheelhouse, tmp_path):
    old = _report(seeded_python, wheelhouse, tmp_path / "old.json")
    assert json.loads(old.read_text())["pip_version"] == _pip_version(seeded_python)
    current = _report(sys.executable, wheelhouse, tmp_path / "current.json")
    assert not pip_drops_pep639(json.loads(current.read_text())["pip_version"])

    results = {}
    for name, report in (("old", old), ("current", current)):
        stage = run_sbom(policy=Policy(), output=tmp_path / f"{name}.cdx.json", pip_report=report)
        assert stage.error is None and stage.findings == [], (stage.error, stage.findings)
        results[name] = (stage, _licenses(tmp_path / f"{name}.cdx.json"))
    old_licenses, current_licenses = results["old"][1], results["current"][1]
    assert old_licenses == current_licenses
    assert all(value != "null" for value in current_licenses.values()), current_licenses
    assert len(current_licenses) > 20
    assert any("read from their wheels' METADATA" in note for note in results["old"][0].notes)
    assert not any("METADATA" in note for note in results["current"][0].notes)


@pytest.mark.slow
def test_resolution_refuses_a_pip_that_drops_pep639(seeded_python, wheelhouse, monkeypatch):
    for key, value in _offline_env(wheelhouse).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(CheckError) as caught:
        run_pip_report([str(_wheel(wheelhouse))], python=str(seeded_python), timeout=300)
    message = str(caught.value)
    assert _pip_version(seeded_python) in message and f"pip>={PIP_PEP639}" in message


def test_resolution_uses_mcp_hardens_own_pip_not_one_in_the_project_folder(wheelhouse, tmp_path, monkeypatch):
    """`python -m pip` would put the current folder first on sys.path: a `pip/` there would run instead."""
    fake = tmp_path / "pip"
    fake.mkdir()
    marker = tmp_path / "ran"
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    for key, value in _offline_env(wheelhouse).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    report = run_pip_report([str(_wheel(wheelhouse))], timeout=300)
    assert not marker.exists()
    assert not pip_drops_pep639(report["pip_version"])


@pytest.mark.slow
def test_a_wheel_whose_sha256_differs_from_the_report_is_not_read(seeded_python, wheelhouse, tmp_path):
    """Licenses must describe the bytes the SBOM names: with a report hash that does not match the wheel,
    the licenses stay missing, and the default policy reports it (licenses is required by default)."""
    report = json.loads(_report(seeded_python, wheelhouse, tmp_path / "old.json").read_text())
    victim = next(i for i in report["install"] if i["metadata"]["name"] == "anyio")
    victim["download_info"]["archive_info"]["hashes"] = {"sha256": "0" * 64}
    victim["download_info"]["archive_info"].pop("hash", None)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(report))
    result = run_cli("sbom", "--pip-report", str(edited), "-o", str(tmp_path / "s.json"), "--format", "json")
    assert result.code == 1, result.out + result.err
    stage = json.loads(result.out)["stages"][0]
    (finding,) = stage["findings"]
    assert finding["title"] == f"1 of {stage['summary']['components']} components have no licenses"
    assert finding["evidence"].startswith("anyio==")
    assert any("1 package(s) may have license fields" in note for note in stage["notes"])


def test_a_report_that_lost_the_fields_is_filled_whatever_pip_it_names(wheelhouse, tmp_path):
    """Independently of the pip version: a current report stripped of one package's license fields (another
    tool, an edit) still gets them from the wheel whose sha256 it records."""
    report = json.loads(_report(sys.executable, wheelhouse, tmp_path / "current.json").read_text())
    victim = next(i for i in report["install"] if i["metadata"]["name"] == "anyio")
    for key in ("license_expression", "license_file", "license", "classifier"):
        victim["metadata"].pop(key, None)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(report))
    stage = run_sbom(policy=Policy(), output=tmp_path / "s.cdx.json", pip_report=edited)
    assert stage.error is None and stage.findings == [], (stage.error, stage.findings)
    licenses = _licenses(tmp_path / "s.cdx.json")
    assert next(v for k, v in licenses.items() if "/anyio@" in k) == json.dumps(
        [{"license": {"acknowledgement": "declared", "id": "MIT"}}], sort_keys=True
    )
    assert any("1 package(s): read from their wheels' METADATA" in note for note in stage.notes)
