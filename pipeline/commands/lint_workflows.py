from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "lint-workflows"
SUMMARY = (
    "Audit GitHub Actions workflows and actions: zizmor (offline, auditor persona) plus mcp-harden's rules "
    "(SHA pins with version comments, permissions: {}, OIDC only in a clean job, no ${{ }} in run:, ...)."
)
EXAMPLES = """\
  mcp-harden lint-workflows                               # .github/workflows and every action.yml under .
  mcp-harden lint-workflows .github/workflows/release.yml --format sarif -o workflows.sarif
  mcp-harden lint-workflows --no-zizmor                   # only mcp-harden's own rules
  mcp-harden lint-workflows --allow-oidc-action my-org/deploy-action   # an action allowed next to id-token
"""
INPUTS = ("paths",)


def implied_inputs(args: argparse.Namespace) -> list[Path]:
    """The workflow and action files the folders hold: no output may replace one."""
    from pipeline.errors import HardenError
    from pipeline.workflows import collect

    try:
        return collect(args.paths or [Path(".")])
    except HardenError:
        return []  # reported by the run itself


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="workflow or action files, or folders to search (default: .)",
    )
    parser.add_argument(
        "--no-zizmor", dest="zizmor", action="store_false", help="skip zizmor; run mcp-harden's rules only"
    )
    parser.add_argument("--zizmor-path", metavar="FILE", help="the zizmor executable (default: on PATH)")
    parser.add_argument(
        "--persona",
        choices=("regular", "pedantic", "auditor"),
        default="auditor",
        help="zizmor persona (default: auditor, the strictest)",
    )
    parser.add_argument(
        "--allow-oidc-action",
        action="append",
        default=[],
        metavar="OWNER/REPO",
        help="a third-party action allowed in a job with id-token: write (repeatable; "
        "pypa/gh-action-pypi-publish and sigstore/gh-action-sigstore-python always are)",
    )


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.findings import Report
    from pipeline.workflows import rules, run_lint

    stage = run_lint(
        args.paths or [Path(".")],
        zizmor=args.zizmor,
        zizmor_path=args.zizmor_path,
        persona=args.persona,
        oidc_consumers=(*rules.OIDC_CONSUMERS, *args.allow_oidc_action),
    )
    return Report(stages=[stage])


SPEC = CommandSpec(
    name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS, implied_inputs=implied_inputs
)
