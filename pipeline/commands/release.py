"""`mcp-harden release`: every stage on one project, into one release folder, judged by one report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.bounds import seconds
from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.findings import Report

NAME = "release"
INPUTS = ("offline_db", "mcpb", "server_json")
SUMMARY = (
    "Build a project and run every stage on it: SBOM and install lock, audit, tool manifest, poisoning "
    "scan, sign and attest, verify."
)
USES_POLICY = False  # the default policy is the project's own mcp-harden.yaml, loaded in run()
EXAMPLES = """\
  mcp-harden release                                  # this project, into ./release/
  mcp-harden release path/to/server --offline-db osv-pypi.zip --wheelhouse
  mcp-harden release . --stages build                 # one job builds ...
  mcp-harden release . --skip build,sign              # ... another analyses what it passed on
  mcp-harden release . --only sign --instance production
  mcp-harden release . --mcpb build/notes.mcpb --write-server-json --endpoint https://mcp.example.com/mcp
"""
STAGE_NAMES = ("build", "sbom", "audit", "manifest", "scan-tools", "sign", "verify")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "project_dir", nargs="?", type=Path, default=Path("."), help="project folder (default: .)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="release folder (default: PROJECT_DIR/release)"
    )
    which = parser.add_mutually_exclusive_group()
    names = ",".join(STAGE_NAMES)
    which.add_argument("--stages", "--only", dest="stages", metavar="LIST", help=f"run only these ({names})")
    which.add_argument("--skip", metavar="LIST", help="run every stage but these")
    parser.add_argument(
        "--offline-db",
        type=Path,
        metavar="PATH",
        help="audit from this OSV database (folder or zip); no network",
    )
    parser.add_argument("--osv-url", metavar="URL", help="an OSV-compatible query API for the audit")
    parser.add_argument(
        "--instance",
        choices=("auto", "production", "staging", "sandbox"),
        default="auto",
        help="Sigstore instance (default auto: the policy's with an OIDC identity, else the local sandbox)",
    )
    parser.add_argument(
        "--sandbox-dir", type=Path, metavar="DIR", help="sandbox keys (default: sign.sandbox_dir)"
    )
    parser.add_argument(
        "--repository",
        metavar="OWNER/NAME",
        help="repository identity to sign as (sandbox) and verify against (default: $GITHUB_REPOSITORY, "
        "else local/<project>)",
    )
    parser.add_argument(
        "--server-command",
        metavar="COMMAND",
        help='how to start the built server, e.g. "python -m my_server" (default: the policy\'s manifest.command)',
    )
    parser.add_argument(
        "--wheelhouse",
        action="store_true",
        help="also download every locked archive into RELEASE/wheelhouse/, for installs with no index",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="reuse nothing from an earlier run (build, resolution, the server's environment)",
    )
    registry = parser.add_argument_group("MCP bundles and the MCP Registry entry (checked before signing)")
    registry.add_argument(
        "--mcpb",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="an .mcpb bundle to sign and attest with the release (any *.mcpb in RELEASE/dist/ is too)",
    )
    registry.add_argument(
        "--server-json",
        type=Path,
        metavar="FILE",
        help="the server.json entry to check against the built files (default: PROJECT_DIR/server.json)",
    )
    registry.add_argument(
        "--write-server-json",
        action="store_true",
        help="write RELEASE/server.json with the bundles' fileSha256 and the built version, then sign it",
    )
    registry.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="URL",
        help="what server.json's remotes[].url must be (default: the policy's endpoint.urls)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=900.0,
        metavar="SECONDS",
        help="limit for each build, resolution, install",
    )


def selected(args: argparse.Namespace) -> tuple[str, ...]:
    from pipeline.errors import UsageError

    def split(text: str, option: str) -> set[str]:
        items = {x.strip() for x in text.split(",") if x.strip()}
        unknown = sorted(items - set(STAGE_NAMES))
        if unknown or not items:
            raise UsageError(
                f"unknown stage {', '.join(unknown) or '(none)'}; choose from {','.join(STAGE_NAMES)}",
                where=option,
            )
        return items

    if args.stages:
        chosen = split(args.stages, "--stages")
        return tuple(s for s in STAGE_NAMES if s in chosen)
    if args.skip:
        dropped = split(args.skip, "--skip")
        return tuple(s for s in STAGE_NAMES if s not in dropped)
    return STAGE_NAMES


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    from pipeline.config import DEFAULT_POLICY_FILE, Policy, load_policy
    from pipeline.errors import UsageError
    from pipeline.release import Progress, ReleaseOptions, run_release

    project: Path = args.project_dir
    if not project.is_dir():
        raise UsageError("no such project folder", where=str(project))
    stages = selected(args)
    if args.policy:
        policy = load_policy(args.policy)
    else:
        own = project / DEFAULT_POLICY_FILE
        policy = load_policy(own) if own.is_file() else Policy()  # the project's, never the current folder's
    if args.server_command is not None:
        import shlex

        try:
            policy.manifest.command = shlex.split(args.server_command)
        except ValueError as exc:
            raise UsageError(f"cannot split the command: {exc}", where="--server-command") from None
    if args.offline_db is not None and not args.offline_db.exists():
        raise UsageError("no such offline database", where=str(args.offline_db))
    for given in [*args.mcpb, *([args.server_json] if args.server_json else [])]:
        if not given.is_file():
            raise UsageError("no such file" if not given.exists() else "not a file", where=str(given))
    if any(not given.name.endswith(".mcpb") for given in args.mcpb):
        raise UsageError("an MCP bundle's file name ends in .mcpb", where="--mcpb")
    if args.write_server_json and args.server_json is None and not (project / "server.json").is_file():
        raise UsageError(
            "--write-server-json needs an entry to start from: PROJECT_DIR/server.json or --server-json FILE"
        )
    options = ReleaseOptions(
        project=project,
        out=args.out or project / "release",
        stages=stages,
        offline_db=args.offline_db,
        osv_url=args.osv_url,
        instance=args.instance,
        sandbox_dir=args.sandbox_dir,
        repository=args.repository,
        wheelhouse=args.wheelhouse,
        fresh=args.fresh,
        timeout=args.timeout,
        mcpb=tuple(args.mcpb),
        server_json=args.server_json,
        write_server_json=args.write_server_json,
        endpoints=tuple(args.endpoint),
    )
    return run_release(options, policy, Progress(len(stages)))


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, uses_policy=USES_POLICY, inputs=INPUTS)
