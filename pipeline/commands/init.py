from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy

NAME = "init"
SUMMARY = "Write a commented starter policy file (mcp-harden.yaml)."
EXAMPLES = """\
  mcp-harden init                      # writes ./mcp-harden.yaml
  mcp-harden init -o policy/mcp-harden.yaml
  mcp-harden init --stdout > mcp-harden.yaml
"""
REPORTS = False
USES_POLICY = False
OUTPUTS = (("output", "-o/--output"),)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default="mcp-harden.yaml", metavar="FILE", help="where to write")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing a file")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args: argparse.Namespace, policy: Policy) -> int:
    from pipeline.config import STARTER
    from pipeline.errors import UsageError
    from pipeline.fileio import write_atomic

    if args.stdout:
        sys.stdout.write(STARTER)
        return 0
    target = Path(args.output)
    if target.exists() and not args.force:
        raise UsageError("file exists; pass --force to overwrite it", where=str(target))
    write_atomic(target, STARTER)
    print(f"wrote {target}", file=sys.stderr)
    return 0


SPEC = CommandSpec(
    name=NAME, summary=SUMMARY, examples=EXAMPLES, reports=REPORTS, uses_policy=USES_POLICY, outputs=OUTPUTS
)
