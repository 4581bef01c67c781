"""The `mcp-harden` command: one subcommand per stage. Thin: parse, load the policy, run, render, exit.

Each subcommand lives in `pipeline/commands/<name>.py` with `NAME`, `SUMMARY`, `EXAMPLES`,
`add_arguments(parser)` and `run(args, policy) -> Report`. Command modules import only argparse-level
things at the top; the stage itself is imported inside `run`, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from pipeline import __version__
from pipeline.errors import ExitCode, HardenError, one_line

COMMAND_MODULES = (
    "init",
    "sbom",
    "audit",
    "vulndb",
    "sign",
    "verify",
    "sandbox",
    "check_endpoint",
    "manifest",
    "scan_tools",
    "lint_workflows",
    "provenance",
    "report",
    "explain",
    "release",
)

FORMATS = ("text", "json", "sarif", "markdown")


def _load_commands() -> list[ModuleType]:
    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(f"pipeline.commands.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"pipeline.commands.{name}":
                raise
    return modules


def add_output_options(parser: argparse.ArgumentParser, *, report_file: bool = True) -> None:
    """Options every report-producing subcommand shares. A command whose `-o` names its own product
    (an SBOM, a manifest) writes the report with `--report FILE` instead."""
    group = parser.add_argument_group("policy and output")
    group.add_argument(
        "--policy", metavar="FILE", help="policy file (default: ./mcp-harden.yaml when present)"
    )
    group.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    if report_file:
        group.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    else:
        group.add_argument(
            "--report", dest="output", metavar="FILE", help="write the report here, not stdout"
        )
    group.add_argument("--sarif", metavar="FILE", help="also write SARIF 2.1.0 for code scanning")
    group.add_argument("--json", dest="json_output", metavar="FILE", help="also write the JSON report")
    group.add_argument(
        "--summary",
        metavar="FILE",
        help='also append a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY")',
    )
    group.add_argument(
        "--fail-on",
        choices=("info", "low", "medium", "high", "critical"),
        help="failure threshold (overrides the policy's fail_on)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-harden",
        description="Supply-chain and deployment hardening for MCP servers.",
        epilog="Exit codes: 0 clean; 1 findings at or above the threshold; 2 usage or configuration error; "
        "3 a check could not be completed (a gate treats 3 as a failure).",
    )
    parser.add_argument("--version", action="version", version=f"mcp-harden {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _load_commands():
        sp = sub.add_parser(
            module.NAME,
            help=module.SUMMARY,
            description=module.SUMMARY,
            epilog="examples:\n" + module.EXAMPLES.rstrip() if getattr(module, "EXAMPLES", "") else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sp)
        if getattr(module, "REPORTS", True):
            add_output_options(sp, report_file=not getattr(module, "OWN_OUTPUT", False))
        sp.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(_run(args))
    except HardenError as exc:
        print(f"mcp-harden {args.command}: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"mcp-harden {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # fail closed, one line, no traceback unless asked
        if os.environ.get("MCP_HARDEN_DEBUG"):
            raise
        detail = one_line(exc)
        print(f"mcp-harden {args.command}: internal error (could not check): {detail}", file=sys.stderr)
        return int(ExitCode.INCOMPLETE)


def _run(args: argparse.Namespace) -> int:
    from pipeline.config import load_policy
    from pipeline.findings import Report, Severity

    module = args._module
    policy = load_policy(getattr(args, "policy", None)) if getattr(module, "USES_POLICY", True) else None
    result = module.run(args, policy)
    if not isinstance(result, Report):
        return int(result)
    if policy is not None:
        from pipeline.rules.suppress import apply_policy_suppressions

        apply_policy_suppressions(result, policy.suppress, source=policy.source)
    if getattr(args, "fail_on", None):
        result.threshold = Severity(args.fail_on)
    elif policy is not None:
        result.threshold = policy.fail_on
    result.tool_version = __version__
    emit_report(result, args)
    return int(result.exit_code())


def emit_report(report: object, args: argparse.Namespace) -> None:
    from pipeline.fileio import append_text, write_atomic
    from pipeline.formats import render

    text = render(report, args.format, color=args.output is None and sys.stdout.isatty())
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if args.sarif:
        write_atomic(args.sarif, render(report, "sarif"))
    if args.json_output:
        write_atomic(args.json_output, render(report, "json"))
    if args.summary:
        append_text(args.summary, render(report, "markdown"))


if __name__ == "__main__":
    raise SystemExit(main())
