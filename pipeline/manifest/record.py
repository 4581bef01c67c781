"""The tool-manifest record, `mcp-manifest.json`: what a server shows a model, hashed canonically.

Each entry (the server block, every tool, prompt, resource and resource template) gets a SHA-256 over its
RFC 8785 (JCS) form, and the whole record gets one over the canonical form of all of them. Nothing that
changes between two captures of an unchanged server (time, host, the command used) goes into the record,
so two captures give identical bytes.

A set record holds several servers (from an MCP client configuration), each a full record, under their
configured names.

A roles record holds what one server shows each role (in 2026-07-28 a tool list may vary by authorization):
a full record per role, captured with that role's token. Its digest covers the format and every role's name
and digest, so a role renamed, dropped or swapped, or the record passed off as a set, no longer matches.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any, cast

from pipeline.errors import CheckError, ConfigError

FORMAT = "mcp-harden/manifest@1"
SET_FORMAT = "mcp-harden/manifest-set@1"
ROLES_FORMAT = "mcp-harden/manifest-roles@1"
ROLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
SECTIONS = ("tools", "prompts", "resources", "resourceTemplates")
# The key that names an entry within its section.
KEYS = {"tools": "name", "prompts": "name", "resources": "uri", "resourceTemplates": "uriTemplate"}
MAX_RECORD_BYTES = 256 << 20


def digest(value: Any) -> str:
    """sha256 over the RFC 8785 canonical JSON of `value`."""
    import rfc8785

    try:
        return "sha256:" + hashlib.sha256(rfc8785.dumps(value)).hexdigest()
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise CheckError(f"cannot canonicalize (RFC 8785): {exc}") from None


def entry_key(section: str, entry: dict[str, Any]) -> str:
    return str(entry.get(KEYS[section], ""))


def keyed(section: str, entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Entries by key; a duplicate name is kept, and visible, as `name#dup`, never merged away."""
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        key = entry_key(section, entry)
        while key in out:
            key += "#dup"
        out[key] = entry
    return out


def _order(section: str, entry: dict[str, Any]) -> tuple[str, str]:
    return entry_key(section, entry), digest(entry)


def build_record(raw: dict[str, Any]) -> dict[str, Any]:
    """Sort the entries (server order is not meaningful to pin), digest each, and digest the whole."""
    body: dict[str, Any] = {"format": FORMAT, "server": raw["server"]}
    for section in SECTIONS:
        entries = list(raw.get(section, []))
        body[section] = sorted(entries, key=functools.partial(_order, section))
    digests: dict[str, Any] = {"server": digest(body["server"])}
    for section in SECTIONS:
        digests[section] = {key: digest(entry) for key, entry in keyed(section, body[section]).items()}
    record = dict(body)
    record["digests"] = digests
    record["digest"] = digest(body)
    return record


def build_set(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    servers = {name: records[name] for name in sorted(records)}
    return {
        "format": SET_FORMAT,
        "servers": servers,
        "digest": digest({name: rec["digest"] for name, rec in servers.items()}),
    }


def _roles_digest(roles: dict[str, dict[str, Any]]) -> str:
    return digest({"format": ROLES_FORMAT, "roles": {name: rec["digest"] for name, rec in roles.items()}})


def build_roles(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One server's records, one per role (role name -> the record captured with that role's token)."""
    roles = {name: records[name] for name in sorted(records)}
    return {"format": ROLES_FORMAT, "roles": roles, "digest": _roles_digest(roles)}


def roles_of(data: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """A roles record's records by role; None for a single or set record."""
    return dict(data["roles"]) if data.get("format") == ROLES_FORMAT else None


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load(path: str | Path) -> dict[str, Any]:
    """Read a record (single or set) and check it is whole: every digest must match its content."""
    path = Path(path)
    where = str(path)
    from pipeline import jsonsafe

    data = jsonsafe.load_file(path, what="manifest record", limit=MAX_RECORD_BYTES)
    check(data, where)
    return cast(dict[str, Any], data)


def check(data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError("not a manifest record (expected a JSON object)", where=where)
    fmt = data.get("format")
    if fmt == SET_FORMAT:
        servers = data.get("servers")
        if not isinstance(servers, dict):
            raise ConfigError("set record: 'servers' must be an object", where=where)
        for name, rec in servers.items():
            check(rec, f"{where} server {name}")
        expected = digest({name: rec["digest"] for name, rec in servers.items()})
        if data.get("digest") != expected:
            raise ConfigError("set record digest does not match its servers (edited or corrupt)", where=where)
        return
    if fmt == ROLES_FORMAT:
        roles = data.get("roles")
        if not isinstance(roles, dict) or not roles:
            raise ConfigError("roles record: 'roles' must be a non-empty object", where=where)
        for name, rec in roles.items():
            if not ROLE_NAME.fullmatch(name):
                raise ConfigError(f"roles record: bad role name {name[:70]!r}", where=where)
            if not isinstance(rec, dict) or rec.get("format") != FORMAT:
                raise ConfigError(f"roles record: role {name} must be a {FORMAT} record", where=where)
            check(rec, f"{where} role {name}")
        if data.get("digest") != _roles_digest(roles):
            raise ConfigError("roles record digest does not match its roles (edited or corrupt)", where=where)
        return
    if fmt != FORMAT:
        raise ConfigError(f"unknown record format {fmt!r} (expected {FORMAT!r})", where=where)
    if not isinstance(data.get("server"), dict):
        raise ConfigError("'server' must be an object", where=where)
    for section in SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(f"'{section}' must be a list of objects", where=where)
        for index, entry in enumerate(entries):
            if not isinstance(entry.get(KEYS[section]), str):
                raise ConfigError(f"{section}[{index}] has no string '{KEYS[section]}'", where=where)
    rebuilt = build_record({k: data[k] for k in ("server", *SECTIONS)})
    if rebuilt["digest"] != data.get("digest"):
        raise ConfigError("record digest does not match its content (edited or corrupt)", where=where)
    if rebuilt["digests"] != data.get("digests"):
        raise ConfigError("record entry digests do not match their content (edited or corrupt)", where=where)


def servers_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A single record as a one-server set (keyed by its server name), a set's servers, or a roles record's
    one server as all its roles see it together."""
    if data.get("format") == SET_FORMAT:
        return dict(data["servers"])
    roles = roles_of(data)
    if roles is not None:
        return _one_view(roles)
    return {str(data["server"].get("name", "server")): data}


def _one_view(roles: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A roles record as what a scanner must read: the one server with every distinct entry any role sees
    (the same tool in two roles is one tool, not two servers sharing a name). Roles that see different
    server blocks (instructions) stay separate views, `NAME (role ROLE)`, so each block is read."""
    records = list(roles.values())
    if any(rec["server"] != records[0]["server"] for rec in records):
        return {f"{rec['server'].get('name', 'server')} (role {role})": rec for role, rec in roles.items()}
    view: dict[str, Any] = {"format": FORMAT, "server": records[0]["server"]}
    for section in SECTIONS:
        seen: dict[str, dict[str, Any]] = {}
        for rec in records:
            for entry in rec[section]:
                seen.setdefault(digest(entry), entry)
        view[section] = list(seen.values())
    return {str(view["server"].get("name", "server")): view}


def counts(record: dict[str, Any]) -> dict[str, int]:
    return {section: len(record[section]) for section in SECTIONS}
