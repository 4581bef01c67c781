"""`mcp-harden release` in this process: usage errors, stages that cannot run, what the lock holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import CheckError
from pipeline.release import Pin, parse_lock, render_lock
from tests.conftest import assert_one_line_error, run_cli
from tests.release.conftest import release_args, run_release_cli, write_project


def test_an_unknown_stage_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = run_cli("release", str(tmp_path), "--stages", "build,deploy")
    assert result.code == 2
    assert "unknown stage deploy" in assert_one_line_error(result)


def test_a_missing_project_is_a_one_line_usage_error(tmp_path: Path) -> None:
    result = run_cli("release", str(tmp_path / "nowhere"))
    assert result.code == 2
    assert "no such project folder" in assert_one_line_error(result)


def test_later_stages_without_a_build_could_not_check_and_say_why(
    tmp_path: Path, offline_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path / "project")
    out = tmp_path / "release"
    args = [*release_args(project, out, tmp_path / "sandbox", "--skip", "build"), "--format", "json"]
    code, stdout, _ = run_release_cli(args, offline_env, capsys)
    assert code == 3
    stages = {s["stage"]: s for s in json.loads(stdout)["stages"]}
    assert set(stages) == {"sbom", "audit", "manifest", "scan-tools", "sign", "verify"}
    assert all(s["status"] == "error" for s in stages.values())
    assert "run the build stage first" in stages["sbom"]["error"]
    assert "the sbom stage did not produce one" in stages["audit"]["error"]
    assert "nothing to sign" in stages["sign"]["error"]
    assert "the sign stage did not produce one" in stages["verify"]["error"]
    # Each stage still wrote its own report, so a merged report shows every gap.
    assert sorted(p.name for p in (out / "reports").glob("*.json")) == [
        "2-sbom.json",
        "3-audit.json",
        "4-manifest.json",
        "5-scan-tools.json",
        "6-sign.json",
        "7-verify.json",
    ]


@pytest.mark.slow
def test_a_server_nobody_said_how_to_start_is_named_as_such(
    tmp_path: Path, offline_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_project(tmp_path / "project")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().split("[project.scripts]")[0])  # no console script
    out = tmp_path / "release"
    args = [
        *release_args(project, out, tmp_path / "sandbox", "--stages", "build,sbom,manifest"),
        "--format",
        "json",
    ]
    code, stdout, _ = run_release_cli(args, offline_env, capsys)
    assert code == 3
    stages = {s["stage"]: s for s in json.loads(stdout)["stages"]}
    assert stages["build"]["status"] == "passed" and stages["sbom"]["status"] == "passed"
    assert "how to start the MCP server is not known: set manifest.command" in stages["manifest"]["error"]


names = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=8),
)
versions = st.lists(st.integers(0, 999), min_size=1, max_size=4).map(lambda parts: ".".join(map(str, parts)))
digests = st.binary(min_size=32, max_size=32).map(bytes.hex)


@given(st.lists(st.tuples(names, versions, digests), min_size=1, max_size=20, unique_by=lambda t: t[0]))
def test_a_rendered_lock_reads_back_to_the_same_pins(items: list[tuple[str, str, str]]) -> None:
    pins = [Pin(name, version, digest) for name, version, digest in items]
    path = Path(__import__("tempfile").mkdtemp()) / "requirements.lock.txt"
    path.write_text(render_lock(pins, source="sbom.cdx.json"))
    assert sorted(parse_lock(path), key=lambda p: p.name) == sorted(pins, key=lambda p: p.name)


@pytest.mark.parametrize(
    "text",
    [
        "anyio==4.16.0\n",  # no hash: pip would accept it without --require-hashes; we never write one
        "anyio>=4 --hash=sha256:" + "a" * 64 + "\n",  # not a pin
        "anyio==4.16.0 --hash=sha256:" + "a" * 63 + "\n",  # not a sha256
        "# only a comment\n",
    ],
)
def test_a_lock_that_is_not_ours_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "requirements.lock.txt"
    path.write_text(text)
    with pytest.raises(CheckError):
        parse_lock(path)


@pytest.mark.slow
def test_the_built_wheel_is_installed_not_a_same_named_one_on_pips_path(
    tmp_path: Path, offline_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A stale or planted wheel with the project's file name, where pip looks for packages, is never taken for
    the one just built: the server's environment gets the built wheel, by path and hash."""
    from tests.release.conftest import make_wheel

    project = write_project(tmp_path / "project")
    planted = tmp_path / "planted"
    planted.mkdir()
    make_wheel(
        planted, "weather_notes_mcp", "0.2.0", {"weather_notes_mcp/__init__.py": "raise SystemExit(9)\n"}
    )
    env = {**offline_env, "PIP_FIND_LINKS": f"{planted} {offline_env['PIP_FIND_LINKS']}"}
    out = tmp_path / "release"
    args = [
        *release_args(project, out, tmp_path / "sandbox", "--stages", "build,sbom,manifest"),
        "--format",
        "json",
    ]
    code, stdout, _ = run_release_cli(args, env, capsys)
    stages = {s["stage"]: s for s in json.loads(stdout)["stages"]}
    assert code == 0, stages
    assert json.loads((out / "mcp-manifest.json").read_text())["server"]["name"] == "weather-notes"


def test_install_requirements_name_the_built_wheel_by_path(tmp_path: Path) -> None:
    from pipeline.release.lock import install_requirements

    wheel = tmp_path / "weather_notes_mcp-0.2.0-py3-none-any.whl"
    pins = [Pin("weather-notes-mcp", "0.2.0", "a" * 64), Pin("anyio", "4.16.0", "b" * 64)]
    assert install_requirements(pins, wheel).splitlines() == [
        f"{wheel.resolve()} --hash=sha256:{'a' * 64}",
        f"anyio==4.16.0 --hash=sha256:{'b' * 64}",
    ]
    assert install_requirements(pins, wheel, with_root=False) == f"anyio==4.16.0 --hash=sha256:{'b' * 64}\n"
