"""Walk a manifest record (or set), scan every string a model sees, and turn hits into findings."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.findings import Finding, Location, Severity, StageResult
from pipeline.rules import Rule
from pipeline.rules.suppress import suppress_findings
from pipeline.scan import lexicon
from pipeline.scan import unicode as uni
from pipeline.scan.rules import Hit, evaluate, rules
from pipeline.scan.rules import catalog as R
from pipeline.scan.rules.checks import (
    FIXED_RECIPIENT,
    SECRET_VALUE,
    addresses,
    asks_for_secret,
    purpose_covers,
)
from pipeline.scan.rules.context import bump

STAGE = "scan-tools"
MAX_STRING = 64 * 1024  # characters scanned per string: the head and tail halves of anything longer
MAX_DEPTH = 64  # nesting of schemas walked; anything deeper is reported, not read
TOO_DEEP = "too-deep"
MAX_FINDINGS = 20000  # per run: a record built to flood the report stops adding findings here
MEMO_MAX_CHARS = 2048  # strings up to this length are scanned once per run, however often they repeat
MEMO_ENTRIES = 100_000
REF_KEYS = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})
VALUE_KEYS = frozenset({"default", "enum", "const", "examples", "example"})
CONTAINER_KEYS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependentRequired"}
)
# JSON Schema type names: a `type` with one of these holds no text (anything else under `type` is scanned)
JSON_TYPES = frozenset({"string", "object", "integer", "number", "boolean", "array", "null"})
_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])|[_\-.]+")


@dataclass(slots=True)
class Field:
    path: str  # tools[read_file].inputSchema.properties.path.description
    text: str
    kind: str  # text | value | name | param
    entry: str  # the tool/prompt/resource name ("" for the server)
    param: str = ""  # the property this string describes


def _label(section: str, entry: dict[str, Any]) -> str:
    key = {"tools": "name", "prompts": "name", "resources": "uri", "resourceTemplates": "uriTemplate"}[
        section
    ]
    return str(entry.get(key, "?"))


def _walk(
    value: Any, path: str, entry: str, kind: str, depth: int, out: list[Field], param: str = ""
) -> None:
    """Append every string under `value` to `out`, with its path and how to read it."""
    if isinstance(value, str):
        out.append(Field(path, value, kind, entry, param))
        return
    if depth > MAX_DEPTH:  # fail closed: say that something was not read
        if isinstance(value, (list, dict)) and value:
            out.append(Field(path, "", TOO_DEEP, entry, param))
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", entry, kind, depth + 1, out, param)
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            sub = f"{path}.{key}" if path else key
            if key == "type" and isinstance(item, str) and item in JSON_TYPES:
                continue
            if key in REF_KEYS and isinstance(item, str):
                out.append(Field(sub, item, "ref", entry, param))
            elif key in VALUE_KEYS:
                _walk(item, sub, entry, "value", depth + 1, out, param)
            elif key in CONTAINER_KEYS and isinstance(item, dict):
                for name, schema in item.items():
                    name = str(name)
                    out.append(Field(f"{sub}.{name}", _words(name), "name", entry, name))
                    _walk(schema, f"{sub}.{name}", entry, "param", depth + 2, out, name)
            elif key == "description" and kind == "param":
                _walk(item, sub, entry, "param", depth + 1, out, param)
            else:
                inner = "text" if kind == "param" and key != "description" else kind
                _walk(item, sub, entry, inner, depth + 1, out, param)


def _words(name: str) -> str:
    """A property name as words, so `content_from_reading_ssh_id_rsa` reads like the text it hides."""
    parts = _SPLIT.split(name)
    return name if len(parts) < 3 else name + " (" + " ".join(parts).lower() + ")"


def fields(record: dict[str, Any]) -> list[Field]:
    """Every string of one server record a model sees, with its path."""
    out: list[Field] = []
    server = record.get("server") or {}
    if isinstance(server.get("instructions"), str):
        out.append(Field("server.instructions", server["instructions"], "instructions", ""))
    for key in ("name", "title", "description"):
        if isinstance(server.get(key), str):
            out.append(Field(f"server.{key}", server[key], "text", ""))
    for section in ("tools", "prompts", "resources", "resourceTemplates"):
        for entry in record.get(section) or []:
            if not isinstance(entry, dict):
                continue
            label = _label(section, entry)
            base = f"{section}[{label}]"
            for key, value in entry.items():
                if key == "name" and isinstance(value, str):
                    out.append(Field(f"{base}.name", _words(value), "name", label))
                elif section == "prompts" and key == "arguments" and isinstance(value, list):
                    for index, arg in enumerate(value):
                        arg_name = str(arg.get("name", index)) if isinstance(arg, dict) else str(index)
                        _walk(arg, f"{base}.arguments[{arg_name}]", label, "param", 1, out, arg_name)
                else:
                    _walk(value, f"{base}.{key}", label, "text", 1, out)
    return out


@dataclass
class ScanStats:
    strings: int = 0
    capped: int = 0
    too_deep: int = 0


def _hits(text: str, kind: str, own: str, params: frozenset[str] = frozenset()) -> list[tuple[Hit, str]]:
    """Hits in one string (and in text decoded from its hidden Unicode or base64), each with a suffix
    for the path when it was found in decoded text. A pure function of its arguments (memoized)."""
    out: list[tuple[Hit, str]] = []
    shift = 0  # for a capped string: how far the scanned tail sits from its place in the original
    half = MAX_STRING // 2
    if len(text) > MAX_STRING:
        shift = len(text) - half - (half + 1)
        detail = f"{len(text)} characters; scanned the first and last {half}"
        out.append(
            (
                Hit(
                    R.OVERSIZED,
                    Severity.HIGH,  # fail closed: the middle was not read, and no description needs this much
                    0,
                    len(text),
                    "string too long to scan in full",
                    detail,
                ),
                "",
            )
        )
        text = text[:half] + "\n" + text[-half:]
    out += [(hit, "") for hit in evaluate(text, kind, own_name=own, params=params)]
    if kind == "name" and not text.isascii():
        out += _lookalike_hits(own or text)
    if uni.SUSPICIOUS.search(text):
        runs = uni.find_hidden(text)
        if runs:
            out += _unicode_hits(text, runs, kind, own)
            visible = uni.SUSPICIOUS.sub("", uni.strip_ansi(uni.bidi_display(text)))  # what a reader sees
            known = {h.rule for h, _ in out}
            for hit in evaluate(visible, kind, own_name=own):
                if hit.rule not in known:
                    hit.start, hit.end = 0, len(text)
                    note = "found in the text as a reader sees it (invisible characters removed)"
                    hit.detail = f"{hit.detail}; {note}" if hit.detail else note
                    out.append((hit, ""))
    if not text.isascii():
        folded = uni.fold_disguise(text)
        if folded is not None:  # words spelled with look-alike letters: scanned as they read
            known = {h.rule for h, _ in out}
            for hit in evaluate(folded, kind, own_name=own, params=params):
                if hit.rule not in known:
                    if Severity.MEDIUM <= hit.severity < Severity.CRITICAL:
                        hit.severity = bump(hit.severity)  # the disguise is itself a sign of intent
                    note = "found with look-alike (Cyrillic, Greek, fullwidth, mathematical) letters read as Latin"
                    hit.detail = f"{hit.detail}; {note}" if hit.detail else note
                    out.append((hit, ""))
    for hit, _ in list(out):
        if hit.decoded:  # decoded text (base64, hex, URL-encoding...): scanned like the rest
            for inner in evaluate(hit.decoded, "value" if kind == "value" else "text", own_name=own):
                inner.start, inner.end = hit.start, hit.end
                inner.detail = f'in decoded text: "{_clip(hit.decoded)}"' + (
                    f"; {inner.detail}" if inner.detail else ""
                )
                out.append((inner, " (decoded text)"))
    if shift:  # offsets in the scanned tail, back to offsets in the original string
        for hit, _ in out:
            if hit.rule != R.OVERSIZED:
                hit.start += shift if hit.start > half else 0
                hit.end += shift if hit.end > half else 0
    return out


def _lookalike_hits(name: str) -> list[tuple[Hit, str]]:
    found = uni.lookalike(name)
    if found is None:
        return []
    reads_as, odd = found
    letters = ", ".join(f"{uni.describe(ch)} at {i}" for i, ch in odd[:4]) + (" …" if len(odd) > 4 else "")
    title = f"the name reads as '{reads_as}' but is spelled with look-alike characters"
    return [(Hit(R.CONFUSABLE_NAME, Severity.HIGH, odd[0][0], odd[-1][0] + 1, title, letters), "")]


def _unicode_hits(text: str, runs: list[uni.HiddenRun], kind: str, own: str) -> list[tuple[Hit, str]]:
    """One finding per string for all its hidden runs, with the decoded text; the decoded text is scanned too."""
    kinds: set[str] = set()
    count = 0
    decoded_parts: list[str] = []
    for run in runs:
        kinds |= run.kinds
        count += run.count
        if run.decoded:
            decoded_parts.append(run.decoded)
    decoded = " ".join(decoded_parts)
    escaped = " ".join(uni.escape(text[run.start : run.end], limit=8) for run in runs[:3])
    parts = []
    if decoded:
        parts.append(f'hidden text: "{_clip(decoded, 300)}"')
    ansi_concealed = ""
    if "ANSI escapes" in kinds:
        ansi_concealed, shown = uni.ansi_hidden(text)
        if ansi_concealed:
            parts.append(f'concealed in a terminal (SGR 8): "{_clip(ansi_concealed)}"')
        parts.append(f'a terminal shows: "{_clip(shown)}"')
    if "bidi controls" in kinds:
        parts.append(f'displayed as: "{_clip(uni.SUSPICIOUS.sub("", uni.bidi_display(text)))}"')
    parts.append(f"{', '.join(sorted(kinds))} ({count} code points in {len(runs)} place(s)): {escaped}")
    detail = "; ".join(parts)
    if decoded or ansi_concealed:
        sev = Severity.CRITICAL
    elif (
        kinds
        & {
            "tag characters",
            "bidi controls",
            "ANSI escapes",
            "variation selectors",
            "control characters",
        }
        or count >= 3
    ):
        sev = Severity.HIGH
    elif kinds <= {"invisible formatting characters"}:
        sev = Severity.LOW
    else:
        sev = Severity.MEDIUM
    start, end = runs[0].start, runs[-1].end
    out = [(Hit(R.HIDDEN_UNICODE, sev, start, end, "hidden Unicode characters", detail), "")]
    if decoded:
        for inner in evaluate(decoded, kind, own_name=own):
            inner.start, inner.end = start, end
            inner.detail = f'in hidden text: "{_clip(decoded)}"'
            out.append((inner, " (hidden text)"))
    return out


def _clip(text: str, limit: int = 160) -> str:
    flat = " ".join(uni.strip_ansi(text).split())
    flat = uni.escape(flat, limit=limit) if uni.SUSPICIOUS.search(flat) else flat
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _excerpt(text: str, start: int, end: int, limit: int = 200) -> str:
    piece = text[start:end]
    if len(piece) > limit:
        piece = piece[: limit - 1] + "…"
    piece = " ".join(piece.split()) if piece.strip() else piece
    return uni.escape(piece, limit=limit + 40) if uni.SUSPICIOUS.search(piece) else piece


def _finding(hit: Hit, f: Field, server: str, suffix: str, record_path: str | None, many: bool) -> Finding:
    spec = hit.rule
    where = f"{server}:{f.path}" if many else f.path
    where += f"[{hit.start}:{hit.end}]" + suffix  # the span, in its location
    if hit.rule == R.HIDDEN_UNICODE or suffix:  # the detail says what the span hides
        evidence = f"chars {hit.start}-{hit.end}: {hit.detail}"
    else:
        evidence = f'chars {hit.start}-{hit.end}: "{_excerpt(f.text, hit.start, hit.end)}"'
        if hit.detail:
            evidence += f"; {hit.detail}"
    finding = spec.finding(
        f"{hit.title} in {f.path.split(']')[0] + ']' if f.entry else 'server'}",
        severity=hit.severity,
        location=Location(path=record_path, logical=where),
        evidence=evidence,
        properties={
            "server": server,
            "entry": f.entry,
            "field": f.path + suffix,
            "start": hit.start,
            "end": hit.end,
        },
    )
    finding.stage = STAGE
    return finding


def _similar(a: str, b: str) -> bool:
    """Edit distance at most 2 (names of five letters or more), without building the full table."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 2:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > 2:
            return False
        previous = current
    return previous[-1] <= 2


def scan_servers(
    servers: dict[str, dict[str, Any]], *, record_path: str | None = None
) -> tuple[StageResult, dict[str, Any]]:
    """Scan each server record; returns the stage (findings, rules, notes) and the summary counts."""
    stage = StageResult(stage=STAGE, rules=rules())
    stats = ScanStats()
    many = len(servers) > 1
    names = {
        s: {str(t.get("name", "")) for t in rec.get("tools") or [] if isinstance(t, dict)}
        for s, rec in servers.items()
    }
    summary: dict[str, Any] = {"servers": len(servers), "tools": 0, "prompts": 0, "resources": 0}
    memo: dict[
        tuple[str, str, str, frozenset[str]], list[tuple[Hit, str]]
    ] = {}  # schemas repeat strings a lot
    for server, record in servers.items():
        summary["tools"] += len(record.get("tools") or [])
        summary["prompts"] += len(record.get("prompts") or [])
        summary["resources"] += len(record.get("resources") or []) + len(
            record.get("resourceTemplates") or []
        )
        seen: set[tuple[Rule, str, int]] = set()
        tool_params = _tool_params(record)
        flags = _flag_params(record)
        # (tool, what a parameter asks for) -> whether the tool's purpose covers it
        purposes: dict[tuple[str, str], bool] = {}
        tools: dict[str, dict[str, Any]] | None = None  # built on first need
        others = _other_names(names, server) if many else None
        for f in fields(record):
            if f.kind == TOO_DEEP:
                stats.too_deep += 1
                hit = Hit(R.OVERSIZED, Severity.HIGH, 0, 0, "nested too deep to scan in full")
                hit.detail = f"nested deeper than {MAX_DEPTH} levels: not read below this point"
                stage.add(_finding(hit, f, server, "", record_path, many))
                continue
            stats.strings += 1
            if len(f.text) > MAX_STRING:
                stats.capped += 1
            own = f.param or (f.entry if f.kind == "name" else "")
            params = (
                tool_params.get(f.entry, frozenset()) if f.kind == "text" and not f.param else frozenset()
            )
            key = (f.text, f.kind, own, params)
            cached = memo.get(key) if len(f.text) <= MEMO_MAX_CHARS else None
            if cached is None:
                cached = _hits(f.text, f.kind, own, params)
                if len(f.text) <= MEMO_MAX_CHARS and len(memo) < MEMO_ENTRIES:
                    memo[key] = cached
            if others is not None and f.kind in ("text", "param", "instructions"):
                cached = cached + _cross_server(f.text, others)
            what = asks_for_secret(f.text, f.param) if f.param and f.kind in ("param", "name") else ""
            if what:
                tools = tools if tools is not None else _tools_by_name(record)
                cached = cached + _unneeded(f, what, cached, tools, purposes)
            for hit, suffix in cached:
                if hit.ref and hit.ref in names[server]:
                    continue  # shadowing names a tool this server provides itself: it describes itself
                if (f.entry, f.param) in flags and f.kind in ("param", "name"):
                    hit = _switch(hit, f.text, tool_params.get(f.entry, frozenset()) - {f.param})
                if hit.rule == R.SCHEMA_INJECTION and hit.title == SECRET_VALUE and f.kind == "value":
                    hit = _declared_secret(hit, f, record)
                elif (
                    hit.rule == R.SCHEMA_INJECTION
                    and hit.title == FIXED_RECIPIENT
                    and _EXAMPLES.search(f.path)
                ):
                    detail = "an example recipient documents the format; a default or const would be passed unasked"
                    hit = dataclasses.replace(hit, severity=Severity.MEDIUM, detail=detail)
                once = (hit.rule, f.path + suffix, hit.start)
                if once in seen or len(stage.findings) >= MAX_FINDINGS:
                    continue
                seen.add(once)
                stage.add(_finding(hit, f, server, suffix, record_path, many))
    if many:
        _duplicates(stage, names, record_path)
    if len(stage.findings) >= MAX_FINDINGS:
        stage.notes.append(f"stopped reporting after {MAX_FINDINGS} findings")
    if stats.too_deep:
        stage.notes.append(f"{stats.too_deep} value(s) nested deeper than {MAX_DEPTH} levels were not read")
    if stats.capped:
        stage.notes.append(
            f"{stats.capped} string(s) longer than {MAX_STRING} characters: only their first and last "
            f"{MAX_STRING // 2} were scanned"
        )
    summary["strings"] = stats.strings
    return stage, summary


_EXAMPLES = re.compile(r"\.examples?(?:\[\d+\])?$")
_WORD = re.compile(r"[a-z0-9]{3,}")
# parts of a secret path that say nothing of what it is
_PATH_WORDS = frozenset(
    {"config", "json", "yaml", "yml", "toml", "ini", "home", "etc", "file", "files", "data", "new"}
)


def _properties(record: dict[str, Any]) -> Iterator[tuple[str, dict[Any, Any]]]:
    """(tool name, its input schema's `properties`) for each tool that has them."""
    for tool in record.get("tools") or []:
        schema = tool.get("inputSchema") if isinstance(tool, dict) else None
        props = schema.get("properties") if isinstance(schema, dict) else None
        if isinstance(props, dict):
            yield str(tool.get("name", "?")), props


def _tool_params(record: dict[str, Any]) -> dict[str, frozenset[str]]:
    """Each tool's own parameter names (three characters or more): places its description may order data into."""
    return {tool: frozenset(str(n) for n in props if len(str(n)) >= 3) for tool, props in _properties(record)}


_CONTENT_RULES = frozenset({R.SECRET_ACCESS, R.EXFILTRATION, R.HIDDEN_PARAM})


def _flag_params(record: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """(tool, parameter) for each parameter typed boolean, integer or number: it holds a switch or a count, never
    a file's content or the conversation."""
    return frozenset(
        (tool, str(name))
        for tool, props in _properties(record)
        for name, prop in props.items()
        if isinstance(prop, dict) and prop.get("type") in ("boolean", "integer", "number")
    )


def _switch(hit: Hit, text: str, others: frozenset[str]) -> Hit:
    """A secret named in a switch's description says what the switch turns on ("include .env files"), not what
    the model must read or pass: the value cannot carry it. High becomes medium, unless the text points where the
    data could go instead: an outside address, another of the tool's parameters, or a field by name."""
    if hit.rule not in _CONTENT_RULES or hit.severity != Severity.HIGH or addresses(text):
        return hit
    if any(name in text for name in others) or lexicon.concepts(text, english=True).get("sink"):
        return hit
    detail = "the parameter is a boolean or a number: it cannot carry what it names; say what it toggles, not what to read"
    return dataclasses.replace(
        hit, severity=Severity.MEDIUM, detail=f"{hit.detail}; {detail}" if hit.detail else detail
    )


def _tools_by_name(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(t.get("name", "")): t for t in record.get("tools") or [] if isinstance(t, dict)}


def _unneeded(
    f: Field,
    what: str,
    hits: list[tuple[Hit, str]],
    tools: dict[str, dict[str, Any]],
    purposes: dict[tuple[str, str], bool],
) -> list[tuple[Hit, str]]:
    """A parameter whose name or description asks for a secret file's content or the conversation, on a tool whose
    own name and description speak of neither: data the tool does not need for what it says it does, in any
    language and however the parameter is named. `what`: what it asks for (`asks_for_secret`)."""
    if f.entry not in tools or any(h.severity >= Severity.HIGH for h, _ in hits):
        return []
    key = (f.entry, what)
    if key not in purposes:
        tool = tools[f.entry]
        purpose = f"{_words(str(tool.get('name', '')))} {tool.get('description', '')}"
        purposes[key] = purpose_covers(purpose, what)
    if purposes[key]:
        return []
    title = f"parameter '{f.param}' asks for {what}, which the tool's stated purpose does not need"
    detail = "the tool's name and description say nothing of keys, credentials or the conversation"
    return [(Hit(R.HIDDEN_PARAM, Severity.HIGH, 0, min(len(f.text), 200), title, detail), "")]


def _declared_secret(hit: Hit, f: Field, record: dict[str, Any]) -> Hit:
    """A default that names a secret file is medium, not high, when the tool's own name or description says it
    works on that file (an SSH key generator's key path, a dotenv lister's .env): its declared function covers
    it, and the user sees the default in the tool's definition."""
    words = set(_WORD.findall(f.text.lower())) - _PATH_WORDS
    if not words:
        return hit
    entry = next(
        (t for t in record.get("tools") or [] if isinstance(t, dict) and str(t.get("name", "")) == f.entry),
        None,
    )
    if entry is None:
        return hit
    own = f"{entry.get('name', '')} {entry.get('description', '')}".lower()
    declared = words & set(_WORD.findall(own.replace("_", " ")))
    if not declared:
        return hit
    detail = (
        f"the tool's own name or description says it works on this ({', '.join(sorted(declared))}); still, a "
        "default the model passes unasked should be the user's choice: leave it empty or ask"
    )
    return dataclasses.replace(
        hit, severity=Severity.MEDIUM, title="schema default names a secret file", detail=detail
    )


def _other_names(names: dict[str, set[str]], server: str) -> re.Pattern[str] | None:
    """A pattern for the distinctive tool names (snake_case, kebab-case or camelCase, five characters or more)
    of the other servers in a set; a description that names one is reaching across servers."""
    own = names[server]
    distinctive = sorted(
        {
            n
            for other, ns in names.items()
            if other != server
            for n in ns
            if len(n) >= 5 and n not in own and ("_" in n or "-" in n or any(c.isupper() for c in n[1:]))
        }
    )
    if not distinctive or len(distinctive) > 2000:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, distinctive)) + r")(?![\w-])")


def _cross_server(text: str, pattern: re.Pattern[str]) -> list[tuple[Hit, str]]:
    from pipeline.scan.rules import SIG, same_sentence

    match = pattern.search(text[:MAX_STRING])
    if match is None:
        return []
    start, end = match.span()
    after = text[end : end + 160]
    order = SIG["modify"].search(after.lower())
    span = order.span() if order else None
    if span is None and not after.isascii():  # the change ordered in another language
        span = next(iter(lexicon.concepts(after).get("modify", [])), None)
    if span and same_sentence(text, end, end + span[0]):
        detail = "names a tool of another server and orders a change"
        return [(Hit(R.SHADOWING, Severity.HIGH, start, end + span[1], detail), "")]
    title = f"names '{match.group()}', a tool of another server in this configuration"
    return [(Hit(R.SHADOWING, Severity.MEDIUM, start, end, title), "")]


def _duplicates(stage: StageResult, names: dict[str, set[str]], record_path: str | None) -> None:
    servers = sorted(names)
    for i, first in enumerate(servers):
        for second in servers[i + 1 :]:
            for a in sorted(names[first]):
                for b in sorted(names[second]):
                    if not _similar(a, b):
                        continue
                    same = a == b
                    stage.add(
                        R.DUPLICATE_NAME.finding(
                            ("same tool name" if same else "confusingly similar tool names")
                            + f" on servers {first} and {second}",
                            location=Location(path=record_path, logical=f"{first}:tools[{a}]"),
                            evidence=f"{first}: {a!r}; {second}: {b!r}",
                            properties={"server": first, "entry": a, "other_server": second, "other": b},
                        )
                    )


def apply_suppressions(stage: StageResult, suppress: list[Any]) -> int:
    """Mark findings a policy `scan.suppress` entry matches; they stay in the report. Returns how many."""
    before = sum(f.suppressed is not None for f in stage.findings)
    suppress_findings(stage.findings, suppress)
    return sum(f.suppressed is not None for f in stage.findings) - before


def findings_by_severity(stage: StageResult) -> dict[str, int]:
    counts = {s.value: 0 for s in reversed(list(Severity))}
    for finding in stage.findings:
        if finding.suppressed is None:
            counts[finding.severity.value] += 1
    return {k: v for k, v in counts.items() if v}
