"""mcp-harden's own rules for GitHub Actions workflows and composite actions.

They add to zizmor what a release pipeline needs held strictly: every `uses:` pinned by full commit SHA with a
`# vX.Y.Z` comment (and no placeholder SHA left in a copied template), `permissions: {}` at the top, the OIDC
token only in a job that runs neither the project's code nor third-party actions, no `${{ }}` inside `run:`,
`persist-credentials: false`, no `secrets: inherit`, a concurrency group.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.findings import Finding, Location, Severity
from pipeline.rules import Rule, declare
from pipeline.workflows.yamlmap import YList, YMap, line_of

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
VERSION_COMMENT_RE = re.compile(r"#\s*v?\d+(\.\d+)*\b")
EXPR_RE = re.compile(r"\$\{\{")
FIRST_PARTY_OWNERS = ("actions", "github")
# Third-party actions whose purpose is to use the OIDC token: allowed in the job that holds it.
OIDC_CONSUMERS = ("pypa/gh-action-pypi-publish", "sigstore/gh-action-sigstore-python")
# Commands that run the project's own code (or its unpinned dependencies) in the job.
UNTRUSTED_COMMANDS = (
    (re.compile(r"\bpip3?\s+install\b[^\n;&|]*?\s(-e\s+)?\.(\[[^\]]*\])?(\s|$)"), "installs the project"),
    (
        re.compile(
            r"(?m)^(?![^\n]*--require-hashes)[^\n]*\bpip3?\s+install\b[^\n;&|]*\s(-r|--requirement)\s"
        ),
        "installs a requirements file without --require-hashes",
    ),
    (re.compile(r"\b(python3?\s+-m\s+build|setup\.py|hatch\s+build|poetry\s+build|uv\s+build)\b"), "builds"),
    (re.compile(r"\b(pytest|tox|nox)\b"), "runs the test suite"),
    (re.compile(r"\b(npm|pnpm|yarn)\s+(install|ci|run|test|exec)\b|\bnpx\s"), "runs package scripts"),
    (re.compile(r"(^|[;&|]\s*|\n\s*)make\b"), "runs make"),
    (re.compile(r"(^|[;&|]\s*|\n\s*)(\./[\w./-]+|(ba|z)?sh\s+[\w./-]+\.sh)\b"), "runs a repository script"),
)

UNPINNED = declare(
    "MH-WF-UNPINNED",
    name="unpinned-uses",
    stage="lint-workflows",
    severity=Severity.HIGH,
    summary="An action, reusable workflow or container is not pinned to a full commit SHA (or image digest).",
    standard="https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#using-third-party-actions",
    fix="Pin the 40-hex commit SHA and name the version in a comment: @SHA # vX.Y.Z.",
    references=("https://docs.zizmor.sh/audits/#unpinned-uses",),
)

PIN_COMMENT = declare(
    "MH-WF-PIN-COMMENT",
    name="pin-comment",
    stage="lint-workflows",
    severity=Severity.LOW,
    summary="A SHA-pinned `uses:` has no `# vX.Y.Z` comment naming the release it is.",
    standard="https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#using-third-party-actions",
    fix="Add the tag the SHA belongs to: @SHA # vX.Y.Z.",
)

PLACEHOLDER = declare(
    "MH-WF-PLACEHOLDER",
    name="placeholder-pin",
    stage="lint-workflows",
    severity=Severity.HIGH,
    summary="A `uses:` is pinned to a placeholder SHA (all one digit): a copied template was never filled in.",
    fix="Replace it with the commit SHA of the release you use.",
)

TOP_PERMISSIONS = declare(
    "MH-WF-TOP-PERMISSIONS",
    name="top-permissions",
    stage="lint-workflows",
    severity=Severity.MEDIUM,
    summary="The workflow does not set `permissions: {}` at the top.",
    standard="https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#permissions",
    fix="Set `permissions: {}` at the top and grant each job only what it needs.",
    references=("https://docs.zizmor.sh/audits/#excessive-permissions",),
)

BROAD_PERMISSIONS = declare(
    "MH-WF-BROAD-PERMISSIONS",
    name="broad-permissions",
    stage="lint-workflows",
    severity=Severity.MEDIUM,
    summary="A job grants read-all or write-all.",
    standard="https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#permissions",
    fix="List the scopes the job needs, each with the least level.",
    references=("https://docs.zizmor.sh/audits/#excessive-permissions",),
)

OIDC_TOP = declare(
    "MH-WF-OIDC-TOP",
    name="oidc-workflow-level",
    stage="lint-workflows",
    severity=Severity.HIGH,
    summary="`id-token: write` is granted to every job of the workflow.",
    standard="https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect",
    fix="Grant id-token: write only on the job that signs or publishes.",
    references=("https://docs.zizmor.sh/audits/#excessive-permissions",),
)

OIDC_UNTRUSTED = declare(
    "MH-WF-OIDC-UNTRUSTED",
    name="oidc-untrusted",
    stage="lint-workflows",
    severity=Severity.HIGH,
    summary="A job holding `id-token: write` also runs third-party actions or the project's code.",
    standard="https://slsa.dev/spec/v1.0/requirements#isolated",
    fix="Move building, testing and third-party actions to a job without id-token; pass only files checked by digest to the signing job.",
)

EXPR_IN_RUN = declare(
    "MH-WF-EXPR-IN-RUN",
    name="expression-in-run",
    stage="lint-workflows",
    severity=Severity.MEDIUM,
    summary="`${{ }}` is expanded inside a `run:` script.",
    standard="https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#understanding-the-risk-of-script-injections",
    fix="Pass the value through env: and use the shell variable.",
    references=("https://docs.zizmor.sh/audits/#template-injection",),
)

PERSIST_CREDENTIALS = declare(
    "MH-WF-PERSIST-CREDENTIALS",
    name="persist-credentials",
    stage="lint-workflows",
    severity=Severity.MEDIUM,
    summary="actions/checkout keeps the token in .git/config.",
    standard="https://github.com/actions/checkout#usage",
    fix="Set `persist-credentials: false`.",
    references=("https://docs.zizmor.sh/audits/#artipacked",),
)

SECRETS_INHERIT = declare(
    "MH-WF-SECRETS-INHERIT",
    name="secrets-inherit",
    stage="lint-workflows",
    severity=Severity.MEDIUM,
    summary="A reusable workflow call passes every secret.",
    standard="https://docs.github.com/en/actions/sharing-automations/reusing-workflows#passing-inputs-and-secrets-to-a-reusable-workflow",
    fix="Pass only the secrets the called workflow declares.",
    references=("https://docs.zizmor.sh/audits/#secrets-inherit",),
)

CONCURRENCY = declare(
    "MH-WF-CONCURRENCY",
    name="concurrency",
    stage="lint-workflows",
    severity=Severity.LOW,
    summary="The workflow has no concurrency group.",
    standard="https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/control-the-concurrency-of-workflows-and-jobs",
    fix="Add `concurrency: {group: NAME-${{ github.ref }}, cancel-in-progress: ...}`.",
    references=("https://docs.zizmor.sh/audits/#concurrency-limits",),
)

SECURITY_EVENTS = declare(
    "MH-WF-SECURITY-EVENTS",
    name="security-events-unused",
    stage="lint-workflows",
    severity=Severity.LOW,
    summary="`security-events: write` on a job that does not upload SARIF.",
    fix="Grant security-events: write only to the job that runs upload-sarif.",
    references=("https://docs.zizmor.sh/audits/#excessive-permissions",),
)

YAML = declare(
    "MH-WF-YAML",
    name="invalid-yaml",
    stage="lint-workflows",
    severity=Severity.HIGH,
    summary="The file is not valid YAML or not a workflow/action mapping.",
    standard="https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions",
    fix="Fix the YAML; a file GitHub cannot read is a workflow nobody reviewed.",
)

RULES = [
    UNPINNED,
    PIN_COMMENT,
    PLACEHOLDER,
    TOP_PERMISSIONS,
    BROAD_PERMISSIONS,
    OIDC_TOP,
    OIDC_UNTRUSTED,
    EXPR_IN_RUN,
    PERSIST_CREDENTIALS,
    SECRETS_INHERIT,
    CONCURRENCY,
    SECURITY_EVENTS,
    YAML,
]

RULE_IDS = {rule.id for rule in RULES}
# The zizmor audit each rule tightens (the same stage runs zizmor): one mistake is reported once.

TIGHTENS = {
    UNPINNED.id: "unpinned-uses",
    TOP_PERMISSIONS.id: "excessive-permissions",
    BROAD_PERMISSIONS.id: "excessive-permissions",
    OIDC_TOP.id: "excessive-permissions",
    EXPR_IN_RUN.id: "template-injection",
    PERSIST_CREDENTIALS.id: "artipacked",
    SECRETS_INHERIT.id: "secrets-inherit",
    CONCURRENCY.id: "concurrency-limits",
    SECURITY_EVENTS.id: "excessive-permissions",
}


@dataclass
class Document:
    """One workflow or action file, parsed with line numbers."""

    path: Path
    kind: str  # "workflow" or "action"
    data: YMap
    lines: list[str] = field(default_factory=list)

    def location(self, line: int, what: str) -> Location:
        return Location(path=str(self.path), line=line or None, logical=what)


@dataclass
class Step:
    step: YMap
    index: int
    steps: YList
    job: str | None  # None for a composite action


def _finding(rule: Rule, severity: Severity, title: str, loc: Location, fix: str = "") -> Finding:
    finding = rule.finding(title, severity=severity, location=loc, fix=fix or None)
    finding.stage = "workflows"
    return finding


def iter_steps(doc: Document) -> Iterator[Step]:
    """Every step: each job's steps in a workflow, runs.steps in a composite action."""
    if doc.kind == "action":
        runs = doc.data.get("runs")
        steps = runs.get("steps") if isinstance(runs, YMap) else None
        if isinstance(steps, YList):
            for i, step in enumerate(steps):
                if isinstance(step, YMap):
                    yield Step(step, i, steps, None)
        return
    for name, job in _jobs(doc):
        steps = job.get("steps")
        if isinstance(steps, YList):
            for i, step in enumerate(steps):
                if isinstance(step, YMap):
                    yield Step(step, i, steps, str(name))


def _jobs(doc: Document) -> Iterator[tuple[str, YMap]]:
    jobs = doc.data.get("jobs")
    if isinstance(jobs, YMap):
        for name, job in jobs.items():
            if isinstance(job, YMap):
                yield str(name), job


def _where(step: Step) -> str:
    name = step.step.get("name") or step.step.get("uses") or f"step {step.index + 1}"
    return f"job {step.job}, step {name!r}" if step.job else f"step {name!r}"


def check_uses(doc: Document) -> list[Finding]:
    """Pinning: a full SHA, a version comment, no placeholder."""
    found: list[Finding] = []
    refs: list[tuple[str, int, str]] = []
    for step in iter_steps(doc):
        if isinstance(step.step.get("uses"), str):
            refs.append((step.step["uses"], line_of(step.step, "uses"), _where(step)))
    for name, job in _jobs(doc):
        if isinstance(job.get("uses"), str):
            refs.append((job["uses"], line_of(job, "uses"), f"job {name}"))
    for ref, line, what in refs:
        ref = ref.strip()
        if ref.startswith("./") or ref.startswith("$/"):
            continue  # this repository, at this commit
        loc = doc.location(line, what)
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                found.append(
                    _finding(
                        UNPINNED,
                        Severity.HIGH,
                        f"container {ref} is not pinned by digest",
                        loc,
                        "pin it as docker://IMAGE@sha256:DIGEST",
                    )
                )
            continue
        target, _, version = ref.partition("@")
        if not SHA_RE.match(version):
            found.append(
                _finding(
                    UNPINNED,
                    Severity.HIGH,
                    f"{target} is used at {version or 'no ref'!r}, not a full commit SHA",
                    loc,
                    "pin the 40-hex commit SHA and name the version in a comment: @SHA # vX.Y.Z",
                )
            )
            continue
        if len(set(version)) == 1:
            found.append(
                _finding(
                    PLACEHOLDER,
                    Severity.HIGH,
                    f"{target} is pinned to the placeholder {version[:7]}…: the template's SHA was never filled in",
                    loc,
                    "replace it with the commit SHA of the release you use",
                )
            )
            continue
        text = doc.lines[line - 1] if 0 < line <= len(doc.lines) else ""
        comment = text.split("#", 1)[1] if "#" in text else ""
        if not VERSION_COMMENT_RE.search("#" + comment):
            found.append(
                _finding(
                    PIN_COMMENT,
                    Severity.LOW,
                    f"{target}@{version[:12]}… has no version comment",
                    loc,
                    "add the tag the SHA belongs to: @SHA # vX.Y.Z",
                )
            )
    return found


def _permissions(value: Any) -> dict[str, str]:
    """A permissions block as {scope: level}; read-all/write-all spread over a wildcard."""
    if isinstance(value, str):
        return {"*": value.split("-", 1)[0]}
    if isinstance(value, YMap):
        return {str(k): str(v) for k, v in value.items()}
    return {}


def check_permissions(doc: Document, *, oidc_consumers: tuple[str, ...]) -> list[Finding]:
    """`permissions: {}` on top; no broad grants; OIDC only in a clean job; security-events only to upload."""
    if doc.kind != "workflow":
        return []
    found: list[Finding] = []
    top = doc.data.get("permissions", None)
    has_top = "permissions" in doc.data
    top_line = line_of(doc.data, "permissions", 1)
    if not has_top or not (isinstance(top, YMap) and not top):
        found.append(
            _finding(
                TOP_PERMISSIONS,
                Severity.MEDIUM,
                "the workflow does not set `permissions: {}` at the top"
                + ("" if has_top else " (every job gets the repository's default token permissions)"),
                doc.location(top_line if has_top else 1, "workflow"),
                "set `permissions: {}` at the top and grant each job only what it needs",
            )
        )
    top_perms = _permissions(top) if has_top else {}  # the default token never holds id-token
    if top_perms.get("id-token") == "write" or top_perms.get("*") == "write":
        found.append(
            _finding(
                OIDC_TOP,
                Severity.HIGH,
                "`id-token: write` is granted at the workflow level, so every job can mint an OIDC token",
                doc.location(top_line, "workflow"),
                "grant id-token: write only on the job that signs or publishes",
            )
        )
    for name, job in _jobs(doc):
        perms_value = job.get("permissions")
        line = line_of(job, "permissions")
        if isinstance(perms_value, str) and perms_value in ("read-all", "write-all"):
            found.append(
                _finding(
                    BROAD_PERMISSIONS,
                    Severity.MEDIUM,
                    f"job {name} grants {perms_value}",
                    doc.location(line, f"job {name}"),
                    "list the scopes the job needs, each with the least level",
                )
            )
        perms = _permissions(perms_value) if "permissions" in job else top_perms
        if isinstance(job.get("uses"), str):
            continue  # a reusable workflow call: a ceiling; the called jobs decide
        if perms.get("id-token") == "write" or perms.get("*") == "write":
            for why in _untrusted(job, oidc_consumers):
                found.append(
                    _finding(
                        OIDC_UNTRUSTED,
                        Severity.HIGH,
                        f"job {name} holds id-token: write and {why}",
                        doc.location(line, f"job {name}"),
                        "move building, testing and third-party actions to a job without id-token; pass "
                        "only files checked by digest to the signing job",
                    )
                )
        if perms.get("security-events") == "write" and not _uploads_sarif(job):
            found.append(
                _finding(
                    SECURITY_EVENTS,
                    Severity.LOW,
                    f"job {name} has security-events: write but uploads no SARIF",
                    doc.location(line, f"job {name}"),
                    "grant security-events: write only to the job that runs upload-sarif",
                )
            )
    return found


def _uploads_sarif(job: YMap) -> bool:
    steps = job.get("steps")
    if not isinstance(steps, YList):
        return False
    return any(
        isinstance(s, YMap) and str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")
        for s in steps
    )


def _untrusted(job: YMap, oidc_consumers: tuple[str, ...]) -> list[str]:
    """What in this job is not the signing itself: third-party actions, the project's code."""
    reasons: list[str] = []
    steps = job.get("steps")
    if not isinstance(steps, YList):
        return reasons
    for step in steps:
        if not isinstance(step, YMap):
            continue
        uses = step.get("uses")
        if isinstance(uses, str) and not uses.startswith(("./", "$/", "docker://")):
            target = uses.split("@", 1)[0]
            owner_repo = "/".join(target.split("/")[:2])
            if target.split("/")[0] not in FIRST_PARTY_OWNERS and owner_repo not in oidc_consumers:
                reasons.append(f"runs the third-party action {target}")
        run = step.get("run")
        if isinstance(run, str):
            for pattern, what in UNTRUSTED_COMMANDS:
                if pattern.search(run):
                    reasons.append(f"{what} (step {step.get('name') or run.splitlines()[0][:40]!r})")
                    break
    return reasons


def check_steps(doc: Document) -> list[Finding]:
    """Per step: no expression in run:, checkout without persisted credentials."""
    found: list[Finding] = []
    for step in iter_steps(doc):
        run = step.step.get("run")
        if isinstance(run, str) and EXPR_RE.search(run):
            found.append(
                _finding(
                    EXPR_IN_RUN,
                    Severity.MEDIUM,
                    f"{_where(step)} expands ${{{{ }}}} inside run:",
                    doc.location(line_of(step.step, "run"), _where(step)),
                    "pass the value through env: and use the shell variable",
                )
            )
        uses = step.step.get("uses")
        if isinstance(uses, str) and uses.split("@", 1)[0] == "actions/checkout":
            with_ = step.step.get("with")
            persist = with_.get("persist-credentials") if isinstance(with_, YMap) else None
            if persist is not False and str(persist).lower() != "false":
                found.append(
                    _finding(
                        PERSIST_CREDENTIALS,
                        Severity.MEDIUM,
                        f"{_where(step)} leaves the token in .git/config",
                        doc.location(line_of(step.step, "uses"), _where(step)),
                        "set `persist-credentials: false`",
                    )
                )
    return found


def check_workflow(doc: Document) -> list[Finding]:
    """Workflow-wide: a concurrency group, no `secrets: inherit`."""
    if doc.kind != "workflow":
        return []
    found: list[Finding] = []
    if "concurrency" not in doc.data:
        found.append(
            _finding(
                CONCURRENCY,
                Severity.LOW,
                "the workflow has no concurrency group",
                doc.location(1, "workflow"),
                "add `concurrency: {group: NAME-${{ github.ref }}, cancel-in-progress: ...}`",
            )
        )
    for name, job in _jobs(doc):
        if job.get("secrets") == "inherit":
            found.append(
                _finding(
                    SECRETS_INHERIT,
                    Severity.MEDIUM,
                    f"job {name} passes every secret to {job.get('uses')}",
                    doc.location(line_of(job, "secrets"), f"job {name}"),
                    "pass only the secrets the called workflow declares",
                )
            )
    return found


def check(doc: Document, *, oidc_consumers: tuple[str, ...] = OIDC_CONSUMERS) -> list[Finding]:
    """Every rule on one document."""
    return [
        *check_uses(doc),
        *check_permissions(doc, oidc_consumers=oidc_consumers),
        *check_steps(doc),
        *check_workflow(doc),
    ]
