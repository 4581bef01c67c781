"""`mcp-harden release` with an MCP bundle and an MCP Registry entry.

The release folder is laid out as the build and analysis stages leave it (a real wheel and sdist whose long
description is the README, a lock, an SBOM, a tool manifest), then the real `sign` and `verify` stages run
through the CLI with the local sandbox Sigstore: the `.mcpb` (a real zip made here) is signed, attested and
listed like the wheel, and `server.json` is checked against the built files, each mismatch its own finding.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.fileio import sha256_file
from tests.provenance.test_server_json import _sign_like_mcpb
from tests.sign.conftest import make_mcpb, make_sdist, make_wheel

SERVER = "io.github.acme/demo-server"
ENDPOINT = "https://mcp.example.com/mcp"
README = f"# demo-server\n\n<!-- mcp-name: {SERVER} -->\n"
BUNDLE = "demo-server-1.0.0.mcpb"
URL = f"https://github.com/acme/demo-server/releases/download/v1.0.0/{BUNDLE}"


def _lay_out(out: Path, readme: str = README) -> None:
    """What the build, sbom and manifest stages leave in a release folder."""
    dist = out / "dist"
    make_wheel(dist / "demo_server-1.0.0-py3-none-any.whl", readme=readme)
    make_sdist(dist / "demo_server-1.0.0.tar.gz", readme=readme)
    (out / "requirements.lock.txt").write_text("demo-server==1.0.0\n")
    (out / "sbom.cdx.json").write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}')
    (out / "mcp-manifest.json").write_text('{"servers": {}}')


def _entry(path: Path, bundle: Path | None, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "name": SERVER,
        "version": "1.0.0",
        "packages": [
            {
                "registryType": "mcpb",
                "identifier": URL,
                "version": "1.0.0",
                "fileSha256": sha256_file(bundle) if bundle else "",
                "transport": {"type": "stdio"},
            },
            {"registryType": "pypi", "identifier": "demo-server", "version": "1.0.0"},
        ],
        "remotes": [{"type": "streamable-http", "url": ENDPOINT}],
    }
    if "fileSha256" in changes:
        data["packages"][0]["fileSha256"] = changes.pop("fileSha256")
        if data["packages"][0]["fileSha256"] is None:
            del data["packages"][0]["fileSha256"]
    if "pypi_version" in changes:
        data["packages"][1]["version"] = changes.pop("pypi_version")
    data.update(changes)
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "demo-server"\nversion = "1.0.0"\n')
    return folder


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("release-mcpb") / "sandbox"


def _release(
    capsys: pytest.CaptureFixture[str], project: Path, sandbox: Path, *extra: str, stages: str = "sign,verify"
) -> tuple[int, dict[str, dict[str, Any]], str]:
    argv = [
        "release",
        str(project),
        "--out",
        str(project / "release"),
        "--stages",
        stages,
        "--instance",
        "sandbox",
        "--sandbox-dir",
        str(sandbox),
        "--repository",
        "acme/demo-server",
        *extra,
        "--format",
        "json",
    ]
    code = main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    report = json.loads(out.out) if out.out.strip() else {"stages": []}
    return code, {s["stage"]: s for s in report["stages"]}, out.err


def _findings(stage: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["rule_id"], f["title"]) for f in stage["findings"])


def test_a_bundle_is_signed_attested_and_listed_like_a_wheel(
    project: Path, sandbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "release"
    _lay_out(out)
    given = make_mcpb(tmp_path / "built" / BUNDLE)
    _entry(project / "server.json", given)
    code, stages, err = _release(capsys, project, sandbox, "--mcpb", str(given), "--endpoint", ENDPOINT)
    assert code == 0, (err, stages)
    assert list(stages) == ["server-json", "sign", "verify"]
    assert stages["server-json"]["findings"] == [] and stages["server-json"]["status"] == "passed"
    assert stages["verify"]["status"] == "passed"
    bundle = out / "dist" / BUNDLE
    assert bundle.read_bytes() == given.read_bytes()
    record = json.loads((out / "release.json").read_text())
    artifacts = {a["name"]: a for a in record["artifacts"]}
    assert artifacts[BUNDLE] == {
        "name": BUNDLE,
        "path": f"dist/{BUNDLE}",
        "sha256": sha256_file(bundle),
        "bundle": f"dist/{BUNDLE}.sigstore.json",
    }
    provenance = [
        a for a in record["attestations"] if a["bundle"] == f"dist/{BUNDLE}.provenance.sigstore.json"
    ]
    assert [(p["kind"], p["subjects"]) for p in provenance] == [
        ("slsa-provenance", [{"name": BUNDLE, "sha256": sha256_file(bundle)}])
    ]
    assert (out / "reports" / "6-server-json.json").is_file()


def test_a_bundle_in_dist_is_signed_without_a_server_json(
    project: Path, sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "release"
    _lay_out(out)
    make_mcpb(out / "dist" / BUNDLE)
    code, stages, err = _release(capsys, project, sandbox)
    assert code == 0, (err, stages)
    assert "no server.json" in " ".join(stages["server-json"]["notes"])
    names = {a["name"] for a in json.loads((out / "release.json").read_text())["artifacts"]}
    assert BUNDLE in names


def test_write_server_json_takes_the_built_files_facts(
    project: Path, sandbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "release"
    _lay_out(out)
    given = make_mcpb(tmp_path / BUNDLE)
    template = _entry(tmp_path / "template.json", None, pypi_version="0.9.0")
    code, stages, err = _release(
        capsys,
        project,
        sandbox,
        "--mcpb",
        str(given),
        "--server-json",
        str(template),
        "--write-server-json",
        "--endpoint",
        ENDPOINT,
    )
    assert code == 0, (err, stages)
    written = json.loads((out / "server.json").read_text())
    assert written["packages"][0]["fileSha256"] == sha256_file(given)
    assert written["packages"][1]["version"] == "1.0.0"
    assert json.loads(template.read_text())["packages"][0]["fileSha256"] == ""  # the template is untouched
    names = {a["name"] for a in json.loads((out / "release.json").read_text())["artifacts"]}
    assert "server.json" in names  # written by the release, so signed with it


# Each mismatch: how the entry (or the README) is wrong -> the one finding it gives, and words of its message.
MISMATCHES = {
    "fileSha256 of other bytes": (
        {"fileSha256": "0" * 64},
        README,
        [("MH-REGISTRY-FILE-SHA256", "fileSha256 is " + "0" * 64 + ", the bundle's sha256 is")],
    ),
    "no fileSha256": (
        {"fileSha256": None},
        README,
        [("MH-REGISTRY-FILE-SHA256", "no valid fileSha256")],
    ),
    "README without mcp-name": (
        {},
        "# demo-server\n",
        [
            (
                "MH-REGISTRY-MCP-NAME",
                f"demo_server-1.0.0-py3-none-any.whl: its README has no `mcp-name: {SERVER}`",
            ),
            ("MH-REGISTRY-MCP-NAME", f"demo_server-1.0.0.tar.gz: its README has no `mcp-name: {SERVER}`"),
        ],
    ),
    "README names another server": (
        {},
        "<!-- mcp-name: io.github.evil/demo-server -->\n",
        [
            ("MH-REGISTRY-MCP-NAME", "demo_server-1.0.0-py3-none-any.whl: its README has no"),
            ("MH-REGISTRY-MCP-NAME", "demo_server-1.0.0.tar.gz: its README has no"),
        ],
    ),
    "remote is another endpoint": (
        {"remotes": [{"type": "streamable-http", "url": "https://evil.example.com/mcp"}]},
        README,
        [
            (
                "MH-REGISTRY-REMOTE",
                "remotes[0]: https://evil.example.com/mcp is not an endpoint check-endpoint checks",
            )
        ],
    ),
    "remote is not HTTPS": (
        {"remotes": [{"type": "streamable-http", "url": "http://mcp.example.com/mcp"}]},
        README,
        [("MH-REGISTRY-REMOTE", "remotes[0]: 'http://mcp.example.com/mcp' is not an HTTPS URL")],
    ),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_each_mismatch_is_its_own_finding(
    case: str, project: Path, sandbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changes, readme, expected = MISMATCHES[case]
    out = project / "release"
    _lay_out(out, readme=readme)
    bundle = make_mcpb(out / "dist" / BUNDLE)
    _entry(project / "server.json", bundle, **changes)
    code, stages, err = _release(capsys, project, sandbox, "--endpoint", ENDPOINT, stages="sign")
    assert code == 1, (err, stages)
    found = _findings(stages["server-json"])
    assert [rule for rule, _ in found] == [rule for rule, _ in expected]
    for (_, title), (_, words) in zip(found, expected, strict=True):
        assert words in title, title
    assert stages["sign"]["status"] == "passed"  # the bundle is still signed: the entry is what is wrong


def test_mcp_name_in_a_header_is_not_the_readme(
    project: Path, sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`Summary: mcp-name: X` is metadata, not the README the registry reads."""
    out = project / "release"
    _lay_out(out, readme="# demo-server\n")
    wheel = out / "dist" / "demo_server-1.0.0-py3-none-any.whl"
    make_wheel(wheel, readme="# demo\n")
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        items = {n: archive.read(n) for n in archive.namelist()}
    meta = next(n for n in items if n.endswith("METADATA"))
    items[meta] = items[meta].replace(
        b"Version: 1.0.0\n", f"Version: 1.0.0\nSummary: mcp-name: {SERVER}\n".encode()
    )
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in items.items():
            archive.writestr(name, data)
    bundle = make_mcpb(out / "dist" / BUNDLE)
    _entry(project / "server.json", bundle)
    code, stages, _ = _release(capsys, project, sandbox, "--endpoint", ENDPOINT, stages="sign")
    assert code == 1
    titles = [t for rule, t in _findings(stages["server-json"]) if rule == "MH-REGISTRY-MCP-NAME"]
    assert any(t.startswith(wheel.name) for t in titles)


def test_an_mcpb_sig_block_is_information_never_proof(
    project: Path, sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = project / "release"
    _lay_out(out)
    bundle = make_mcpb(out / "dist" / BUNDLE)
    _sign_like_mcpb(bundle)
    _entry(project / "server.json", bundle)
    code, stages, _ = _release(capsys, project, sandbox, "--endpoint", ENDPOINT)
    rules = {f["rule_id"]: f for f in stages["server-json"]["findings"]}
    assert rules["MH-MCPB-SIGNATURE"]["severity"] == "info"
    assert rules["MH-MCPB-ARCHIVE"]["severity"] == "medium"  # the block breaks strict zip readers
    (info,) = stages["verify"]["findings"]
    assert info["rule_id"] == "MH-MCPB-SIGNATURE" and info["severity"] == "info"
    assert "never taken as proof" in info["title"]
    assert stages["verify"]["status"] == "passed"  # proven by its Sigstore signature, not by the block
    assert code == 0  # info and medium findings are under the default threshold (high)
    # without its Sigstore signature the block proves nothing: verify refuses the bundle
    (out / "dist" / (BUNDLE + ".sigstore.json")).unlink()
    assert (
        main(
            [
                "verify",
                "--record",
                str(out / "release.json"),
                "--trusted-root",
                str(sandbox / "trusted_root.json"),
                "--repository",
                "acme/demo-server",
            ]
        )
        == 1
    )
    capsys.readouterr()


def test_a_bundle_changed_after_its_check_is_not_released(
    project: Path, sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.release.registry import confirm_signed
    from pipeline.release.run import Layout

    out = project / "release"
    _lay_out(out)
    bundle = make_mcpb(out / "dist" / BUNDLE)
    code, _, _ = _release(capsys, project, sandbox, stages="sign")
    assert code == 0
    layout = Layout(out)
    assert confirm_signed({BUNDLE: sha256_file(bundle)}, layout) == []
    (problem,) = confirm_signed({BUNDLE: "0" * 64}, layout)
    assert problem.startswith(f"{BUNDLE}: checked with sha256 {'0' * 64}, but the release signed")
    (problem,) = confirm_signed({"other.mcpb": "0" * 64}, layout)
    assert "does not list it" in problem


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mcpb", "{tmp}/absent.mcpb"], "no such file"),
        (["--mcpb", "{tmp}/bundle.zip"], "ends in .mcpb"),
        (["--write-server-json"], "needs an entry to start from"),
    ],
)
def test_bad_registry_options_are_usage_errors(
    args: list[str],
    message: str,
    project: Path,
    sandbox: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "bundle.zip").write_bytes(b"PK")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = _release(capsys, project, sandbox, *argv)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1
    shutil.rmtree(project / "release", ignore_errors=True)
