"""Tool-manifest pinning: capture what an MCP server shows a model, record it with canonical digests,
and compare a live server (or another record) against the pinned record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.errors import CheckError, UsageError
from pipeline.findings import StageResult
from pipeline.manifest.capture import HttpTarget, StdioTarget, Target, capture
from pipeline.manifest.record import build_record, build_set, counts, dumps, load, servers_of

__all__ = [
    "HttpTarget",
    "StdioTarget",
    "Target",
    "capture_targets",
    "run_capture",
    "run_diff",
]

EXEC_NOTE = "capturing a stdio server runs its command on this machine, with a minimal environment"


def capture_targets(targets: dict[str, Target], *, timeout: float) -> tuple[dict[str, Any], list[str]]:
    """Capture each target; a single unnamed target gives a record, several give a set record.
    Returns the record (empty when nothing could be captured) and the errors, one line each."""
    records: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for name, target in targets.items():
        try:
            records[name] = build_record(capture(target, timeout=timeout))
        except CheckError as exc:  # the server's fault; a usage or configuration error is ours: raised
            errors.append(f"{name}: {exc}" if len(targets) > 1 else str(exc))
    if len(targets) == 1 and records:
        return next(iter(records.values())), errors
    return (build_set(records) if records else {}), errors


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {"digest": record["digest"]}
    servers = servers_of(record)
    summary["servers"] = len(servers)
    for section in ("tools", "prompts", "resources", "resourceTemplates"):
        summary[section] = sum(counts(rec)[section] for rec in servers.values())
    if len(servers) == 1:
        server = next(iter(servers.values()))["server"]
        summary["server"] = f"{server.get('name', '?')} {server.get('version', '')}".strip()
        summary["protocol"] = server.get("protocolVersion")
    return summary


def run_capture(targets: dict[str, Target], *, output: Path, timeout: float) -> StageResult:
    stage = StageResult(stage="manifest")
    if any(isinstance(t, StdioTarget) for t in targets.values()):
        stage.notes.append(EXEC_NOTE)
    record, errors = capture_targets(targets, timeout=timeout)
    if errors:
        # Fail closed: a partial set would pin a configuration that is not what runs. The reason goes in
        # the report (JSON for machines), the run exits 3, and no record is written.
        stage.error = _first(errors)
        return stage
    from pipeline.fileio import write_atomic

    write_atomic(output, dumps(record))
    stage.summary = summarize(record)
    servers = servers_of(record)
    if len(servers) > 1:
        from pipeline.manifest.diff import rules, shared_tool_names

        stage.rules = rules()
        for finding in shared_tool_names(servers):
            stage.add(finding)
    stage.outputs.append(str(output))
    return stage


def _first(errors: list[str]) -> str:
    return errors[0] if len(errors) == 1 else f"{len(errors)} servers failed; first: {errors[0]}"


def run_diff(
    pinned_path: Path,
    *,
    other_path: Path | None = None,
    targets: dict[str, Target] | None = None,
    allowed: list[str],
    timeout: float,
    pre: StageResult | None = None,
) -> StageResult:
    """Drift of a live server (targets) or a second record (other_path) against the pinned record."""
    from pipeline.manifest.diff import apply_allowed, diff_sets, rules

    stage = pre or StageResult(stage="manifest")
    stage.rules = [*stage.rules, *rules()]
    pinned = load(pinned_path)
    if other_path is not None:
        current = load(other_path)
    else:
        assert targets is not None
        if len(servers_of(pinned)) > 1 and len(targets) == 1:
            raise UsageError(
                "the record pins several servers; compare it with --client-config", where=str(pinned_path)
            )
        current, errors = capture_targets(targets, timeout=timeout)
        stage.summary["pinned"] = pinned["digest"]
        if errors:
            stage.error = _first(errors)  # could not check: never a clean result
            return stage
    for finding in diff_sets(servers_of(pinned), servers_of(current)):
        stage.add(finding)
    if not stage.findings and pinned["digest"] != current["digest"]:
        # Fail closed: the records differ, yet no change was named (a set compared with a single record).
        stage.error = "the records differ but no difference could be named; compare like with like"
    apply_allowed(stage.findings, allowed)
    stage.summary.update(
        {
            "pinned": pinned["digest"],
            "current": current["digest"],
            "drift": len(stage.findings),
            "tools": summarize(current)["tools"],
        }
    )
    if pinned["digest"] == current["digest"]:
        stage.summary["identical"] = True
    return stage
