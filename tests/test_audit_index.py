"""The offline audit's per-package index and its in-process service, held to what they replace:

- the index answers every query exactly as a full scan of the real pypa advisories does (a plain matcher
  written here, reading the YAML files themselves);
- the offline service gives exactly pip-audit's own results (pip-audit's OSV service over real HTTP against
  the loopback server on the same database);
- a changed database is never answered from its old index (same size and mtime, a swapped zip, a torn or
  edited index file, an index folder others can write to);
- the offline path imports no HTTP client.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipeline.audit import osvdb
from pipeline.audit.osvdb import OsvDatabase
from tests.conftest import ROOT, run_cli


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setattr(osvdb, "CACHE_DIR", cache)
    return cache


# --- a full scan, written plainly: every record file parsed, OSV's matching rules applied to each ---------


@functools.cache
def _parsed(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


Steps = tuple[tuple[Version, str], ...]


@dataclass(frozen=True)
class _Affected:
    """One `affected` entry of a record, read once: its listed versions (as written and as PEP 440 reads
    them) and each ECOSYSTEM range's events, ordered by version."""

    texts: frozenset[str]
    parsed: frozenset[Version]
    ranges: tuple[Steps, ...]


def _read_affected(affected: dict[str, Any]) -> _Affected:
    texts = [str(v) for v in affected.get("versions") or []]
    ranges = []
    for rng in affected.get("ranges") or []:
        if rng.get("type") != "ECOSYSTEM":
            continue
        steps = []
        for event in rng.get("events") or []:
            kind, value = next(iter(event.items()))
            bound = Version("0") if str(value) == "0" else _parsed(str(value))
            if bound is not None:
                steps.append((bound, kind))
        ranges.append(tuple(sorted(steps, key=lambda step: step[0])))
    parsed = frozenset(p for p in map(_parsed, texts) if p is not None)
    return _Affected(frozenset(texts), parsed, tuple(ranges))


def _scan_matches(affected: _Affected, version: str) -> bool:
    wanted = _parsed(version)
    if version in affected.texts or (wanted is not None and wanted in affected.parsed):
        return True
    if wanted is None:
        return False
    for steps in affected.ranges:
        inside = False
        for bound, kind in steps:
            if kind == "introduced" and wanted >= bound:
                inside = True
            elif (kind in ("fixed", "limit") and wanted >= bound) or (
                kind == "last_affected" and wanted > bound
            ):
                inside = False
        if inside:
            return True
    return False


def _full_scan(folder: Path) -> dict[str, list[dict[str, Any]]]:
    by_package: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.rglob("*.yaml"), key=lambda p: p.relative_to(folder).as_posix()):
        record = yaml.load(
            path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
        names = {
            canonicalize_name(a["package"]["name"])
            for a in record.get("affected") or []
            if a.get("package", {}).get("ecosystem") == "PyPI"
        }
        for name in names:
            by_package.setdefault(name, []).append(record)
    return by_package


# Per package: each record's id, whether it is withdrawn, and its affected entries for that package.
Scan = dict[str, list[tuple[str, bool, list[_Affected]]]]


def _prepare(by_package: dict[str, list[dict[str, Any]]]) -> Scan:
    """The records read for querying: each package's own affected entries, parsed once (not per query)."""
    return {
        name: [
            (
                record["id"],
                bool(record.get("withdrawn")),
                [
                    _read_affected(affected)
                    for affected in record.get("affected") or []
                    if affected.get("package", {}).get("ecosystem") == "PyPI"
                    and canonicalize_name(affected.get("package", {}).get("name", "")) == name
                ],
            )
            for record in records
        ]
        for name, records in by_package.items()
    }


def _scan_query(scan: Scan, name: str, version: str) -> list[str]:
    return [
        record_id
        for record_id, withdrawn, entries in scan.get(canonicalize_name(name), [])
        if not withdrawn and any(_scan_matches(entry, version) for entry in entries)
    ]


def _versions_to_ask(records: list[dict[str, Any]]) -> list[str]:
    """Every range bound the records name (and the versions just around it), a spread of the versions they
    list, each also written as PEP 440 reads it the same (a trailing `.0`, upper case)."""
    bounds: set[str] = {"0", "0.0.1", "99999"}
    listed: set[str] = set()
    for record in records:
        for affected in record.get("affected") or []:
            listed.update(str(v) for v in affected.get("versions") or [])
            for rng in affected.get("ranges") or []:
                bounds.update(str(value) for event in rng.get("events") or [] for value in event.values())
    spread = sorted(listed)[:: max(1, len(listed) // 8)]
    asked = {v for text in bounds for v in (text, text + ".0", text + ".post1", text + "rc1", text.upper())}
    asked.update(v for text in spread for v in (text, text + ".0"))
    return sorted(asked)


@pytest.mark.slow
def test_the_index_answers_as_a_full_scan_of_the_real_advisories(osv_pypa: Path) -> None:
    scan = _full_scan(osv_pypa)
    prepared = _prepare(scan)
    built = OsvDatabase.open(osv_pypa)  # no index yet: every record parsed
    assert built.index is None and built.records == sum(1 for _ in osv_pypa.rglob("*.yaml"))
    indexed = OsvDatabase.open(osv_pypa)  # the index just written, verified and used
    assert indexed.index is not None and indexed.in_memory is None
    assert (indexed.records, indexed.packages, indexed.newest_modified) == (
        built.records,
        built.packages,
        built.newest_modified,
    )
    asked = 0
    for name, records in sorted(scan.items()):
        # The two read the same entries (so answer alike); each version is asked of the index, every
        # seventh of the in-memory database too.
        assert indexed.entries_for(name) == built.entries_for(name), name
        for version in _versions_to_ask(records):
            expected = _scan_query(prepared, name, version)
            assert [r["id"] for r in indexed.query(name, version)] == expected, (name, version)
            if asked % 7 == 0:
                assert [r["id"] for r in built.query(name, version)] == expected, (name, version)
            asked += 1
    assert len(scan) > 600 and asked > 20_000  # every package of the snapshot


@pytest.mark.slow
def test_the_offline_service_gives_pip_audits_own_results(osv_pypa: Path, tmp_path: Path) -> None:
    """pip-audit's OSV service, over real HTTP to the loopback server on the same database, and the
    in-process service: the same results, field for field, for every package of the snapshot."""
    from pipeline._compat import pip_audit_api
    from pipeline.audit.offline import OfflineOsvService
    from pipeline.audit.server import LocalOsvServer

    db = OsvDatabase.open(osv_pypa)
    api = pip_audit_api()
    ours = OfflineOsvService(db)
    compared = unreadable = 0
    with LocalOsvServer(db) as url:
        theirs = api.OsvService(cache_dir=tmp_path / "pip-audit-cache", timeout=30, osv_url=url)
        for package in sorted(db.in_memory or {}):
            records = db.records_for(package)
            versions = {"0.0.1"} | {
                str(v) for r in records[:1] for a in r["affected"] for v in a.get("versions", [])[:1]
            }
            for version in sorted(v for v in versions if _parsed(v) is not None):
                spec = api.ResolvedDependency(name=package, version=Version(version))
                _, mine = ours.query(spec)
                try:
                    _, reference = theirs.query(spec)
                except InvalidVersion:  # pip-audit cannot read a fix version: ours still answers
                    unreadable += 1
                    assert mine, (package, version)
                    continue
                assert [_fields(r) for r in mine] == [_fields(r) for r in reference], (package, version)
                compared += 1
    assert compared > 600


def _fields(result: Any) -> tuple[Any, ...]:
    return (result.id, sorted(result.aliases), result.description, result.fix_versions, result.published)


# --- a changed database is read again --------------------------------------------------------------------


def _django(osv_pypa: Path, tmp_path: Path) -> Path:
    target = tmp_path / "db"
    shutil.copytree(osv_pypa / "django", target / "django")
    for path in (target / "django").iterdir():
        path.chmod(0o644)
    return target


def _same_size_edit(path: Path, old: str, new: str) -> None:
    """Replace `old` by `new` (same length) in place, then put the mtime back as it was."""
    assert len(old) == len(new)
    before = path.stat()
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_an_edit_that_keeps_size_and_mtime_is_not_answered_from_the_index(
    osv_pypa: Path, tmp_path: Path
) -> None:
    db_dir = _django(osv_pypa, tmp_path)
    record = db_dir / "django" / "PYSEC-2021-109.yaml"  # QuerySet.order_by SQL injection, fixed in 3.2.5
    assert "PYSEC-2021-109" in [r["id"] for r in OsvDatabase.open(db_dir).query("django", "3.2.0")]
    assert OsvDatabase.open(db_dir).index is not None  # indexed
    _same_size_edit(record, "id: PYSEC-2021-109", "id: PYSEC-2021-901")
    reopened = OsvDatabase.open(db_dir)
    assert reopened.index is None  # the key changed (ctime): read again
    ids = [r["id"] for r in reopened.query("django", "3.2.0")]
    assert "PYSEC-2021-901" in ids and "PYSEC-2021-109" not in ids


def test_a_swapped_zip_of_the_same_size_and_mtime_is_read_again(tmp_path: Path) -> None:
    def zipped(fixed: str) -> bytes:
        record = {
            "id": "GHSA-swap-0001",
            "modified": "2026-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"name": "demo-lib", "ecosystem": "PyPI"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                }
            ],
        }
        path = tmp_path / f"{fixed}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            info = zipfile.ZipInfo("GHSA-swap-0001.json", date_time=(2026, 1, 1, 0, 0, 0))
            zf.writestr(info, json.dumps(record))
        return path.read_bytes()

    first, second = zipped("1.5"), zipped("1.9")
    assert len(first) == len(second) and first != second
    db = tmp_path / "osv.zip"
    db.write_bytes(first)
    assert OsvDatabase.open(db).query("demo-lib", "1.6") == []
    assert OsvDatabase.open(db).index is not None
    mtime = db.stat().st_mtime_ns
    db.write_bytes(second)
    os.utime(db, ns=(mtime, mtime))
    assert [r["id"] for r in OsvDatabase.open(db).query("demo-lib", "1.6")] == ["GHSA-swap-0001"]


def test_an_edited_or_torn_index_file_is_not_used(
    osv_pypa: Path, tmp_path: Path, private_cache: Path
) -> None:
    db_dir = _django(osv_pypa, tmp_path)
    OsvDatabase.open(db_dir)
    (folder,) = [p for p in private_cache.iterdir() if not p.name.startswith(".")]
    package_file = folder / osvdb._file_name("django")
    entries = json.loads(package_file.read_bytes())
    package_file.write_text(json.dumps(entries[:1]))  # an attacker's (or a torn write's) shorter answer
    db = OsvDatabase.open(db_dir)
    assert db.index is not None  # the key still matches: the bad file is found when it is read
    ids = [r["id"] for r in db.query("django", "3.2.0")]
    assert "PYSEC-2021-109" in ids and len(ids) > 1
    assert db.index is None  # read again from the database, and the index rewritten
    assert OsvDatabase.open(db_dir).index is not None
    assert json.loads(package_file.read_bytes()) == entries


def test_an_index_others_can_write_is_neither_read_nor_written(
    osv_pypa: Path, tmp_path: Path, private_cache: Path
) -> None:
    db_dir = _django(osv_pypa, tmp_path)
    OsvDatabase.open(db_dir)
    private_cache.chmod(0o777)
    assert OsvDatabase.open(db_dir).index is None
    private_cache.chmod(0o700)
    assert OsvDatabase.open(db_dir).index is not None


def test_an_unusable_cache_is_said_in_the_audit_report(
    osv_pypa: Path, tmp_path: Path, private_cache: Path
) -> None:
    """Not used is not silent: the audit's notes say why every run is slow and how to fix it."""
    db_dir = _django(osv_pypa, tmp_path)
    (tmp_path / "req.txt").write_text("django==1.11\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("audit:\n  max_db_age_days: 100000\n")
    argv = ("audit", "-r", str(tmp_path / "req.txt"), "--offline-db", str(db_dir), "--policy", str(policy))
    assert osvdb.cache_refused() is None  # not there yet
    run_cli(*argv, "--format", "json")  # builds the index
    assert osvdb.cache_refused() is None
    private_cache.chmod(0o777)
    try:
        refused = osvdb.cache_refused()
        assert refused is not None and str(private_cache) in refused
        result = run_cli(*argv, "--format", "json")
        assert result.code == 1, result.err  # django 1.11 is vulnerable: the verdict does not change
        (stage,) = json.loads(result.out)["stages"]
        assert refused in stage["notes"]
    finally:
        private_cache.chmod(0o700)
    result = run_cli(*argv, "--format", "json")
    assert not any("index cache" in note for note in json.loads(result.out)["stages"][0]["notes"])


def test_a_package_name_never_names_a_file(tmp_path: Path, private_cache: Path) -> None:
    """A record may name any package; the index's file names are digests, so nothing lands outside it."""
    outside = tmp_path / "outside"
    record = {
        "id": "GHSA-path-0001",
        "modified": "2026-01-01T00:00:00Z",
        "affected": [{"package": {"name": str(outside / "x"), "ecosystem": "PyPI"}, "versions": ["1.0"]}],
    }
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    (db_dir / "GHSA-path-0001.json").write_text(json.dumps(record))
    OsvDatabase.open(db_dir)
    assert not outside.exists()
    assert [r["id"] for r in OsvDatabase.open(db_dir).query(str(outside / "x"), "1.0")] == ["GHSA-path-0001"]


def test_the_cache_keeps_one_index_per_database(tmp_path: Path, private_cache: Path) -> None:
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    for n in range(3):
        record = {"id": f"GHSA-grow-000{n}", "modified": "2026-01-01T00:00:00Z", "affected": []}
        (db_dir / f"GHSA-grow-000{n}.json").write_text(json.dumps(record))
        assert OsvDatabase.open(db_dir).records == n + 1
    assert len(list(private_cache.iterdir())) == 1


# --- start-up ------------------------------------------------------------------------------------------


def test_the_offline_audit_imports_no_http_client(osv_pypa: Path, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("django==3.2.0\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("audit:\n  max_db_age_days: 100000\n")
    code = (
        "import sys\nfrom pipeline.cli import main\n"
        f"code = main(['audit', '-r', {str(requirements)!r}, '--offline-db', {str(osv_pypa)!r}, "
        f"'--policy', {str(policy)!r}, '-o', {str(tmp_path / 'report.txt')!r}])\n"
        "heavy = ['requests', 'urllib3', 'pip_api', 'cachecontrol', 'pip_audit._service.osv', "
        "'pip_audit._service.pypi', 'pip_audit._cache', 'http.client', 'ssl']\n"
        "print(code, [m for m in heavy if m in sys.modules])\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert proc.stdout.split(None, 1) == ["1", "[]\n"], proc.stdout + proc.stderr
    assert "PYSEC-2021-109" in (tmp_path / "report.txt").read_text()


_DIGITS = st.text("0123456789", min_size=1, max_size=7)


@given(
    st.one_of(
        st.builds(
            "{}-{}-{}T{}:{}:{}{}Z".format,
            _DIGITS,
            _DIGITS,
            _DIGITS,
            _DIGITS,
            _DIGITS,
            _DIGITS,
            st.one_of(st.just(""), _DIGITS.map(".{}".format)),
        ),
        st.text(max_size=30),
    )
)
@settings(max_examples=400, deadline=None)
def test_published_is_read_as_pip_audit_reads_it(text: str) -> None:
    """The offline service's fast reading of `published` gives pip-audit's datetime, or fails as it does."""
    from pipeline._compat import pip_audit_interface
    from pipeline.audit.offline import _published

    def outcome(read: Any) -> Any:
        try:
            return read(text)
        except ValueError:
            return ValueError

    assert outcome(_published) == outcome(pip_audit_interface().VulnerabilityService._parse_rfc3339)


_PEP440ISH = st.from_regex(
    r"\A[vV]?([0-9]{1,2}!)?[0-9]{1,3}(\.[0-9]{1,3}){0,3}([._-]?(a|b|c|rc|alpha|beta|pre|preview|RC)[._-]?[0-9]{0,2})?"
    r"([._-]?(post|rev|r)[._-]?[0-9]{0,2}|-[0-9]{1,2})?([._-]?dev[0-9]{0,2})?(\+[a-zA-Z0-9]{1,3}([._-][a-zA-Z0-9]{1,3}){0,2})?\Z"
)


def _same_version_written_otherwise(text: str, how: int) -> str:
    if how == 0:
        return text.upper()
    if how == 1:  # a trailing zero in the release
        return re.sub(r"^([vV]?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*)", r"\1.0", text)
    return text


@given(_PEP440ISH, st.one_of(_PEP440ISH, st.tuples(st.integers(0, 1))))
@settings(max_examples=300, deadline=None)
def test_canonical_forms_are_pep_440_equality(a: str, b: Any) -> None:
    """What the index stores for listed versions: two versions are equal exactly when their canonical forms
    are, and a canonical form is its own (so a listed version written canonically needs no second copy)."""
    from packaging.utils import canonicalize_version

    if isinstance(b, tuple):  # the same version written another way
        b = _same_version_written_otherwise(a, b[0])
    first, second = _parsed(a), _parsed(b)
    if first is None or second is None:
        return
    one, other = canonicalize_version(first), canonicalize_version(second)
    assert (first == second) == (one == other)
    assert canonicalize_version(Version(one)) == one
