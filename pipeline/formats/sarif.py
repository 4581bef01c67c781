"""SARIF 2.1.0 for GitHub code scanning: one run, one rule per rule id, one result per finding.

GitHub orders alerts by `properties.security-severity` (a CVSS-like number) and needs a physical location
on every result, so findings about packages or endpoints point at the file they came from, or the policy file.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.findings import Finding, Report, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/mcp-harden/mcp-harden"
ZIZMOR_AUDITS = "https://docs.zizmor.sh/audits/"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}


def _location(f: Finding) -> dict[str, Any]:
    loc = f.location
    uri = loc.path or loc.url or "mcp-harden.yaml"
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if loc.line:
        region: dict[str, Any] = {"startLine": loc.line}
        if loc.column:
            region["startColumn"] = loc.column
        if loc.end_line:
            region["endLine"] = loc.end_line
        if loc.end_column:
            region["endColumn"] = loc.end_column
        physical["region"] = region
    out: dict[str, Any] = {"physicalLocation": physical}
    if loc.logical:
        out["logicalLocations"] = [{"fullyQualifiedName": loc.logical}]
    return out


def _message(f: Finding) -> str:
    text = f.title
    if f.evidence:
        text += f"\n\nEvidence: {f.evidence}"
    if f.fix:
        text += f"\n\nFix: {f.fix}"
    return text


def _rule(f: Finding) -> dict[str, Any]:
    """SARIF's rule object: from the registry (help page, help text) for mcp-harden's rules, zizmor's audit
    page for zizmor's; a rule this version does not know still links to the rules page."""
    from pipeline.rules import DOCS_URL, lookup
    from pipeline.rules.docs import explain

    known = lookup(f.rule_id)
    rule: dict[str, Any] = {
        "id": f.rule_id,
        "name": known.name if known else f.rule_id.replace("/", "-"),
        "shortDescription": {"text": known.summary if known else f.title},
        "defaultConfiguration": {"level": _LEVEL[known.severity if known else f.severity]},
        "properties": {
            "tags": ["security", f.stage or "mcp-harden"],
            "security-severity": _SECURITY_SEVERITY[known.severity if known else f.severity],
        },
    }
    if known:
        text = explain(known)
        rule["help"] = {"text": text, "markdown": text}
        rule["helpUri"] = known.help_uri
    elif f.rule_id.startswith("zizmor/"):
        rule["helpUri"] = f"{ZIZMOR_AUDITS}#{f.rule_id.removeprefix('zizmor/')}"
    else:
        rule["helpUri"] = DOCS_URL
    return rule


def render_sarif(report: Report) -> str:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report.findings:
        if f.rule_id not in rules:
            rules[f.rule_id] = _rule(f)
        result: dict[str, Any] = {
            "ruleId": f.rule_id,
            "ruleIndex": list(rules).index(f.rule_id),
            "level": _LEVEL[f.severity],
            "message": {"text": _message(f)},
            "locations": [_location(f)],
            "partialFingerprints": {"mcpHarden/v1": f.fingerprint},
            "properties": {
                "severity": f.severity.value,
                "stage": f.stage,
                "security-severity": _SECURITY_SEVERITY[f.severity],
            },
        }
        if f.references:
            result["properties"]["references"] = list(f.references)
        if f.suppressed is not None:
            result["suppressions"] = [{"kind": "external", "justification": f.suppressed}]
        results.append(result)
    notifications = [
        {"level": "error", "message": {"text": f"{s.stage}: could not check: {s.error}"}}
        for s in report.stages
        if s.error is not None
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    sarif = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mcp-harden",
                        "version": report.tool_version or "0",
                        "informationUri": INFO_URI,
                        "rules": list(rules.values()),
                    }
                },
                "invocations": [invocation],
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2) + "\n"
