"""The exact set of packages a project resolves to, read from pip's installation report.

pip's report (`pip install --dry-run --report`) is the one source that carries, for every resolved package,
its core metadata and the sha256 of the archive pip chose, so the SBOM's hashes are the ones that would
be installed. It is produced here (with a timeout), or given as a file from a real install.

The resolution runs mcp-harden's own pip (`sys.executable -m pip`, a declared dependency `pip>=25.0`), not
whatever pip the caller's shell finds, and refuses a pip older than 25.0: those leave PEP 639's
`License-Expression` out of the report, and most packages built since 2025 would look unlicensed. A report
given as a file may come from any pip; the licenses it lacks are read from the wheels (see `wheelmeta`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from pipeline.errors import CheckError, ConfigError
from pipeline.sbom.wheelmeta import PIP_PEP639, fill_license_fields, lacks_pep639, pip_drops_pep639

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
    pip_version: str = ""
    # Packages whose license fields the report lacked: read from their wheel, or (the report's pip drops
    # them) possibly missing.
    licenses_from_wheels: list[str] = field(default_factory=list)
    licenses_unread: list[str] = field(default_factory=list)


def _pip_floor_error(version: str, python: str) -> CheckError:
    return CheckError(
        f"pip {version or '(unknown version)'} leaves PEP 639 license fields out of its report, so the SBOM "
        f"would miss most licenses; mcp-harden needs pip>={PIP_PEP639}: {python} -m pip install 'pip>={PIP_PEP639}'"
    )


def _installed_pip() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pip")
    except PackageNotFoundError:
        return ""


MAX_REPORT_BYTES = 256 << 20  # pip's report for a few hundred packages is a few MiB
COLLECTED = ("Collecting ", "Processing ")  # pip's line for each package the resolver takes up


def run_pip_report(
    targets: list[str],
    *,
    timeout: float = 600.0,
    python: str = sys.executable,
    on_package: Callable[[int, str], None] | None = None,
) -> dict[str, Any]:
    """Resolve `targets` (a project folder, a wheel, or `-r FILE`) with `python`'s pip, installing nothing.

    `-I` keeps the project's folder (a `pip/` there) and PYTHON* variables from choosing which pip runs.
    The floor is checked before (mcp-harden's own pip) and after, on the version the report names.
    pip writes its report to a file and its log to stdout, read as it comes: `on_package(count, line)` hears
    of each package the resolver collects (the progress of a resolution that can take a minute)."""
    import tempfile

    from pipeline.fileio import read_bounded

    if python == sys.executable:
        installed = _installed_pip()
        if pip_drops_pep639(installed):
            raise _pip_floor_error(installed, python)
    with tempfile.TemporaryDirectory(prefix="mcp-harden-pip-") as folder:
        report_path = Path(folder) / "report.json"
        cmd = [python, "-I", "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        cmd += [
            "--disable-pip-version-check",
            "--progress-bar",
            "off",
            "--report",
            str(report_path),
            *targets,
        ]
        returncode, errors = _run_pip(cmd, timeout, on_package or (lambda count, line: None), targets)
        if returncode != 0:
            last = (errors.strip().splitlines() or ["no output"])[-1]
            raise CheckError(
                f"pip could not resolve {' '.join(targets)} (is the package index reachable?): {last}"
            )
        try:
            report = json.loads(
                read_bounded(report_path, what="pip's installation report", limit=MAX_REPORT_BYTES)
            )
        except ValueError:
            raise CheckError("pip's installation report is not JSON") from None
    made_by = str(report.get("pip_version", "")) if isinstance(report, dict) else ""
    if pip_drops_pep639(made_by):
        raise _pip_floor_error(made_by, python)
    return report  # type: ignore[no-any-return]


def _run_pip(
    cmd: list[str], timeout: float, on_package: Callable[[int, str], None], targets: list[str]
) -> tuple[int, str]:
    """Run pip with its stdout read line by line (collected packages counted) and the tail of its stderr
    kept; killed at `timeout`. Returns the exit status and that tail."""
    import threading
    from collections import deque

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    tail: deque[str] = deque(maxlen=40)
    assert proc.stdout is not None and proc.stderr is not None

    def read_log() -> None:
        count = 0
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith(COLLECTED):
                count += 1
                on_package(count, line.strip())

    def read_errors() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            tail.append(line[:2000])

    readers = [threading.Thread(target=f, daemon=True) for f in (read_log, read_errors)]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise CheckError(f"pip did not resolve {' '.join(targets)} within {timeout:.0f} s") from None
    finally:
        for reader in readers:
            reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    return proc.returncode, "".join(tail)


def load_pip_report(path: Path) -> dict[str, Any]:
    from pipeline import jsonsafe

    report = jsonsafe.load_file(path, what="pip installation report")  # bounded; strict, depth-capped
    if not isinstance(report, dict):
        raise ConfigError("not a pip installation report (not a JSON object)", where=str(path))
    return report


def parse_report(report: dict[str, Any], source: str) -> Resolution:
    pip_version = str(report.get("pip_version", "")) if isinstance(report, dict) else ""
    drops = pip_drops_pep639(pip_version)
    from_wheels: list[str] = []
    unread: list[str] = []
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
            if isinstance(meta, dict) and lacks_pep639(meta, pip_drops=drops):
                label = f"{meta['name']}=={meta['version']}"
                if fill_license_fields(meta, str(info.get("url", "")), sha):
                    from_wheels.append(label)
                elif drops:  # with a pip that keeps them, a package without a license has none
                    unread.append(label)
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
    return Resolution(
        packages=packages,
        environment=dict(report.get("environment") or {}),
        source=source,
        pip_version=pip_version,
        licenses_from_wheels=from_wheels,
        licenses_unread=unread,
    )
