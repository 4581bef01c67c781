"""What this project does, as nox sessions. Each session only runs the `mcp-harden` command (or the test
and lint tools); the logic lives in the package.

    nox                 the release pipeline on the embedded example server, ending with the report
    nox -s tests        the test suite
    nox -s lint         ruff, zizmor, actionlint

Set MCP_HARDEN_OFFLINE_DB to a folder or zip of OSV records to audit with no network, MCP_HARDEN_OSV_URL
for another OSV API, MCP_HARDEN_RELEASE_DIR for another output folder (default: release/).
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.options.sessions = ["release"]
nox.options.reuse_venv = "yes"  # a second run reuses the environments
nox.options.error_on_missing_interpreters = False

EXAMPLE = "templates/example-server"
OUT = os.environ.get("MCP_HARDEN_RELEASE_DIR", "release")
REPORTS = f"{OUT}/reports"
# A stage that finds problems (1) or cannot check (3) must not stop the others: the report judges at the end.
CONTINUE = [0, 1, 3]


def _install(session: nox.Session) -> None:
    if session.venv_backend != "none":  # `--no-venv` runs in the current environment, already set up
        session.install("-e", ".[dev]")


@nox.session
def release(session: nox.Session) -> None:
    """Build the example server, then SBOM → audit; the report at the end decides the exit code."""
    _install(session)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(REPORTS)
    session.run("python", "-m", "pip", "wheel", "--no-deps", "-q", "-w", f"{OUT}/dist", EXAMPLE)
    session.run("python", "-m", "build", "--sdist", "-q", "-o", f"{OUT}/dist", EXAMPLE)
    wheel = glob.glob(f"{OUT}/dist/*.whl")[0]
    policy = ["--policy", f"{EXAMPLE}/mcp-harden.yaml"]
    session.run(
        "mcp-harden",
        "sbom",
        wheel,
        "--dist",
        f"{OUT}/dist",
        "-o",
        f"{OUT}/sbom.cdx.json",
        *policy,
        "--json",
        f"{REPORTS}/1-sbom.json",
        success_codes=CONTINUE,
    )
    offline = os.environ.get("MCP_HARDEN_OFFLINE_DB")
    osv_url = os.environ.get("MCP_HARDEN_OSV_URL")
    session.run(
        "mcp-harden",
        "audit",
        "--sbom",
        f"{OUT}/sbom.cdx.json",
        "--vex",
        f"{OUT}/sbom.vex.cdx.json",
        *(["--offline-db", offline] if offline else []),
        *(["--osv-url", osv_url] if osv_url else []),
        *policy,
        "--json",
        f"{REPORTS}/2-audit.json",
        success_codes=CONTINUE,
    )
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    session.run(
        "mcp-harden",
        "report",
        REPORTS,
        *policy,
        "--sarif",
        f"{OUT}/mcp-harden.sarif",
        *(["--summary", summary] if summary else []),
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (real sigstore, TLS servers, mcp SDK, pip-audit, zizmor; loopback only)."""
    _install(session)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the code."""
    session.install("ruff>=0.9")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
