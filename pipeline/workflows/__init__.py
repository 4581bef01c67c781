"""Audit GitHub Actions workflows and composite actions: zizmor (offline, auditor persona) plus mcp-harden's own
rules (see `rules`), merged into one stage result."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import UsageError
from pipeline.fileio import read_bounded
from pipeline.findings import Finding, Location, Rule, Severity, StageResult
from pipeline.workflows import rules
from pipeline.workflows.yamlmap import YMap, load
from pipeline.yamlsafe import YamlSyntaxError

__all__ = ["collect", "parse", "run_lint"]

MAX_WORKFLOW_BYTES = 4 << 20  # GitHub refuses workflow files far smaller
SKIP_DIRS = {".git", "node_modules", ".nox", ".tox", ".venv", "venv", "__pycache__", ".tools"}
ZIZMOR_RULE = Rule(
    "zizmor", "zizmor", "A zizmor audit finding (offline).", help_uri="https://docs.zizmor.sh/audits/"
)


def collect(paths: list[Path]) -> list[Path]:
    """Workflow and action files under the given paths: `.github/workflows/*.y(a)ml` and `action.y(a)ml` in a
    folder tree; a file is taken as given."""
    found: list[Path] = []
    for path in paths:
        if not path.is_dir():
            if not path.exists():
                raise UsageError("no such file or folder", where=str(path))
            found.append(path)  # taken as given: `parse` refuses what is not a regular file
            continue
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
    # A file that cannot be read as a file (a FIFO, a device, too large) or YAML past the loader's limits
    # (an alias bomb, deep nesting) is a ConfigError: exit 2 naming the file, not a finding.
    raw = read_bounded(path, what="workflow file", limit=MAX_WORKFLOW_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _invalid(path, 0, "unreadable: not UTF-8 text")
    try:
        data = load(text, source=str(path))
    except YamlSyntaxError as exc:
        return _invalid(path, exc.line or 0, f"invalid YAML: {exc.problem}")
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
