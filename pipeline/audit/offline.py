"""The offline vulnerability service: pip-audit's `VulnerabilityService` answering from the local database
in this process, with no HTTP client, no server, no socket and no cache in between.

It turns each matching OSV record into pip-audit's `VulnerabilityResult` the way pip-audit's own OSV
service does (`tests/test_audit_index.py` holds the two side by side on every real advisory): the id chosen
among the aliases, the description, the fix versions of the first ECOSYSTEM range naming the package, the
publication date; unsupported schemas and withdrawn records left out. Only pip-audit's interface module is
imported (`pipeline._compat.pip_audit_interface`), not its HTTP services.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from packaging.version import InvalidVersion, Version

from pipeline._compat import pip_audit_interface
from pipeline.audit.osvdb import OsvDatabase, _version
from pipeline.errors import CheckError

_api = pip_audit_interface()
VulnerabilityService: Any = _api.VulnerabilityService


class OfflineOsvService(VulnerabilityService):
    """Queries `db`; keeps each raw record it answered with (by id and alias) in `records`, for the
    severities and VEX analysis that pip-audit's results do not carry."""

    def __init__(self, db: OsvDatabase) -> None:
        self.db = db
        self.records: dict[str, dict[str, Any]] = {}

    def query(self, spec: Any) -> tuple[Any, list[Any]]:
        if spec.is_skipped():
            return spec, []
        name = spec.canonical_name
        results = []
        for raw in self.db.query(name, str(spec.version)):
            record = readable(raw)
            try:
                for key in [record["id"], *record.get("aliases", [])]:  # pip-audit may pick an alias as id
                    self.records.setdefault(key, record)
                result = _result(record, name)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                if isinstance(exc, InvalidVersion):
                    raise  # the stage names it: a record pip-audit cannot read
                raise CheckError(
                    f"OSV record {record.get('id')} is malformed ({type(exc).__name__}: {exc})",
                    where=str(self.db.path),
                ) from None
            if result is not None:
                results.append(result)
        return spec, results


def _result(record: dict[str, Any], name: str) -> Any:
    """The record as pip-audit's result for package `name` (canonical), or None where pip-audit skips it."""
    schema = _parsed(record.get("schema_version", "1.0.0"))  # absent means 1.0.0, as the OSV schema says
    if schema.major != 1:
        import logging

        logging.getLogger(__name__).warning("unsupported OSV schema version %s in %s", schema, record["id"])
        return None
    if record.get("withdrawn") is not None:
        return None
    affected = record.get("affected")
    if affected is None:
        return None
    description = record.get("summary")
    if description is None:
        description = record.get("details")
    if description is None:
        description = "N/A"
    fixes: list[Version] = []
    for entry in affected:
        package = entry["package"]
        if package["name"] != name or package["ecosystem"] != "PyPI":
            continue  # pip-audit compares the name literally; judge.py reads the record for the others
        for rng in entry.get("ranges", []):
            if rng["type"] == "ECOSYSTEM":
                fixes = [_parsed(str(event["fixed"])) for event in rng["events"] if "fixed" in event]
                break
    fixes.sort()
    return _api.VulnerabilityResult.create(
        ids=[record["id"], *record.get("aliases", [])],
        description=description.replace("\n", " "),
        fix_versions=fixes,
        published=_published(record.get("published")),
    )


def _parsed(text: Any) -> Version:
    """`Version(text)`, from the run's parse cache (Version objects are immutable)."""
    parsed = _version(text) if isinstance(text, str) else None
    return (
        parsed if parsed is not None else Version(text)
    )  # raises InvalidVersion (or TypeError) as pip-audit


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z"
)


def _published(text: Any) -> Any:
    """pip-audit's reading of `published` (a naive datetime from `%Y-%m-%dT%H:%M:%S[.%f]Z`), without
    `strptime` for the usual shape (it costs tens of microseconds, twice for a date without a fraction);
    anything else, or a date that does not exist, goes to pip-audit's own function."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        micro = int((match.group(7) or "0").ljust(6, "0"))
        try:
            return dt.datetime(year, month, day, hour, minute, second, micro)
        except ValueError:
            pass
    return _api.VulnerabilityService._parse_rfc3339(text)


def readable(record: dict[str, Any]) -> dict[str, Any]:
    """The record without `fixed` events whose version PEP 440 cannot read (pip-audit's conversion raises on
    one, and loses the whole package's answer), its `affected`, `ranges` and `events` made lists; the other
    facts kept as they are. The record itself when that changes nothing (nothing downstream edits it)."""
    if _already_readable(record):
        return record
    affected = []
    for entry in record.get("affected") or []:
        if isinstance(entry, dict):
            ranges = [
                {**rng, "events": [e for e in rng.get("events") or [] if _keep(e)]}
                if isinstance(rng, dict)
                else rng
                for rng in entry.get("ranges") or []
            ]
            entry = {**entry, "ranges": ranges}
        affected.append(entry)
    return {**record, "affected": affected}


def _keep(event: Any) -> bool:
    return not isinstance(event, dict) or "fixed" not in event or _version(str(event["fixed"])) is not None


def _already_readable(record: dict[str, Any]) -> bool:
    entries = record.get("affected")
    if not isinstance(entries, list):
        return False
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        ranges = entry.get("ranges")
        if not isinstance(ranges, list):
            return False
        for rng in ranges:
            if not isinstance(rng, dict):
                continue
            events = rng.get("events")
            if not isinstance(events, list) or not all(_keep(e) for e in events):
                return False
    return True
