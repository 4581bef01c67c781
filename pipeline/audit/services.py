"""The vulnerability data an audit queries, behind pip-audit's own `VulnerabilityService` interface.

Online: pip-audit's OSV service (osv.dev or another OSV API) or its PyPI service, their HTTP session wrapped
to keep the raw records. Offline: `offline.OfflineOsvService`, reading the local database in this process
(no server, no socket, no HTTP client imported). The loopback server remains for `mcp-harden vulndb serve`
(plain `pip-audit --osv-url`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.audit.osvdb import OsvDatabase, cache_refused
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
    """Wraps an online service's HTTP session to keep the raw OSV answers, whose severities pip-audit drops."""

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


@dataclass
class OpenService:
    """A vulnerability service ready to query, what it is (for messages), the raw OSV records it answered
    with (by id and alias: filled as it is queried), the errors that mean "could not query", and notes."""

    service: Any  # a pip-audit VulnerabilityService
    where: str
    records: dict[str, dict[str, Any]]
    errors: tuple[type[BaseException], ...]
    notes: list[str] = field(default_factory=list)


def open_service(policy: Policy, offline_db: Path | None = None, osv_url: str | None = None) -> OpenService:
    """The service the policy (and the command line) chose: offline database, OSV API or PyPI."""
    settings: AuditSection = policy.audit
    notes: list[str] = []
    if offline_db is None and settings.offline_db:
        offline_db = policy.resolve_path(settings.offline_db)
    if offline_db is None and settings.service == "offline" and osv_url is None:
        raise ConfigError(
            "audit.service is offline but no offline database is given (--offline-db PATH or audit.offline_db)"
        )
    if offline_db is not None:
        from pipeline._compat import pip_audit_interface
        from pipeline.audit.offline import OfflineOsvService

        db = OsvDatabase.open(offline_db)
        age = check_db_age(db, settings.max_db_age_days)
        notes.append(
            f"offline database {offline_db}: newest record modified {db.newest_modified} ({age} days ago; "
            f"audit.max_db_age_days is {settings.max_db_age_days})"
        )
        if db.index is None and (refused := cache_refused()):
            notes.append(refused)
        offline = OfflineOsvService(db)
        where = f"offline database {offline_db} ({db.records} records, newest {db.newest_modified or '?'})"
        return OpenService(offline, where, offline.records, (pip_audit_interface().ServiceError,), notes)
    # Online: pip-audit's own HTTP services (and requests) are imported only here.
    from requests import RequestException

    from pipeline._compat import pip_audit_api

    api = pip_audit_api()
    service: Any
    if settings.service == "pypi" and osv_url is None:
        service = api.PyPIService(timeout=math.ceil(settings.timeout))
        where = "PyPI's JSON API"
    else:
        url = osv_url or settings.osv_url or api.OsvService.DEFAULT_OSV_URL
        service = api.OsvService(timeout=math.ceil(settings.timeout), osv_url=url)
        where = f"OSV at {url}"
    recorder = RecordingSession(service.session)
    service.session = recorder
    return OpenService(service, where, recorder.records, (api.ServiceError, RequestException), notes)
