"""`sbom --requirements FILE` takes its subject from `--root NAME==VERSION` (a requirements file names no
application), so the SBOM's root has a purl and the audit can check it. The help's own example is run as
printed, then audited offline against the shared pypa advisories. Real pip, wheelhouse, no index."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.commands.sbom import EXAMPLES
from tests.conftest import assert_one_line_error, run_cli
from tests.test_sbom import _offline_env


def _pins(wheelhouse: Path, *names: str) -> str:
    lines = []
    for name in names:
        wheel = next(wheelhouse.glob(f"{name}-*.whl"))
        lines.append(f"{name}=={wheel.name.split('-')[1]}\n")
    return "".join(lines)


def _help_example() -> list[str]:
    (line,) = [text for text in EXAMPLES.splitlines() if "--requirements" in text]
    return shlex.split(line.split("#", 1)[0])[1:]  # without the program name and the comment


@pytest.fixture(scope="module")
def fresh_osv(osv_pypa, tmp_path_factory) -> Path:
    """The shared pypa advisories, copied, with the newest record's `modified` moved to yesterday (the
    snapshot is from 2024, past audit.max_db_age_days)."""
    target = tmp_path_factory.mktemp("osv") / "vulns"
    shutil.copytree(osv_pypa, target)
    record_path = next((target / "idna").iterdir())
    record = yaml.safe_load(record_path.read_text())
    record["modified"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    record_path.chmod(0o644)
    record_path.write_text(yaml.safe_dump(record))
    return target


def test_the_help_example_then_an_offline_audit(wheelhouse, fresh_osv, tmp_path):
    args = _help_example()
    assert args[:3] == ["sbom", "--requirements", "requirements.txt"] and "--root" in args
    (tmp_path / "requirements.txt").write_text(_pins(wheelhouse, "starlette", "idna"))
    made = run_cli(*args, cwd=tmp_path, env=_offline_env(wheelhouse))
    assert made.code == 0, made.out + made.err
    document = json.loads((tmp_path / "sbom.cdx.json").read_text())
    name, version = args[args.index("--root") + 1].split("==")
    root = document["metadata"]["component"]
    assert (root["name"], root["version"], root["purl"]) == (name, version, f"pkg:pypi/{name}@{version}")
    edges = {d["ref"]: set(d.get("dependsOn", [])) for d in document["dependencies"]}
    assert {c["bom-ref"] for c in document["components"] if c["name"] in ("starlette", "idna")} <= edges[
        root["bom-ref"]
    ]

    audited = run_cli(
        "audit", "--sbom", "sbom.cdx.json", "--offline-db", str(fresh_osv), "--format", "json", cwd=tmp_path
    )
    assert audited.code == 0, audited.out + audited.err
    stage = json.loads(audited.out)["stages"][0]
    assert stage["summary"]["dependencies_audited"] == 1 + len(document["components"])
    assert "2636 records" in stage["summary"]["data"]


def test_requirements_without_root_says_to_give_it(tmp_path):
    (tmp_path / "requirements.txt").write_text("idna==3.20\n")
    result = run_cli("sbom", "--requirements", "requirements.txt", cwd=tmp_path)
    assert result.code == 2
    assert "--root NAME==VERSION" in assert_one_line_error(result)
    assert not (tmp_path / "sbom.cdx.json").exists()


@pytest.mark.parametrize(
    ("root", "says"),
    [
        ("my-server", "is not in the resolved set"),
        ("idna==0.1", "the resolved set has idna=="),
        ("not a name==1", "not a package name"),
        ("my-server==not-a-version", "is not a version"),
    ],
)
def test_a_bad_root_is_a_usage_error(wheelhouse, tmp_path, root, says):
    (tmp_path / "requirements.txt").write_text(_pins(wheelhouse, "idna"))
    result = run_cli(
        "sbom",
        "--requirements",
        "requirements.txt",
        "--root",
        root,
        cwd=tmp_path,
        env=_offline_env(wheelhouse),
    )
    assert result.code == 2, result.out + result.err
    assert says in assert_one_line_error(result)


def test_a_resolved_package_as_root_keeps_its_metadata(wheelhouse, tmp_path):
    (tmp_path / "requirements.txt").write_text(_pins(wheelhouse, "starlette", "idna"))
    result = run_cli(
        "sbom",
        "--requirements",
        "requirements.txt",
        "--root",
        "starlette",
        cwd=tmp_path,
        env=_offline_env(wheelhouse),
    )
    assert result.code == 0, result.out + result.err
    root = json.loads((tmp_path / "sbom.cdx.json").read_text())["metadata"]["component"]
    assert root["name"] == "starlette" and root["licenses"] and root["hashes"]
    assert "properties" not in root  # not a declared root


def test_a_declared_root_is_held_to_the_other_elements(wheelhouse, tmp_path):
    """Its own licenses and hashes cannot come from package metadata; every other component still needs them."""
    (tmp_path / "requirements.txt").write_text(_pins(wheelhouse, "idna"))
    result = run_cli(
        "sbom",
        "--requirements",
        "requirements.txt",
        "--root",
        "my-server==2.0",
        "--format",
        "json",
        cwd=tmp_path,
        env=_offline_env(wheelhouse),
    )
    assert result.code == 0, result.out + result.err
    facts = json.loads(result.out)["stages"][0]["summary"]["completeness"]
    assert facts["missing"]["licenses"] == [] and facts["missing"]["purl"] == []
    assert facts["components"] == 2
    root = json.loads((tmp_path / "sbom.cdx.json").read_text())["metadata"]["component"]
    assert "licenses" not in root and "hashes" not in root
    assert root["properties"] == [{"name": "mcp-harden:root", "value": "declared"}]
