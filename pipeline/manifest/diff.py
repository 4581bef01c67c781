"""Drift between a pinned record and what a server shows now: one finding per change, field by field."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipeline.findings import Finding, Location, Severity
from pipeline.manifest.record import SECTIONS, digest, entry_key, keyed
from pipeline.rules import Rule, declare

# section -> the word used in kinds and rule ids
NOUNS = {
    "tools": "tool",
    "prompts": "prompt",
    "resources": "resource",
    "resourceTemplates": "resource-template",
}
KINDS = (
    *(f"{noun}-{change}" for noun in NOUNS.values() for change in ("added", "removed", "changed")),
    "tool-renamed",
    "instructions-changed",
    "server-version-changed",
    "server-changed",
    "server-added",
    "server-removed",
    "role-added",
    "role-removed",
    "tool-name-shared",
)
FIX = {
    "added": "review the new entry (scan-tools), then re-capture and re-sign the record",
    "removed": "if the removal is intended, re-capture and re-sign the record",
    "changed": "review the change: a description or schema that changes after review is how a rug pull works; "
    "if intended, re-capture and re-sign the record",
    "shared": "rename one of the tools, or drop one server from the configuration: a client that merges "
    "tool lists may call the wrong server's tool (shadowing)",
    "renamed": "a rename keeps the reviewed content under a new name (it defeats per-content pins); "
    "if intended, re-capture and re-sign the record",
    "role-added": "review what the new role sees (scan-tools), then re-capture with a token for every role "
    "and re-sign the record",
    "role-removed": "capture with a token for every pinned role (--token ROLE=env:NAME each); if the role "
    "is gone on purpose, re-capture and re-sign the record",
}


SUMMARIES = {
    "added": "A live server lists a {noun} that the pinned, signed manifest does not.",
    "removed": "A {noun} in the pinned, signed manifest is gone from the live server.",
    "changed": "A {noun}'s content (description, schema, annotations) differs from the pinned manifest: "
    "the rug pull.",
    "renamed": "A tool's reviewed content now appears under another name.",
    "version": "The server reports another version than the pinned manifest.",
    "server": "The server's identity or instructions differ from the pinned manifest.",
    "shared": "Two configured servers list a tool of the same name (shadowing risk).",
}
_SUMMARY_OF = {
    "tool-renamed": SUMMARIES["renamed"],
    "instructions-changed": "The server's instructions to the model differ from the pinned manifest.",
    "server-version-changed": SUMMARIES["version"],
    "server-changed": SUMMARIES["server"],
    "server-added": "A configuration lists a server that the pinned manifest set does not.",
    "server-removed": "A server of the pinned manifest set is gone from the configuration.",
    "role-added": "The live server was captured for a role that the pinned per-role manifest does not pin.",
    "role-removed": "A role of the pinned per-role manifest was not captured from the live server "
    "(its tool list is unchecked).",
    "tool-name-shared": SUMMARIES["shared"],
}
SPEC_TOOLS = "https://modelcontextprotocol.io/specification/2025-11-25/server/tools"


def _summary(kind: str) -> str:
    if kind in _SUMMARY_OF:
        return _SUMMARY_OF[kind]
    noun, change = kind.rsplit("-", 1)
    return SUMMARIES[change].format(noun=noun.replace("-", " "))


DRIFT: dict[str, Rule] = {
    kind: declare(
        "MH-MANIFEST-" + kind.upper(),
        name=kind,
        stage="manifest",
        severity=Severity.MEDIUM if kind == "tool-name-shared" else Severity.HIGH,
        summary=_summary(kind),
        standard=SPEC_TOOLS,
        fix=FIX["shared"]
        if kind == "tool-name-shared"
        else FIX.get(kind, FIX.get(kind.rsplit("-", 1)[1], FIX["changed"])),
    )
    for kind in KINDS
}


def rule_id(kind: str) -> str:
    return DRIFT[kind].id


def rules() -> list[Rule]:
    return list(DRIFT.values())


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _paths(old: Any, new: Any, prefix: str, out: list[str], limit: int = 8) -> None:
    """JSON paths where two values differ (first few)."""
    if len(out) >= limit:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key, _MISSING) != new.get(key, _MISSING):
                _paths(old.get(key, _MISSING), new.get(key, _MISSING), f"{prefix}.{key}", out, limit)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                _paths(a, b, f"{prefix}[{index}]", out, limit)
        return
    out.append(prefix)


_MISSING: Any = object()


CONTEXT = 24  # characters kept on either side of a changed span
SPAN = 90  # a changed span longer than this keeps its start and its end
MAX_DIFF_LINES = 12


def _visible(text: str) -> str:
    """Hidden characters (zero-width, bidi, controls) escaped, so the evidence shows they are there."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _window(line: str, start: int, end: int) -> str:
    """`line` cut to its changed span `line[start:end]` with a little context; cuts are marked with …."""
    span = line[start:end]
    if len(span) > SPAN:
        head = SPAN * 2 // 3
        span = span[:head] + "…" + span[len(span) - (SPAN - head) :]
    lead, tail = line[max(0, start - CONTEXT) : start], line[end : end + CONTEXT]
    if start > CONTEXT:  # cut context at a word boundary where there is one
        lead = "…" + (lead.split(" ", 1)[1] if " " in lead[:-1] else lead)
    if end + CONTEXT < len(line):
        tail = (tail.rsplit(" ", 1)[0] if " " in tail[1:] else tail) + "…"
    return _visible(lead + span + tail)


def _changed_span(a: Sequence[Any], b: Sequence[Any]) -> tuple[int, int, int]:
    """Common prefix length, and where the changed span ends in `a` and in `b` (characters of a line, or
    lines of a text)."""
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix, len(a) - suffix, len(b) - suffix


def _hunk_lines(removed: list[str], added: list[str]) -> list[str]:
    """`-` then `+` lines of one hunk; a removed line and the added line in its place are cut alike."""
    minus, plus = [], []
    for index in range(max(len(removed), len(added))):
        if index < len(removed) and index < len(added):
            start, end_a, end_b = _changed_span(removed[index], added[index])
            minus.append("-" + _window(removed[index], start, end_a))
            plus.append("+" + _window(added[index], start, end_b))
        elif index < len(removed):
            minus.append("-" + _window(removed[index], 0, len(removed[index])))
        else:
            plus.append("+" + _window(added[index], 0, len(added[index])))
    return minus + plus


def _hunk_header(old_start: int, old_count: int, new_start: int, new_count: int) -> str:
    """`@@ -l,n +l,n @@` with 1-based lines; an empty side names the line before it, as diff does."""
    return f"@@ -{old_start + (old_count > 0)},{old_count} +{new_start + (new_count > 0)},{new_count} @@"


def text_diff(old: str, new: str) -> str:
    """A short unified diff of two texts, without context lines. Each changed line is cut around what
    changed in it (a change at the end of a long description stays visible) and the diff has at most
    MAX_DIFF_LINES lines, so evidence stays bounded whatever the sizes."""
    from difflib import SequenceMatcher

    a, b = old.splitlines() or [""], new.splitlines() or [""]
    # Equal lines at both ends are dropped first (linear), so the matcher only sees the changed middle;
    # a middle too long for it (quadratic) is one hunk.
    top, end_a, end_b = _changed_span(a, b)
    mid_a, mid_b = a[top:end_a], b[top:end_b]
    if len(mid_a) + len(mid_b) > 400:
        groups = [[("replace", 0, len(mid_a), 0, len(mid_b))]]
    else:
        groups = list(SequenceMatcher(None, mid_a, mid_b, autojunk=False).get_grouped_opcodes(0))
    out: list[str] = []
    for group in groups:
        first, last = group[0], group[-1]
        out.append(_hunk_header(top + first[1], last[2] - first[1], top + first[3], last[4] - first[3]))
        for _tag, i1, i2, j1, j2 in group:
            out += _hunk_lines(mid_a[i1:i2], mid_b[j1:j2])
        if len(out) > MAX_DIFF_LINES:
            break
    if len(out) > MAX_DIFF_LINES:
        out = [*out[:MAX_DIFF_LINES], "… (diff cut)"]
    return "\n".join(out)


def _field_evidence(old: Any, new: Any, field: str) -> str:
    if old is _MISSING:
        return f"added: {_short(new)}"
    if new is _MISSING:
        return f"removed (was: {_short(old)})"
    if isinstance(old, str) and isinstance(new, str):
        if "\n" not in old + new and len(old) + len(new) <= 120:
            return f"was: {_short(old)} | now: {_short(new)}"
        return text_diff(old, new)
    paths: list[str] = []
    _paths(old, new, field, paths)
    return "differs at " + ", ".join(paths)


def diff_records(
    old: dict[str, Any], new: dict[str, Any], *, server: str | None = None, role: str | None = None
) -> list[Finding]:
    """Findings for every difference between two single-server records (old is the pinned one). `role`: the
    records are what that role sees; its findings say so (a tool added for a role is not added for all)."""
    findings: list[Finding] = []
    prefix = f"server {server} " if server else ""
    prefix += f"role {role} " if role else ""
    scoped: dict[str, Any] = {"role": role} if role else {}

    def add(kind: str, title: str, logical: str, evidence: str = "", **props: Any) -> None:
        findings.append(
            DRIFT[kind].finding(
                f"role {role}: {title}" if role else title,
                location=Location(logical=prefix + logical),
                evidence=evidence,
                properties={"kind": kind, **scoped, **props},
            )
        )

    old_server, new_server = old["server"], new["server"]
    for key in sorted(set(old_server) | set(new_server)):
        a, b = old_server.get(key, _MISSING), new_server.get(key, _MISSING)
        if a == b:
            continue
        kind = {"instructions": "instructions-changed", "version": "server-version-changed"}.get(
            key, "server-changed"
        )
        add(kind, f"server {key} changed", f"server field {key}", _field_evidence(a, b, key), field=key)

    for section in SECTIONS:
        noun = NOUNS[section]
        # Keyed as the record's digests are: a second tool under a known name is an addition, not lost.
        before, after = keyed(section, old[section]), keyed(section, new[section])
        added = [k for k in after if k not in before]
        removed = [k for k in before if k not in after]
        if section == "tools":
            # Same content under a new name is a rename, not one removal and one addition.
            content = {digest(_without(before[k], "name")): k for k in removed}
            for key in list(added):
                old_key = content.pop(digest(_without(after[key], "name")), None)
                if old_key is not None:
                    added.remove(key)
                    removed.remove(old_key)
                    add(
                        "tool-renamed",
                        f"tool {old_key} renamed to {key}",
                        f"tool {key}",
                        f"was: {old_key} | now: {key} (content unchanged)",
                        old=old_key,
                    )
        for key in sorted(added):
            add(
                f"{noun}-added",
                f"{noun} {key} added",
                f"{noun} {key}",
                _short(after[key].get("description", "")),
            )
        for key in sorted(removed):
            add(f"{noun}-removed", f"{noun} {key} removed", f"{noun} {key}")
        for key in sorted(set(before) & set(after)):
            a_entry, b_entry = before[key], after[key]
            for field in sorted(set(a_entry) | set(b_entry)):
                a, b = a_entry.get(field, _MISSING), b_entry.get(field, _MISSING)
                if a != b:
                    add(
                        f"{noun}-changed",
                        f"{noun} {key}: {field} changed",
                        f"{noun} {key} field {field}",
                        _field_evidence(a, b, field),
                        field=field,
                    )
    return findings


def _without(entry: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != key}


def diff_sets(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Finding]:
    """Several servers (configured names → records): servers added/removed, then each one's drift."""
    findings: list[Finding] = []
    single = len(old) == 1 and len(new) == 1
    if single:
        ((_, a),), ((_, b),) = old.items(), new.items()
        return diff_records(a, b)
    for name in sorted(set(old) | set(new)):
        if name not in new:
            findings.append(_server_finding("server-removed", name))
        elif name not in old:
            findings.append(_server_finding("server-added", name))
        else:
            findings += diff_records(old[name], new[name], server=name)
    return findings


def diff_roles(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[Finding]:
    """One server seen by several roles (role -> record): roles added or missing, then each role's drift."""
    findings: list[Finding] = []
    for role in sorted(set(old) | set(new)):
        if role not in new:
            findings.append(
                _role_finding("role-removed", role, f"role {role} was pinned but not captured now")
            )
        elif role not in old:
            findings.append(_role_finding("role-added", role, f"role {role} was captured but is not pinned"))
        else:
            findings += diff_records(old[role], new[role], role=role)
    return findings


def _role_finding(kind: str, role: str, title: str) -> Finding:
    return DRIFT[kind].finding(
        title, location=Location(logical=f"role {role}"), properties={"kind": kind, "role": role}
    )


def _server_finding(kind: str, name: str) -> Finding:
    return DRIFT[kind].finding(
        f"server {name} {kind.split('-')[1]}",
        location=Location(logical=f"server {name}"),
        fix=FIX[kind.split("-")[1]],
        properties={"kind": kind},
    )


def apply_allowed(findings: list[Finding], allowed: list[str]) -> None:
    for finding in findings:
        kind = finding.properties.get("kind")
        if kind in allowed:
            finding.suppressed = f"allowed by policy manifest.allow_changes ({kind})"


def shared_tool_names(servers: dict[str, dict[str, Any]]) -> list[Finding]:
    """Servers checked against each other: a tool name that more than one configured server lists."""
    owners: dict[str, list[str]] = {}
    for name in sorted(servers):
        for tool in {entry_key("tools", entry) for entry in servers[name]["tools"]}:
            owners.setdefault(tool, []).append(name)
    return [
        DRIFT["tool-name-shared"].finding(
            f"tool {tool} is listed by {len(names)} servers: {', '.join(names)}",
            location=Location(logical=f"tool {tool}"),
            evidence=", ".join(names),
            properties={"kind": "tool-name-shared", "servers": names},
        )
        for tool, names in sorted(owners.items())
        if len(names) > 1
    ]
