from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "report"
SUMMARY = "Merge the JSON reports of several stages (files or a release folder) into one report."
EXAMPLES = """\
  mcp-harden report release/reports/            # every *.json report in the folder
  mcp-harden report sbom.json audit.json --format markdown --summary "$GITHUB_STEP_SUMMARY"
"""
INPUTS = ("reports",)


def implied_inputs(args: argparse.Namespace) -> list[str]:
    """The reports in the folders named: no output may replace one."""
    from pathlib import Path

    return [str(p) for raw in args.reports if Path(raw).is_dir() for p in sorted(Path(raw).glob("*.json"))]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reports", nargs="+", metavar="REPORT", help="JSON reports, or folders holding them")


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.findings import load_reports

    return load_reports(args.reports)


SPEC = CommandSpec(
    name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS, implied_inputs=implied_inputs
)
