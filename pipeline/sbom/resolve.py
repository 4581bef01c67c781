"""The exact set of packages a project resolves to, read from pip's installation report.

pip's report (`pip install --dry-run --report`) is the one source that carries, for every resolved package,
its core metadata and the sha256 of the archive pip chose, so the SBOM's hashes are the ones that would
be installed. It is produced here (with a timeout), or given as a file from a real install.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from pipeline.errors import CheckError, ConfigError

# Multi-use core metadata fields: the JSON form holds them as lists (PEP 566).
_MULTI = {
    "classifier",
    "requires_dist",
    "project_url",
    "provides_extra",
    "license_file",
    "dynamic",
    "platform",
    "supported_platform",
    "requires_external",
    "provides_dist",
    "obsoletes_dist",
}


@dataclass
class ResolvedPackage:
    name: str
    version: str
    metadata: dict[str, Any]
    sha256: str | None
    url: str
    is_direct: bool = False
    requested_extras: list[str] = field(default_factory=list)

    def as_message(self) -> Message:
        """The metadata as an email-style message: the shape cyclonedx-py's helpers read."""
        msg = Message()
        for key, value in self.metadata.items():
            header = "-".join(part.capitalize() for part in key.split("_"))
            header = {
                "Home-Page": "Home-page",
                "Download-Url": "Download-URL",
                "Project-Url": "Project-URL",
                "Author-Email": "Author-email",
                "Maintainer-Email": "Maintainer-email",
            }.get(header, header)
            for item in value if key in _MULTI and isinstance(value, list) else [value]:
                if isinstance(item, str) and key != "description":
                    msg[header] = item
        return msg


@dataclass
class Resolution:
    packages: list[ResolvedPackage]
    environment: dict[str, str]
    source: str


def run_pip_report(targets: list[str], *, timeout: float = 600.0) -> dict[str, Any]:
    """Resolve `targets` (a project folder, a wheel, or `-r FILE`) with pip, installing nothing."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--disable-pip-version-check",
        "--report",
        "-",
        *targets,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise CheckError(f"pip did not resolve {' '.join(targets)} within {timeout:.0f} s") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CheckError(
            f"pip could not resolve {' '.join(targets)} (is the package index reachable?): {last}"
        )
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise CheckError("pip's installation report is not JSON") from None


def load_pip_report(path: Path) -> dict[str, Any]:
    from pipeline import jsonsafe

    report = jsonsafe.load_file(path, what="pip installation report")
    if not isinstance(report, dict):
        raise ConfigError("not a pip installation report (expected a JSON object)", where=str(path))
    return report


def parse_report(report: dict[str, Any], source: str) -> Resolution:
    try:
        items = report["install"]
        packages = []
        for item in items:
            meta = item["metadata"]
            info = item.get("download_info", {})
            hashes = info.get("archive_info", {}).get("hashes", {})
            sha = hashes.get("sha256")
            if sha is None and "hash" in info.get("archive_info", {}):
                algo, _, value = info["archive_info"]["hash"].partition("=")
                sha = value if algo == "sha256" else None
            packages.append(
                ResolvedPackage(
                    name=meta["name"],
                    version=meta["version"],
                    metadata=meta,
                    sha256=sha,
                    url=info.get("url", ""),
                    is_direct=bool(item.get("is_direct")),
                    requested_extras=list(item.get("requested_extras") or []),
                )
            )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"not a pip installation report (missing {exc})", where=source) from None
    if not packages:
        raise ConfigError("the pip report lists no packages", where=source)
    return Resolution(packages=packages, environment=dict(report.get("environment") or {}), source=source)
