"""Audit GitHub Actions workflows and composite actions: zizmor (offline, auditor persona) plus mcp-harden's own
rules (see `rules`), merged into one stage result."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.errors import UsageError
from pipeline.findings import Finding, Location, Rule, Severity, StageResult
from pipeline.workflows import rules
from pipeline.workflows.yamlmap import YMap, load

__all__ = ["collect", "parse", "run_lint"]

SKIP_DIRS = {".git", "node_modules", ".nox", ".tox", ".venv", "venv", "__pycache__", ".tools"}
ZIZMOR_RULE = Rule(
    "zizmor", "zizmor", "A zizmor audit finding (offline).", help_uri="https://docs.zizmor.sh/audits/"
)


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
    return Finding(
        rule_id="MH-WF-YAML",
        severity=Severity.HIGH,
        title=f"{path.name}: {why}",
        location=Location(path=str(path), line=line or None),
        stage="workflows",
    )


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
    stage = StageResult(stage="workflows", rules=[*rules.RULES, ZIZMOR_RULE])
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
        for finding in found:
            stage.add(finding)
        ignores = sum(line.count("zizmor: ignore[") for doc in documents for line in doc.lines)
        stage.summary["zizmor"] = (
            f"{len(found)} finding(s) ({zizmor_version(executable)}, --offline --persona {persona})"
            + (f"; {ignores} ignore comment(s) in the files" if ignores else "")
        )
        stage.notes.append("zizmor ran offline: its online audits (impostor commits, stale refs) did not run")
    else:
        stage.notes.append("zizmor was not run (--no-zizmor): only mcp-harden's own rules were checked")
    return stage
