"""A second MCP server project that is not the example: hatchling builds it, it depends on a package the
example lacks (`unitconv`, a tiny wheel made here), and its console script starts it. Everything resolves
offline: the repository's wheelhouse (provisioned by .ci/provision.py) and the local wheel folder."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import textwrap
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import SHARED, run_cli

OSV_DB = SHARED / "osv-pypa"
PROJECT_NAME = "weather-notes-mcp"
SERVER_SOURCE = '''\
"""A second MCP server: unit conversions (through unitconv) as tools."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from unitconv import celsius_to_fahrenheit

server = MCPServer("weather-notes", version="0.2.0", instructions="Converts temperatures for weather notes.")


@server.tool(annotations={"readOnlyHint": True})
def to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
    return celsius_to_fahrenheit(celsius)


@server.prompt()
def forecast_note(city: str) -> str:
    """Ask for a short weather note about a city."""
    return f"Write a two-line weather note for {city}."


def main() -> None:
    server.run("stdio")
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_wheel(
    folder: Path, name: str, version: str, files: dict[str, str], *, license_: str = "MIT"
) -> Path:
    """A small, valid pure-Python wheel, written by hand (no build backend, no network)."""
    dist_info = f"{name}-{version}.dist-info"
    metadata = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name} for the tests\n"
        f"Author: mcp-harden tests\nLicense: {license_}\nRequires-Python: >=3.10\n"
    )
    contents = {
        **files,
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: mcp-harden-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    path = folder / f"{name}-{version}-py3-none-any.whl"
    lines = [_record_line(n, t.encode()) for n, t in contents.items()] + [f"{dist_info}/RECORD,,"]
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in contents.items():
            archive.writestr(zipfile.ZipInfo(member, (2026, 1, 1, 0, 0, 0)), text)
        archive.writestr(
            zipfile.ZipInfo(f"{dist_info}/RECORD", (2026, 1, 1, 0, 0, 0)), "\n".join(lines) + "\n"
        )
    return path


@pytest.fixture(scope="session")
def local_wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("local-wheels")
    make_wheel(
        folder,
        "unitconv",
        "0.3.0",
        {
            "unitconv/__init__.py": "def celsius_to_fahrenheit(c: float) -> float:\n    return c * 9 / 5 + 32\n"
        },
    )
    return folder


@pytest.fixture(scope="session")
def offline_env(wheelhouse: Path, local_wheels: Path) -> dict[str, str]:
    """No index: pip (and the build's isolated environment) finds everything in these two folders."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{wheelhouse} {local_wheels}",
        "SOURCE_DATE_EPOCH": "1767225600",
        "GITHUB_REF": "refs/tags/v0.2.0",  # the sandbox certificate's ref, like a tag build
    }


def write_project(folder: Path, *, policy_extra: str = "") -> Path:
    """The second project's sources: hatchling, a src layout, a console script, its own policy."""
    package = folder / "src" / "weather_notes_mcp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('__version__ = "0.2.0"\n')
    (package / "server.py").write_text(SERVER_SOURCE)
    (folder / "README.md").write_text("# weather-notes-mcp\n\nA second MCP server for mcp-harden's tests.\n")
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling>=1.26"]
            build-backend = "hatchling.build"

            [project]
            name = "{PROJECT_NAME}"
            version = "0.2.0"
            description = "A second MCP server for mcp-harden's tests"
            readme = "README.md"
            requires-python = ">=3.10"
            license = {{ text = "MIT" }}
            authors = [{{ name = "mcp-harden tests", email = "tests@example.invalid" }}]
            dependencies = ["mcp>=2.3,<3", "unitconv==0.3.0"]

            [project.scripts]
            weather-notes-mcp = "weather_notes_mcp.server:main"
            """
        )
    )
    (folder / "mcp-harden.yaml").write_text(
        textwrap.dedent(
            """\
            version: 1
            fail_on: high
            project:
              supplier: mcp-harden tests
            sbom:
              # what every package index entry carries, whatever pip reads licenses with
              require_complete: [name, version, purl, hashes, dependencies]
            audit:
              unknown_severity: critical
              max_db_age_days: 100000   # the shared test database is a fixed, old snapshot
            verify:
              require_signed: true
              require_attestations: [slsa-provenance, sbom, tool-manifest]
            """
        )
        + policy_extra
    )
    return folder


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def release_args(project: Path, out: Path, sandbox: Path, *extra: str) -> list[str]:
    return [
        "release",
        str(project),
        "--out",
        str(out),
        "--offline-db",
        str(OSV_DB),
        "--sandbox-dir",
        str(sandbox),
        "--repository",
        "example/weather-notes-mcp",
        *extra,
    ]


def run_release_cli(
    args: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """`mcp-harden release ...` in this process, as the CLI runs it."""
    from pipeline.cli import main

    with environment(env):
        code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="session")
def released(
    tmp_path_factory: pytest.TempPathFactory, offline_env: dict[str, str]
) -> tuple[Path, Path, Path]:
    """The second project, released once with a wheelhouse (in this process, as run_cli runs the CLI), and
    once per run: parallel workers (pytest-xdist) share it under a lock, in the run's temporary folder.
    Returns the project, its release folder and the sandbox folder; the tests only read them."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    base = shared / "second-release"
    project, out, sandbox = base / "project", base / "release", base / "sandbox"
    outcome = base / "outcome.json"
    with open(shared / "second-release.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits here while the first one builds
        if not outcome.is_file():
            shutil.rmtree(base, ignore_errors=True)
            write_project(project)
            args = [*release_args(project, out, sandbox, "--wheelhouse"), "--json", str(base / "report.json")]
            result = run_cli(*args, env=offline_env, timeout=900)
            outcome.write_text(json.dumps({"code": result.code, "log": result.out + result.err}))
    made = json.loads(outcome.read_text())
    assert made["code"] == 0, made["log"]
    return project, out, sandbox


def copy_release(out: Path, where: Path) -> Path:
    target = where / "release"
    shutil.copytree(out, target, ignore=shutil.ignore_patterns(".work"))
    return target
