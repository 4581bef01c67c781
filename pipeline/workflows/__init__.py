"""Audit GitHub Actions workflows and composite actions: zizmor (offline, auditor persona) plus mcp-harden's own
rules (see `rules`), merged into one stage result."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import yaml

from pipeline.errors import UsageError
from pipeline.findings import Finding, Location, StageResult
from pipeline.workflows import rules
from pipeline.workflows.yamlmap import YMap, load

__all__ = ["collect", "parse", "run_lint"]

SKIP_DIRS = {".git", "node_modules", ".nox", ".tox", ".venv", "venv", "__pycache__", ".tools"}


def collect(paths: list[Path]) -> list[Path]:
    """Workflow and action files under the given paths: `.github/workflows/*.y(a)ml` and `action.y(a)ml` in a
    folder tree; a file is taken as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
            continue
        if not path.is_dir():
            raise UsageError("no such file or folder", where=str(path))
        for candidate in sorted(path.rglob("*")):
            parts = candidate.relative_to(path).parts
            if any(part in SKIP_DIRS for part in parts[:-1]):
                continue
            if candidate.suffix not in (".yml", ".yaml") or not candidate.is_file():
                continue
            in_workflows = len(parts) >= 3 and parts[-3:-1] == (".github", "workflows")
            if in_workflows or candidate.stem == "action":
                found.append(candidate)
    return list(dict.fromkeys(found))


def parse(path: Path) -> rules.Document | Finding:
    """A workflow or action document, or a finding saying why the file is neither."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _invalid(path, 0, f"unreadable: {type(exc).__name__}")
    try:
        data = load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        return _invalid(path, mark.line + 1 if mark else 0, f"invalid YAML: {problem}")
    if isinstance(data, YMap) and "jobs" in data:
        kind = "workflow"
    elif isinstance(data, YMap) and "runs" in data:
        kind = "action"
    else:
        return _invalid(path, 1, "neither a workflow (jobs:) nor an action (runs:)")
    return rules.Document(path=path, kind=kind, data=data, lines=text.splitlines())


def _invalid(path: Path, line: int, why: str) -> Finding:
    finding = rules.YAML.finding(f"{path.name}: {why}", location=Location(path=str(path), line=line or None))
    finding.stage = "workflows"
    return finding


INLINE_IGNORE = re.compile(r"#\s*mcp-harden:\s*ignore\[([A-Za-z0-9*?,\s/-]+)\]\s*(.*)$")


def apply_inline_ignores(findings: list[Finding], documents: list[rules.Document]) -> None:
    """`# mcp-harden: ignore[ID, ...] reason` on the line a finding points at suppresses it, with that
    reason; without a reason the comment is not honoured (an accountable suppression says why)."""
    lines = {str(doc.path): doc.lines for doc in documents}
    for finding in findings:
        text = lines.get(finding.location.path or "", [])
        line = finding.location.line
        if finding.suppressed is not None or not line or not 0 < line <= len(text):
            continue
        match = INLINE_IGNORE.search(text[line - 1])
        if not match or not match.group(2).strip():
            continue
        patterns = [p.strip() for p in match.group(1).split(",") if p.strip()]
        if any(fnmatch.fnmatchcase(finding.rule_id, p) for p in patterns):
            finding.suppressed = f"inline ignore: {match.group(2).strip()}"


def _without_repeats(zizmor_findings: list[Finding], own: list[Finding]) -> list[Finding]:
    """zizmor's findings less those one of mcp-harden's rules already reports at the same file and line as
    the zizmor audit it tightens (`rules.TIGHTENS`): one mistake, one finding. The kept finding names the
    zizmor audit in its properties, so a reader can cross-check."""
    taken: dict[tuple[str, str | None, int | None], Finding] = {}
    for finding in own:
        audit = rules.TIGHTENS.get(finding.rule_id)
        if audit:
            taken[(audit, finding.location.path, finding.location.line)] = finding
    kept: list[Finding] = []
    for finding in zizmor_findings:
        audit = finding.rule_id.removeprefix("zizmor/")
        mine = taken.get((audit, finding.location.path, finding.location.line))
        if mine is None:
            kept.append(finding)
        else:
            mine.properties["zizmor"] = audit
    return kept


def run_lint(
    paths: list[Path],
    *,
    zizmor: bool = True,
    zizmor_path: str | None = None,
    persona: str = "auditor",
    oidc_consumers: tuple[str, ...] = rules.OIDC_CONSUMERS,
) -> StageResult:
    """Lint the workflows and actions under `paths`. zizmor missing or failing is an error (exit 3) unless
    `zizmor` is False, in which case only mcp-harden's rules run and the result says so."""
    from pipeline.workflows.zizmor import find_zizmor, run_zizmor, zizmor_version

    files = collect(paths)
    if not files:
        raise UsageError(
            "no workflows (.github/workflows/*.yml) or actions (action.yml) found",
            where=", ".join(map(str, paths)),
        )
    stage = StageResult(stage="workflows", rules=list(rules.RULES))
    documents: list[rules.Document] = []
    for path in files:
        parsed = parse(path)
        if isinstance(parsed, Finding):
            stage.add(parsed)
        else:
            documents.append(parsed)
    for doc in documents:
        for finding in rules.check(doc, oidc_consumers=oidc_consumers):
            stage.add(finding)
    workflows = sum(doc.kind == "workflow" for doc in documents)
    stage.summary["files"] = f"{workflows} workflow(s), {len(documents) - workflows} action(s)"
    stage.summary["mcp-harden rules"] = sum(not f.rule_id.startswith("zizmor/") for f in stage.findings)
    if zizmor:
        executable = find_zizmor(zizmor_path)
        found = run_zizmor([doc.path for doc in documents], executable=executable, persona=persona)
        for finding in _without_repeats(found, stage.findings):
            stage.add(finding)
        ignores = sum(line.count("zizmor: ignore[") for doc in documents for line in doc.lines)
        stage.summary["zizmor"] = (
            f"{len(found)} finding(s) ({zizmor_version(executable)}, --offline --persona {persona})"
            + (f"; {ignores} ignore comment(s) in the files" if ignores else "")
        )
        stage.notes.append("zizmor ran offline: its online audits (impostor commits, stale refs) did not run")
    else:
        stage.notes.append("zizmor was not run (--no-zizmor): only mcp-harden's own rules were checked")
    apply_inline_ignores(stage.findings, documents)
    return stage
