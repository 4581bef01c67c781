"""From pip-audit's answers to findings: severity from the raw OSV record, ignores with a reason and an
expiry, fixed versions, and the VEX entry of each vulnerability."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pipeline.audit.sources import Dependency
from pipeline.audit.vex import fix_text, vex_entry
from pipeline.config import Ignore, Policy
from pipeline.findings import Location, Severity, StageResult
from pipeline.rules import declare

AUDIT_VULN = declare(
    "MH-AUDIT-VULN",
    name="known-vulnerability",
    stage="audit",
    severity=Severity.CRITICAL,
    summary="A resolved dependency has a published vulnerability.",
    fix="Upgrade to a fixed version, or accept it in mcp-harden.yaml under audit.ignore with a reason and an "
    "expiry date.",
)
AUDIT_IGNORE_EXPIRED = declare(
    "MH-AUDIT-IGNORE-EXPIRED",
    name="expired-ignore",
    stage="audit",
    severity=Severity.MEDIUM,
    summary="An ignore in the policy has expired: the vulnerability counts again.",
    fix="Fix the vulnerability, or renew the ignore with a new reason and expiry.",
)
RULES = [AUDIT_VULN, AUDIT_IGNORE_EXPIRED]


def judge(
    answers: list[tuple[Dependency, list[Any]]],
    records: Mapping[str, dict[str, Any]],
    policy: Policy,
    today: dt.date,
    result: StageResult,
    *,
    want_vex: bool = True,
) -> tuple[int, list[dict[str, Any]]]:
    """Add a finding per vulnerability (and per expired ignore) to `result`; return the count and the VEX
    entries (none unless `want_vex`)."""
    from pipeline.audit.severity import record_severity

    settings = policy.audit
    used: set[int] = set()
    vex: list[dict[str, Any]] = []
    count = 0
    for dep, vulns in answers:
        for vuln in vulns:
            count += 1
            ids = {vuln.id, *vuln.aliases}
            raw = next((records[i] for i in [vuln.id, *sorted(vuln.aliases)] if i in records), {})
            severity, how = record_severity(raw)
            if severity is None:
                severity, how = (
                    settings.unknown_severity,
                    f"{how}: counted as {settings.unknown_severity.value}",
                )
            aliases = sorted(vuln.aliases)
            fixes = vuln.fix_versions or (_fixes_from_record(raw, dep.name) if raw else [])
            ignore = _matching_ignore(ids, dep.name, settings.ignore)
            suppressed = None
            if ignore is not None:
                used.add(id(ignore))
                if ignore.expires is not None and ignore.expires < today:
                    result.add(
                        AUDIT_IGNORE_EXPIRED.finding(
                            f"the ignore of {ignore.id} expired on {ignore.expires}: {vuln.id} counts again",
                            location=Location(
                                path=policy.source or "mcp-harden.yaml", logical=f"audit.ignore {ignore.id}"
                            ),
                            evidence=f"reason given: {ignore.reason}",
                        )
                    )
                    ignore = None
                else:
                    suppressed = ignore.reason
            title = f"{dep.name} {dep.version}: {vuln.id}" + (f" ({', '.join(aliases)})" if aliases else "")
            title += f": {vuln.description[:140]}"
            result.add(
                AUDIT_VULN.finding(
                    title,
                    severity=severity,
                    location=dep.location,
                    evidence=f"severity from {how}",
                    fix=fix_text(dep.version, fixes),
                    references=[f"https://osv.dev/vulnerability/{vuln.id}"],
                    suppressed=suppressed,
                    properties={
                        "id": vuln.id,
                        "aliases": aliases,
                        "package": dep.name,
                        "version": dep.version,
                        "purl": dep.purl,
                        "fix_versions": [str(v) for v in fixes],
                    },
                )
            )
            if want_vex:
                vex.append(vex_entry(vuln, raw, dep, severity, ignore, suppressed, fixes))
    for ignore in settings.ignore:
        if id(ignore) not in used:
            result.notes.append(f"ignore {ignore.id} matched nothing: remove it if the dependency is gone")
    return count, vex


def _matching_ignore(ids: set[str], package: str, ignores: list[Ignore]) -> Ignore | None:
    upper = {i.upper() for i in ids}
    for ignore in ignores:
        if ignore.id.upper() in upper and (
            ignore.package is None or ignore.package.lower() == package.lower()
        ):
            return ignore
    return None


def _fixes_from_record(raw: dict[str, Any], package: str) -> list[Any]:
    """Fixed versions read from the record itself. pip-audit compares the record's package name to the
    canonical name literally, so a record naming `Other_Lib` loses its fixes there."""
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    fixes = set()
    for affected in raw.get("affected", []):
        if canonicalize_name(affected.get("package", {}).get("name", "")) != canonicalize_name(package):
            continue
        for rng in affected.get("ranges", []):
            for event in rng.get("events", []) if rng.get("type") == "ECOSYSTEM" else []:
                if "fixed" in event:
                    try:
                        fixes.add(Version(str(event["fixed"])))
                    except InvalidVersion:
                        continue
    return sorted(fixes)
