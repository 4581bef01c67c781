from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.bounds import seconds
from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "manifest"
SUMMARY = (
    "Pin an MCP server's tools: capture them to a canonical, hashed record; diff a live server against it."
)
OWN_OUTPUT = True  # -o is the record; the report goes to stdout or --report
EXAMPLES = """\
  mcp-harden manifest capture -o mcp-manifest.json -- python -m example_server     # stdio server
  mcp-harden manifest capture --url https://mcp.example.com/mcp --token "$TOKEN" -o mcp-manifest.json
  mcp-harden manifest capture --url URL --token admin=env:ADMIN_TOKEN --token reader=env:READER_TOKEN
  mcp-harden manifest capture --client-config ~/.cursor/mcp.json --allow-exec -o servers.json
  mcp-harden manifest diff mcp-manifest.json -- python -m example_server        # live drift check
  mcp-harden manifest diff mcp-manifest.json new-manifest.json                  # two records
  mcp-harden manifest diff mcp-manifest.json --bundle mcp-manifest.json.sigstore.json --url URL
"""

INPUTS = ("ca_file", "client_config", "bundle", "trusted_root")
OUTPUTS = (("manifest_output", "-o/--manifest-output"),)
ACTIONS = ("capture", "diff")  # the words after `manifest` (parsed by hand: the server's command follows)


def implied_inputs(args: argparse.Namespace) -> list[str]:
    """The records named after `capture`/`diff` (known once `reparse` has run)."""
    return list(getattr(args, "positionals", None) or [])[1:]


USAGE_HINT = "use: manifest capture (--url URL | --client-config FILE | -- COMMAND ARGS...) or manifest diff RECORD ..."


class _Parser(argparse.ArgumentParser):
    """Re-parses what argparse's REMAINDER swallowed; errors become one-line usage errors."""

    def error(self, message: str) -> Any:
        from pipeline.errors import UsageError

        raise UsageError(message)


def add_target_options(parser: argparse.ArgumentParser, *, inner: bool = False) -> None:
    """Where the server is. `inner`: the re-parse of arguments given after the positionals."""
    keep: dict[str, Any] = {"default": argparse.SUPPRESS} if inner else {}
    parser.add_argument("--url", metavar="URL", help="a Streamable HTTP endpoint", **keep)
    parser.add_argument(
        "--token",
        action="append",
        metavar="[ROLE=]TOKEN",
        help="bearer token for --url, or env:NAME (default: $MCP_HARDEN_TOKEN); repeat as ROLE=TOKEN "
        "(ROLE=env:NAME) to capture and pin one tool list per role",
        **keep,
    )
    parser.add_argument(
        "--role-tokens",
        metavar="env:NAME",
        help="tokens per role from the environment variable NAME, one ROLE=TOKEN a line (as a CI secret "
        "holds them); the same as a --token ROLE=TOKEN for each line",
        **keep,
    )
    parser.add_argument("--ca-file", metavar="FILE", help="CA bundle to trust for --url (PEM)", **keep)
    parser.add_argument(
        "--header", action="append", metavar="'NAME: VALUE'", help="extra HTTP header (repeatable)", **keep
    )
    parser.add_argument(
        "--client-config",
        metavar="FILE",
        help="an MCP client configuration (Claude Desktop, VS Code .vscode/mcp.json, Cursor mcp.json)",
        **keep,
    )
    parser.add_argument(
        "--allow-exec",
        action="store_true",
        help="allow launching the stdio servers a client configuration lists (runs their commands)",
        **keep,
    )
    parser.add_argument(
        "--env",
        action="append",
        metavar="KEY=VALUE",
        help="environment for a stdio server (repeatable)",
        **keep,
    )
    parser.add_argument("--cwd", metavar="DIR", help="working folder for a stdio server", **keep)
    parser.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="per-server deadline (default: policy manifest.timeout)",
        **keep,
    )


def add_report_options(parser: argparse.ArgumentParser, *, report_file: bool) -> None:
    """The CLI's shared output options, re-declared for the re-parse (same destinations, no defaults)."""
    keep: dict[str, Any] = {"default": argparse.SUPPRESS}
    parser.add_argument("--policy", **keep)
    parser.add_argument("--format", choices=("text", "json", "sarif", "markdown"), **keep)
    parser.add_argument(*(("-o", "--output") if report_file else ("--report",)), dest="output", **keep)
    parser.add_argument("--sarif", **keep)
    parser.add_argument("--json", dest="json_output", **keep)
    parser.add_argument("--summary", **keep)
    parser.add_argument("--fail-on", choices=("info", "low", "medium", "high", "critical"), **keep)


def split_items(items: list[str]) -> tuple[list[str], list[str]]:
    """Split at the first `--`: what comes after is the server's command line, untouched."""
    if "--" in items:
        index = items.index("--")
        return items[:index], items[index + 1 :]
    return items, []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser)
    _add_own_options(parser)
    parser.set_defaults(_print_help=parser.print_help)  # `manifest capture --help` lands in the REMAINDER
    parser.add_argument(
        "items",
        nargs=argparse.REMAINDER,
        metavar="capture|diff ...",
        help="capture [-- COMMAND ARGS...] | diff RECORD [OTHER_RECORD | -- COMMAND ARGS...]",
    )


def _add_own_options(parser: argparse.ArgumentParser, *, inner: bool = False) -> None:
    keep: dict[str, Any] = {"default": argparse.SUPPRESS} if inner else {}
    parser.add_argument(
        "-o",
        "--manifest-output",
        dest="manifest_output",
        metavar="FILE",
        help="capture: where to write the record (default: mcp-manifest.json)",
        **keep,
    )
    parser.add_argument(
        "--bundle",
        metavar="FILE",
        help="diff: the record's Sigstore bundle; verified before comparing",
        **keep,
    )
    parser.add_argument(
        "--identity", metavar="ID", help="diff --bundle: the signer identity to require", **keep
    )
    parser.add_argument("--issuer", metavar="URL", help="diff --bundle: the OIDC issuer to require", **keep)
    parser.add_argument(
        "--trusted-root",
        metavar="FILE",
        help="diff --bundle: pinned trusted_root.json (default: policy verify.trusted_root)",
        **keep,
    )


def reparse(args: argparse.Namespace, own: Any, *, report_file: bool) -> list[str]:
    """Parse the options REMAINDER swallowed before `--`; returns the positionals and sets the rest on args."""
    pre, command = split_items(list(args.items or []))
    if "-h" in pre or "--help" in pre:  # before `--` only: after it, --help is the server's own option
        args._print_help()
        raise SystemExit(0)
    inner = _Parser(prog=f"mcp-harden {args.command}", add_help=False)
    add_target_options(inner, inner=True)
    own(inner, inner=True)
    add_report_options(inner, report_file=report_file)
    inner.add_argument("positionals", nargs="*")
    inner.parse_intermixed_args(pre, namespace=args)
    args.server_command = command
    return list(args.positionals)


def role_token_lines(source: str | None) -> list[str]:
    """`--role-tokens env:NAME`: the variable's lines, each `ROLE=TOKEN` (blank lines skipped). Only the
    `env:` form, so that no token is ever on a command line."""
    from pipeline.errors import UsageError
    from pipeline.manifest.record import ROLE_NAME

    if source is None:
        return []
    name = source.removeprefix("env:")
    if name == source or not name:
        raise UsageError("--role-tokens takes env:NAME (a variable holding ROLE=TOKEN lines)", where=source)
    if name not in os.environ:
        raise UsageError(f"--role-tokens: ${name} is not set", where=source)
    lines = [line.strip() for line in os.environ[name].splitlines() if line.strip()]
    for number, line in enumerate(lines, 1):
        role, sep, token = line.partition("=")
        if not (sep and token and ROLE_NAME.fullmatch(role)):
            raise UsageError(f"--role-tokens: line {number} of ${name} is not ROLE=TOKEN", where=source)
    if not lines:
        raise UsageError(f"--role-tokens: ${name} holds no ROLE=TOKEN line", where=source)
    return lines


def split_tokens(
    values: list[str] | None, role_lines: list[str] | None = None
) -> tuple[str | None, dict[str, str] | None]:
    """`--token` values: one unnamed token (else $MCP_HARDEN_TOKEN), or one `ROLE=TOKEN` per role (from
    `--token` or the `--role-tokens` lines). A value is a role's when it starts with a role name and `=`;
    `env:NAME` never does. A line from `--role-tokens` is the token itself, never `env:` again."""
    from pipeline.commands import secret_value
    from pipeline.errors import UsageError
    from pipeline.manifest.record import ROLE_NAME

    named: dict[str, str] = {}
    unnamed: list[str] = []
    for line in role_lines or []:
        role, _, token = line.partition("=")
        if role in named:
            raise UsageError(f"role {role} is given twice", where="--role-tokens")
        named[role] = token
    for value in values or []:
        role, sep, token = value.partition("=")
        if sep and ROLE_NAME.fullmatch(role):
            if not token:
                raise UsageError(f"--token {role}= has no token", where="--token")
            if role in named:
                raise UsageError(f"role {role} is given twice", where="--token")
            named[role] = secret_value(token, f"--token {role}") or ""
        else:
            unnamed.append(value)
    if named and unnamed:
        raise UsageError("name every token (--token ROLE=TOKEN) or give just one unnamed", where="--token")
    if len(unnamed) > 1:
        raise UsageError("several unnamed tokens: name each one's role (--token ROLE=TOKEN)", where="--token")
    if named:
        return None, named
    single = secret_value(unnamed[0], "--token") if unnamed else None
    return single or os.environ.get("MCP_HARDEN_TOKEN") or None, None


def targets_from(
    args: argparse.Namespace, policy: Any, *, what: str, roles_ok: bool = False
) -> dict[str, Any]:
    """The servers named on the command line: a command after `--`, --url, or --client-config. Tokens per
    role (`roles_ok`: manifest capture and diff) are left in `args.roles` (None without them)."""
    from pipeline.errors import UsageError
    from pipeline.manifest import HttpTarget, StdioTarget
    from pipeline.manifest.clientconfig import load_client_config

    token, args.roles = split_tokens(args.token, role_token_lines(getattr(args, "role_tokens", None)))
    if args.roles is not None and not (roles_ok and args.url):
        raise UsageError(
            f"{what}: tokens per role (--token ROLE=TOKEN) need --url and manifest capture or diff"
        )

    given = [bool(args.server_command), bool(args.url), bool(args.client_config)]
    if sum(given) != 1:
        raise UsageError(f"{what}: give exactly one of --url URL, --client-config FILE, -- COMMAND ARGS...")
    env: dict[str, str] = {}
    for item in args.env or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env expects KEY=VALUE, got {item!r}")
        env[key] = value
    if args.server_command:
        command, *rest = args.server_command
        return {command: StdioTarget(command, rest, env=env or None, cwd=args.cwd)}
    if args.url:
        headers: dict[str, str] = {}
        for item in args.header or []:
            key, sep, value = item.partition(":")
            if not sep or not key.strip():
                raise UsageError(f"--header expects 'NAME: VALUE', got {item!r}")
            headers[key.strip()] = value.strip()
        return {args.url: HttpTarget(args.url, token=token, ca_file=args.ca_file, headers=headers)}
    targets = load_client_config(args.client_config)
    launch = sorted(name for name, t in targets.items() if isinstance(t, StdioTarget))
    if launch and not args.allow_exec:
        raise UsageError(
            f"capturing {', '.join(launch)} runs their commands on this machine; pass --allow-exec to allow it",
            where=args.client_config,
        )
    if not targets:
        raise UsageError("the client configuration lists no servers", where=args.client_config)
    return targets


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.cli import check_outputs
    from pipeline.config import load_policy
    from pipeline.errors import UsageError
    from pipeline.findings import Report

    positionals = reparse(args, _add_own_options, report_file=False)
    if not positionals or positionals[0] not in ACTIONS:
        raise UsageError(USAGE_HINT)
    action, paths = positionals[0], positionals[1:]
    if action == "capture":
        args.manifest_output = args.manifest_output or "mcp-manifest.json"
    else:
        args.manifest_output = None  # diff writes no record
    check_outputs(args)  # again, now that the options after the action are known
    if "policy" in args and args.policy:
        policy = load_policy(args.policy)
    timeout = args.timeout if args.timeout is not None else policy.manifest.timeout
    if action == "capture":
        from pipeline.manifest import run_capture

        if paths:
            raise UsageError(
                f"capture takes no positional arguments (got {paths[0]!r}); put the command after --"
            )
        targets = targets_from(args, policy, what="capture", roles_ok=True)
        output = Path(args.manifest_output)
        return Report(stages=[run_capture(targets, output=output, timeout=timeout, roles=args.roles)])

    from pipeline.manifest import run_diff

    if not paths or len(paths) > 2:
        raise UsageError("diff needs RECORD, then OTHER_RECORD or --url URL or -- COMMAND ARGS...")
    pinned = Path(paths[0])
    pre = _verify_bundle(args, policy, pinned)
    if pre is not None and (pre.error is not None or pre.findings):
        # An unverified record pins nothing: report why, and compare nothing against it.
        pre.notes.append("the record was not compared: its signature did not verify")
        return Report(stages=[pre])
    if len(paths) == 2:
        if args.server_command or args.url or args.client_config:
            raise UsageError(
                "diff compares RECORD with one thing: OTHER_RECORD, --url, --client-config or a command"
            )
        stage = run_diff(
            pinned, other_path=Path(paths[1]), allowed=policy.manifest.allow_changes, timeout=timeout, pre=pre
        )
    else:
        targets = targets_from(args, policy, what="diff", roles_ok=True)
        stage = run_diff(
            pinned,
            targets=targets,
            allowed=policy.manifest.allow_changes,
            timeout=timeout,
            pre=pre,
            roles=args.roles,
        )
    return Report(stages=[stage])


def _verify_bundle(args: argparse.Namespace, policy: Any, record: Path) -> Any:
    """With --bundle, the record's signature and signer are checked first, by the verify stage, against
    --identity/--issuer (else the policy's verify.signers) and --trusted-root (else verify.trusted_root)."""
    if not args.bundle:
        return None
    from pipeline.config import Signer
    from pipeline.errors import UsageError
    from pipeline.findings import StageResult
    from pipeline.verify import verify_artifacts

    section = policy.verify
    if args.identity or args.issuer:
        if not (args.identity and args.issuer):
            raise UsageError("--identity and --issuer go together")
        signers = [Signer(issuer=args.issuer, identity=args.identity)]
    else:
        signers = list(section.signers)
    trusted_root = args.trusted_root or (
        policy.resolve_path(section.trusted_root) if section.trusted_root else None
    )
    result = verify_artifacts(
        [record],
        signers=signers,
        bundles=[Path(args.bundle)],
        trusted_root=trusted_root,
        instance=section.instance,
        offline=section.offline,
        require_signed=True,
        sandbox_dir=policy.resolve_path(policy.sign.sandbox_dir),
    )
    stage = StageResult(
        stage="manifest",
        findings=list(result.findings),
        error=result.error,
        notes=list(result.notes),
        rules=list(result.rules),
    )
    verified = result.error is None and not result.findings
    stage.summary["signature"] = "verified" if verified else "not verified"
    if verified and result.summary.get("signers"):
        stage.summary["signer"] = ", ".join(result.summary["signers"])
    return stage


SPEC = CommandSpec(
    name=NAME,
    summary=SUMMARY,
    examples=EXAMPLES,
    own_output=OWN_OUTPUT,
    inputs=INPUTS,
    outputs=OUTPUTS,
    implied_inputs=implied_inputs,
)
