"""The install set of a release: exactly the SBOM's components, each pinned to one archive by sha256.

`requirements.lock.txt` is written from the SBOM file itself (never from a second resolution), so what a
deployment installs with `pip install --no-index --require-hashes --no-deps -r requirements.lock.txt` is, by
construction, what was audited. The project's own entry pins the wheel that was built.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from pipeline.errors import CheckError
from pipeline.fileio import read_text_bounded, sha256_file

LOCK_NAME = "requirements.lock.txt"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503) name
    version: str
    sha256: str


def pins_from_sbom(sbom: Path, *, root_wheel: Path) -> list[Pin]:
    """Every component of the SBOM with its SHA-256, the root pinned to `root_wheel` (which the SBOM's root
    must list among its hashes). A component without a SHA-256 cannot be locked: that fails the stage."""
    document: Any = json.loads(read_text_bounded(sbom, what="SBOM", limit=64 << 20))
    root = document.get("metadata", {}).get("component") or {}
    wheel_sha = sha256_file(root_wheel)
    root_hashes = {h.get("content") for h in root.get("hashes", []) if h.get("alg") == "SHA-256"}
    if wheel_sha not in root_hashes:
        raise CheckError(
            f"the SBOM's root {root.get('name')}=={root.get('version')} does not list the built wheel's sha256",
            where=str(root_wheel),
        )
    pins = [Pin(canonicalize_name(str(root["name"])), str(root["version"]), wheel_sha)]
    missing = []
    for component in document.get("components", []):
        hashes = [h.get("content") for h in component.get("hashes", []) if h.get("alg") == "SHA-256"]
        name, version = str(component.get("name", "")), str(component.get("version", ""))
        if not hashes or not _SHA256.match(str(hashes[0])) or not name or not version:
            missing.append(f"{name}=={version}")
            continue
        pins.append(Pin(canonicalize_name(name), version, str(hashes[0])))
    if missing:
        raise CheckError(
            "cannot lock components without a sha256 in the SBOM: " + ", ".join(missing[:5]), where=str(sbom)
        )
    names = [p.name for p in pins]
    if len(set(names)) != len(names):
        raise CheckError("the SBOM lists a package twice; one install set cannot hold both", where=str(sbom))
    return pins


def render_lock(pins: list[Pin], *, source: str) -> str:
    lines = [
        f"# The exact install set of {pins[0].name}=={pins[0].version}: the components of {source}, one archive",
        "# each. Install it only after `mcp-harden verify` on the release record, and only this way:",
        "#   pip install --no-index --require-hashes --no-deps --find-links wheelhouse -r requirements.lock.txt",
    ]
    for pin in sorted(pins, key=lambda p: p.name):
        lines.append(f"{pin.name}=={pin.version} \\\n    --hash=sha256:{pin.sha256}")
    return "\n".join(lines) + "\n"


def install_requirements(pins: list[Pin], root_wheel: Path, *, with_root: bool = True) -> str:
    """The lock as pip input for an install or a download here: the project's own entry names the built wheel
    by path (another file of the same name elsewhere on pip's search path must not be taken for it), or is
    left out (`with_root=False`); every other entry is the pin with its hash."""
    root = canonicalize_name(root_wheel.name.split("-")[0])
    lines = []
    for pin in pins:
        if pin.name != root:
            lines.append(f"{pin.name}=={pin.version} --hash=sha256:{pin.sha256}")
        elif with_root:
            lines.append(f"{root_wheel.resolve()} --hash=sha256:{pin.sha256}")
    return "\n".join(lines) + "\n"


def parse_lock(path: Path) -> list[Pin]:
    """Read a lock this module wrote: `name==version` with exactly one `--hash=sha256:` each."""
    text = read_text_bounded(path, what="lock file")
    pins: list[Pin] = []
    for number, line in enumerate(text.replace("\\\n", " ").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)\s+--hash=sha256:([0-9a-f]{64})", line)
        if not match:
            raise CheckError(f"line {number} is not `name==version --hash=sha256:HEX`", where=str(path))
        pins.append(Pin(canonicalize_name(match[1]), match[2], match[3]))
    if not pins:
        raise CheckError("the lock lists no packages", where=str(path))
    return pins
