"""One suppression model for every stage: the policy's top-level `suppress:` list.

An entry names a rule (an id or a glob such as `MH-TLS-*`), optionally where (a glob over the finding's file,
URL, tool, package or field), a reason (required) and an expiry. A suppressed finding stays in the report with
its reason and does not fail the run. An expired entry no longer applies and is itself a finding; an entry
that matched nothing, in a run whose stages could report its rule, is reported as unused, so suppressions do
not outlive what they were written for.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Sequence
from typing import Protocol

from pipeline.findings import Finding, Location, Report, Severity, StageResult
from pipeline.rules.registry import declare

STAGE = "policy"

SUPPRESSION_EXPIRED = declare(
    "MH-POLICY-SUPPRESSION-EXPIRED",
    name="suppression-expired",
    stage="policy",
    severity=Severity.MEDIUM,
    summary="A suppression in the policy has expired: the findings it covered count again.",
    fix="Fix what it suppressed, or renew it with a new reason and expiry.",
)
SUPPRESSION_UNUSED = declare(
    "MH-POLICY-SUPPRESSION-UNUSED",
    name="suppression-unused",
    stage="policy",
    severity=Severity.LOW,
    summary="A suppression in the policy matched no finding in a run that checked its rule.",
    fix="Remove it: a suppression that matches nothing would silently hide a future finding.",
)


class SuppressionEntry(Protocol):
    """What `pipeline.config.Suppression` provides (kept as a protocol so this module needs no policy)."""

    rule: str
    reason: str
    where: str | None
    expires: dt.date | None


def places(finding: Finding) -> set[str]:
    """The names a `where` glob is matched against: file, URL, logical location and the identifying
    properties (tool, server, field, package) a stage sets."""
    loc = finding.location
    props = finding.properties
    names = {loc.path or "", loc.url or "", loc.logical or "", str(loc)}
    for key in ("entry", "server", "field", "source", "package", "purl", "id"):
        value = props.get(key)
        if isinstance(value, str):
            names.add(value)
    if isinstance(props.get("server"), str) and isinstance(props.get("entry"), str):
        names.add(f"{props['server']}:{props['entry']}")
    return names - {""}


def matches(entry: SuppressionEntry, finding: Finding) -> bool:
    if not fnmatch.fnmatchcase(finding.rule_id, entry.rule):
        return False
    if entry.where is None:
        return True
    return any(name == entry.where or fnmatch.fnmatchcase(name, entry.where) for name in places(finding))


def suppress_findings(
    findings: Iterable[Finding], entries: Sequence[SuppressionEntry], *, today: dt.date | None = None
) -> set[int]:
    """Mark each unsuppressed finding the first live entry matches; return the indexes of entries used."""
    today = today or dt.date.today()
    used: set[int] = set()
    live = [(i, e) for i, e in enumerate(entries) if e.expires is None or e.expires >= today]
    for finding in findings:
        if finding.suppressed is not None:
            continue
        for index, entry in live:
            if matches(entry, finding):
                finding.suppressed = entry.reason
                used.add(index)
                break
    return used


def apply_policy_suppressions(
    report: Report, entries: Sequence[SuppressionEntry], *, source: str | None, today: dt.date | None = None
) -> None:
    """Apply the policy's suppressions to a whole report; add a `policy` stage for expired or unused ones."""
    if not entries:
        return
    today = today or dt.date.today()
    used = suppress_findings(report.findings, entries, today=today)
    checked = {rule.id for stage in report.stages if stage.error is None for rule in stage.rules}
    checked |= {f.rule_id for f in report.findings}
    where = source or "mcp-harden.yaml"
    findings: list[Finding] = []
    for index, entry in enumerate(entries):
        location = Location(path=where, logical=f"suppress[{index}] {entry.rule}")
        if entry.expires is not None and entry.expires < today:
            findings.append(
                SUPPRESSION_EXPIRED.finding(
                    f"the suppression of {entry.rule} expired on {entry.expires}",
                    location=location,
                    evidence=f"reason given: {entry.reason}",
                )
            )
        elif index not in used and any(fnmatch.fnmatchcase(rule, entry.rule) for rule in checked):
            findings.append(
                SUPPRESSION_UNUSED.finding(
                    f"the suppression of {entry.rule}"
                    + (f" at {entry.where}" if entry.where else "")
                    + " matched no finding",
                    location=location,
                    evidence=f"reason given: {entry.reason}",
                )
            )
    if findings:
        report.stages.append(
            StageResult(stage=STAGE, findings=findings, rules=[SUPPRESSION_EXPIRED, SUPPRESSION_UNUSED])
        )
