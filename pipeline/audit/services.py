"""The vulnerability data an audit queries, behind pip-audit's own `VulnerabilityService` interface.

Online: pip-audit's OSV service (osv.dev or another OSV API) or its PyPI service. Offline: the same OSV service
class answering from the local database in process: its HTTP session is replaced by one that reads the
database directly, so the records go through exactly pip-audit's conversion (ids, aliases, fix versions,
withdrawn entries) with no server, no socket and no HTTP cache in between. The loopback server remains for
`mcp-harden vulndb serve` (plain `pip-audit --osv-url`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.audit.osvdb import OsvDatabase, answer_query
from pipeline.config import AuditSection, Policy
from pipeline.errors import CheckError, ConfigError


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


class RecordingSession:
    """Wraps a service's HTTP session to keep the raw OSV answers, whose severities pip-audit drops."""

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


class _Answer:
    """What pip-audit's OSV service reads of an HTTP response."""

    status_code = 200

    def __init__(self, body: dict[str, Any]) -> None:
        self._body = body

    def raise_for_status(self) -> None:
        return None

    def json(self) -> dict[str, Any]:
        return self._body


class DatabaseSession:
    """An OSV API `post` answered from the local database in this process."""

    def __init__(self, db: OsvDatabase) -> None:
        self.db = db

    def post(self, url: str, data: str | bytes | None = None, **_: Any) -> _Answer:
        query = json.loads(data or "{}")
        body = answer_query(self.db, query)
        return _Answer({"vulns": [_readable(v) for v in body["vulns"]]} if body else body)


def _readable(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of the record without `fixed` events whose version PEP 440 cannot read (pip-audit's conversion
    raises on one, and loses the whole package's answer); the record's other facts are kept as they are."""
    from packaging.version import InvalidVersion, Version

    def readable(event: Any) -> bool:
        if not isinstance(event, dict) or "fixed" not in event:
            return True
        try:
            Version(str(event["fixed"]))
        except InvalidVersion:
            return False
        return True

    affected = []
    for entry in record.get("affected") or []:
        if isinstance(entry, dict):
            ranges = [
                {**rng, "events": [e for e in rng.get("events") or [] if readable(e)]}
                if isinstance(rng, dict)
                else rng
                for rng in entry.get("ranges") or []
            ]
            entry = {**entry, "ranges": ranges}
        affected.append(entry)
    return {**record, "affected": affected}


def offline_service(db: OsvDatabase) -> Any:
    """pip-audit's `OsvService`, querying `db` in process."""
    from pipeline._compat import pip_audit_api

    osv_service = pip_audit_api().OsvService
    service = osv_service.__new__(osv_service)  # its __init__ only builds the HTTP session replaced here
    service.session = DatabaseSession(db)
    service.timeout = None
    service.osv_url = f"offline:{db.path}"
    return service


@dataclass
class OpenService:
    """A vulnerability service ready to query, what it is (for messages), and notes for the report."""

    service: Any  # a pip-audit VulnerabilityService
    where: str
    recorder: RecordingSession
    notes: list[str] = field(default_factory=list)


def open_service(policy: Policy, offline_db: Path | None = None, osv_url: str | None = None) -> OpenService:
    """The service the policy (and the command line) chose: offline database, OSV API or PyPI."""
    from pipeline._compat import pip_audit_api

    settings: AuditSection = policy.audit
    api = pip_audit_api()
    notes: list[str] = []
    if offline_db is None and settings.offline_db:
        offline_db = policy.resolve_path(settings.offline_db)
    if offline_db is None and settings.service == "offline" and osv_url is None:
        raise ConfigError(
            "audit.service is offline but no offline database is given (--offline-db PATH or audit.offline_db)"
        )
    if offline_db is not None:
        db = OsvDatabase.open(offline_db)
        service: Any = offline_service(db)
        where = f"offline database {offline_db} ({db.records} records, newest {db.newest_modified or '?'})"
        age = check_db_age(db, settings.max_db_age_days)
        notes.append(
            f"offline database {offline_db}: newest record modified {db.newest_modified} ({age} days ago; "
            f"audit.max_db_age_days is {settings.max_db_age_days})"
        )
    elif settings.service == "pypi" and osv_url is None:
        service = api.PyPIService(timeout=int(settings.timeout))
        where = "PyPI's JSON API"
    else:
        url = osv_url or settings.osv_url or api.OsvService.DEFAULT_OSV_URL
        service = api.OsvService(timeout=int(settings.timeout), osv_url=url)
        where = f"OSV at {url}"
    recorder = RecordingSession(service.session)
    service.session = recorder
    return OpenService(service, where, recorder, notes)
