"""The SBOM of the example server, resolved by real pip from a local wheelhouse (no index at test time)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from pipeline.sbom import completeness
from pipeline.sbom.validate import schema_errors
from tests.conftest import EXAMPLE_SERVER, assert_one_line_error, run_cli


def _offline_env(wheelhouse: Path) -> dict[str, str]:
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "SOURCE_DATE_EPOCH": "1767225600"}


def _wheel(wheelhouse: Path) -> Path:
    return next(wheelhouse.glob("example_notes_mcp-*.whl"))


@pytest.fixture(scope="module")
def example_sbom(wheelhouse, tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("sbom")
    first, second = out / "a.cdx.json", out / "b.cdx.json"
    policy = str(EXAMPLE_SERVER / "mcp-harden.yaml")
    for target in (first, second):
        result = run_cli(
            "sbom",
            str(_wheel(wheelhouse)),
            "-o",
            str(target),
            "--policy",
            policy,
            env=_offline_env(wheelhouse),
        )
        assert result.code == 0, result.out + result.err
    return first, second


def test_schema_valid_and_complete(example_sbom):
    document = json.loads(example_sbom[0].read_text())
    assert document["specVersion"] == "1.6"
    assert schema_errors(document) == []
    facts = completeness(document)
    assert facts["components"] > 10
    assert all(percent == 100 for percent in facts["percent"].values()), facts["missing"]
    assert all(facts["document"].values()), facts["document"]


def test_reproducible_with_source_date_epoch(example_sbom):
    assert example_sbom[0].read_bytes() == example_sbom[1].read_bytes()
    document = json.loads(example_sbom[0].read_text())
    assert document["metadata"]["timestamp"].startswith("2026-01-01T00:00:00")


def test_root_dependencies_and_hashes(example_sbom, wheelhouse):
    document = json.loads(example_sbom[0].read_text())
    root = document["metadata"]["component"]
    assert root["purl"] == "pkg:pypi/example-notes-mcp@1.0.0"
    assert root["supplier"]["name"] == "mcp-harden developers"
    import hashlib

    wheel_sha = hashlib.sha256(_wheel(wheelhouse).read_bytes()).hexdigest()
    assert root["hashes"] == [{"alg": "SHA-256", "content": wheel_sha}]
    graph = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    assert graph[root["bom-ref"]] == ["pkg:pypi/mcp@" + _version(document, "mcp")]
    # every component hash is the archive pip resolved
    for component in document["components"]:
        name = component["name"]
        archives = [
            p
            for p in wheelhouse.iterdir()
            if p.name.lower()
            .replace("-", "_")
            .startswith(name.lower().replace("-", "_") + "-" + component["version"])
        ]
        if archives:
            digest = hashlib.sha256(archives[0].read_bytes()).hexdigest()
            assert component["hashes"][0]["content"] == digest, name
    lifecycles = document["metadata"]["lifecycles"]
    assert lifecycles == [{"phase": "build"}]
    tools = {c["name"] for c in document["metadata"]["tools"]["components"]}
    assert {"mcp-harden", "cyclonedx-py"} <= tools


def _version(document: dict, name: str) -> str:
    return next(c["version"] for c in document["components"] if c["name"] == name)


def test_markers_drop_dependencies_of_other_platforms(example_sbom):
    document = json.loads(example_sbom[0].read_text())
    names = {c["name"].lower() for c in document["components"]}
    assert "pywin32" not in names  # mcp requires it only on Windows


def test_audit_joins_vulnerabilities_to_sbom_components(example_sbom, tmp_path):
    """A vulnerability for a component of the real SBOM is recorded against that component (VEX)."""
    document = json.loads(example_sbom[0].read_text())
    target = next(c for c in document["components"] if c["name"] == "starlette")
    db = tmp_path / "db"
    db.mkdir()
    (db / "GHSA-test-0001.json").write_text(
        json.dumps(
            {
                "id": "GHSA-test-0001",
                "summary": "test advisory",
                "modified": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "affected": [
                    {"package": {"name": "starlette", "ecosystem": "PyPI"}, "versions": [target["version"]]}
                ],
            }
        )
    )
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "audit:\n  ignore:\n    - id: GHSA-test-0001\n      reason: only in the docs app\n"
        "      analysis: not_affected\n"
    )
    vex = tmp_path / "vex.json"
    result = run_cli(
        "audit",
        "--sbom",
        str(example_sbom[0]),
        "--offline-db",
        str(db),
        "--vex",
        str(vex),
        "--policy",
        str(policy),
    )
    assert result.code == 0, result.out
    joined = json.loads(vex.read_text())
    assert schema_errors(joined) == []
    (vuln,) = joined["vulnerabilities"]
    assert vuln["affects"] == [{"ref": target["bom-ref"]}]
    assert vuln["analysis"] == {"state": "not_affected", "detail": "only in the docs app"}


def test_unresolvable_project_is_exit_3(tmp_path, wheelhouse):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname="p"\nversion="1"\ndependencies=["no-such-package-x"]\n'
    )
    result = run_cli("sbom", str(project), "-o", str(tmp_path / "s.json"), env=_offline_env(wheelhouse))
    assert result.code == 3
    assert "could not resolve" in result.out
    assert not (tmp_path / "s.json").exists()


def test_bad_pip_report_is_exit_2(tmp_path):
    bad = tmp_path / "report.json"
    bad.write_text('{"install": [{"metadata": {}}]')
    result = run_cli("sbom", "--pip-report", str(bad), "-o", str(tmp_path / "s.json"))
    assert result.code == 2
    assert "report.json" in assert_one_line_error(result)


def test_existing_sbom_survives_a_failed_run(tmp_path, wheelhouse):
    target = tmp_path / "sbom.json"
    target.write_text("keep me")
    bad = tmp_path / "report.json"
    bad.write_text("[]")
    run_cli("sbom", "--pip-report", str(bad), "-o", str(target))
    assert target.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["report.json", "sbom.json"]  # no temp file left behind
