from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING

from pipeline.bounds import port
from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline.config import Policy

NAME = "sandbox"
SUMMARY = "Run the local Sigstore sandbox (OIDC issuer, CA, transparency log on 127.0.0.1): for tests only."
EXAMPLES = """\
  mcp-harden sandbox start                 # background server; keys in .mcp-harden/sandbox
  eval "$(mcp-harden sandbox env)"         # SIGSTORE_ID_TOKEN, MCP_HARDEN_SANDBOX_TRUST_CONFIG, ...
  python -m sigstore --trust-config "$MCP_HARDEN_SANDBOX_TRUST_CONFIG" sign --identity-token "$SIGSTORE_ID_TOKEN" f
  mcp-harden sandbox status
  mcp-harden sandbox stop
(`mcp-harden sign --instance sandbox` needs none of this: it starts a sandbox in-process.)
"""
REPORTS = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status", "env"))
    parser.add_argument("--sandbox-dir", metavar="DIR", help="keys folder (default: policy sign.sandbox_dir)")
    parser.add_argument("--port", type=port, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument(
        "--policy", metavar="FILE", help="policy file (default: ./mcp-harden.yaml when present)"
    )


def _state(folder: Path) -> tuple[int, str] | None:
    import json

    from pipeline.sign.sandbox import STATE_FILE

    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        return int(data["pid"]), str(data["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run(args: argparse.Namespace, policy: Policy) -> int:
    import os
    import shlex
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from pipeline.errors import CheckError, UsageError
    from pipeline.sign.sandbox import STATE_FILE, TRUST_CONFIG, TRUSTED_ROOT, SandboxKeys

    folder = Path(args.sandbox_dir or policy.resolve_path(policy.sign.sandbox_dir))
    state = _state(folder)
    running = state if state is not None and _alive(state[1]) else None
    if args.action == "status":
        print(f"sandbox running at {running[1]} (pid {running[0]})" if running else "sandbox not running")
        return 0 if running else 3
    if args.action == "stop":
        if state is None:
            print("sandbox not running")
            return 0
        with contextlib.suppress(ProcessLookupError):
            os.kill(state[0], signal.SIGTERM)
        (folder / STATE_FILE).unlink(missing_ok=True)
        print(f"sandbox stopped (pid {state[0]})")
        return 0
    if args.action == "start":
        if running:
            print(f"sandbox already running at {running[1]} (pid {running[0]})")
            return 0
        SandboxKeys.load_or_create(folder)
        (folder / STATE_FILE).unlink(missing_ok=True)
        log = open(folder / "server.log", "ab")  # noqa: SIM115 - handed to the child
        subprocess.Popen(
            [sys.executable, "-m", "pipeline.sign.sandbox", str(folder), str(args.port)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            state = _state(folder)
            if state is not None and _alive(state[1]):
                print(f"sandbox running at {state[1]} (pid {state[0]}); trust config {folder / TRUST_CONFIG}")
                return 0
            time.sleep(0.1)
        raise CheckError("the sandbox did not start; see server.log", where=str(folder))
    # env
    if running is None:
        raise UsageError(
            "the sandbox is not running: run `mcp-harden sandbox start` first", where=str(folder)
        )
    from pipeline.sign.github import github_claims

    keys = SandboxKeys.load_or_create(folder)
    claims, _ = github_claims()
    values = {
        "MCP_HARDEN_SANDBOX_URL": running[1],
        "MCP_HARDEN_SANDBOX_TRUST_CONFIG": str(folder / TRUST_CONFIG),
        "MCP_HARDEN_SANDBOX_TRUSTED_ROOT": str(folder / TRUSTED_ROOT),
        "SIGSTORE_ID_TOKEN": keys.mint_token(claims),
    }
    for name, value in values.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, reports=REPORTS)
