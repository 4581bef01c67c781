"""Tool-manifest pinning: capture what an MCP server shows a model, record it with canonical digests,
and compare a live server (or another record) against the pinned record."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pipeline.errors import CheckError, UsageError
from pipeline.findings import StageResult
from pipeline.manifest.capture import HttpTarget, StdioTarget, Target, capture
from pipeline.manifest.record import (
    ROLE_NAME,
    build_record,
    build_roles,
    build_set,
    counts,
    dumps,
    load,
    roles_of,
    servers_of,
)

__all__ = [
    "HttpTarget",
    "StdioTarget",
    "Target",
    "capture_targets",
    "run_capture",
    "run_diff",
]

EXEC_NOTE = "capturing a stdio server runs its command on this machine, with a minimal environment"


def capture_targets(
    targets: dict[str, Target], *, timeout: float, roles: dict[str, str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Capture each target; a single unnamed target gives a record, several give a set record. `roles`
    (role -> token, for one HTTP target): one capture per role with its token, a roles record.
    Returns the record (empty when nothing could be captured) and the errors, one line each."""
    records: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    if roles is not None:
        return _capture_roles(targets, roles, timeout=timeout)
    for name, target in targets.items():
        try:
            records[name] = build_record(capture(target, timeout=timeout))
        except CheckError as exc:  # the server's fault; a usage or configuration error is ours: raised
            errors.append(f"{name}: {exc}" if len(targets) > 1 else str(exc))
    if len(targets) == 1 and records:
        return next(iter(records.values())), errors
    return (build_set(records) if records else {}), errors


def _capture_roles(
    targets: dict[str, Target], roles: dict[str, str], *, timeout: float
) -> tuple[dict[str, Any], list[str]]:
    (target,) = targets.values()
    if not isinstance(target, HttpTarget):
        raise UsageError("tokens per role (--token ROLE=TOKEN) need an HTTP endpoint (--url)")
    if not roles:
        raise UsageError("no role to capture")
    for role in roles:
        if not ROLE_NAME.fullmatch(role):
            raise UsageError(f"bad role name {role[:70]!r}: a letter, then letters, digits, . _ - (<= 64)")
    records: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    for role, token in sorted(roles.items()):
        try:
            records[role] = build_record(capture(dataclasses.replace(target, token=token), timeout=timeout))
        except CheckError as exc:
            errors.append(f"role {role}: {exc}")
    return (build_roles(records) if records and not errors else {}), errors


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    roles = roles_of(record)
    if roles is not None:  # one server as each role sees it: its tools per role
        view = summarize(next(iter(roles.values())))
        tools = {role: len(rec["tools"]) for role, rec in roles.items()}
        return {**view, "digest": record["digest"], "roles": tools, "tools": sum(tools.values())}
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


def run_capture(
    targets: dict[str, Target], *, output: Path, timeout: float, roles: dict[str, str] | None = None
) -> StageResult:
    stage = StageResult(stage="manifest")
    if any(isinstance(t, StdioTarget) for t in targets.values()):
        stage.notes.append(EXEC_NOTE)
    record, errors = capture_targets(targets, timeout=timeout, roles=roles)
    if errors:
        # Fail closed: a partial set would pin a configuration that is not what runs. The reason goes in
        # the report (JSON for machines), the run exits 3, and no record is written.
        stage.error = _first(errors)
        return stage
    from pipeline.fileio import write_atomic

    write_atomic(output, dumps(record))
    stage.summary = summarize(record)
    servers = servers_of(record)
    if len(servers) > 1 and roles is None:  # roles see one server: a tool in two roles is not shadowing
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
    roles: dict[str, str] | None = None,
) -> StageResult:
    """Drift of a live server (targets, captured once per role with `roles`) or a second record
    (other_path) against the pinned record. A roles record is compared role by role."""
    from pipeline.manifest.diff import apply_allowed, diff_roles, diff_sets, rules

    stage = pre or StageResult(stage="manifest")
    stage.rules = [*stage.rules, *rules()]
    pinned = load(pinned_path)
    if other_path is not None:
        current = load(other_path)
    else:
        assert targets is not None
        pinned_roles = roles_of(pinned)
        if pinned_roles is not None and roles is None:
            raise UsageError(
                f"the record pins one tool list per role ({', '.join(pinned_roles)}): give --token ROLE=TOKEN "
                "for each",
                where=str(pinned_path),
            )
        if pinned_roles is None and roles is not None:
            raise UsageError(
                "the record pins a single tool list: compare it with one unnamed --token",
                where=str(pinned_path),
            )
        if pinned_roles is None and len(servers_of(pinned)) > 1 and len(targets) == 1:
            raise UsageError(
                "the record pins several servers; compare it with --client-config", where=str(pinned_path)
            )
        current, errors = capture_targets(targets, timeout=timeout, roles=roles)
        stage.summary["pinned"] = pinned["digest"]
        if errors:
            stage.error = _first(errors)  # could not check: never a clean result
            return stage
    old_roles, new_roles = roles_of(pinned), roles_of(current)
    if (old_roles is None) != (new_roles is None):
        raise UsageError(
            "one record pins a tool list per role and the other does not: compare like with like",
            where=str(other_path or pinned_path),
        )
    if old_roles is not None and new_roles is not None:
        found = diff_roles(old_roles, new_roles)
    else:
        found = diff_sets(servers_of(pinned), servers_of(current))
    for finding in found:
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
