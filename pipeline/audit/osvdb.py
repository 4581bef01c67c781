"""A local OSV database: a folder or zip of OSV records, JSON (osv.dev's dumps) or YAML
(pypa/advisory-database), indexed by package and matched the way the OSV API matches.

The index of a large database is cached (keyed by the files' names, sizes and times), so only the first
read of a new database pays for parsing every record.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipeline.errors import CheckError, ConfigError

RECORD_SUFFIXES = (".json", ".yaml", ".yml")
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mcp-harden" / "osv-index"


MAX_ENTRY_BYTES = 16 << 20  # one OSV record, decompressed; real ones are a few KiB
MAX_TOTAL_BYTES = 1 << 30  # every record together, decompressed
MAX_ENTRIES = 500_000  # records in one database; osv.dev's PyPI dump holds tens of thousands


def _parse(name: str, raw: bytes, where: str) -> Any:
    """One record through the bounded loaders (an alias bomb or deep nesting is refused, not walked)."""
    from pipeline import jsonsafe, yamlsafe

    if name.endswith(".json"):
        return jsonsafe.loads(raw, where=where, what="OSV record")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"OSV record is not UTF-8 text (byte {exc.start})", where=where) from None
    return yamlsafe.load(text, source=where)


def _jsonable(value: Any) -> Any:
    """YAML gives dates and datetimes; the OSV API (and pip-audit) speak JSON strings."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat().replace("+00:00", "Z")
    return value


@dataclass
class OsvDatabase:
    """Records by canonical package name. After the first read, each package's records sit in a cache
    file of their own, so a query reads only the packages it asks about."""

    path: Path
    records: int
    packages: int
    newest_modified: str | None
    index_dir: Path | None = None  # the per-package cache, when it could be written
    in_memory: dict[str, list[dict[str, Any]]] | None = None

    @classmethod
    def open(cls, path: Path) -> OsvDatabase:
        if not path.exists():
            raise ConfigError("offline vulnerability database not found", where=str(path))
        entries = _list_entries(path)
        if not entries:
            raise CheckError("no OSV records (.json/.yaml) in the offline database", where=str(path))
        signature = hashlib.sha256(
            (str(path.resolve()) + "\n" + "\n".join(f"{n}\t{s}\t{m}" for n, s, m in entries)).encode()
        ).hexdigest()
        index_dir = CACHE_DIR / signature
        try:
            meta = json.loads((index_dir / META).read_text())
            return cls(path, meta["records"], meta["packages"], meta["newest_modified"], index_dir=index_dir)
        except (OSError, ValueError, KeyError):
            pass
        by_package, records, newest = _build(path, [n for n, _, _ in entries])
        meta = {"records": records, "packages": len(by_package), "newest_modified": newest}
        try:
            tmp = CACHE_DIR / f"{signature}.{os.getpid()}.tmp"
            tmp.mkdir(parents=True, exist_ok=True)
            for name, found in by_package.items():
                (tmp / f"{name}.json").write_text(json.dumps(found))
            (tmp / META).write_text(json.dumps(meta))
            os.replace(tmp, index_dir)
        except OSError:  # a read-only home (or a racing writer) only costs speed
            return cls(path, records, len(by_package), newest, in_memory=by_package)
        return cls(path, records, len(by_package), newest, index_dir=index_dir)

    def records_for(self, name: str) -> list[dict[str, Any]]:
        if self.in_memory is not None:
            return self.in_memory.get(name, [])
        assert self.index_dir is not None
        try:
            found: list[dict[str, Any]] = json.loads((self.index_dir / f"{name}.json").read_text())
            return found
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise CheckError(
                f"the database index is unreadable ({exc}); delete it", where=str(self.index_dir)
            ) from None

    def age_days(self) -> int | None:
        """Days since the newest record was modified: how stale the database is."""
        if not self.newest_modified:
            return None
        try:
            newest = dt.datetime.fromisoformat(self.newest_modified.replace("Z", "+00:00"))
        except ValueError:
            return None
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=dt.timezone.utc)
        return (dt.datetime.now(dt.timezone.utc) - newest).days

    def query(self, name: str, version: str) -> list[dict[str, Any]]:
        """Records affecting `name` at `version`, withdrawn ones left out (as osv.dev does)."""
        key = canonicalize_name(name)
        try:
            parsed = Version(version)
        except InvalidVersion:
            parsed = None
        hits = []
        for record in self.records_for(key):
            if record.get("withdrawn"):
                continue
            for affected in record.get("affected", []):
                pkg = affected.get("package", {})
                if pkg.get("ecosystem") != "PyPI" or canonicalize_name(pkg.get("name", "")) != key:
                    continue
                if affects(affected, version, parsed):
                    hits.append(record)
                    break
        return hits


META = "_meta.json"  # canonical package names never start with "_"


def _build(path: Path, names: list[str]) -> tuple[dict[str, list[dict[str, Any]]], int, str | None]:
    by_package: dict[str, list[dict[str, Any]]] = {}
    newest = None
    count = 0
    total = 0
    for name, raw in _read_entries(path, names):
        total += len(raw)
        if total > MAX_TOTAL_BYTES:
            raise CheckError(
                f"the OSV records come to more than {MAX_TOTAL_BYTES >> 20} MiB", where=str(path)
            )
        try:
            record = _jsonable(_parse(name, raw, f"{path}/{name}"))
        except ConfigError as exc:  # named and bounded by the loader; still a database we cannot use
            raise CheckError(f"unreadable OSV record: {exc.message}", where=exc.where) from None
        except Exception as exc:  # one bad record must not hide the others, but must be said
            raise CheckError(f"unreadable OSV record: {type(exc).__name__}", where=f"{path}/{name}") from None
        if not isinstance(record, dict) or "id" not in record:
            raise CheckError("not an OSV record (no 'id')", where=f"{path}/{name}")
        count += 1
        modified = record.get("modified")
        if isinstance(modified, str) and (newest is None or modified > newest):
            newest = modified
        names_here = {
            canonicalize_name(a["package"]["name"])
            for a in record.get("affected", [])
            if isinstance(a, dict)
            and a.get("package", {}).get("ecosystem") == "PyPI"
            and a["package"].get("name")
        }
        for pkg in names_here:
            by_package.setdefault(pkg, []).append(record)
    return by_package, count, newest


_ZERO = Version("0")


def affects(affected: dict[str, Any], version: str, parsed: Version | None) -> bool:
    """OSV's rule: an explicit `versions` entry, or inside an ECOSYSTEM range's introduced/fixed events."""
    listed_versions = affected.get("versions") or []
    if version in listed_versions:
        return True
    if parsed is not None and any(_version(str(listed)) == parsed for listed in listed_versions):
        return True
    if parsed is None:
        return False
    for rng in affected.get("ranges") or []:
        if rng.get("type") != "ECOSYSTEM":
            continue
        if _in_range(rng.get("events") or [], parsed):
            return True
    return False


@functools.lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    """A version string parsed once per run (records list the same versions over and over)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _event_key(event: dict[str, Any]) -> tuple[int, Version]:
    value = str(next(iter(event.values())))
    if value == "0":
        return (0, _ZERO)
    parsed = _version(value)
    return (1, parsed) if parsed is not None else (2, _ZERO)  # unparseable events sort last, skipped below


def _in_range(events: list[dict[str, Any]], version: Version) -> bool:
    affected = False
    for event in sorted(events, key=_event_key):
        kind, value = next(iter(event.items()))
        bound = _version(str(value))
        if bound is None:
            continue
        if kind == "introduced" and version >= bound:
            affected = True
        elif (
            (kind == "fixed" and version >= bound)
            or (kind == "last_affected" and version > bound)
            or (kind == "limit" and version >= bound)
        ):
            affected = False
    return affected


def _walk(folder: str, prefix: str) -> list[tuple[str, int, int]]:
    """(relative name, size, mtime) of every record under `folder`: os.scandir, whose entries carry their
    type, so only records are stat'ed (thousands of files; pathlib costs more than the walk itself)."""
    out: list[tuple[str, int, int]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                out += _walk(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(RECORD_SUFFIXES) and entry.is_file():
                st = entry.stat()
                out.append((prefix + entry.name, st.st_size, st.st_mtime_ns))
    return out


def _list_entries(path: Path) -> list[tuple[str, int, int]]:
    if path.is_dir():
        found = _walk(os.fspath(path), "")
        if len(found) > MAX_ENTRIES:
            raise ConfigError(f"more than {MAX_ENTRIES} OSV records", where=str(path))
        return sorted(found)
    with _open_zip(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ConfigError(f"more than {MAX_ENTRIES} entries in the zip", where=str(path))
        return sorted((i.filename, i.file_size, i.CRC) for i in infos if i.filename.endswith(RECORD_SUFFIXES))


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The database zip: a regular file (a FIFO or device is refused at once), its directory read."""
    from pipeline.fileio import open_regular

    handle = open_regular(path, what="offline vulnerability database")
    try:
        return zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        handle.close()
        raise ConfigError(f"not a folder or zip of OSV records: {exc}", where=str(path)) from None


def _read_entries(path: Path, names: list[str]) -> Iterator[tuple[str, bytes]]:
    """Each record's bytes, at most MAX_ENTRY_BYTES of them: a zip entry is read through its
    decompressing stream with that cap (the header's sizes are the archive's claim, not a bound)."""
    from pipeline.fileio import read_bounded

    if path.is_dir():
        for name in names:
            yield name, read_bounded(path / name, what="OSV record", limit=MAX_ENTRY_BYTES)
        return
    with _open_zip(path) as zf:
        for name in names:
            where = f"{path}/{name}"
            try:
                with zf.open(name) as entry:
                    raw = entry.read(MAX_ENTRY_BYTES + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
                raise CheckError(f"unreadable zip entry: {exc}", where=where) from None
            if len(raw) > MAX_ENTRY_BYTES:
                raise CheckError(
                    f"OSV record larger than {MAX_ENTRY_BYTES >> 20} MiB decompressed (a zip bomb?)",
                    where=where,
                )
            yield name, raw


def answer_query(db: OsvDatabase, query: dict[str, Any]) -> dict[str, Any]:
    """An OSV API `/v1/query` answer (`{"vulns": [...]}`, or `{}` for none) from the database."""
    package = query.get("package") or {}
    if package.get("ecosystem", "PyPI") != "PyPI" or not package.get("name") or not query.get("version"):
        return {}
    vulns = db.query(package["name"], str(query["version"]))
    return {"vulns": vulns} if vulns else {}
