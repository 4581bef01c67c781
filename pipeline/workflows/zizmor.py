"""zizmor as a subprocess (`--offline --persona auditor --format json`), its findings as mcp-harden Findings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline.errors import CheckError
from pipeline.findings import Finding, Location, Severity

PERSONAS = ("regular", "pedantic", "auditor")
SEVERITIES = {
    "informational": Severity.INFO,
    "unknown": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
}
# zizmor exits 0 (no findings) or 10-14 (findings; the highest severity); anything else is an error.
FINDINGS_EXIT = range(10, 15)


def find_zizmor(explicit: str | None = None) -> str:
    """The zizmor executable: given, on PATH, or next to this Python (a venv's bin/)."""
    if explicit:
        if shutil.which(explicit) is None and not Path(explicit).is_file():
            raise CheckError("zizmor is not there", where=explicit)
        return explicit
    found = shutil.which("zizmor")
    if found:
        return found
    beside = Path(sys.executable).with_name("zizmor")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise CheckError(
        "zizmor is not installed: `pip install zizmor` (or pass --no-zizmor for mcp-harden's own rules only)",
        where="zizmor",
    )


def zizmor_version(executable: str) -> str:
    """`zizmor --version`, e.g. "zizmor 1.32.0"."""
    try:
        proc = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CheckError(f"could not run zizmor: {type(exc).__name__}", where=executable) from None
    return proc.stdout.strip()


def run_zizmor(
    paths: list[Path], *, executable: str, persona: str = "auditor", timeout: float = 300
) -> list[Finding]:
    """Audit the files offline; findings zizmor was told to ignore (comments, config) are left out."""
    if not paths:
        return []
    command = [executable, "--offline", "--persona", persona, "--format", "json", *map(str, paths)]
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GH_TOKEN", None)  # offline: no token needed, none handed over
    env.pop("GITHUB_TOKEN", None)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        raise CheckError(f"zizmor took longer than {timeout:g} s", where=executable) from None
    except OSError as exc:
        raise CheckError(f"could not run zizmor: {exc.strerror or exc}", where=executable) from None
    if proc.returncode != 0 and proc.returncode not in FINDINGS_EXIT:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        raise CheckError(f"zizmor failed: {detail}", where=executable)
    try:
        data = json.loads(proc.stdout or "[]")
    except ValueError:
        raise CheckError("zizmor's JSON output is unreadable", where=executable) from None
    if not isinstance(data, list):
        raise CheckError("zizmor's JSON output is not a list of findings", where=executable)
    return [_finding(item) for item in data if isinstance(item, dict) and not item.get("ignored")]


def _finding(item: dict[str, Any]) -> Finding:
    ident = str(item.get("ident", "unknown"))
    determinations = item.get("determinations") or {}
    severity = SEVERITIES.get(str(determinations.get("severity", "")).lower(), Severity.MEDIUM)
    primary = _primary(item.get("locations") or [])
    symbolic = primary.get("symbolic") or {}
    concrete = (primary.get("concrete") or {}).get("location") or {}
    start = concrete.get("start_point") or {}
    key = symbolic.get("key") or {}
    path = (key.get("Local") or {}).get("verbatim_path") if isinstance(key, dict) else None
    annotation = str(symbolic.get("annotation") or "").strip()
    title = str(item.get("desc") or ident)
    if annotation:
        title = f"{title}: {annotation}"
    row = start.get("row")
    column = start.get("column")
    return Finding(
        rule_id=f"zizmor/{ident}",
        severity=severity,
        title=title,
        location=Location(
            path=path,
            line=row + 1 if isinstance(row, int) else None,
            column=column + 1 if isinstance(column, int) else None,
        ),
        evidence=str((primary.get("concrete") or {}).get("feature") or "")[:200],
        fix="see " + str(item.get("url")) if item.get("url") else "",
        references=[str(item["url"])] if item.get("url") else [],
        stage="workflows",
        properties={
            "confidence": str(determinations.get("confidence", "")).lower(),
            "persona": str(determinations.get("persona", "")).lower(),
        },
    )


def _primary(locations: list[Any]) -> dict[str, Any]:
    for location in locations:
        if isinstance(location, dict) and (location.get("symbolic") or {}).get("kind") == "Primary":
            return location
    return locations[0] if locations and isinstance(locations[0], dict) else {}
