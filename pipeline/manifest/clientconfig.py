"""MCP client configurations: Claude Desktop (`mcpServers`), VS Code (`.vscode/mcp.json`, `servers`),
Cursor (`mcp.json`, `mcpServers`). Each listed server becomes a capture target."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.manifest.capture import HttpTarget, StdioTarget, Target

_VAR = re.compile(r"\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}")


def _strip_jsonc(text: str) -> str:
    """VS Code's mcp.json is JSON with comments and trailing commas: drop both, leave strings alone."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(ch)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


CLIENT_CONFIG_MAX_BYTES = 1 << 20  # a client configuration lists a few servers


def load_client_config(path: str | Path) -> dict[str, Target]:
    path = Path(path)
    where = str(path)
    from pipeline import jsonsafe
    from pipeline.fileio import read_text_bounded

    what = "client configuration"
    text = read_text_bounded(path, what=what, limit=CLIENT_CONFIG_MAX_BYTES)
    try:
        data = jsonsafe.loads(text, where=where, what=what)
    except ConfigError:  # VS Code's files are JSONC: comments and trailing commas
        data = jsonsafe.loads(_strip_jsonc(text), where=where, what=what)
    if not isinstance(data, dict):
        raise ConfigError("expected a JSON object", where=where)
    servers = data.get("mcpServers", data.get("servers"))
    if not isinstance(servers, dict):
        raise ConfigError(
            "no 'mcpServers' (Claude Desktop, Cursor) or 'servers' (VS Code) object", where=where
        )
    workspace = path.resolve().parent
    if workspace.name == ".vscode":
        workspace = workspace.parent
    targets: dict[str, Target] = {}
    for name, entry in servers.items():
        here = f"{where}: server {name}"
        if not isinstance(entry, dict):
            raise ConfigError("expected an object", where=here)
        entry = _expand(entry, workspace)
        kind = entry.get("type")
        if "command" in entry and kind in (None, "stdio"):
            command, args, env = entry["command"], entry.get("args", []), entry.get("env", {})
            if not isinstance(command, str) or not _strings(args) or not _string_map(env):
                raise ConfigError(
                    "'command' must be a string, 'args' strings, 'env' a map of strings", where=here
                )
            cwd = entry.get("cwd")
            targets[name] = StdioTarget(command, list(args), env=dict(env), cwd=cwd, name=name)
        elif "url" in entry and kind in (None, "http", "streamable-http", "streamableHttp", "sse"):
            headers = entry.get("headers", {})
            if not isinstance(entry["url"], str) or not _string_map(headers):
                raise ConfigError("'url' must be a string and 'headers' a map of strings", where=here)
            if kind == "sse":
                raise ConfigError(
                    "the legacy SSE transport is not supported; use Streamable HTTP", where=here
                )
            targets[name] = HttpTarget(entry["url"], headers=dict(headers), name=name)
        else:
            raise ConfigError("neither a 'command' (stdio) nor a 'url' (HTTP) server", where=here)
    return targets


def _expand(value: Any, workspace: Path) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            if match.group(1) == "workspaceFolder":
                return str(workspace)
            if match.group(1) == "userHome":
                return str(Path.home())
            return os.environ.get(match.group(2) or "", "")

        return _VAR.sub(sub, value)
    if isinstance(value, list):
        return [_expand(v, workspace) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, workspace) for k, v in value.items()}
    return value


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _string_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
