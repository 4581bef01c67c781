"""The npm reference server `@modelcontextprotocol/server-everything`, captured over stdio.

It is installed by .ci/run into .tools/npm (`npm install --prefix .tools/npm
@modelcontextprotocol/server-everything`). A missing install fails this test: it never skips.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.manifest.conftest import EVERYTHING_BIN, cli, stage


@pytest.fixture(scope="module")
def everything() -> str:
    if not EVERYTHING_BIN.exists():
        pytest.fail(
            f"{EVERYTHING_BIN} is missing: run `npm install --prefix .tools/npm "
            "@modelcontextprotocol/server-everything` (.ci/run does)"
        )
    return str(EVERYTHING_BIN)


def test_two_stdio_captures_are_identical(everything: str, tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    for out in (one, two):
        result = cli("manifest", "capture", "-o", str(out), "--format", "json", "--", everything, "stdio")
        assert result.code == 0, result.out + result.err
    assert one.read_bytes() == two.read_bytes()
    record = json.loads(one.read_text())
    assert record["server"]["name"] == "mcp-servers/everything"
    names = {tool["name"] for tool in record["tools"]}
    assert {"echo", "get-sum"} <= names
    # It exercises every section: prompts with arguments, resources and resource templates.
    assert record["prompts"] and record["resources"] and record["resourceTemplates"]
    assert any(prompt.get("arguments") for prompt in record["prompts"])
    assert set(record["digests"]["tools"]) == names
    summary = stage(result)["summary"]
    assert summary["tools"] == len(record["tools"])
    # And the live server matches its own record.
    diff = cli("manifest", "diff", str(one), "--format", "json", "--", everything, "stdio")
    assert diff.code == 0, diff.out + diff.err
    assert stage(diff)["summary"]["identical"] is True


def test_scan_of_the_reference_server_is_clean(everything: str, tmp_path: Path) -> None:
    """A real third-party server, written by nobody here: the poisoning scan finds nothing at medium or above.
    (Its `instructions` talk to the model, as instructions are meant to; that alone is no sign.)"""
    record = tmp_path / "everything.json"
    result = cli("manifest", "capture", "-o", str(record), "--format", "json", "--", everything, "stdio")
    assert result.code == 0, result.out + result.err
    scanned = cli("scan-tools", str(record), "--format", "json", "--fail-on", "medium")
    assert scanned.code == 0, scanned.out
    findings = stage(scanned)["findings"]
    assert [f for f in findings if f["severity"] in ("medium", "high", "critical")] == []
