"""A local OSV database: a folder or zip of OSV records, JSON (osv.dev's dumps) or YAML
(pypa/advisory-database), indexed by package and matched the way the OSV API matches.

The first read of a database parses every record and writes an index beside nothing the user owns: a folder
under the user's cache with one file per package (the records naming it, with what matching needs already
worked out: each listed version's canonical form, each range's events in order). A later audit reads only
the files of the packages it asks about. The index is never trusted blindly:

- it is keyed on the database as it is now: for a folder every record file's name, size, mtime, ctime, inode
  and device; for a zip the file's own. An edit changes the ctime (which no user can set back) and a
  replacement the inode, so a changed database never matches its old index and is read again;
- `_meta.json` names that key and the SHA-256 of every package file; a file whose bytes do not hash to it
  (torn, edited, swapped by a concurrent rebuild) is not used: the database is read again;
- the folder must belong to this user and be writable by no one else, or it is neither read nor written;
- file names in the index are digests of package names, never the names (a record naming a package
  `/etc/x` writes nothing outside the index).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from pipeline.errors import CheckError, ConfigError

RECORD_SUFFIXES = (".json", ".yaml", ".yml")
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mcp-harden" / "osv-index"
INDEX_FORMAT = "3"  # bump when the index's layout or what it precomputes changes
META = "_meta.json"

MAX_ENTRY_BYTES = 16 << 20  # one OSV record, decompressed; real ones are a few KiB
MAX_TOTAL_BYTES = 1 << 30  # every record together, decompressed
MAX_ENTRIES = 500_000  # records in one database; osv.dev's PyPI dump holds tens of thousands
MAX_META_BYTES = 256 << 20

# One record as the index keeps it for one package: the record, and for each of its `affected` entries that
# names the package (PyPI), what matching reads: the entry's position in `affected` (its `versions` are
# matched as written), the canonical forms of those versions that are not already written so (PEP 440
# equality is equality of canonical forms, and a canonical form is its own), and each ECOSYSTEM range's
# events, sorted and reduced to [kind, version] pairs whose version PEP 440 can read.
Entry = list[Any]  # [record, [[position, canonical, [[[kind, version], ...], ...]], ...]]


class _StaleIndex(Exception):
    """An index file that is not what `_meta.json` says it is."""


def _parse(name: str, raw: bytes, where: str) -> Any:
    """One record through the bounded loaders (an alias bomb or deep nesting is refused, not walked)."""
    from pipeline import jsonsafe, yamlsafe

    if name.endswith(".json"):
        return jsonsafe.loads(raw, where=where, what="OSV record")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"OSV record is not UTF-8 text (byte {exc.start})", where=where) from None
    # YAML gives dates, datetimes and non-string keys; the OSV API (and pip-audit) speak JSON: the record is
    # what a JSON round trip of it gives, whether it is answered from the index or straight from the parse.
    return json.loads(json.dumps(_jsonable(yamlsafe.load(text, source=where))))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat().replace("+00:00", "Z")
    return value


@dataclass
class OsvDatabase:
    """Records by canonical package name, from the verified index or, when there is none, in memory."""

    path: Path
    records: int
    packages: int
    newest_modified: str | None
    key: str = ""  # what the database looked like when it was opened (see `_database_key`)
    index: _Index | None = None
    in_memory: dict[str, list[Entry]] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: Path) -> OsvDatabase:
        if not path.exists():
            raise ConfigError("offline vulnerability database not found", where=str(path))
        key = _database_key(path)
        index = _Index.load(path, key) if key else None
        if index is not None:
            return cls(path, index.records, index.packages, index.newest_modified, key=key, index=index)
        return cls.build(path)

    @classmethod
    def build(cls, path: Path) -> OsvDatabase:
        """Every record parsed (bounded), the index written for the next run when the cache allows."""
        built = _build(path)
        db = cls(
            path,
            built.records,
            len(built.by_package),
            built.newest,
            key=built.key,
            in_memory=built.by_package,
        )
        if built.key and _database_key(path) == built.key:  # unchanged while it was read
            _Index.write(path, built)
        return db

    def entries_for(self, name: str) -> list[Entry]:
        """The records naming canonical package `name`, with their matching data."""
        if self.index is not None:
            try:
                return self.index.entries(name)
            except _StaleIndex:
                self._reread()
        assert self.in_memory is not None
        return self.in_memory.get(name, [])

    def records_for(self, name: str) -> list[dict[str, Any]]:
        return [entry[0] for entry in self.entries_for(name)]

    def _reread(self) -> None:
        """The index went bad under this run: read the database itself, which must still be the one opened."""
        built = _build(self.path)
        if built.key != self.key:
            raise CheckError(
                "the offline database changed during the audit; run it again", where=str(self.path)
            )
        self.index, self.in_memory = None, built.by_package
        _Index.write(self.path, built)

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
        parsed = _version(version)
        canonical = canonicalize_version(parsed) if parsed is not None else None
        hits = []
        for record, matchers in self.entries_for(canonicalize_name(name)):
            if record.get("withdrawn"):
                continue
            if any(_affects(record, matcher, version, parsed, canonical) for matcher in matchers):
                hits.append(record)
        return hits


# --- matching ----------------------------------------------------------------------------------------

_ZERO = Version("0")


def _affects(
    record: dict[str, Any], matcher: list[Any], version: str, parsed: Version | None, canonical: str | None
) -> bool:
    """OSV's rule: an explicit `versions` entry (as written, or equal under PEP 440), or inside an ECOSYSTEM
    range's introduced/fixed events."""
    position, canonical_listed, ranges = matcher
    listed = record["affected"][position].get("versions") or []
    if version in listed:
        return True
    if parsed is None:
        return False
    if canonical in listed or canonical in canonical_listed:
        return True
    return any(_in_range(events, parsed) for events in ranges)


def _in_range(events: list[list[str]], version: Version) -> bool:
    affected = False
    for kind, value in events:
        bound = _version(value)
        assert bound is not None  # the index keeps readable bounds only
        if kind == "introduced" and version >= bound:
            affected = True
        elif (
            (kind == "fixed" and version >= bound)
            or (kind == "last_affected" and version > bound)
            or (kind == "limit" and version >= bound)
        ):
            affected = False
    return affected


@functools.lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    """A version string parsed once per run (records list the same versions over and over)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _event_key(event: list[str]) -> tuple[int, Version]:
    if event[1] == "0":
        return (0, _ZERO)
    parsed = _version(event[1])
    return (1, parsed) if parsed is not None else (2, _ZERO)


def _matcher(position: int, affected: dict[str, Any], where: str) -> list[Any]:
    """What matching reads of one `affected` entry (see `Entry`)."""
    listed = affected.get("versions") or []
    if not isinstance(listed, list):
        raise CheckError("malformed OSV record: 'versions' is not a list", where=where)
    canonical = set()
    for text in listed:
        parsed = _version(str(text))
        if parsed is not None:
            canonical.add(canonicalize_version(parsed))
    ranges = []
    for rng in affected.get("ranges") or []:
        if not isinstance(rng, dict):
            raise CheckError("malformed OSV record: a range is not an object", where=where)
        if rng.get("type") != "ECOSYSTEM":
            continue
        events = []
        for event in rng.get("events") or []:
            if not isinstance(event, dict) or not event:
                raise CheckError("malformed OSV record: an event is not a one-key object", where=where)
            kind, value = next(iter(event.items()))
            events.append([str(kind), str(value)])
        events.sort(key=_event_key)  # stable: OSV's order for equal versions
        ranges.append([e for e in events if _version(e[1]) is not None])
    return [position, sorted(canonical.difference(v for v in listed if isinstance(v, str))), ranges]


def _entries_of(record: dict[str, Any], where: str) -> dict[str, Entry]:
    """The record's entry under each PyPI package it names."""
    out: dict[str, Entry] = {}
    affected = record.get("affected") or []
    if not isinstance(affected, list):
        raise CheckError("malformed OSV record: 'affected' is not a list", where=where)
    for position, item in enumerate(affected):
        package = item.get("package") if isinstance(item, dict) else None
        if not isinstance(package, dict) or package.get("ecosystem") != "PyPI" or not package.get("name"):
            continue
        if not isinstance(package["name"], str):
            raise CheckError("malformed OSV record: a package name is not a string", where=where)
        name = canonicalize_name(package["name"])
        out.setdefault(name, [record, []])[1].append(_matcher(position, item, where))
    return out


# --- reading the database ----------------------------------------------------------------------------


@dataclass
class _Built:
    key: str
    by_package: dict[str, list[Entry]]
    records: int
    newest: str | None


def _build(path: Path) -> _Built:
    by_package: dict[str, list[Entry]] = {}
    newest = None
    count = 0
    total = 0
    with _records(path) as (key, entries):
        for name, raw in entries:
            where = f"{path}/{name}"
            total += len(raw)
            if total > MAX_TOTAL_BYTES:
                raise CheckError(
                    f"the OSV records come to more than {MAX_TOTAL_BYTES >> 20} MiB", where=str(path)
                )
            try:
                record = _parse(name, raw, where)
            except ConfigError as exc:  # named and bounded by the loader; still a database we cannot use
                raise CheckError(f"unreadable OSV record: {exc.message}", where=exc.where) from None
            except Exception as exc:  # one bad record must not hide the others, but must be said
                raise CheckError(f"unreadable OSV record: {type(exc).__name__}", where=where) from None
            if not isinstance(record, dict) or "id" not in record:
                raise CheckError("not an OSV record (no 'id')", where=where)
            count += 1
            modified = record.get("modified")
            if isinstance(modified, str) and (newest is None or modified > newest):
                newest = modified
            for package, entry in _entries_of(record, where).items():
                by_package.setdefault(package, []).append(entry)
    if not count:
        raise CheckError("no OSV records (.json/.yaml) in the offline database", where=str(path))
    return _Built(key, by_package, count, newest)


@contextlib.contextmanager
def _records(path: Path) -> Iterator[tuple[str, Iterator[tuple[str, bytes]]]]:
    """The database's key and its (name, bytes) records, each read once. A zip is opened once and keyed
    on the opened file's own `fstat`: what is keyed is what is read."""
    if path.is_dir():
        listing = _walk_records(path)
        yield _folder_key(path, listing), _read_files(path, [name for name, _ in listing])
        return
    import zipfile

    from pipeline.fileio import open_regular

    with open_regular(path, what="offline vulnerability database") as handle:
        key = _file_key(path, os.fstat(handle.fileno()))
        try:
            zf = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise ConfigError(f"not a folder or zip of OSV records: {exc}", where=str(path)) from None
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES:
                raise ConfigError(f"more than {MAX_ENTRIES} entries in the zip", where=str(path))
            names = sorted(i.filename for i in infos if i.filename.endswith(RECORD_SUFFIXES))
            yield key, _read_zip(path, zf, names)


def _database_key(path: Path) -> str:
    """What the database is now, cheaply (stat calls, no reads); "" when it cannot be said."""
    try:
        if path.is_dir():
            return _folder_key(path, _walk_records(path))
        info = os.stat(path)
    except OSError:
        return ""
    return _file_key(path, info) if stat.S_ISREG(info.st_mode) else ""


def _stat_text(info: os.stat_result) -> str:
    return f"{info.st_size}\t{info.st_mtime_ns}\t{info.st_ctime_ns}\t{info.st_ino}\t{info.st_dev}"


def _file_key(path: Path, info: os.stat_result) -> str:
    return _key_digest(path, "zip\t" + _stat_text(info))


def _folder_key(path: Path, listing: list[tuple[str, str]]) -> str:
    return _key_digest(path, "folder\n" + "\n".join(f"{name}\t{text}" for name, text in listing))


def _key_digest(path: Path, text: str) -> str:
    import packaging

    head = f"mcp-harden osv index {INDEX_FORMAT}\npackaging {packaging.__version__}\n{path.resolve()}\n"
    return hashlib.sha256((head + text).encode()).hexdigest()


def _walk_records(path: Path) -> list[tuple[str, str]]:
    found = _walk(os.fspath(path), "")
    if len(found) > MAX_ENTRIES:
        raise ConfigError(f"more than {MAX_ENTRIES} OSV records", where=str(path))
    return sorted(found)


def _walk(folder: str, prefix: str) -> list[tuple[str, str]]:
    """(relative name, its stat as text) of every record under `folder`: os.scandir, whose entries carry
    their type, so only records are stat'ed (thousands of files; pathlib costs more than the walk itself)."""
    out: list[tuple[str, str]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                out += _walk(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(RECORD_SUFFIXES) and entry.is_file():
                out.append((prefix + entry.name, _stat_text(entry.stat())))
    return out


def _read_files(path: Path, names: list[str]) -> Iterator[tuple[str, bytes]]:
    from pipeline.fileio import read_bounded

    for name in names:
        yield name, read_bounded(path / name, what="OSV record", limit=MAX_ENTRY_BYTES)


def _read_zip(path: Path, zf: Any, names: list[str]) -> Iterator[tuple[str, bytes]]:
    """Each record's bytes, at most MAX_ENTRY_BYTES of them: a zip entry is read through its
    decompressing stream with that cap (the header's sizes are the archive's claim, not a bound)."""
    import zipfile

    for name in names:
        where = f"{path}/{name}"
        try:
            with zf.open(name) as entry:
                raw = entry.read(MAX_ENTRY_BYTES + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise CheckError(f"unreadable zip entry: {exc}", where=where) from None
        if len(raw) > MAX_ENTRY_BYTES:
            raise CheckError(
                f"OSV record larger than {MAX_ENTRY_BYTES >> 20} MiB decompressed (a zip bomb?)", where=where
            )
        yield name, raw


# --- the index on disk -------------------------------------------------------------------------------


def _index_folder(path: Path) -> Path:
    """One index per database path (a rebuild replaces the last one: the cache does not grow)."""
    return CACHE_DIR / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:40]


def _file_name(package: str) -> str:
    return hashlib.sha256(package.encode()).hexdigest()[:40] + ".json"


def cache_refused() -> str | None:
    """Why the index cache is not used, when it exists but others could write to it (then every run parses
    the whole database: the answers stay right, only slower); None when it is usable or not there yet."""
    if not CACHE_DIR.exists() or _private(CACHE_DIR):
        return None
    return (
        f"the index cache {CACHE_DIR} is not used (not this user's, or writable by others): every run parses "
        f"the whole database; `chmod go-w {CACHE_DIR}` (or remove it) makes audits fast again"
    )


def _private(folder: Path) -> bool:
    """A folder of this user's that no one else can write to (nor replace a file in)."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    uid = os.geteuid() if hasattr(os, "geteuid") else info.st_uid
    return stat.S_ISDIR(info.st_mode) and info.st_uid == uid and not info.st_mode & 0o022


@dataclass
class _Index:
    folder: Path
    records: int
    packages: int
    newest_modified: str | None
    digests: dict[str, str]
    read: dict[str, list[Entry]] = field(default_factory=dict, repr=False)  # each file read once a run

    @classmethod
    def load(cls, path: Path, key: str) -> _Index | None:
        """The index of `path`, when there is one for exactly this state of it and it is ours."""
        folder = _index_folder(path)
        if not (_private(CACHE_DIR) and _private(folder)):
            return None
        try:
            with open(folder / META, "rb") as handle:
                meta = json.loads(handle.read(MAX_META_BYTES))
            if meta["format"] != INDEX_FORMAT or meta["key"] != key:
                return None
            newest, digests = meta["newest_modified"], meta["files"]
            if not isinstance(digests, dict) or not isinstance(newest, (str, type(None))):
                return None
            return cls(folder, int(meta["records"]), int(meta["packages"]), newest, digests)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def entries(self, package: str) -> list[Entry]:
        if package in self.read:
            return self.read[package]
        digest = self.digests.get(package)
        if digest is None:
            return []
        try:
            with open(self.folder / _file_name(package), "rb") as handle:
                raw = handle.read(MAX_TOTAL_BYTES)
        except OSError:
            raise _StaleIndex(package) from None
        if hashlib.sha256(raw).hexdigest() != digest:
            raise _StaleIndex(package)
        found: list[Entry] = json.loads(raw)
        self.read[package] = found
        return found

    @staticmethod
    def write(path: Path, built: _Built) -> None:
        """Write the index beside the last one, then swap it in. Failing only costs the next run speed."""
        import secrets
        import shutil

        folder = _index_folder(path)
        tmp = CACHE_DIR / f".{folder.name}.{secrets.token_hex(8)}.tmp"
        old = CACHE_DIR / f".{folder.name}.{secrets.token_hex(8)}.old"
        try:
            CACHE_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not _private(CACHE_DIR):
                return
            tmp.mkdir(mode=0o700)
            digests = {}
            for package, entries in built.by_package.items():
                data = json.dumps(entries, separators=(",", ":")).encode()
                (tmp / _file_name(package)).write_bytes(data)
                digests[package] = hashlib.sha256(data).hexdigest()
            meta = {
                "format": INDEX_FORMAT,
                "key": built.key,
                "database": str(path.resolve()),
                "records": built.records,
                "packages": len(built.by_package),
                "newest_modified": built.newest,
                "files": digests,
            }
            (tmp / META).write_text(json.dumps(meta))
            with contextlib.suppress(FileNotFoundError):
                os.rename(folder, old)
            os.rename(tmp, folder)  # a racing writer may have won: theirs stays, ours goes below
        except OSError:
            pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)


def answer_query(db: OsvDatabase, query: dict[str, Any]) -> dict[str, Any]:
    """An OSV API `/v1/query` answer (`{"vulns": [...]}`, or `{}` for none) from the database."""
    package = query.get("package") or {}
    if package.get("ecosystem", "PyPI") != "PyPI" or not package.get("name") or not query.get("version"):
        return {}
    vulns = db.query(package["name"], str(query["version"]))
    return {"vulns": vulns} if vulns else {}
