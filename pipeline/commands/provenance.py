from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.bounds import seconds
from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "provenance"
SUMMARY = (
    "Check the PEP 740 provenance of every PyPI component of an SBOM offline: attested by whom, not "
    "attested, or mismatch; publishers pinned in a lock."
)
EXAMPLES = """\
  mcp-harden provenance sbom.cdx.json --cache provenance-cache --update-cache   # fetch (network), then check
  mcp-harden provenance sbom.cdx.json --cache provenance-cache                  # offline, from the cache
  mcp-harden provenance sbom.cdx.json --online --require mcp --require httpx
  mcp-harden provenance sbom.cdx.json --cache provenance-cache --update        # re-pin after review
  mcp-harden provenance --server-json server.json --dist dist/ --endpoint https://mcp.example.com/mcp
"""


INPUTS = ("sbom", "server_json", "dist", "lock", "trusted_root")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sbom", type=Path, nargs="?", metavar="SBOM", help="CycloneDX JSON SBOM (mcp-harden sbom)"
    )
    entry = parser.add_argument_group("MCP Registry entry")
    entry.add_argument("--server-json", type=Path, metavar="FILE", help="check this server.json entry")
    entry.add_argument(
        "--dist",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="the files it describes (.mcpb, wheel, sdist), or a folder of them",
    )
    entry.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="remotes must be these (default: endpoint.urls)",
    )
    source = parser.add_argument_group("where provenance comes from")
    mode = source.add_mutually_exclusive_group()
    mode.add_argument("--online", dest="online", action="store_true", default=None, help="ask the index")
    mode.add_argument("--offline", dest="online", action="store_false", help="read the cache only (default)")
    source.add_argument(
        "--cache", type=Path, metavar="DIR", help="provenance folder (default: provenance.cache)"
    )
    source.add_argument(
        "--update-cache", action="store_true", help="fetch from the index and write the answers into --cache"
    )
    source.add_argument(
        "--index-url",
        metavar="URL",
        help="PyPI or a mirror serving its JSON and integrity APIs (default: $MCP_HARDEN_INDEX_URL, "
        "provenance.index_url)",
    )
    source.add_argument("--timeout", type=seconds, metavar="SECONDS", help="per request (default: policy)")
    pins = parser.add_argument_group("pins")
    pins.add_argument("--lock", type=Path, metavar="FILE", help="publisher lock (default: provenance.lock)")
    pins.add_argument(
        "--update", action="store_true", help="re-pin changed and new publishers (review the diff)"
    )
    pins.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="this package must be attested ('*': every one); adds to provenance.require",
    )
    pins.add_argument("--trusted-root", metavar="FILE", help="pinned trusted_root.json (default: production)")


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.errors import UsageError
    from pipeline.findings import Report

    if args.sbom is None and args.server_json is None:
        raise UsageError("name an SBOM, or a server.json entry with --server-json")
    stages = [] if args.sbom is None else [_sbom_stage(args, policy)]
    if args.server_json is not None:
        from pipeline.provenance.server_json import check_server_json

        dist = [f for p in args.dist for f in (sorted(p.iterdir()) if p.is_dir() else [p]) if f.is_file()]
        endpoints = args.endpoint or list(policy.endpoint.urls)
        stages.append(check_server_json(args.server_json, dist=dist, endpoints=endpoints))
    return Report(stages=stages)


def _sbom_stage(args: argparse.Namespace, policy: Any) -> Any:
    from pipeline.provenance import ProvenanceOptions, check_sbom
    from pipeline.provenance.sources import index_url

    section = policy.provenance
    cache = args.cache or (policy.resolve_path(section.cache) if section.cache else None)
    options = ProvenanceOptions(
        lock=args.lock or policy.resolve_path(section.lock),
        online=section.online if args.online is None else args.online,
        cache=cache,
        update_cache=args.update_cache,
        update_lock=args.update,
        index_url=index_url(section.index_url, args.index_url),
        timeout=args.timeout or section.timeout,
        require=[*section.require, *args.require],
        trusted_root=args.trusted_root,
    )
    return check_sbom(args.sbom, options)


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS)
