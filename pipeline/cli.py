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
from typing import TYPE_CHECKING, Any, cast

from pipeline import __version__
from pipeline.commands import Command, CommandSpec
from pipeline.errors import ConfigError, ExitCode, HardenError, one_line

if TYPE_CHECKING:
    from pipeline.findings import Report

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

# The shared output options (argparse destination, option as the user wrote it). A command adds its own
# product outputs with `OUTPUTS` (same shape) and the files it reads with `INPUTS` (destinations) or an
# `implied_inputs(args)` function (files it reads without being told, e.g. a bundle beside an artifact).
REPORT_OUTPUTS = (
    ("output", "-o/--output"),
    ("sarif", "--sarif"),
    ("json_output", "--json"),
    ("summary", "--summary"),
)
COMMON_INPUTS = ("policy",)


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (the full usage is one `--help` away)."""

    def error(self, message: str) -> Any:
        self.exit(int(ExitCode.USAGE), f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def load_commands() -> list[Command]:
    """The command modules, each checked to be a `Command` (a SPEC, add_arguments and run)."""
    commands: list[Command] = []
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"pipeline.commands.{name}")
        if not isinstance(vars(module).get("SPEC"), CommandSpec):
            raise TypeError(f"pipeline.commands.{name} has no SPEC (a CommandSpec)")
        commands.append(cast(Command, module))
    return commands


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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, just that subcommand's options are built (the others keep their
    name and summary): argparse's building of fifteen option sets is a tenth of a gate's start-up."""
    parser = _Parser(
        prog="mcp-harden",
        description="Supply-chain and deployment hardening for MCP servers.",
        epilog="Exit codes: 0 clean; 1 findings at or above the threshold; 2 usage or configuration error; "
        "3 a check could not be completed (a gate treats 3 as a failure).",
    )
    parser.add_argument("--version", action="version", version=f"mcp-harden {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in load_commands():
        spec = module.SPEC
        sp = sub.add_parser(
            spec.name,
            help=spec.summary,
            description=spec.summary,
            epilog="examples:\n" + spec.examples.rstrip() if spec.examples else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if only is None or spec.name == only:
            module.add_arguments(sp)
            if spec.reports:
                add_output_options(sp, report_file=not spec.own_output)
        sp.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=argv[0] if argv and not argv[0].startswith("-") else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(_run(args))
    except HardenError as exc:
        print(f"mcp-harden {args.command}: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP where a command handles them (capture)
        signum = int(getattr(exc, "signum", 2))
        how = f" ({exc})" if signum != 2 else ""
        print(f"mcp-harden {args.command}: interrupted{how}", file=sys.stderr)
        return 128 + signum
    except Exception as exc:  # fail closed, one line, no traceback unless asked
        if os.environ.get("MCP_HARDEN_DEBUG"):
            raise
        detail = one_line(exc)
        print(f"mcp-harden {args.command}: internal error (could not check): {detail}", file=sys.stderr)
        return int(ExitCode.INCOMPLETE)


def _run(args: argparse.Namespace) -> int:
    from pipeline.config import Policy, load_policy
    from pipeline.findings import Report, Severity

    module: Command = args._module
    check_outputs(args)  # before the policy, before any work: a bad output path costs nothing
    policy = load_policy(getattr(args, "policy", None)) if module.SPEC.uses_policy else Policy()
    result = module.run(args, policy)
    if not isinstance(result, Report):
        return int(result)
    from pipeline.rules.suppress import apply_policy_suppressions

    apply_policy_suppressions(result, policy.suppress, source=policy.source)
    result.threshold = Severity(args.fail_on) if getattr(args, "fail_on", None) else policy.fail_on
    result.tool_version = __version__
    emit_report(result, args)
    return int(result.exit_code())


def _paths(value: object) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, (list, tuple)):
        return [p for item in value for p in _paths(item)]
    return [os.fspath(value)] if isinstance(value, (str, os.PathLike)) else []


def check_outputs(args: argparse.Namespace) -> None:
    """Every output the command line names must be writable and must not be one of the run's inputs
    (compared by inode and by resolved path) nor another output. Exit 2 before the run starts. Commands
    that parse part of their command line themselves call this again once they have."""
    from pipeline.config import DEFAULT_POLICY_FILE
    from pipeline.fileio import check_output_path, same_file

    spec: CommandSpec = args._module.SPEC
    shared: tuple[tuple[str, str], ...] = REPORT_OUTPUTS if spec.reports else ()
    if spec.own_output:  # -o is the product; the report goes to --report
        shared = tuple((dest, "--report" if dest == "output" else option) for dest, option in shared)
    outputs = [
        (path, option)
        for dest, option in (*shared, *spec.outputs)
        for path in _paths(getattr(args, dest, None))
    ]
    if not outputs:
        return
    inputs: list[str] = []
    for dest in (*COMMON_INPUTS, *spec.inputs):
        inputs += _paths(getattr(args, dest, None))
    if spec.uses_policy and not getattr(args, "policy", None):
        inputs.append(DEFAULT_POLICY_FILE)
    if spec.implied_inputs is not None:
        inputs += _paths(spec.implied_inputs(args))
    seen: list[tuple[str, str]] = []
    for path, option in outputs:
        for other, other_option in seen:
            if same_file(path, other):
                raise ConfigError(f"{option} and {other_option} name the same file", where=path)
        check_output_path(path, option=option, inputs=inputs, append=option == "--summary")
        seen.append((path, option))


def emit_report(report: Report, args: argparse.Namespace) -> None:
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
