"""One name per option across commands: the local OSV database is `--offline-db` for `audit` and `vulndb`
alike (as the policy's audit.offline_db). Old names keep working, hidden from --help."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from tests.conftest import run_cli, serve_bytes
from tests.test_vulndb import _zip

# Renamed options: (command, new name, old name).
RENAMED = [
    ("vulndb", "--offline-db", "--db"),
    ("vulndb", "--max-db-age-days", "--max-age-days"),
    ("vulndb", "--source-url", "--url"),
]
# Destinations deliberately spelled differently: where the report goes is -o/--output, unless -o names the
# command's own product (an SBOM, a record), then --report; verify's --offline/--online are one switch.
SPELLED_APART = {"output", "online"}
# `-o` is each command's main product: the report, or the SBOM / record where the command makes one.
MEANS_THE_PRODUCT = {"-o"}


def _stale_db(tmp_path: Path) -> Path:
    db = tmp_path / "osv.zip"
    db.write_bytes(_zip("2020-01-01T00:00:00Z"))
    return db


@pytest.mark.parametrize(
    ("db_option", "age_option"), [("--offline-db", "--max-db-age-days"), ("--db", "--max-age-days")]
)
def test_new_and_old_names_give_the_same_answer(tmp_path, db_option, age_option):
    db = _stale_db(tmp_path)
    stale = run_cli("vulndb", "status", db_option, str(db))
    assert stale.code == 1 and "audit.max_db_age_days is 7" in stale.err
    accepted = run_cli("vulndb", "status", db_option, str(db), age_option, "100000")
    assert accepted.code == 0, accepted.err
    assert accepted.out.startswith(f"{db}: 1 records")


@pytest.mark.parametrize("url_option", ["--source-url", "--url"])
def test_update_source_under_either_name(tmp_path, url_option):
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    server, url = serve_bytes(_zip(today))
    try:
        result = run_cli("vulndb", "update", "--offline-db", str(tmp_path / "osv.zip"), url_option, url)
    finally:
        server.shutdown()
    assert result.code == 0, result.err
    assert run_cli("vulndb", "status", "--offline-db", str(tmp_path / "osv.zip")).code == 0


def test_audit_and_vulndb_name_the_database_alike(tmp_path):
    db = _stale_db(tmp_path)
    req = tmp_path / "r.txt"
    req.write_text("demo-lib==1.0\n")
    audit = run_cli("audit", "-r", str(req), "--offline-db", str(db))
    assert audit.code == 3 and f"mcp-harden vulndb update --offline-db {db}" in audit.out


def test_old_names_are_hidden_from_help():
    for command, new, old in RENAMED:
        text = run_cli(command, "--help").out
        assert new in text
        assert f"{old} " not in text and f"{old}\n" not in text and f"[{old}" not in text


def _visible_options() -> dict[str, dict[str, set[str]]]:
    """dest -> command -> the option strings shown in --help."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: dict[str, dict[str, set[str]]] = {}
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.option_strings and action.help is not argparse.SUPPRESS and action.dest != "help":
                found.setdefault(action.dest, {}).setdefault(name, set()).update(action.option_strings)
    return found


def test_one_name_per_option_across_commands():
    """A thing is named alike wherever it is asked for, and a name means one thing everywhere."""
    by_dest = _visible_options()
    for dest, commands in by_dest.items():
        spellings = {frozenset(strings) for strings in commands.values()}
        if dest not in SPELLED_APART:
            assert len(spellings) == 1, (
                f"{dest} is spelled {sorted(map(sorted, spellings))} across {sorted(commands)}"
            )
    owners: dict[str, set[str]] = {}
    for dest, commands in by_dest.items():
        for strings in commands.values():
            for option in strings:
                owners.setdefault(option, set()).add(dest)
    shared = {o: dests for o, dests in owners.items() if len(dests) > 1 and o not in MEANS_THE_PRODUCT}
    assert shared == {}, shared
