"""Judging a server's `tools/list` answers (pure): names, uniqueness, a stable order, `x-mcp-header`, `$ref`.

The same judges serve both eras: tool names and the network-`$ref` rule are era-neutral, and the
`x-mcp-header` constraints are checked in every list (a 2025-11-25 client ignores the annotation, but a
2026-07-28 client on the same server drops the tool, so the fault is worth knowing either way).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pipeline.endpoint.modern import Issue
from pipeline.endpoint.rules_mcp import TOOL_HEADER, TOOL_NAME, TOOL_ORDER, TOOL_REF
from pipeline.findings import Severity

NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
TCHAR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2 token
PRIMITIVE = frozenset({"string", "integer", "boolean"})
MAX_TOOLS = 1000
MAX_DEPTH = 32


def tools_of(result: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The `tools` array of a tools/list result (bounded), or None when there is none."""
    tools = (result or {}).get("tools")
    if not isinstance(tools, list):
        return None
    return [t for t in tools[:MAX_TOOLS] if isinstance(t, dict)]


def judge_names(tools: list[dict[str, Any]]) -> list[Issue]:
    out: list[Issue] = []
    seen: set[str] = set()
    for tool in tools:
        name = tool.get("name")
        shown = repr(name)[:80]
        if not isinstance(name, str) or not NAME.fullmatch(name):
            out.append(
                Issue(
                    TOOL_NAME,
                    Severity.LOW,
                    f"Tool name {shown} is not 1-128 characters of A-Z a-z 0-9 _ - .",
                    "tool names of 1-128 characters from [A-Za-z0-9_.-]",
                    "Rename the tool to letters, digits, '_', '-' and '.' only.",
                )
            )
        if isinstance(name, str):
            if name in seen:
                out.append(
                    Issue(
                        TOOL_NAME,
                        Severity.MEDIUM,
                        f"Two tools are named {shown}",
                        "tool names unique within a server",
                        "Give every tool its own name: a client calls by name, so one of them is unreachable.",
                    )
                )
            seen.add(name)
    return out


def judge_order(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[Issue]:
    """Two identical tools/list requests, each on its own connection, must give the same list."""
    a = [t.get("name") for t in first]
    b = [t.get("name") for t in second]
    if a == b:
        return []
    what = "in another order" if sorted(map(str, a)) == sorted(map(str, b)) else "with other tools"
    return [
        Issue(
            TOOL_ORDER,
            Severity.LOW,
            f"A second identical tools/list request, on a new connection, returns the tools {what}",
            "the same tools in the same order across requests (and not varying per connection)",
            "Return tools in a fixed order (for example sorted by name).",
        )
    ]


def _reachable(schema: Any, path: tuple[str, ...] = (), depth: int = 0) -> Iterator[tuple[str, Any, Any]]:
    """(property path, x-mcp-header value, property schema) for each annotation reachable from the root by a
    chain of `properties` keys only (the spec's "statically reachable")."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        for key, sub in list(props.items())[:500]:
            if isinstance(sub, dict):
                if "x-mcp-header" in sub:
                    yield ".".join((*path, str(key))), sub["x-mcp-header"], sub
                yield from _reachable(sub, (*path, str(key)), depth + 1)


def _annotation_count(node: Any, depth: int = 0) -> int:
    """Every x-mcp-header annotation in the schema, wherever it is."""
    if depth > MAX_DEPTH:
        return 0
    if isinstance(node, dict):
        own = 1 if "x-mcp-header" in node else 0
        return own + sum(_annotation_count(v, depth + 1) for v in list(node.values())[:500])
    if isinstance(node, list):
        return sum(_annotation_count(v, depth + 1) for v in node[:500])
    return 0


def judge_headers(tool: dict[str, Any]) -> list[Issue]:
    name = repr(tool.get("name"))[:60]
    problems: list[str] = []
    seen: set[str] = set()
    schema = tool.get("inputSchema")
    reachable = list(_reachable(schema))
    if _annotation_count(schema) > len(reachable):
        problems.append("an annotation not reachable through properties alone")
    for path, value, prop in reachable:
        if not isinstance(value, str) or not TCHAR.fullmatch(value):
            problems.append(f"{path}: {repr(value)[:40]} is not an HTTP token")
            continue
        if value.lower() in seen:
            problems.append(f"{path}: {value!r} is used twice")
        seen.add(value.lower())
        kind = prop.get("type") if isinstance(prop, dict) else None
        if kind not in PRIMITIVE:
            problems.append(f"{path}: type {repr(kind)[:20]} is not string, integer or boolean")
    if not problems:
        return []
    return [
        Issue(
            TOOL_HEADER,
            Severity.MEDIUM,
            f"Tool {name} has invalid x-mcp-header annotations ({'; '.join(problems)[:200]})",
            "x-mcp-header values that are non-empty tokens, unique (ignoring case), on string/integer/boolean "
            "properties reachable through properties (clients MUST drop the tool otherwise)",
            "Fix the annotation; 2026-07-28 clients exclude the tool from the list until then.",
        )
    ]


def _refs(node: Any, depth: int = 0) -> Iterator[str]:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in list(node.values())[:500]:
            yield from _refs(value, depth + 1)
    elif isinstance(node, list):
        for value in node[:500]:
            yield from _refs(value, depth + 1)


def network_refs(schema: Any) -> list[str]:
    """`$ref`s that leave the document: anything but a same-document fragment (`#…`)."""
    return [ref for ref in _refs(schema) if not ref.startswith("#")]


def judge_refs(tool: dict[str, Any]) -> list[Issue]:
    refs = [*network_refs(tool.get("inputSchema")), *network_refs(tool.get("outputSchema"))]
    if not refs:
        return []
    name = repr(tool.get("name"))[:60]
    return [
        Issue(
            TOOL_REF,
            Severity.MEDIUM,
            f"Tool {name} has a schema $ref to {refs[0][:100]!r}",
            "same-document $refs only (#/$defs/…): implementations MUST NOT dereference network URIs",
            "Inline the referenced schema under $defs and point at it with #/$defs/….",
        )
    ]


def judge_tools(first: list[dict[str, Any]], second: list[dict[str, Any]] | None) -> list[Issue]:
    out = judge_names(first)
    if second is not None:
        out += judge_order(first, second)
    for tool in first:
        out += judge_headers(tool)
        out += judge_refs(tool)
    return out
