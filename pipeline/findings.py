"""The one finding type every stage returns, and the report that gathers them.

A stage's core returns a `StageResult`: its findings, a status, and a few summary facts. The CLI turns a
`Report` (one or more stage results) into text, JSON, SARIF or Markdown and into an exit code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from pipeline.errors import ExitCode

if TYPE_CHECKING:
    from pipeline.rules import Rule


class Severity(str, Enum):
    """Ordered severities. `unknown` is for data that carries none: policy decides how it counts."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_RANKS = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class Status(str, Enum):
    PASSED = "passed"  # ran, nothing at or above the threshold
    FAILED = "failed"  # ran, findings at or above the threshold
    ERROR = "error"  # could not complete: counts as a failure (exit 3)
    SKIPPED = "skipped"  # not run, and the report says why (never counted as passed)


@dataclass(frozen=True)
class Location:
    """Where a finding points: a file (with line), a URL, or a logical thing (a package, a tool)."""

    path: str | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    url: str | None = None
    logical: str | None = None  # "package jinja2==2.4.1", "tool read_file", "workflow job build"

    def __str__(self) -> str:
        parts = []
        if self.path:
            where = self.path
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            parts.append(where)
        if self.url:
            parts.append(self.url)
        if self.logical:
            parts.append(self.logical)
        return " ".join(parts) or "-"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Finding:
    """One problem found by one rule. `rule_id` is stable (e.g. `MH-AUDIT-VULN`); `title` is one line."""

    rule_id: str
    severity: Severity
    title: str
    location: Location = field(default_factory=Location)
    evidence: str = ""
    fix: str = ""
    references: list[str] = field(default_factory=list)
    stage: str = ""
    # Set when the policy suppresses/ignores it: the reason is kept and shown, and it does not fail the run.
    suppressed: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Stable id for deduplication and SARIF `partialFingerprints`."""
        text = "\0".join([self.rule_id, str(self.location), self.title])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "stage": self.stage,
            "location": self.location.to_dict(),
            "evidence": self.evidence,
            "fix": self.fix,
            "references": list(self.references),
            "fingerprint": self.fingerprint,
        }
        if self.suppressed is not None:
            data["suppressed"] = self.suppressed
        if self.properties:
            data["properties"] = self.properties
        return data


@dataclass
class StageResult:
    """What one stage did. `error` is set when it could not complete (exit 3); `summary` holds facts
    worth showing (counts, digests, paths written), `notes` plain sentences such as what was not checked."""

    stage: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)  # what this stage can report (SARIF lists them)

    def __post_init__(self) -> None:
        for finding in self.findings:
            if not finding.stage:
                finding.stage = self.stage

    def add(self, finding: Finding) -> None:
        if not finding.stage:
            finding.stage = self.stage
        self.findings.append(finding)

    def failing(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is None and f.severity >= threshold]

    def status(self, threshold: Severity) -> Status:
        if self.error is not None:
            return Status.ERROR
        if self.skipped is not None:
            return Status.SKIPPED
        return Status.FAILED if self.failing(threshold) else Status.PASSED

    def to_dict(self, threshold: Severity) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "status": self.status(threshold).value,
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.error is not None:
            data["error"] = self.error
        if self.skipped is not None:
            data["skipped"] = self.skipped
        if self.notes:
            data["notes"] = self.notes
        if self.outputs:
            data["outputs"] = self.outputs
        return data


@dataclass
class Report:
    """All stage results of one run, and the threshold they are judged by."""

    stages: list[StageResult]
    threshold: Severity = Severity.HIGH
    tool_version: str = ""

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.stages for f in s.findings]

    def exit_code(self) -> ExitCode:
        """3 if anything could not be checked, else 1 if any finding is at or above the threshold, else 0.

        "Could not check" wins over findings: an incomplete run must never read as a clean one, and the
        findings are in the report either way. A skipped stage is neither a pass nor a failure.
        """
        statuses = {s.status(self.threshold) for s in self.stages}
        if Status.ERROR in statuses:
            return ExitCode.INCOMPLETE
        if Status.FAILED in statuses:
            return ExitCode.FINDINGS
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": {"name": "mcp-harden", "version": self.tool_version},
            "threshold": self.threshold.value,
            "exit_code": int(self.exit_code()),
            "stages": [s.to_dict(self.threshold) for s in self.stages],
        }


def finding_from_dict(data: dict[str, Any]) -> Finding:
    return Finding(
        rule_id=data["rule_id"],
        severity=Severity(data["severity"]),
        title=data["title"],
        location=Location(**data.get("location", {})),
        evidence=data.get("evidence", ""),
        fix=data.get("fix", ""),
        references=list(data.get("references", [])),
        stage=data.get("stage", ""),
        suppressed=data.get("suppressed"),
        properties=dict(data.get("properties", {})),
    )


def stage_from_dict(data: dict[str, Any]) -> StageResult:
    return StageResult(
        stage=data["stage"],
        findings=[finding_from_dict(f) for f in data.get("findings", [])],
        error=data.get("error"),
        skipped=data.get("skipped"),
        summary=dict(data.get("summary", {})),
        notes=list(data.get("notes", [])),
        outputs=list(data.get("outputs", [])),
    )


def load_reports(paths: list[str]) -> Report:
    """Read JSON reports written by `--json`/`--format json` (files, or folders of `*.json`) into one Report.
    A missing or unreadable report is a stage that could not be checked, never a silent pass."""
    import re
    from pathlib import Path

    from pipeline import jsonsafe
    from pipeline.errors import ConfigError
    from pipeline.fileio import read_bounded

    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise ConfigError("no JSON reports in this folder", where=str(path))
            files += found
        else:
            files.append(path)
    stages: list[StageResult] = []
    for path in files:
        stage = re.sub(r"^\d+-", "", path.stem)  # release/reports/4-scan-tools.json: scan-tools
        if not path.exists() and not path.is_symlink():
            stages.append(StageResult(stage=stage, error=f"report {path} is missing: the stage did not run"))
            continue
        text = read_bounded(path, what="report")  # a FIFO, a device, a huge file: exit 2, named
        try:
            data = jsonsafe.loads(text, where=str(path), what="report")
            stages += [stage_from_dict(s) for s in data["stages"]]
        except jsonsafe.LimitError:
            raise
        except (ConfigError, ValueError, KeyError, TypeError, AttributeError) as exc:
            stages.append(StageResult(stage=stage, error=f"report {path} is unreadable: {exc}"))
    return Report(stages=stages)
