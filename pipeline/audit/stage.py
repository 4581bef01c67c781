"""The audit stage: a dependency source, a vulnerability service, every dependency queried, then judged.

Fail closed: a dependency that was not audited (unreachable service, a 404 that pip-audit would skip, an
unpinned requirement, an unreadable version) makes the stage "could not check" (exit 3), never a pass.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pipeline.audit.judge import RULES, judge
from pipeline.audit.services import OpenService, open_service
from pipeline.audit.sources import Dependency, DependencySource, RequirementsSource, SbomSource
from pipeline.audit.vex import write_vex
from pipeline.config import Policy
from pipeline.errors import CheckError, ConfigError
from pipeline.findings import StageResult


def run_audit(
    *,
    policy: Policy,
    sbom: Path | None = None,
    requirements: Path | None = None,
    offline_db: Path | None = None,
    osv_url: str | None = None,
    vex_output: Path | None = None,
    today: dt.date | None = None,
) -> StageResult:
    result = StageResult(stage="audit", rules=RULES)
    source: DependencySource
    if sbom is not None:
        source = SbomSource(sbom)
    elif requirements is not None:
        source = RequirementsSource(requirements)
    else:
        raise ConfigError("give --sbom FILE or --requirements FILE")
    try:
        deps = source.collect()
        chosen = open_service(policy, offline_db, osv_url)
        result.notes += chosen.notes
        answers = query_all(chosen, deps, source.where)
    except CheckError as exc:
        result.error = str(exc)
        return result
    count, vex = judge(
        answers, chosen.records, policy, today or dt.date.today(), result, want_vex=vex_output is not None
    )
    result.summary = {
        "dependencies_audited": len(answers),
        "vulnerabilities": count,
        "ignored": sum(1 for f in result.findings if f.suppressed is not None),
        "data": chosen.where,
    }
    if vex_output is not None:
        write_vex(vex_output, source.document, vex, result)
    return result


def query_all(chosen: OpenService, deps: list[Dependency], source: str) -> list[tuple[Dependency, list[Any]]]:
    """Every dependency's vulnerabilities; any one that could not be queried stops the audit (CheckError)."""
    from packaging.version import InvalidVersion, Version

    from pipeline._compat import pip_audit_interface

    resolved = pip_audit_interface().ResolvedDependency
    service, where = chosen.service, chosen.where
    answers: list[tuple[Dependency, list[Any]]] = []
    for dep in deps:
        try:
            spec = resolved(name=dep.name, version=Version(dep.version))
        except InvalidVersion:
            raise CheckError(
                f"{dep.name} has a version pip-audit cannot read: {dep.version}", where=source
            ) from None
        try:
            answered, vulns = service.query(spec)
        except InvalidVersion as exc:
            raise CheckError(
                f"could not audit {dep.name}=={dep.version}: {where} answered with a record pip-audit cannot read "
                f"({exc}); nothing was checked for it"
            ) from None
        except chosen.errors as exc:
            raise CheckError(
                f"could not audit {dep.name}=={dep.version}: {where} {_why(exc)}; without vulnerability "
                "data nothing was checked. For air-gapped builds pass --offline-db PATH (a folder or zip of "
                "OSV records; see `mcp-harden vulndb`)"
            ) from None
        if answered.is_skipped():
            raise CheckError(
                f"{where} could not audit {dep.name}=={dep.version}: {getattr(answered, 'skip_reason', 'skipped')}"
            )
        answers.append((dep, vulns))
    return answers


def _why(exc: BaseException) -> str:
    """What went wrong with a vulnerability service, in a few words."""
    cause = exc.__cause__ or exc
    response = getattr(cause, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"answered HTTP {response.status_code}"
    text = str(cause)
    for marker, words in (
        ("NameResolution", "is unreachable (its host name does not resolve)"),
        ("Connection refused", "refused the connection"),
        ("timed out", "timed out"),
        ("Timeout", "timed out"),
    ):
        if marker in text or marker in type(cause).__name__:
            return words
    return f"failed ({type(cause).__name__})"
