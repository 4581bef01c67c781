"""`mcp-harden release` on a project that is not the example: every stage, offline, sandbox-signed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from pipeline.release import parse_lock
from tests.release.conftest import PROJECT_NAME


def sbom_set(sbom: Path) -> dict[str, str]:
    document = json.loads(sbom.read_text())
    root = document["metadata"]["component"]
    parts = [root, *document["components"]]
    return {canonicalize_name(c["name"]): c["version"] for c in parts}


@pytest.mark.slow
def test_every_stage_passes_on_a_hatchling_project(released: tuple[Path, Path, Path]) -> None:
    _, out, _ = released
    report = json.loads((out.parent / "report.json").read_text())
    assert [(s["stage"], s["status"]) for s in report["stages"]] == [
        ("build", "passed"),
        ("sbom", "passed"),
        ("audit", "passed"),
        ("manifest", "passed"),
        ("scan-tools", "passed"),
        ("sign", "passed"),
        ("verify", "passed"),
    ]
    assert report["exit_code"] == 0
    # The lock is exactly the SBOM's set, one sha256 each; the dependency the example lacks is in both.
    pins = parse_lock(out / "requirements.lock.txt")
    assert {p.name: p.version for p in pins} == sbom_set(out / "sbom.cdx.json")
    assert "unitconv" in {p.name for p in pins}
    # The manifest came from the console script, in the server's own venv (not mcp-harden's).
    manifest = json.loads((out / "mcp-manifest.json").read_text())
    assert manifest["server"]["name"] == "weather-notes"
    assert {t["name"] for t in manifest["tools"]} == {"to_fahrenheit"}
    record = json.loads((out / "release.json").read_text())
    assert "requirements.lock.txt" in {a["path"] for a in record["artifacts"]}
    assert sorted(p.name for p in (out / "wheelhouse").iterdir()) == sorted(
        p.name for p in (out / "wheelhouse").glob("*.whl")
    )
    assert len(list((out / "wheelhouse").glob("*.whl"))) == len(pins)
    assert PROJECT_NAME in {p.name for p in pins}
