from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pipeline.bounds import port, seconds
from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import EndpointSection, Policy
    from pipeline.findings import Report

NAME = "check-endpoint"
SUMMARY = (
    "Check deployed MCP endpoints: TLS (Mozilla profile), HSTS, and the MCP Streamable HTTP rules of both "
    "eras it detects, 2026-07-28 and 2025-11-25 (bearer auth, audience, Origin/Host, request metadata headers, "
    "sessions, tools, protected resource and authorization server metadata)."
)
EXAMPLES = """\
  mcp-harden check-endpoint https://mcp.example.com/mcp                      # unauthenticated checks only
  mcp-harden check-endpoint https://mcp.example.com/mcp --token env:MCP_TOKEN \\
      --foreign-token env:OTHER_AUDIENCE_TOKEN --second-token env:BOB_TOKEN \\
      --low-scope-token env:READONLY_TOKEN                                   # every check
  mcp-harden check-endpoint https://a.example/mcp https://b.example/mcp --format sarif -o endpoints.sarif
  mcp-harden check-endpoint https://mcp.example.com/mcp --resolve mcp.example.com:443:10.0.0.5 \\
      --ca-file internal-ca.pem                                              # a staging box, before DNS
  mcp-harden check-endpoint --policy mcp-harden.yaml                         # the policy's endpoint.urls
  mcp-harden check-endpoint https://auth.example.com/ --no-mcp               # TLS and HSTS of any server
Tokens: pass env:NAME to read a token from the environment (keeps it out of `ps`). Checks that need a
token you did not give are listed as "not run", never as passed.
"""
INPUTS = ("ca_file",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "urls", nargs="*", metavar="URL", help="endpoint URLs (default: the policy's endpoint.urls)"
    )
    parser.add_argument(
        "--ca-file", metavar="FILE", help="CA certificates (PEM) to trust instead of the system store"
    )
    parser.add_argument(
        "--resolve",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDRESS",
        help="connect to ADDRESS for HOST:PORT (SNI and Host stay HOST), like curl; repeatable",
    )
    parser.add_argument("--profile", choices=("intermediate", "modern"), help="Mozilla TLS profile")
    parser.add_argument("--token", metavar="T", help="a valid access token for the endpoint (or env:NAME)")
    parser.add_argument(
        "--foreign-token",
        metavar="T",
        help="a valid token issued for another resource: audience check (or env:NAME)",
    )
    parser.add_argument(
        "--second-token",
        metavar="T",
        help="a valid token of another user: session binding check (or env:NAME)",
    )
    parser.add_argument(
        "--low-scope-token",
        metavar="T",
        help="a valid token without the scopes the endpoint needs: scope check (or env:NAME)",
    )
    parser.add_argument(
        "--expired-token",
        metavar="T",
        help="a token for this endpoint past its expiry: expiry check (or env:NAME)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also fetch metadata from HOST (default: only the endpoint's hosts and loopback); repeatable",
    )
    parser.add_argument(
        "--http-port",
        type=port,
        metavar="PORT",
        help="plain-HTTP port that should redirect to HTTPS (default: 80 for endpoints on 443; 0: skip)",
    )
    parser.add_argument(
        "--timeout", type=seconds, metavar="S", help="per request and connection (default 10)"
    )
    parser.add_argument(
        "--connect-timeout", type=seconds, metavar="S", help="TCP connect (default min(5, timeout))"
    )
    parser.add_argument(
        "--total-timeout",
        type=seconds,
        metavar="S",
        help="per endpoint, all checks (default max(30, 6 x timeout))",
    )
    parser.add_argument("--no-tls", action="store_true", help="skip the TLS checks (HTTP checks still run)")
    parser.add_argument(
        "--no-mcp",
        action="store_true",
        help="TLS and the HTTP layer (HSTS, plain-HTTP redirect) only: no MCP request is sent",
    )


def run(args: argparse.Namespace, policy: Policy) -> Report | int:
    import os

    from pipeline.errors import UsageError

    section = policy.endpoint
    urls = list(args.urls) or list(section.urls)
    if not urls:
        raise UsageError("no endpoint to check: give URLs or set endpoint.urls in the policy", where=NAME)
    import tempfile

    ca_file = args.ca_file or (str(policy.resolve_path(section.ca_file)) if section.ca_file else None)
    with tempfile.TemporaryDirectory(prefix="mcp-harden-ca-") as private:
        if ca_file:
            # Read once (a regular file, bounded), then every TLS connection of the run trusts this private
            # copy: the user's path swapped for a FIFO or another CA mid-run changes nothing.
            from pipeline.fileio import read_bounded, write_atomic

            copy = os.path.join(private, "ca.pem")
            write_atomic(copy, read_bounded(ca_file, what="CA file", limit=8 << 20))
            ca_file = copy
        return _check(args, section, urls, ca_file)


def _check(
    args: argparse.Namespace, section: EndpointSection, urls: list[str], ca_file: str | None
) -> Report:
    import sys

    from pipeline.commands import secret_value
    from pipeline.endpoint import Credentials, EndpointOptions, check_endpoints, parse_resolve
    from pipeline.findings import Report

    options = EndpointOptions(
        ca_file=ca_file,
        profile=args.profile or section.profile,
        timeout=args.timeout or section.timeout,
        connect_timeout=args.connect_timeout,
        total_timeout=args.total_timeout or section.total_timeout,
        expiry_warning_days=section.expiry_warning_days,
        hsts_min_age=section.hsts_min_age,
        resolve=parse_resolve([*section.resolve, *args.resolve]),
        creds=Credentials(
            token=secret_value(args.token, "--token"),
            foreign_token=secret_value(args.foreign_token, "--foreign-token"),
            second_token=secret_value(args.second_token, "--second-token"),
            low_scope_token=secret_value(args.low_scope_token, "--low-scope-token"),
            expired_token=secret_value(args.expired_token, "--expired-token"),
        ),
        allow_hosts={h.lower() for h in [*section.allow_hosts, *args.allow_host]},
        http_port=args.http_port,
        tls=not args.no_tls,
        mcp=not args.no_mcp,
    )

    progress = None
    if sys.stderr.isatty() and len(urls) > 1:

        def progress(done: int, total: int, url: str) -> None:
            end = "\n" if done == total else ""
            sys.stderr.write(f"\r\033[Kchecked {done}/{total}: {url[:100]}{end}")
            sys.stderr.flush()

    return Report(stages=check_endpoints(urls, options, progress=progress))


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, inputs=INPUTS)
