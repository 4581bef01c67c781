"""The SBOM stage's two rules fire on real input: a pip installation report, built into CycloneDX by the real
builder and checked by the real schema validator (nothing is mocked; no package index is needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.config import Policy
from pipeline.sbom import SBOM_INCOMPLETE, SBOM_INVALID, run_sbom
from pipeline.sbom.validate import schema_errors

GOOD_SHA = "ab" * 32


def _report(root_sha256: str, *, dependency_license: str | None) -> dict[str, Any]:
    """A two-package pip report: the project (direct) and one dependency."""
    dependency: dict[str, Any] = {"metadata_version": "2.1", "name": "tinylib", "version": "2.0"}
    if dependency_license is not None:
        dependency |= {"license": dependency_license, "author": "Tiny Team"}
    return {
        "version": "1",
        "install": [
            {
                "is_direct": True,
                "requested_extras": [],
                "download_info": {
                    "url": "https://files.example/notes_server-1.0-py3-none-any.whl",
                    "archive_info": {"hashes": {"sha256": root_sha256}},
                },
                "metadata": {
                    "metadata_version": "2.1",
                    "name": "notes-server",
                    "version": "1.0",
                    "license": "MIT",
                    "author": "Jane Doe",
                    "requires_dist": ["tinylib>=1"],
                },
            },
            {
                "download_info": {
                    "url": "https://files.example/tinylib-2.0.tar.gz",
                    "archive_info": {"hashes": {"sha256": "cd" * 32}},
                },
                "metadata": dependency,
            },
        ],
        "environment": {},
    }


def _run(tmp_path: Path, report: dict[str, Any], policy: Policy) -> tuple[list[str], Path]:
    source = tmp_path / "report.json"
    source.write_text(json.dumps(report), encoding="utf-8")
    output = tmp_path / "sbom.cdx.json"
    result = run_sbom(policy=policy, output=output, pip_report=source)
    assert result.error is None, result.error
    return [f.rule_id for f in result.findings], output


def _policy(*elements: str) -> Policy:
    policy = Policy()
    policy.sbom.require_complete = list(elements)  # type: ignore[arg-type]
    return policy


def test_a_clean_report_gives_a_valid_complete_sbom(tmp_path: Path) -> None:
    every = ("name", "version", "purl", "supplier", "hashes", "licenses", "dependencies")
    ids, output = _run(tmp_path, _report(GOOD_SHA, dependency_license="BSD-3-Clause"), _policy(*every))
    assert ids == []
    assert schema_errors(json.loads(output.read_text(encoding="utf-8"))) == []


def test_a_digest_that_is_not_hex_makes_the_sbom_invalid(tmp_path: Path) -> None:
    """The sha256 pip reported lands in the SBOM's hashes; a value that is no digest breaks the CycloneDX
    schema (hash-content pattern), and the real validator says where."""
    ids, output = _run(tmp_path, _report("not-a-digest", dependency_license="MIT"), _policy("name"))
    assert ids == [SBOM_INVALID.id]
    assert SBOM_INVALID.id == "MH-SBOM-INVALID"
    errors = schema_errors(json.loads(output.read_text(encoding="utf-8")))
    assert errors and errors[0].startswith("metadata/component/hashes/0/content:")


@pytest.mark.parametrize("element", ["licenses", "supplier"])
def test_a_required_element_missing_on_one_component_is_incomplete(tmp_path: Path, element: str) -> None:
    source = tmp_path / "report.json"
    source.write_text(json.dumps(_report(GOOD_SHA, dependency_license=None)), encoding="utf-8")
    result = run_sbom(policy=_policy(element), output=tmp_path / "s.json", pip_report=source)
    (finding,) = result.findings
    assert finding.rule_id == SBOM_INCOMPLETE.id == "MH-SBOM-INCOMPLETE"
    assert finding.title == f"1 of 2 components have no {element}"
    assert finding.evidence == "tinylib==2.0"
    assert finding.location.logical == f"sbom element {element}"


def test_incomplete_fails_the_run_at_the_policy_threshold(tmp_path: Path) -> None:
    """Through the CLI: the finding takes the policy's fail_on as its severity, so it fails the run."""
    source = tmp_path / "report.json"
    source.write_text(json.dumps(_report(GOOD_SHA, dependency_license=None)), encoding="utf-8")
    policy_file = tmp_path / "mcp-harden.yaml"
    policy_file.write_text("fail_on: medium\nsbom:\n  require_complete: [licenses]\n", encoding="utf-8")
    report = tmp_path / "r.json"
    args = ["sbom", "--pip-report", str(source), "-o", str(tmp_path / "s.json"), "--policy", str(policy_file)]
    assert main([*args, "--json", str(report)]) == 1
    findings = [f for stage in json.loads(report.read_text())["stages"] for f in stage["findings"]]
    assert [(f["rule_id"], f["severity"]) for f in findings] == [(SBOM_INCOMPLETE.id, "medium")]
