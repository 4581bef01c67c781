"""An MCP Registry `server.json` entry against the files it describes, and `.mcpb` bundles as they are.

    check_server_json(Path("server.json"), dist=[Path("dist/x.mcpb"), Path("dist/x-1.0-py3-none-any.whl")],
                      endpoints=["https://mcp.example.com/mcp"]) -> StageResult (stage "server-json")

The registry never checks `fileSha256` itself, so this does: an `mcpb` package's digest must be the local
bundle's. A PyPI package's README must carry `mcp-name: <server name>` (how the registry proves ownership),
and every `remotes[].url` must be an endpoint that `check-endpoint` checks. An `MCPB_SIG_V1` block (what
`mcpb sign` appends) is reported for information only: it is never proof of anything.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline.errors import ConfigError
from pipeline.fileio import read_bounded, sha256_file
from pipeline.findings import Finding, Location, Severity, StageResult
from pipeline.rules import Rule, declare

STAGE = "server-json"
SERVER_JSON_DOCS = "https://modelcontextprotocol.io/registry/package-types"
MCPB_SIG_HEADER = b"MCPB_SIG_V1"
MCPB_SIG_FOOTER = b"MCPB_SIG_END"
_TAIL = 1 << 16  # the signature block sits at the end; PKCS#7 with a chain stays well under this

FILE_SHA256 = declare(
    "MH-REGISTRY-FILE-SHA256",
    name="registry-file-sha256",
    stage="provenance",
    severity=Severity.HIGH,
    summary="An mcpb package in server.json has no fileSha256, or one that is not the bundle's digest.",
    standard=SERVER_JSON_DOCS,
    fix="Set fileSha256 to the sha256 of the bundle you signed and verified.",
)
MCP_NAME = declare(
    "MH-REGISTRY-MCP-NAME",
    name="registry-mcp-name",
    stage="provenance",
    severity=Severity.HIGH,
    summary="A PyPI package in server.json does not carry the server's `mcp-name:` line in its README.",
    standard=SERVER_JSON_DOCS,
    fix="Add `<!-- mcp-name: NAME -->` to the README the package is built with.",
)
REMOTE = declare(
    "MH-REGISTRY-REMOTE",
    name="registry-remote",
    stage="provenance",
    severity=Severity.HIGH,
    summary="A remote in server.json is not an HTTPS endpoint that check-endpoint checks.",
    fix="Publish the endpoint you check (HTTPS), or add it to endpoint.urls.",
)
MCPB_SIGNATURE = declare(
    "MH-MCPB-SIGNATURE",
    name="mcpb-signature",
    stage="provenance",
    severity=Severity.INFO,
    summary="An .mcpb bundle carries an MCPB_SIG_V1 block: informational, never proof of origin.",
    fix="Prove origin with a Sigstore signature or attestation over the bundle's digest.",
)
MCPB_ARCHIVE = declare(
    "MH-MCPB-ARCHIVE",
    name="mcpb-archive",
    stage="provenance",
    severity=Severity.MEDIUM,
    summary="An .mcpb bundle is not a well-formed zip with a manifest.json.",
    fix="Ship a plain zip with manifest.json at its root; put its signature in a Sigstore bundle beside it.",
)
RULES = [FILE_SHA256, MCP_NAME, REMOTE, MCPB_SIGNATURE, MCPB_ARCHIVE]


def _finding(rule: Rule, title: str, where: Path, **extra: Any) -> Finding:
    return rule.finding(title, location=Location(path=str(where)), **extra)


def mcpb_signature_block(path: Path) -> bool:
    """Whether the file ends with an `mcpb sign` block (read from the tail only)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - _TAIL))
        tail = handle.read(_TAIL)
    return tail.rstrip(b"\r\n").endswith(MCPB_SIG_FOOTER) and MCPB_SIG_HEADER in tail


def inspect_mcpb(path: Path) -> list[Finding]:
    """What can be said about a bundle without trusting it: a strict zip with manifest.json; a signature block."""
    findings: list[Finding] = []
    signed = mcpb_signature_block(path)
    if signed:
        findings.append(
            _finding(
                MCPB_SIGNATURE,
                f"{path.name} carries an MCPB_SIG_V1 block (not checked: mcp-harden never takes it as proof)",
                path,
            )
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bad = archive.testzip()
        problem = None if "manifest.json" in names else "it has no manifest.json"
        if bad is not None:
            problem = f"member {bad} is damaged"
    except (zipfile.BadZipFile, OSError) as exc:
        problem = f"it is not a readable zip ({exc})"
    if problem is None and signed:
        problem = "bytes follow the zip's end record (the MCPB_SIG_V1 block): strict zip readers refuse it"
    if problem is not None:
        findings.append(_finding(MCPB_ARCHIVE, f"{path.name}: {problem}", path))
    return findings


def long_description(metadata: str) -> str:
    """The README of a distribution's METADATA / PKG-INFO: the message body (Metadata 2.1+), else the older
    `Description:` header. Never the other headers: `Summary: mcp-name: x` is not a README line."""
    import email.parser
    import email.policy

    message = email.parser.Parser(policy=email.policy.compat32).parsestr(metadata)
    body = message.get_payload()
    if isinstance(body, str) and body.strip():
        return body
    header = message.get("Description")
    return str(header) if header else ""


def _readme_of(dist: Path) -> str | None:
    """The long description in a wheel's METADATA or an sdist's PKG-INFO (read from the archive)."""
    import tarfile

    try:
        if dist.name.endswith(".whl"):
            with zipfile.ZipFile(dist) as archive:
                name = next((n for n in archive.namelist() if n.endswith(".dist-info/METADATA")), None)
                if name is None or archive.getinfo(name).file_size > (8 << 20):
                    return None
                return long_description(archive.read(name).decode("utf-8", "replace"))
        with tarfile.open(dist, "r:gz") as archive:
            for member in archive:
                if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                    handle = archive.extractfile(member)
                    if handle is None:
                        return None
                    return long_description(handle.read(8 << 20).decode("utf-8", "replace"))
    except (zipfile.BadZipFile, tarfile.TarError, OSError, KeyError):
        return None
    return None


def _name_in_readme(text: str, server: str) -> bool:
    return any(m.group(1) == server for m in re.finditer(r"mcp-name:\s*([A-Za-z0-9._/-]+)", text))


def _dist_for(identifier: str, version: str | None, dist: Sequence[Path]) -> list[Path]:
    from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

    out = []
    for path in dist:
        try:
            if path.name.endswith(".whl"):
                name, ver, *_ = parse_wheel_filename(path.name)
            elif path.name.endswith(".tar.gz"):
                name, ver = parse_sdist_filename(path.name)
            else:
                continue
        except ValueError:
            continue
        if name == canonicalize_name(identifier) and (version is None or str(ver) == version):
            out.append(path)
    return out


def read_server_json(server_json: Path) -> dict[str, Any]:
    """A server.json entry (strict JSON, bounded, with a `name` like io.github.owner/server); ConfigError if not."""
    from pipeline import jsonsafe

    raw = read_bounded(server_json, what="server.json", limit=1 << 20)
    try:
        data = jsonsafe.loads(raw, where=str(server_json), what="server.json")  # strict, depth-capped
    except jsonsafe.LimitError:
        raise
    except ConfigError as exc:
        raise ConfigError(f"server.json is not JSON: {exc.message}", where=exc.where) from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or data["name"].count("/") != 1:
        raise ConfigError(
            "not a server.json entry (needs a 'name' like io.github.owner/server)", where=str(server_json)
        )
    return data


def mcpb_file_name(identifier: str) -> str:
    """The file an mcpb package's identifier (its download URL) names."""
    return unquote(urlsplit(identifier).path.rsplit("/", 1)[-1])


def check_server_json(
    server_json: Path,
    *,
    dist: Sequence[Path],
    endpoints: Sequence[str],
    inspect: Sequence[Path] = (),
    digests: Mapping[str, str] | None = None,
) -> StageResult:
    """Check the entry against the local files; `inspect`: more .mcpb bundles to look at (besides the ones
    the entry names), each once; `digests`: bundle sha256 by file name, as the caller read them (the release
    signs what it read, so both use one read), else each bundle is hashed here."""
    data = read_server_json(server_json)
    server = data["name"]
    packages = data.get("packages") or []
    remotes = data.get("remotes") or []
    if not isinstance(packages, list) or not isinstance(remotes, list):
        raise ConfigError("'packages' and 'remotes' must be lists", where=str(server_json))
    result = StageResult(stage=STAGE, rules=list(RULES))
    by_name = {p.name: p for p in dist}
    unchecked: list[str] = []
    bundles: list[Path] = []
    for index, package in enumerate(packages):
        if not isinstance(package, dict):
            raise ConfigError(f"packages[{index}] is not an object", where=str(server_json))
        kind, identifier = package.get("registryType"), str(package.get("identifier", ""))
        if kind == "mcpb":
            local = _check_mcpb(package, identifier, by_name, server_json, result, unchecked, digests or {})
            bundles += [local] if local is not None else []
        elif kind == "pypi":
            found = _dist_for(identifier, package.get("version"), dist)
            if not found:
                unchecked.append(
                    f"no local distribution of {identifier} {package.get('version', '')} to read"
                )
            for path in found:
                readme = _readme_of(path)
                if readme is None or not _name_in_readme(readme, server):
                    result.add(
                        _finding(
                            MCP_NAME,
                            f"{path.name}: its README has no `mcp-name: {server}` line (the registry refuses it)",
                            path,
                            fix=f"Add `<!-- mcp-name: {server} -->` to the README the package is built with.",
                        )
                    )
    allowed = {u.rstrip("/") for u in endpoints}
    for index, remote in enumerate(remotes):
        url = str(remote.get("url", "")) if isinstance(remote, dict) else ""
        if urlsplit(url).scheme != "https":
            result.add(_finding(REMOTE, f"remotes[{index}]: {url!r} is not an HTTPS URL", server_json))
        elif not allowed:
            unchecked.append("remotes not compared: no endpoint given (--endpoint or endpoint.urls)")
        elif url.rstrip("/") not in allowed:
            result.add(
                _finding(
                    REMOTE,
                    f"remotes[{index}]: {url} is not an endpoint check-endpoint checks ({', '.join(sorted(allowed))})",
                    server_json,
                )
            )
    for path in dict.fromkeys([*bundles, *inspect]):
        for finding in inspect_mcpb(path):
            result.add(finding)
    if unchecked:
        result.error = "; ".join(dict.fromkeys(unchecked))
    result.summary.update({"server": server, "packages": len(packages), "remotes": len(remotes)})
    return result


def _check_mcpb(
    package: dict[str, Any],
    identifier: str,
    by_name: dict[str, Path],
    server_json: Path,
    result: StageResult,
    unchecked: list[str],
    digests: Mapping[str, str],
) -> Path | None:
    """Compare fileSha256 with the local bundle the identifier names; returns that bundle (None if absent)."""
    name = mcpb_file_name(identifier)
    declared = str(package.get("fileSha256", "")).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", declared):
        result.add(
            _finding(
                FILE_SHA256,
                f"mcpb package {name}: no valid fileSha256 (clients then install whatever the URL serves)",
                server_json,
            )
        )
        declared = ""
    local = by_name.get(name)
    if local is None:
        unchecked.append(f"no local copy of {name} to compare with fileSha256")
        return None
    actual = digests.get(name) or sha256_file(local)
    if declared and actual != declared:
        result.add(
            _finding(
                FILE_SHA256,
                f"mcpb package {name}: fileSha256 is {declared}, the bundle's sha256 is {actual}",
                server_json,
                severity=Severity.CRITICAL,
                fix=f"Set fileSha256 to {actual} after verifying the bundle.",
            )
        )
    return local


def mcpb_stage(paths: Sequence[Path]) -> list[StageResult]:
    """For `verify`: what the `.mcpb` files among `paths` carry besides their Sigstore bundle (an
    MCPB_SIG_V1 block is information, never proof); no stage when there is no bundle among them."""
    bundles = [Path(p) for p in paths if str(p).endswith(".mcpb") and Path(p).is_file()]
    if not bundles:
        return []
    result = StageResult(stage="mcpb", rules=[MCPB_SIGNATURE, MCPB_ARCHIVE])
    for path in bundles:
        for finding in inspect_mcpb(path):
            result.add(finding)
    result.summary["bundles"] = len(bundles)
    return [result]


__all__ = [
    "RULES",
    "check_server_json",
    "inspect_mcpb",
    "long_description",
    "mcpb_file_name",
    "mcpb_signature_block",
    "mcpb_stage",
    "read_server_json",
]
