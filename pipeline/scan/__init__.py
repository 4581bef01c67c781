"""The local tool-poisoning scanner: rules that read every string an MCP server shows a model
(descriptions, schemas, prompts, resources, instructions) and report instructions hidden in them.

Offline and explainable: each finding has a rule id, the field path and character span, the quoted
excerpt (hidden Unicode and encoded payloads decoded), the signals that combined and a fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.findings import StageResult
from pipeline.scan.engine import STAGE, apply_suppressions, findings_by_severity, scan_servers

__all__ = ["STAGE", "scan_file", "scan_record", "scan_targets"]


def scan_record(
    record: dict[str, Any],
    *,
    suppress: list[Any] | None = None,
    record_path: str | None = None,
    sources: dict[str, str] | None = None,
) -> StageResult:
    """Scan a record (single or set, as `pipeline.manifest.record` builds them). `sources`: where each
    server was captured from (a URL or a command), shown with its findings and matched by suppressions."""
    import dataclasses

    from pipeline.manifest.record import servers_of

    stage, summary = scan_servers(servers_of(record), record_path=record_path)
    for finding in stage.findings:
        source = (sources or {}).get(str(finding.properties.get("server", "")))
        if source:
            finding.properties["source"] = source
            if source.startswith(("http://", "https://")):
                finding.location = dataclasses.replace(finding.location, url=source)
    stage.findings.sort(
        key=lambda f: (-f.severity.rank, str(f.properties.get("server", "")), str(f.location.logical or ""))
    )
    suppressed = apply_suppressions(stage, suppress or [])
    summary["findings"] = findings_by_severity(stage)
    if suppressed:
        summary["suppressed"] = suppressed
    stage.summary = summary
    return stage


def scan_file(path: str | Path, *, suppress: list[Any] | None = None) -> StageResult:
    """Scan a record file; a malformed or tampered record is a ConfigError (exit 2)."""
    from pipeline.manifest.record import load

    return scan_record(load(path), suppress=suppress, record_path=str(path))


def scan_targets(
    targets: dict[str, Any], *, timeout: float, suppress: list[Any] | None = None, as_set: bool = False
) -> StageResult:
    """Capture live servers (the manifest stage's capture) and scan what they show. Fails closed: a server
    that cannot be captured makes the stage an error (exit 3), with what could be scanned still reported.
    `as_set`: name servers as the client configuration does, even when it lists only one."""
    from pipeline.manifest import StdioTarget, capture_targets
    from pipeline.manifest.record import build_set

    record, errors = capture_targets(targets, timeout=timeout)
    if not record:
        record = build_set({})
    elif as_set and record.get("format") != "mcp-harden/manifest-set@1":  # one configured server: its name
        record = build_set({next(iter(targets)): record})
    if record.get("format") == "mcp-harden/manifest-set@1":
        sources = {name: target.describe() for name, target in targets.items()}
    else:
        sources = {str(record["server"].get("name", "server")): next(iter(targets.values())).describe()}
    stage = scan_record(record, suppress=suppress, sources=sources)
    if errors:
        stage.error = errors[0] if len(errors) == 1 else f"{len(errors)} servers failed; first: {errors[0]}"
    if any(isinstance(t, StdioTarget) for t in targets.values()):
        stage.notes.append(
            "scanning a stdio server runs its command on this machine, with a minimal environment"
        )
    return stage
