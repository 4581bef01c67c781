"""mcp-harden's release pipeline in your MCP server's repository: copy this file there as `noxfile.py`, and
`mcp-harden.yaml` beside it (`mcp-harden init`; set `manifest.command` unless your project has exactly one
console script that starts the server).

    nox                                   build, SBOM and hash lock, audit, tool manifest, poisoning scan,
                                          sign and attest, verify: everything into ./release/
    nox -- --offline-db osv-pypi.zip      options after -- go to `mcp-harden release` (see its --help)
    nox -- --wheelhouse                   also keep every locked wheel, for an install with no index

nox ends with the report: its last line is the verdict and nox's exit code is the report's (0 clean, 1
findings, 2 usage or configuration, 3 could not check). Locally the signatures come from mcp-harden's own
sandbox and say so; in GitHub Actions (id-token: write) from production Sigstore.

mcp-harden is installed pinned: set MCP_HARDEN below to a commit of mcp-harden's repository (all 40 hex
digits; a branch or a tag can move) or to a wheel of it you built (`python -m build` in its checkout). The
session's environment is reused, and mcp-harden installed again only when MCP_HARDEN changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import nox

nox.options.sessions = ["release"]
nox.options.reuse_venv = "yes"

MCP_HARDEN = os.environ.get(
    "MCP_HARDEN_SPEC",
    "mcp-harden @ git+https://github.com/mcp-harden/mcp-harden@0000000000000000000000000000000000000000",
)


def _pin(spec: str) -> str:
    """What the installed mcp-harden must match: the spec, and the wheel's sha256 when it is a file."""
    if os.path.isfile(spec):
        with open(spec, "rb") as handle:
            return f"{os.path.abspath(spec)} sha256:{hashlib.sha256(handle.read()).hexdigest()}"
    return spec


def install_mcp_harden(session: nox.Session) -> None:
    if session.venv_backend == "none":  # `nox --no-venv`: mcp-harden is already on PATH
        return
    stamp = os.path.join(session.virtualenv.location, ".mcp-harden-pin")
    pin = _pin(MCP_HARDEN)
    if os.path.isfile(stamp):
        with open(stamp, encoding="utf-8") as handle:
            if handle.read() == pin:
                return
    session.install(MCP_HARDEN)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(pin)


@nox.session
def release(session: nox.Session) -> None:
    """The whole release pipeline on this project, judged by one report."""
    install_mcp_harden(session)
    path = os.pathsep.join([*(session.bin_paths or []), os.environ.get("PATH", "")])
    executable = shutil.which("mcp-harden", path=path)
    if executable is None:
        session.error("mcp-harden is not installed in this session")
    args = ["release", ".", "--sarif", "release/mcp-harden.sarif", *session.posargs]
    session.log("mcp-harden " + " ".join(args))
    env = {**os.environ, "PATH": path}
    code = subprocess.run([executable, *args], env=env, check=False).returncode
    if code:  # the report's verdict is the last line printed; nox exits with its code, not its own 1
        sys.stdout.flush()
        sys.exit(code)
