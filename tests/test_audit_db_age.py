"""Stale data is not fresh: an offline OSV database older than audit.max_db_age_days makes the audit
"could not check" (exit 3). Age is the newest record's `modified`, whatever the files' times say.
Real pypa advisories (the shared vectors), copied to tmp and aged there."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from pipeline.audit.osvdb import OsvDatabase
from tests.conftest import run_cli

NOW = dt.datetime.now(dt.timezone.utc)


def _stamp(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def stale_copy(osv_pypa, tmp_path_factory) -> Path:
    """The whole shared snapshot as it is (its newest record is from 2024), files touched to now."""
    target = tmp_path_factory.mktemp("osv") / "vulns"
    shutil.copytree(osv_pypa, target)
    for root, _dirs, files in os.walk(target):
        for name in files:
            os.utime(Path(root) / name)  # fresh mtimes must not make the data fresh
    return target


# libyaml where PyYAML has it: the same documents, parsed and written ten times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@functools.cache
def _django_records(folder: Path) -> tuple[tuple[str, str], ...]:
    """The real django advisories (file name, text), read once per run."""
    return tuple((path.name, path.read_text()) for path in sorted(folder.iterdir()))


def _django_db(osv_pypa: Path, tmp_path: Path, modified: str) -> Path:
    """The real django advisories, every record's `modified` set to `modified`."""
    target = tmp_path / "db" / "django"
    target.mkdir(parents=True)
    for name, text in _django_records(osv_pypa / "django"):
        record = yaml.load(text, Loader=_LOADER)
        record["modified"] = modified
        (target / name).write_text(yaml.dump(record, Dumper=_DUMPER))
    return target.parent


def _audit(tmp_path: Path, db: Path, policy: str = "") -> tuple[int, dict]:
    req = tmp_path / "requirements.txt"
    req.write_text("django==3.2.0\n")
    args = ["audit", "-r", str(req), "--offline-db", str(db), "--format", "json"]
    if policy:
        (tmp_path / "p.yaml").write_text(policy)
        args += ["--policy", str(tmp_path / "p.yaml")]
    result = run_cli(*args)
    return result.code, json.loads(result.out)["stages"][0]


def test_the_2024_snapshot_is_could_not_check_saying_its_age_and_how_to_update(stale_copy, tmp_path):
    db = OsvDatabase.open(stale_copy)
    expected_age = (NOW - dt.datetime.fromisoformat(db.newest_modified.replace("Z", "+00:00"))).days
    assert expected_age > 365
    code, stage = _audit(tmp_path, stale_copy)
    assert code == 3 and stage["status"] == "error"
    assert f"{expected_age} days old" in stage["error"]
    assert db.newest_modified in stage["error"]
    assert "audit.max_db_age_days is 7" in stage["error"]
    assert f"mcp-harden vulndb update --offline-db {stale_copy}" in stage["error"]
    assert stage["findings"] == []


def test_an_accepted_age_audits(stale_copy, tmp_path):
    code, stage = _audit(tmp_path, stale_copy, "audit:\n  max_db_age_days: 100000\n")
    assert code == 1, stage
    assert "PYSEC-2021-109" in {f["properties"]["id"] for f in stage["findings"]}
    assert any(re.search(r"newest record modified .* \(\d+ days ago", note) for note in stage["notes"])


@pytest.mark.parametrize(("days_ago", "code"), [(2, 1), (6.5, 1), (8, 3), (30, 3)])
def test_age_against_the_default_limit(osv_pypa, tmp_path, days_ago, code):
    got, stage = _audit(tmp_path, _django_db(osv_pypa, tmp_path, _stamp(days_ago)))
    assert got == code, stage
    if code == 3:
        assert f"is {int(days_ago)} days old" in stage["error"]
    else:
        assert stage["findings"]


def test_the_policy_sets_the_limit(osv_pypa, tmp_path):
    db = _django_db(osv_pypa, tmp_path, _stamp(10))
    assert _audit(tmp_path, db, "audit:\n  max_db_age_days: 14\n")[0] == 1
    code, stage = _audit(tmp_path, db, "audit:\n  max_db_age_days: 9\n")
    assert code == 3 and "audit.max_db_age_days is 9" in stage["error"]


def test_a_record_dated_in_the_future_is_refused(osv_pypa, tmp_path):
    """A far-future `modified` would keep a database 'fresh' forever."""
    code, stage = _audit(tmp_path, _django_db(osv_pypa, tmp_path, "2099-01-01T00:00:00Z"))
    assert code == 3 and "ahead of this machine's clock" in stage["error"]


def test_undated_records_are_refused(osv_pypa, tmp_path):
    db = _django_db(osv_pypa, tmp_path, _stamp(1))
    for path in (db / "django").iterdir():
        record = yaml.load(path.read_text(), Loader=_LOADER)
        del record["modified"]
        path.write_text(yaml.dump(record, Dumper=_DUMPER))
    code, stage = _audit(tmp_path, db)
    assert code == 3 and "age is unknown" in stage["error"]


def test_negative_limit_is_a_config_error(osv_pypa, tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("django==3.2.0\n")
    (tmp_path / "p.yaml").write_text("audit:\n  max_db_age_days: -1\n")
    result = run_cli(
        "audit", "-r", str(req), "--offline-db", str(osv_pypa), "--policy", str(tmp_path / "p.yaml")
    )
    assert result.code == 2 and "max_db_age_days" in result.err


@pytest.mark.parametrize(("modified", "code"), [(1, 0), (8, 1), ("2099-01-01T00:00:00Z", 1)])
def test_vulndb_status_applies_the_audits_rule(osv_pypa, tmp_path, modified, code):
    # Days ago are turned into a date here, not at collection: parallel workers must collect the same ids.
    db = _django_db(osv_pypa, tmp_path, _stamp(modified) if isinstance(modified, int) else modified)
    result = run_cli("vulndb", "status", "--offline-db", str(db))
    assert result.code == code, result.out + result.err
    assert (code == 0) == (result.err == "")
