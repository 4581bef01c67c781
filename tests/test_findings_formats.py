from __future__ import annotations

import json

import pytest

from pipeline.cli import build_parser
from pipeline.errors import ExitCode
from pipeline.findings import Finding, Location, Report, Severity, StageResult
from pipeline.formats import render
from tests.conftest import run_cli, run_cli_process


def _report() -> Report:
    ok = StageResult("sbom", summary={"components": 3})
    bad = StageResult(
        "audit",
        findings=[
            Finding(
                "MH-AUDIT-VULN",
                Severity.HIGH,
                "demo 1.0: GHSA-1",
                Location(path="r.txt", line=2),
                fix="upgrade",
            ),
            Finding("MH-AUDIT-VULN", Severity.LOW, "demo 1.0: GHSA-2", Location(path="r.txt", line=2)),
            Finding("MH-AUDIT-VULN", Severity.CRITICAL, "demo 1.0: GHSA-3", suppressed="accepted until May"),
        ],
    )
    broken = StageResult("endpoint", error="connection timed out after 10 s")
    skipped = StageResult("sign", skipped="no identity token")
    return Report([ok, bad, broken, skipped], threshold=Severity.HIGH, tool_version="9")


def test_exit_code_rule():
    assert Report([StageResult("a")]).exit_code() is ExitCode.OK
    low = StageResult("a", findings=[Finding("X", Severity.MEDIUM, "t")])
    assert Report([low], threshold=Severity.HIGH).exit_code() is ExitCode.OK
    assert Report([low], threshold=Severity.MEDIUM).exit_code() is ExitCode.FINDINGS
    suppressed = StageResult("a", findings=[Finding("X", Severity.CRITICAL, "t", suppressed="why")])
    assert Report([suppressed]).exit_code() is ExitCode.OK
    assert (
        Report([low, StageResult("b", error="down")], threshold=Severity.LOW).exit_code()
        is ExitCode.INCOMPLETE
    )
    assert Report([StageResult("b", skipped="not asked")]).exit_code() is ExitCode.OK


def test_text_says_every_stage_and_verdict():
    text = render(_report(), "text")
    for words in (
        "[PASS ] sbom",
        "[FAIL ] audit",
        "[ERROR] endpoint",
        "could not check: connection timed out",
        "[SKIP ] sign",
        "not run: no identity token",
        "suppressed: accepted until May",
        "Result: INCOMPLETE (exit 3)",
    ):
        assert words in text


def test_json_round_trips_through_report_command(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(render(_report(), "json"))
    result = run_cli("report", str(path), "--format", "json")
    assert result.code == 3
    data = json.loads(result.out)
    assert [s["status"] for s in data["stages"]] == ["passed", "failed", "error", "skipped"]
    assert data["stages"][1]["findings"][2]["suppressed"] == "accepted until May"


def test_missing_or_broken_report_is_could_not_check(tmp_path):
    good = tmp_path / "a.json"
    good.write_text(render(Report([StageResult("sbom")]), "json"))
    broken = tmp_path / "b.json"
    broken.write_text("{")
    result = run_cli("report", str(good), str(broken), str(tmp_path / "c.json"))
    assert result.code == 3
    assert "b.json is unreadable" in result.out and "c.json is missing" in result.out


def test_markdown_summary_appends(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    path = tmp_path / "one.json"
    path.write_text(render(_report(), "json"))
    run_cli("report", str(path), "--summary", str(summary))
    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "| endpoint | ⚠️ could not check |" in text and "`MH-AUDIT-VULN`" in text


def test_sarif_shape():
    sarif = json.loads(render(_report(), "sarif"))
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["MH-AUDIT-VULN"]
    levels = [r["level"] for r in run["results"]]
    assert levels == ["error", "note", "error"]
    assert run["results"][2]["suppressions"][0]["justification"] == "accepted until May"
    assert run["invocations"][0]["executionSuccessful"] is False
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"])


@pytest.mark.parametrize("command", sorted(build_parser()._subparsers._group_actions[0].choices))
def test_every_command_help_shows_an_example(command):
    result = run_cli(command, "--help")
    assert result.code == 0
    assert "examples:" in result.out and "mcp-harden" in result.out.split("examples:")[1]


def test_usage_error_is_exit_2():
    result = run_cli_process("audit")  # argparse's exit, as a real process ends with it
    assert result.code == 2
    assert "Traceback" not in result.err
