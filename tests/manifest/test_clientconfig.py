"""MCP client configurations (Claude Desktop, VS Code, Cursor): every listed server into one set record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.manifest.clientconfig import load_client_config
from pipeline.manifest.record import load
from tests.conftest import assert_one_line_error
from tests.manifest.conftest import EXAMPLE_SRC, PY, RUGPULL, cli, incomplete, kinds, stage


def claude_desktop(path: Path, weather_mode: str = "base", extra: dict | None = None) -> Path:
    servers = {
        "weather": {"command": PY, "args": [RUGPULL, "--mode", weather_mode]},
        "notes": {"command": PY, "args": ["-m", "example_server"], "env": {"PYTHONPATH": EXAMPLE_SRC}},
        **(extra or {}),
    }
    path.write_text(json.dumps({"mcpServers": servers}, indent=2))
    return path


def test_stdio_servers_need_allow_exec(tmp_path: Path) -> None:
    config = claude_desktop(tmp_path / "claude_desktop_config.json")
    result = cli("manifest", "capture", "--client-config", str(config), "-o", str(tmp_path / "set.json"))
    assert result.code == 2
    line = assert_one_line_error(result)
    assert str(config) in line and "capturing notes, weather runs their commands" in line
    assert "--allow-exec" in line
    assert not (tmp_path / "set.json").exists()


@pytest.fixture(scope="module")
def set_record(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("claude")
    config = claude_desktop(base / "claude_desktop_config.json")
    out = base / "servers.json"
    result = cli(
        "manifest",
        "capture",
        "--client-config",
        str(config),
        "--allow-exec",
        "-o",
        str(out),
        "--format",
        "json",
    )
    assert result.code == 0, result.out + result.err
    assert stage(result)["summary"]["servers"] == 2
    assert stage(result)["summary"]["tools"] == 5
    return config, out


def test_claude_desktop_set_record(set_record: tuple[Path, Path]) -> None:
    _, out = set_record
    data = load(out)  # checks every digest
    assert data["format"] == "mcp-harden/manifest-set@1"
    assert sorted(data["servers"]) == ["notes", "weather"]
    assert data["servers"]["notes"]["server"]["name"] == "example-notes"
    assert [t["name"] for t in data["servers"]["weather"]["tools"]] == ["get_weather", "send_report"]


@pytest.mark.slow
def test_set_record_against_live_configuration(set_record: tuple[Path, Path], tmp_path: Path) -> None:
    config, out = set_record
    same = cli(
        "manifest", "diff", str(out), "--client-config", str(config), "--allow-exec", "--format", "json"
    )
    assert same.code == 0, same.out + same.err
    assert stage(same)["summary"]["identical"] is True
    # One server of the set changes, another server appears: both are reported, named by their key.
    changed = claude_desktop(
        tmp_path / "changed.json",
        weather_mode="description",
        extra={"more": {"command": PY, "args": [RUGPULL, "--mode", "added"]}},
    )
    result = cli(
        "manifest", "diff", str(out), "--client-config", str(changed), "--allow-exec", "--format", "json"
    )
    assert result.code == 1
    findings = stage(result)["findings"]
    assert sorted((f["properties"]["kind"], f["location"]["logical"]) for f in findings) == [
        ("server-added", "server more"),
        ("tool-changed", "server weather tool get_weather field description"),
    ]
    # A set record is not compared with a single server.
    single = cli("manifest", "diff", str(out), "--", PY, RUGPULL)
    assert single.code == 2
    assert "--client-config" in assert_one_line_error(single)


def test_servers_checked_against_each_other(tmp_path: Path) -> None:
    """Two servers listing the same tool names: a client may call the wrong one (shadowing)."""
    config = tmp_path / "mcp.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "weather": {"command": PY, "args": [RUGPULL]},
                    "lookalike": {"command": PY, "args": [RUGPULL, "--mode", "added"]},
                }
            }
        )
    )
    out = tmp_path / "set.json"
    result = cli(
        "manifest", "capture", "--client-config", str(config), "--allow-exec", "-o", str(out),
        "--format", "json", "--fail-on", "medium",
    )  # fmt: skip
    assert result.code == 1  # medium: fails only a stricter threshold than the default (high)
    findings = stage(result)["findings"]
    assert [(f["rule_id"], f["location"]["logical"]) for f in findings] == [
        ("MH-MANIFEST-TOOL-NAME-SHARED", "tool get_weather"),
        ("MH-MANIFEST-TOOL-NAME-SHARED", "tool send_report"),
    ]
    assert findings[0]["properties"]["servers"] == ["lookalike", "weather"]
    assert findings[0]["severity"] == "medium"
    assert out.is_file()  # the record is written all the same: the findings are about the configuration


def test_vscode_jsonc_with_http_and_stdio(tmp_path: Path, example_url: str) -> None:
    workspace = tmp_path / "project"
    (workspace / ".vscode").mkdir(parents=True)
    (workspace / "servers").mkdir()
    (workspace / "servers" / "rugpull.py").write_text(Path(RUGPULL).read_text())
    config = workspace / ".vscode" / "mcp.json"
    config.write_text(
        "// VS Code workspace configuration\n"
        "{\n"
        '  "servers": {\n'
        "    /* a local server, path relative to the workspace */\n"
        f'    "weather": {{"type": "stdio", "command": "{PY}", "args": ["${{workspaceFolder}}/servers/rugpull.py"],}},\n'
        f'    "notes": {{"type": "http", "url": "{example_url}", "headers": {{"X-Trace": "1 // not a comment"}}}},\n'
        "  },\n"
        "}\n"
    )
    targets = load_client_config(config)
    assert targets["weather"].args == [str(workspace / "servers" / "rugpull.py")]  # type: ignore[union-attr]
    assert targets["notes"].headers == {"X-Trace": "1 // not a comment"}  # type: ignore[union-attr]
    out = tmp_path / "set.json"
    refused = cli("manifest", "capture", "--client-config", str(config), "-o", str(out))
    assert refused.code == 2 and "capturing weather runs" in assert_one_line_error(
        refused
    )  # not notes (HTTP)
    result = cli("manifest", "capture", "--client-config", str(config), "--allow-exec", "-o", str(out))
    assert result.code == 0, result.err
    assert sorted(load(out)["servers"]) == ["notes", "weather"]


def test_cursor_http_only_needs_no_allow_exec(tmp_path: Path, example_url: str) -> None:
    config = tmp_path / ".cursor" / "mcp.json"
    config.parent.mkdir()
    config.write_text(
        json.dumps({"mcpServers": {"notes": {"url": example_url}, "notes-again": {"url": example_url}}})
    )
    out = tmp_path / "set.json"
    result = cli("manifest", "capture", "--client-config", str(config), "-o", str(out), "--format", "json")
    assert result.code == 0, result.out + result.err
    assert "runs its command" not in result.out
    data = load(out)
    assert sorted(data["servers"]) == ["notes", "notes-again"]
    assert data["servers"]["notes"]["digest"] == data["servers"]["notes-again"]["digest"]
    assert kinds(result) == ["tool-name-shared"] * 3  # the same server twice: every tool is shadowed


def test_partial_set_is_not_written(tmp_path: Path, example_url: str) -> None:
    """One server of the configuration fails: exit 3, no record (a partial set would pin the wrong thing)."""
    config = tmp_path / "mcp.json"
    config.write_text(
        json.dumps(
            {"mcpServers": {"notes": {"url": example_url}, "broken": {"command": str(tmp_path / "nope")}}}
        )
    )
    out = tmp_path / "set.json"
    result = cli(
        "manifest", "capture", "--client-config", str(config), "--allow-exec", "-o", str(out), "--format", "json"
    )  # fmt: skip
    assert (
        incomplete(result)
        == f"broken: {tmp_path / 'nope'}: cannot start the server: No such file or directory"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"mcpServers": {"old": {"type": "sse", "url": "http://127.0.0.1:1/sse"}}}', "legacy SSE"),
        ('{"mcpServers": {"x": {"command": ["not", "a", "string"]}}}', "'command' must be a string"),
        ('{"mcpServers": {"x": {"name": "neither"}}}', "neither a 'command'"),
        ('{"something": {}}', "no 'mcpServers'"),
        ('{"mcpServers": {}}', "lists no servers"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_client_configs_exit_2(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(content)
    result = cli("manifest", "capture", "--client-config", str(config), "--allow-exec")
    assert result.code == 2
    line = assert_one_line_error(result)
    assert message in line and str(config) in line
