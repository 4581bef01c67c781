"""Dependency audit stage: pip-audit's vulnerability services on exactly the SBOM's resolved set.

Fail closed: a dependency that was not audited (unreachable service, a 404 that pip-audit would skip, an
unpinned requirement) makes the stage "could not check" (exit 3), never a pass.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import AuditSection, Ignore, Policy
from pipeline.errors import CheckError, ConfigError
from pipeline.findings import Location, Severity, StageResult
from pipeline.rules import declare

if TYPE_CHECKING:
    from pipeline.audit.osvdb import OsvDatabase

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


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str
    purl: str
    bom_ref: str | None
    location: Location


def deps_from_sbom(path: Path) -> tuple[list[Dependency], dict[str, Any]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("SBOM not found", where=str(path)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"not a readable JSON SBOM: {exc}", where=str(path)) from None
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise ConfigError("not a CycloneDX JSON SBOM (bomFormat is not CycloneDX)", where=str(path))
    from packageurl import PackageURL

    root = (document.get("metadata") or {}).get("component")
    deps, unauditable = [], []
    for component in ([root] if root else []) + list(document.get("components") or []):
        purl_text = component.get("purl")
        label = f"{component.get('name')}=={component.get('version')}"
        if not purl_text:
            unauditable.append(f"{label} (no purl)")
            continue
        try:
            purl = PackageURL.from_string(purl_text)
        except ValueError:
            unauditable.append(f"{label} (bad purl {purl_text})")
            continue
        if purl.type != "pypi":
            continue  # not a Python package: out of pip-audit's reach, said in the summary
        if not purl.version:
            unauditable.append(f"{label} (no version)")
            continue
        deps.append(
            Dependency(
                purl.name,
                purl.version,
                purl_text,
                component.get("bom-ref"),
                Location(path=str(path), logical=f"package {purl.name}=={purl.version}"),
            )
        )
    if unauditable:
        raise CheckError(f"components that cannot be audited: {', '.join(unauditable)}", where=str(path))
    return deps, document


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*===?\s*([^\s;\\#]+)")


def deps_from_requirements(path: Path) -> list[Dependency]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError("requirements file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read requirements: {exc}", where=str(path)) from None
    deps, loose = [], []
    for number, line in enumerate(lines, 1):
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-", "--")) or line.startswith((" ", "\t")):
            continue  # comments, options, and hash continuation lines
        match = _PIN.match(text)
        if not match:
            loose.append(f"line {number}: {text}")
            continue
        name, version = match.group(1), match.group(3)
        deps.append(
            Dependency(
                name,
                version,
                f"pkg:pypi/{name.lower()}@{version}",
                None,
                Location(path=str(path), line=number, logical=f"package {name}=={version}"),
            )
        )
    if loose:
        raise CheckError(
            "requirements not pinned with == cannot be audited exactly (lock them, e.g. pip-compile, "
            f"or audit the SBOM): {'; '.join(loose[:5])}",
            where=str(path),
        )
    return deps


class _RecordingSession:
    """Wraps pip-audit's HTTP session to keep the raw OSV answers, whose severities pip-audit drops."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.records: dict[str, dict[str, Any]] = {}

    def post(self, *args: Any, **kwargs: Any) -> Any:
        response = self.inner.post(*args, **kwargs)
        try:
            for vuln in (response.json() or {}).get("vulns", []):
                for name in [vuln["id"], *vuln.get("aliases", [])]:  # pip-audit may pick an alias as the id
                    self.records.setdefault(name, vuln)
        except (ValueError, AttributeError, KeyError, TypeError):
            pass  # pip-audit itself reports a malformed answer
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


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


def _fix_text(version: str, fixes: list[Any]) -> str:
    from packaging.version import Version

    newer = sorted(v for v in fixes if v > Version(version))
    if newer:
        return f"upgrade to {newer[0]} or later" + (
            f" (fixed in: {', '.join(map(str, fixes))})" if len(fixes) > 1 else ""
        )
    return (
        "no fixed version is published: remove the dependency, or accept the risk in audit.ignore with a "
        "reason and an expiry"
    )


def check_db_age(db: OsvDatabase, max_days: int) -> int:
    """The offline database's age in days, or CheckError when it is older than `max_days` or undated.

    Age is measured from the newest `modified` date among the records themselves, never from file times:
    copying, unpacking or touching a stale database does not make it fresh. A newest date more than a day
    ahead of this machine's clock is refused too (a wrong clock or forged dates would hide staleness)."""
    update = f"update it with `mcp-harden vulndb update --offline-db {db.path}`"
    age = db.age_days()
    if age is None:
        raise CheckError(
            f"no record in the offline database has a readable 'modified' date, so its age is unknown; {update}",
            where=str(db.path),
        )
    if age < -1:
        raise CheckError(
            f"the offline database's newest record is dated {db.newest_modified}, {-age} days ahead of this "
            "machine's clock: its dates (or the clock) cannot be trusted to show how fresh it is",
            where=str(db.path),
        )
    if age > max_days:
        raise CheckError(
            f"the offline database is {age} days old (newest record modified {db.newest_modified}; "
            f"audit.max_db_age_days is {max_days}): vulnerabilities published since are not seen; {update}",
            where=str(db.path),
        )
    return max(age, 0)


def run_audit(
    *,
    policy: Policy,
    sbom: Path | None = None,
    requirements: Path | None = None,
    offline_db: Path | None = None,
    vex_output: Path | None = None,
    today: dt.date | None = None,
) -> StageResult:
    from packaging.version import InvalidVersion, Version
    from requests import RequestException

    from pipeline._compat import pip_audit_api

    ResolvedDependency, ServiceError, OsvService, PyPIService = pip_audit_api()

    from pipeline.audit.severity import record_severity

    settings: AuditSection = policy.audit
    today = today or dt.date.today()
    result = StageResult(stage="audit", rules=RULES)
    source = str(sbom or requirements)
    try:
        if sbom is not None:
            deps, document = deps_from_sbom(sbom)
        elif requirements is not None:
            deps, document = deps_from_requirements(requirements), None
        else:
            raise ConfigError("give --sbom FILE or --requirements FILE")
        if offline_db is None and settings.offline_db:
            offline_db = policy.resolve_path(settings.offline_db)
        if offline_db is None and settings.service == "offline":
            raise ConfigError(
                "audit.service is offline but no offline database is given "
                "(--offline-db PATH or audit.offline_db)"
            )
        db = None
        if offline_db is not None:
            from pipeline.audit.osvdb import OsvDatabase
            from pipeline.audit.server import LocalOsvServer

            db = OsvDatabase.open(offline_db)
            age = check_db_age(db, settings.max_db_age_days)
            server = LocalOsvServer(db)
            url = server.__enter__()
            service: Any = OsvService(timeout=int(settings.timeout), osv_url=url)
            where = f"offline database {offline_db} ({db.records} records, newest {db.newest_modified})"
            result.notes.append(
                f"offline database {offline_db}: newest record modified {db.newest_modified} ({age} days ago; "
                f"audit.max_db_age_days is {settings.max_db_age_days})"
            )
        elif settings.service == "pypi":
            server = None
            service = PyPIService(timeout=int(settings.timeout))
            where = "PyPI's JSON API"
        else:
            server = None
            url = settings.osv_url or OsvService.DEFAULT_OSV_URL
            service = OsvService(timeout=int(settings.timeout), osv_url=url)
            where = f"OSV at {url}"
        recorder = _RecordingSession(service.session)
        service.session = recorder
        answers: list[tuple[Dependency, list[Any]]] = []
        try:
            for dep in deps:
                try:
                    spec = ResolvedDependency(name=dep.name, version=Version(dep.version))
                except InvalidVersion:
                    raise CheckError(
                        f"{dep.name} has a version pip-audit cannot read: {dep.version}", where=source
                    ) from None
                try:
                    answered, vulns = service.query(spec)
                except (ServiceError, RequestException) as exc:
                    raise CheckError(
                        f"could not audit {dep.name}=={dep.version}: {where} {_why(exc)}; without vulnerability "
                        "data nothing was checked. For air-gapped builds pass --offline-db PATH (a folder or zip of "
                        "OSV records; see `mcp-harden vulndb`)"
                    ) from None
                if answered.is_skipped():
                    raise CheckError(
                        f"{where} could not audit {dep.name}=={dep.version}: "
                        f"{getattr(answered, 'skip_reason', 'skipped')}"
                    )
                answers.append((dep, vulns))
        finally:
            if server is not None:
                server.__exit__(None, None, None)
    except CheckError as exc:
        result.error = str(exc)
        return result

    used: set[int] = set()
    vex: list[dict[str, Any]] = []
    count = 0
    for dep, vulns in answers:
        for vuln in vulns:
            count += 1
            ids = {vuln.id, *vuln.aliases}
            raw = next(
                (recorder.records[i] for i in [vuln.id, *sorted(vuln.aliases)] if i in recorder.records), {}
            )
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
                    fix=_fix_text(dep.version, fixes),
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
            vex.append(_vex_entry(vuln, raw, dep, severity, ignore, suppressed, fixes))
    for ignore in settings.ignore:
        if id(ignore) not in used:
            result.notes.append(f"ignore {ignore.id} matched nothing: remove it if the dependency is gone")
    result.summary = {
        "dependencies_audited": len(answers),
        "vulnerabilities": count,
        "ignored": sum(1 for f in result.findings if f.suppressed is not None),
        "data": where,
    }
    if vex_output is not None:
        _write_vex(vex_output, document, vex, result)
    return result


_STATES = {
    "not_affected": ("not_affected", []),
    "false_positive": ("false_positive", []),
    "will_not_fix": ("exploitable", ["will_not_fix"]),
    "workaround_available": ("exploitable", ["workaround_available"]),
}


def _vex_entry(
    vuln: Any,
    raw: dict[str, Any],
    dep: Dependency,
    severity: Severity,
    ignore: Ignore | None,
    suppressed: str | None,
    fixes: list[Any],
) -> dict[str, Any]:
    ratings = []
    for entry in raw.get("severity") or []:
        if str(entry.get("type", "")).startswith("CVSS_V3"):
            from pipeline.audit.severity import cvss3_base_score

            score = cvss3_base_score(str(entry.get("score", "")))
            if score is not None:
                method = "CVSSv31" if "CVSS:3.1" in entry["score"] else "CVSSv3"
                ratings.append(
                    {"score": score, "severity": severity.value, "method": method, "vector": entry["score"]}
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
        "recommendation": _fix_text(dep.version, fixes),
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


def _write_vex(
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
