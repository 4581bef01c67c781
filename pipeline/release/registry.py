"""The release's MCP bundles and its MCP Registry entry, checked (or written) right before signing.

- `.mcpb` bundles: every `*.mcpb` in the release's `dist/` (the project's own build put it there) and every
  `--mcpb FILE` (copied in) is signed, attested and listed in the release record like a wheel; each is looked
  at as it is (a strict zip with manifest.json; an `MCPB_SIG_V1` block is information, never proof).
- `server.json`: `--server-json FILE`, else the project's own `server.json`, is checked against the built
  files (`fileSha256` of each mcpb package, the `mcp-name:` line in the built distributions' long description,
  `remotes[].url` against the endpoints `check-endpoint` checks). With `--write-server-json` it is first
  written into the release folder with each mcpb package's `fileSha256` and the PyPI package's version taken
  from the built files, and then signed with them.

Each bundle is hashed once here; after signing, `confirm_signed` compares those digests with the ones the
release record signed: a bundle changed between the check and the signature is an error, not a release.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import UsageError
from pipeline.fileio import sha256_file, write_atomic
from pipeline.findings import StageResult

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.release.run import Layout, ReleaseOptions

STAGE = "server-json"
SERVER_JSON = "server.json"


def server_json_source(options: ReleaseOptions) -> Path | None:
    if options.server_json is not None:
        return options.server_json
    own = options.project / SERVER_JSON
    return own if own.is_file() else None


def applies(options: ReleaseOptions, layout: Layout) -> bool:
    """Whether the release has bundles or a registry entry to look at (else the stage is not reported)."""
    return bool(options.mcpb or options.write_server_json or server_json_source(options)) or any(
        layout.dist.glob("*.mcpb")
    )


def bundles(layout: Layout) -> list[Path]:
    return sorted(layout.dist.glob("*.mcpb"))


def _copy_given(options: ReleaseOptions, layout: Layout) -> None:
    for given in options.mcpb:
        if not given.name.endswith(".mcpb"):
            raise UsageError("an MCP bundle's file name ends in .mcpb", where=str(given))
        if not given.is_file():
            raise UsageError("no such file" if not given.exists() else "not a file", where=str(given))
        layout.dist.mkdir(parents=True, exist_ok=True)
        target = layout.dist / given.name
        if target.exists() and target.samefile(given):
            continue
        shutil.copyfile(given, target)


def _written(source: Path, layout: Layout, digests: dict[str, str]) -> Path:
    """The entry with the built files' facts: each mcpb package's fileSha256, the PyPI package's version."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    from pipeline.provenance.server_json import mcpb_file_name, read_server_json

    data: dict[str, Any] = read_server_json(source)
    built: dict[str, str] = {}
    for wheel in sorted(layout.dist.glob("*.whl")):
        project, built_version, *_ = parse_wheel_filename(wheel.name)
        built[project] = str(built_version)
    for package in data.get("packages") or []:
        if not isinstance(package, dict):
            continue
        if package.get("registryType") == "mcpb":
            digest = digests.get(mcpb_file_name(str(package.get("identifier", ""))))
            if digest is not None:
                package["fileSha256"] = digest
        elif package.get("registryType") == "pypi":
            version = built.get(canonicalize_name(str(package.get("identifier", ""))))
            if version is not None:
                package["version"] = version
    target = layout.out / SERVER_JSON
    write_atomic(target, json.dumps(data, indent=2) + "\n")
    return target


def run_registry(
    options: ReleaseOptions, layout: Layout, policy: Policy
) -> tuple[StageResult, dict[str, str]]:
    """The stage, and each bundle's sha256 as read for it (for `confirm_signed`)."""
    from pipeline.provenance.server_json import RULES, check_server_json, inspect_mcpb

    (layout.out / SERVER_JSON).unlink(missing_ok=True)  # never sign an entry an earlier run wrote
    _copy_given(options, layout)
    found = bundles(layout)
    digests = {p.name: sha256_file(p) for p in found}
    source = server_json_source(options)
    if options.write_server_json:
        if source is None:
            raise UsageError(
                "--write-server-json needs an entry to start from: the project's server.json or --server-json"
            )
        source = _written(source, layout, digests)
    if source is None:
        result = StageResult(stage=STAGE, rules=list(RULES))
        for path in found:
            for finding in inspect_mcpb(path):
                result.add(finding)
        result.notes.append("no server.json (the project has none, and --server-json was not given)")
    else:
        dist = [*sorted(layout.dist.glob("*.whl")), *sorted(layout.dist.glob("*.tar.gz")), *found]
        endpoints = list(options.endpoints) or list(policy.endpoint.urls)
        result = check_server_json(source, dist=dist, endpoints=endpoints, inspect=found, digests=digests)
        result.summary["server.json"] = str(source)
        if options.write_server_json:
            result.outputs.append(str(source))
    result.summary["bundles"] = ", ".join(p.name for p in found) or "none"
    return result, digests


def confirm_signed(checked: dict[str, str], layout: Layout) -> list[str]:
    """Each bundle was signed with the digest it had when it was checked (read from the record just written);
    one line per bundle that was not (or that the record does not list)."""
    from pipeline.record import parse_record

    if not checked:
        return []
    if not layout.record.is_file():
        return ["no release record was written: the checked bundles are not signed"]
    signed = {a.name: a.sha256 for a in parse_record(layout.record.read_bytes()).artifacts}
    return [
        f"{name}: checked with sha256 {digest}, but the release "
        + (
            f"signed sha256 {signed[name]} (it changed while signing)"
            if name in signed
            else "does not list it"
        )
        for name, digest in checked.items()
        if signed.get(name) != digest
    ]
