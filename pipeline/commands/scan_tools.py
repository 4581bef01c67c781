"""`mcp-harden scan-tools`: the local tool-poisoning scanner."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "scan-tools"
SUMMARY = "Scan an MCP server's tools, prompts and resources for poisoning (offline, explainable rules)."
EXAMPLES = """\
  mcp-harden scan-tools mcp-manifest.json                          # a captured record (or a set)
  mcp-harden scan-tools -- python -m example_server                 # a live stdio server
  mcp-harden scan-tools --url https://mcp.example.com/mcp --token "$TOKEN"
  mcp-harden scan-tools --client-config ~/.cursor/mcp.json --allow-exec --format json
"""
INPUTS = ("ca_file", "client_config")


def implied_inputs(args: argparse.Namespace) -> list[str]:
    """The record scanned (known once `reparse` has run)."""
    return list(getattr(args, "positionals", None) or [])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipeline.commands.manifest import add_target_options

    add_target_options(parser)
    parser.add_argument(
        "items",
        nargs=argparse.REMAINDER,
        metavar="RECORD | -- COMMAND ARGS...",
        help="a manifest record (from `mcp-harden manifest capture`), or a server command after --",
    )
    parser.set_defaults(_print_help=parser.print_help)  # `scan-tools RECORD --help` lands in the REMAINDER


def _no_own(parser: argparse.ArgumentParser, *, inner: bool = False) -> None:
    """scan-tools has no options of its own beyond the target and report options."""


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.cli import check_outputs
    from pipeline.commands.manifest import reparse, targets_from
    from pipeline.config import load_policy
    from pipeline.errors import UsageError
    from pipeline.findings import Report

    positionals = reparse(args, _no_own, report_file=True)
    check_outputs(args)  # again, now that the options after the record are known
    if "policy" in args and args.policy:
        policy = load_policy(args.policy)
    suppress = list(policy.scan.suppress)
    live = bool(args.server_command or args.url or args.client_config)
    if len(positionals) > 1:
        raise UsageError(f"scan-tools takes one RECORD (got {len(positionals)}); put a command after --")
    if positionals and live:
        raise UsageError("give a RECORD or a live server (--url, --client-config, -- COMMAND), not both")
    if positionals:
        from pipeline.scan import scan_file

        return Report(stages=[scan_file(positionals[0], suppress=suppress)])
    if not live:
        raise UsageError("give a RECORD, --url URL, --client-config FILE or -- COMMAND ARGS...")
    from pipeline.scan import scan_targets

    targets = targets_from(args, policy, what="scan-tools")
    timeout = args.timeout or policy.manifest.timeout
    stage = scan_targets(targets, timeout=timeout, suppress=suppress, as_set=bool(args.client_config))
    return Report(stages=[stage])


SPEC = CommandSpec(
    name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS, implied_inputs=implied_inputs
)
