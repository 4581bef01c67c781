"""Real pip-audit (its OSV service) against local OSV databases made of real-format records."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

from pipeline.audit import run_audit
from pipeline.audit.osvdb import OsvDatabase
from pipeline.config import parse_policy
from pipeline.findings import Report, Severity
from pipeline.formats import render
from tests.conftest import assert_one_line_error, run_cli

# A fresh database: its newest `modified` is within audit.max_db_age_days (test_audit_db_age.py tests age).
RECENT = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
# The shared pypa vectors are a 2024 snapshot: the tests that match against them accept their age.
OLD_DB_OK = "audit:\n  max_db_age_days: 100000\n"

# Shaped like pypa/advisory-database records: ECOSYSTEM ranges, aliases, no severity.
RECORD_YAML = {
    "id": "PYSEC-2099-1",
    "details": "Template injection in demo-lib before 2.0.1.",
    "aliases": ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"],
    "modified": RECENT,
    "published": "2099-01-01T00:00:00Z",
    "affected": [
        {
            "package": {"name": "demo-lib", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.1"}]}],
        }
    ],
}
# Shaped like osv.dev's JSON export: a GHSA with a CVSS v3 vector, a range with two windows.
RECORD_JSON = {
    "id": "GHSA-dddd-eeee-ffff",
    "summary": "Path traversal in other-lib",
    "aliases": ["CVE-2099-0002"],
    "modified": RECENT,
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
    "affected": [
        {
            "package": {"name": "Other_Lib", "ecosystem": "PyPI"},
            "ranges": [
                {
                    "type": "ECOSYSTEM",
                    "events": [
                        {"introduced": "1.0"},
                        {"fixed": "1.4"},
                        {"introduced": "2.0"},
                        {"fixed": "2.2"},
                    ],
                }
            ],
        }
    ],
}
WITHDRAWN = {**RECORD_YAML, "id": "PYSEC-2099-9", "aliases": [], "withdrawn": "2099-03-01T00:00:00Z"}


@pytest.fixture(scope="module")
def db_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("osvdb")
    (root / "demo-lib").mkdir()
    (root / "demo-lib" / "PYSEC-2099-1.yaml").write_text(yaml.safe_dump(RECORD_YAML))
    (root / "demo-lib" / "PYSEC-2099-9.yaml").write_text(yaml.safe_dump(WITHDRAWN))
    (root / "GHSA-dddd-eeee-ffff.json").write_text(json.dumps(RECORD_JSON))
    return root


def _req(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text)
    return path


def _policy(text: str = "", source: str = "mcp-harden.yaml"):
    return parse_policy(text, source=source)


def test_vulnerable_pin_found_with_aliases_and_fix(tmp_path, db_dir):
    req = _req(tmp_path, "demo-lib==1.9\nother-lib==2.1 \\\n    --hash=sha256:00\nsafe-lib==1.0\n")
    stage = run_audit(policy=_policy(), requirements=req, offline_db=db_dir)
    assert stage.error is None
    by_id = {f.properties["package"]: f for f in stage.findings}
    assert set(by_id) == {"demo-lib", "other-lib"}  # the withdrawn record is not reported
    demo = by_id["demo-lib"]
    assert demo.properties["id"] == "PYSEC-2099-1"
    assert demo.properties["aliases"] == ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"]
    assert demo.fix.startswith("upgrade to 2.0.1")
    assert demo.severity is Severity.CRITICAL  # no severity in the record: policy default, never lower
    assert demo.location.line == 1
    other = by_id["other-lib"]
    assert {other.properties["id"], *other.properties["aliases"]} == {"GHSA-dddd-eeee-ffff", "CVE-2099-0002"}
    assert other.severity is Severity.MEDIUM  # CVSS 6.1 computed from the vector
    assert other.fix.startswith("upgrade to 2.2")
    assert Report([stage]).exit_code() == 1


def test_versions_outside_ranges_are_clean(tmp_path, db_dir):
    req = _req(tmp_path, "demo-lib==2.0.1\nother-lib==1.5\nother-lib==0.9\n")
    stage = run_audit(policy=_policy(), requirements=req, offline_db=db_dir)
    assert stage.error is None and stage.findings == []
    assert stage.summary["dependencies_audited"] == 3


def test_unknown_severity_follows_policy(tmp_path, db_dir):
    req = _req(tmp_path, "demo-lib==1.0\n")
    stage = run_audit(
        policy=_policy("audit:\n  unknown_severity: medium\n"), requirements=req, offline_db=db_dir
    )
    assert [f.severity for f in stage.findings] == [Severity.MEDIUM]


def test_ignore_with_reason_hides_and_expired_does_not(tmp_path, db_dir):
    req = _req(tmp_path, "demo-lib==1.0\n")
    policy = _policy(
        "audit:\n  ignore:\n    - id: cve-2099-0001\n      reason: template path is never user input\n"
        "      expires: 2099-12-31\n"
    )
    stage = run_audit(policy=policy, requirements=req, offline_db=db_dir, today=dt.date(2099, 6, 1))
    (finding,) = stage.findings
    assert finding.suppressed == "template path is never user input"
    assert Report([stage]).exit_code() == 0
    later = run_audit(policy=policy, requirements=req, offline_db=db_dir, today=dt.date(2100, 1, 1))
    rules = sorted(f.rule_id for f in later.findings)
    assert rules == ["MH-AUDIT-IGNORE-EXPIRED", "MH-AUDIT-VULN"]
    assert all(f.suppressed is None for f in later.findings)
    assert Report([later]).exit_code() == 1


def test_unused_ignore_is_noted(tmp_path, db_dir):
    req = _req(tmp_path, "safe-lib==1.0\n")
    policy = _policy("audit:\n  ignore:\n    - id: GHSA-zzzz\n      reason: gone\n")
    stage = run_audit(policy=policy, requirements=req, offline_db=db_dir)
    assert any("GHSA-zzzz" in note for note in stage.notes)


def test_zip_of_json_records(tmp_path, db_dir):
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("GHSA-dddd-eeee-ffff.json", json.dumps(RECORD_JSON))
    db = OsvDatabase.open(archive)
    assert [r["id"] for r in db.query("other-lib", "1.2")] == ["GHSA-dddd-eeee-ffff"]
    assert db.query("other-lib", "1.4") == []


def test_unpinned_requirement_cannot_be_audited(tmp_path, db_dir):
    req = _req(tmp_path, "demo-lib>=1.0\n")
    stage = run_audit(policy=_policy(), requirements=req, offline_db=db_dir)
    assert stage.error and "not pinned" in stage.error
    assert Report([stage]).exit_code() == 3


def _serve(status: int) -> tuple[HTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1/query"


def test_404_answering_service_is_exit_3(tmp_path):
    server, url = _serve(404)
    try:
        req = _req(tmp_path, "demo-lib==1.0\n")
        policy = tmp_path / "p.yaml"
        policy.write_text(f"audit:\n  service: osv\n  osv_url: {url}\n")
        result = run_cli("audit", "-r", str(req), "--policy", str(policy))
    finally:
        server.shutdown()
    assert result.code == 3
    assert "answered HTTP 404" in result.out


def test_unreachable_service_is_exit_3(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    req = _req(tmp_path, "demo-lib==1.0\n")
    policy = tmp_path / "p.yaml"
    policy.write_text(f"audit:\n  osv_url: http://127.0.0.1:{port}/v1/query\n  timeout: 5\n")
    result = run_cli("audit", "-r", str(req), "--policy", str(policy), "--format", "json")
    assert result.code == 3
    stage = json.loads(result.out)["stages"][0]
    assert stage["status"] == "error" and "refused" in stage["error"]


def test_offline_service_without_database_is_a_config_error(tmp_path):
    req = _req(tmp_path, "demo-lib==1.0\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("audit:\n  service: offline\n")
    result = run_cli("audit", "-r", str(req), "--policy", str(policy))
    assert result.code == 2
    assert "offline database" in assert_one_line_error(result)


def test_corrupt_record_is_named(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "BAD-1.json").write_text("{not json")
    req = _req(tmp_path, "demo-lib==1.0\n")
    result = run_cli("audit", "-r", str(req), "--offline-db", str(tmp_path / "db"))
    assert result.code == 3
    assert "BAD-1.json" in result.out


def test_real_pypa_advisories(tmp_path, osv_pypa):
    req = _req(tmp_path, "django==3.2.0\naiohttp==3.8.0\n")
    stage = run_audit(policy=_policy(OLD_DB_OK), requirements=req, offline_db=osv_pypa)
    ids = {f.properties["id"] for f in stage.findings}
    aliases = {a for f in stage.findings for a in f.properties["aliases"]}
    assert "PYSEC-2021-109" in ids and "CVE-2021-35042" in aliases  # QuerySet.order_by SQL injection
    fix = next(f for f in stage.findings if f.properties["id"] == "PYSEC-2021-109")
    assert "3.2.5" in fix.properties["fix_versions"]
    assert any(f.properties["package"] == "aiohttp" for f in stage.findings)
    clean = run_audit(
        policy=_policy(OLD_DB_OK), requirements=_req(tmp_path, "django==5.1.2\n"), offline_db=osv_pypa
    )
    assert clean.error is None and clean.findings == []


def test_sarif_and_markdown_render(tmp_path, db_dir):
    req = _req(tmp_path, "demo-lib==1.0\n")
    stage = run_audit(policy=_policy(), requirements=req, offline_db=db_dir)
    report = Report([stage], tool_version="t")
    sarif = json.loads(render(report, "sarif"))
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "MH-AUDIT-VULN" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert "| audit | ❌ failed |" in render(report, "markdown")


def test_a_record_with_an_unreadable_fixed_version_is_still_judged(tmp_path: Path) -> None:
    """A real advisory names its fix as `0.2.0-n653`, which PEP 440 cannot read and pip-audit's conversion
    raises on: the offline audit still reports the vulnerability (no internal error, nothing lost)."""
    db = tmp_path / "osv"
    db.mkdir()
    record = json.loads(json.dumps(RECORD_YAML))
    record["affected"][0]["ranges"][0]["events"] = [{"introduced": "0"}, {"fixed": "0.2.0-n653"}]
    (db / "PYSEC-2099-1.json").write_text(json.dumps(record))
    req = tmp_path / "req.txt"
    req.write_text("demo-lib==0.1\n")
    stage = run_audit(policy=parse_policy(""), requirements=req, offline_db=db)
    assert stage.error is None, stage.error
    assert [f.properties["id"] for f in stage.findings] == ["PYSEC-2099-1"]
