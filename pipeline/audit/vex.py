"""VEX: the SBOM with its vulnerabilities and their analysis (CycloneDX 1.6), joined to components by
bom-ref; an accepted vulnerability carries the policy's analysis and reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.audit.sources import Dependency
from pipeline.config import Ignore
from pipeline.findings import Severity, StageResult


def fix_text(version: str, fixes: list[Any]) -> str:
    from packaging.version import Version

    current = Version(version)
    newer = sorted(v for v in fixes if v > current)
    if newer:
        return f"upgrade to {newer[0]} or later" + (
            f" (fixed in: {', '.join(map(str, fixes))})" if len(fixes) > 1 else ""
        )
    return (
        "no fixed version is published: remove the dependency, or accept the risk in audit.ignore with a "
        "reason and an expiry"
    )


_STATES = {
    "not_affected": ("not_affected", []),
    "false_positive": ("false_positive", []),
    "will_not_fix": ("exploitable", ["will_not_fix"]),
    "workaround_available": ("exploitable", ["workaround_available"]),
}


def vex_entry(
    vuln: Any,
    raw: dict[str, Any],
    dep: Dependency,
    severity: Severity,
    ignore: Ignore | None,
    suppressed: str | None,
    fixes: list[Any],
) -> dict[str, Any]:
    ratings = []
    for rating in raw.get("severity") or []:
        if str(rating.get("type", "")).startswith("CVSS_V3"):
            from pipeline.audit.severity import cvss3_base_score

            score = cvss3_base_score(str(rating.get("score", "")))
            if score is not None:
                method = "CVSSv31" if "CVSS:3.1" in rating["score"] else "CVSSv3"
                ratings.append(
                    {"score": score, "severity": severity.value, "method": method, "vector": rating["score"]}
                )
    if not ratings:
        ratings.append({"severity": "unknown", "method": "other"})
    entry: dict[str, Any] = {
        "bom-ref": f"{vuln.id}@{dep.purl}",
        "id": vuln.id,
        "source": {"name": "OSV", "url": f"https://osv.dev/vulnerability/{vuln.id}"},
        "references": [
            {"id": a, "source": {"name": "OSV", "url": f"https://osv.dev/vulnerability/{a}"}}
            for a in sorted(vuln.aliases)
        ],
        "ratings": ratings,
        "description": vuln.description[:2000],
        "recommendation": fix_text(dep.version, fixes),
        "affects": [{"ref": dep.bom_ref or dep.purl}],
    }
    if ignore is not None and suppressed is not None:
        state, responses = _STATES[ignore.analysis]
        analysis: dict[str, Any] = {"state": state, "detail": suppressed}
        if responses:
            analysis["response"] = responses
        entry["analysis"] = analysis
    else:
        entry["analysis"] = {"state": "in_triage", "response": ["update"] if fixes else []}
        if not entry["analysis"]["response"]:
            del entry["analysis"]["response"]
    return entry


def write_vex(
    path: Path, document: dict[str, Any] | None, vex: list[dict[str, Any]], result: StageResult
) -> None:
    """The SBOM with its vulnerabilities and their analysis: results joined to components by bom-ref."""
    from pipeline.fileio import write_atomic
    from pipeline.sbom.validate import schema_errors

    if document is None:
        result.notes.append("no VEX written: the audit input was a requirements file, not an SBOM")
        return
    out = dict(document)
    out["vulnerabilities"] = vex
    errors = schema_errors(out)
    if errors:
        result.error = f"the SBOM with vulnerabilities does not validate: {errors[0]}"
        return
    write_atomic(path, json.dumps(out, indent=2) + "\n")
    result.outputs.append(str(path))
