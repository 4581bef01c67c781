from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy

NAME = "explain"
SUMMARY = (
    "Explain a rule: what it detects, why it matters, a bad and a good example, the fix, how to suppress."
)
EXAMPLES = """\
  mcp-harden explain MH-TOOL-EXFILTRATION
  mcp-harden explain 'MH-TLS-*'                 # every rule the glob matches
  mcp-harden explain --all --markdown > docs/rules.md
"""
REPORTS = False
USES_POLICY = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rules", nargs="*", metavar="ID", help="rule ids or globs (e.g. MH-WF-*)")
    parser.add_argument("--all", action="store_true", help="every rule")
    parser.add_argument("--markdown", action="store_true", help="the documentation page (docs/rules.md)")
    parser.add_argument("--list", action="store_true", help="one line per rule: id, severity, summary")


def run(args: argparse.Namespace, policy: Policy) -> int:
    import fnmatch

    from pipeline.errors import UsageError
    from pipeline.rules import all_rules
    from pipeline.rules.docs import explain, render_page

    known = all_rules()
    if args.all or (not args.rules and (args.markdown or args.list)):
        chosen = known
    elif not args.rules:
        raise UsageError("name a rule id (or a glob), or pass --all", where="explain")
    else:
        chosen = []
        for pattern in args.rules:
            hits = [r for r in known if fnmatch.fnmatchcase(r.id, pattern.upper())]
            if not hits:
                raise UsageError(
                    f"no rule matches {pattern!r} (see `mcp-harden explain --list`)", where="explain"
                )
            chosen += [r for r in hits if r not in chosen]
    if args.markdown:
        sys.stdout.write(render_page(chosen))
    elif args.list:
        sys.stdout.write("".join(f"{r.id:40} {r.severity.value:8} {r.summary}\n" for r in chosen))
    else:
        sys.stdout.write("\n".join(explain(r) for r in chosen))
    return 0


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, reports=REPORTS, uses_policy=USES_POLICY)
