"""`mcp-harden check-endpoint` as a user runs it (a subprocess), against real SDK servers on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import assert_one_line_error, run_cli
from tests.endpoint.mcp_servers import TOKENS, McpDeployment, RawServer, silent


def _all_tokens() -> list[str]:
    return [
        *("--token", TOKENS["alice"], "--foreign-token", TOKENS["foreign"]),
        *("--second-token", TOKENS["bob"], "--low-scope-token", TOKENS["low"]),
    ]


def test_help_has_examples() -> None:
    result = run_cli("check-endpoint", "--help")
    assert result.code == 0
    assert "examples:" in result.out and "--resolve" in result.out and "--foreign-token" in result.out
    assert "--fail-on" in result.out  # the shared report options are there


def test_right_configuration_exits_0_as_json(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server()
    result = run_cli(
        "check-endpoint",
        deployment.url,
        "--ca-file",
        deployment.ca_file or "",
        *_all_tokens(),
        "--format",
        "json",
        "--fail-on",
        "medium",
    )
    data = json.loads(result.out)
    (stage,) = data["stages"]
    failing = [f for f in stage["findings"] if f["severity"] in ("medium", "high", "critical")]
    assert result.code == 0, (result.err, failing)
    assert stage["stage"] == f"endpoint {deployment.url}"
    assert stage["summary"]["url"] == deployment.url
    assert stage["status"] == "passed"


def test_fault_exits_1_with_sarif(mcp_server: Callable[..., McpDeployment], work: Path) -> None:
    deployment = mcp_server("host-0.0.0.0")
    sarif = work / "endpoint.sarif"
    result = run_cli(
        "check-endpoint",
        deployment.url,
        "--ca-file",
        deployment.ca_file or "",
        *_all_tokens(),
        "--sarif",
        str(sarif),
    )
    assert result.code == 1, result.out + result.err
    assert "MH-MCP-ORIGIN" in result.out and "MH-MCP-HOST" in result.out
    assert "evidence: sent: POST initialize" in result.out
    run = json.loads(sarif.read_text())["runs"][0]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {"MH-MCP-ORIGIN", "MH-MCP-HOST"} <= rule_ids
    origin = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "MH-MCP-ORIGIN")
    assert "helpUri" in origin
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == deployment.url


def test_tokens_from_environment(mcp_server: Callable[..., McpDeployment]) -> None:
    deployment = mcp_server("no-audience")
    result = run_cli(
        "check-endpoint",
        deployment.url,
        "--ca-file",
        deployment.ca_file or "",
        "--token",
        "env:T_ALICE",
        "--foreign-token",
        "env:T_OTHER",
        "--format",
        "json",
        env={"T_ALICE": TOKENS["alice"], "T_OTHER": TOKENS["foreign"]},
    )
    assert result.code == 1
    assert "MH-MCP-AUDIENCE" in result.out
    assert TOKENS["alice"] not in result.out  # the token never appears in the report


def test_one_unreachable_endpoint_exits_3_and_others_report(
    mcp_server: Callable[..., McpDeployment], raw_server: Callable[..., RawServer]
) -> None:
    good = mcp_server()
    bad = raw_server(silent(raw_server.stop_event))  # type: ignore[attr-defined]
    bad_url = f"https://127.0.0.1:{bad.port}/mcp"
    start = time.monotonic()
    result = run_cli(
        "check-endpoint",
        bad_url,
        good.url,
        "--ca-file",
        good.ca_file or "",
        *_all_tokens(),
        "--no-tls",
        "--timeout",
        "1",
        "--format",
        "json",
    )
    assert time.monotonic() - start < 15
    assert result.code == 3, result.err
    data = json.loads(result.out)
    statuses = {s["summary"]["url"]: s["status"] for s in data["stages"]}
    assert statuses == {bad_url: "error", good.url: "passed"}
    assert "Traceback" not in result.err


def test_policy_urls_and_text_rendering(mcp_server: Callable[..., McpDeployment], work: Path) -> None:
    deployment = mcp_server(tls=False)
    policy = work / "mcp-harden.yaml"
    policy.write_text(f"version: 1\nendpoint:\n  urls: [{deployment.url}]\n  timeout: 5\n")
    result = run_cli("check-endpoint", "--policy", str(policy), "--token", TOKENS["alice"])
    assert result.code == 0, result.out + result.err
    assert f"endpoint {deployment.url}" in result.out
    assert "not run: needs --foreign-token" in result.out
    assert "MH-HTTP-NOT-HTTPS" in result.out


def test_markdown_summary(mcp_server: Callable[..., McpDeployment], work: Path) -> None:
    deployment = mcp_server(tls=False)
    summary = work / "summary.md"
    result = run_cli("check-endpoint", deployment.url, "--summary", str(summary))
    assert result.code == 0
    text = summary.read_text()
    assert f"| endpoint {deployment.url} |" in text and "not run: needs --token" in text


def test_usage_errors_are_one_line() -> None:
    for args, code in (
        (["check-endpoint", "--resolve", "nonsense", "http://127.0.0.1:1/mcp"], 2),
        (["check-endpoint", "ftp://example.com/mcp"], 2),
        (["check-endpoint", "http://127.0.0.1:1/mcp", "--token", "env:MCP_HARDEN_UNSET_VAR"], 2),
        (["check-endpoint", "http://127.0.0.1:1/mcp", "--ca-file", "/nonexistent/ca.pem"], 2),
        (["check-endpoint", "http://127.0.0.1:1/mcp", "--timeout", "0"], 2),
    ):
        result = run_cli(*args, cwd=Path("/"))
        assert result.code == code, (args, result.err)
        assert_one_line_error(result)
    result = run_cli("check-endpoint", cwd=Path("/"))
    assert result.code == 2
    assert "no endpoint to check" in assert_one_line_error(result)
