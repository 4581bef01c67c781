"""A local Sigstore instance on 127.0.0.1 for tests and fresh machines: never trusted by a real policy.

It holds an OIDC issuer key that mints GitHub-Actions-shaped tokens (`keys`), a Fulcio-like CA that issues
short-lived leaf certificates with one embedded SCT (`ca`), and a Rekor v1-like log (`log`: RFC 6962 Merkle
tree, inclusion proofs, signed checkpoints, signed entry timestamps), served over HTTP (`server`). Keys live
in the sandbox folder; its `trusted_root.json` lets `mcp-harden verify` check sandbox signatures offline
later, without the server running.
"""

from pipeline.sign.sandbox.ca import SandboxCA
from pipeline.sign.sandbox.keys import (
    SANDBOX_ISSUER,
    SANDBOX_ORG,
    STATE_FILE,
    TRUST_CONFIG,
    TRUSTED_ROOT,
    SandboxError,
    SandboxKeys,
)
from pipeline.sign.sandbox.log import SandboxLog
from pipeline.sign.sandbox.server import Sandbox, serve

__all__ = [
    "SANDBOX_ISSUER",
    "SANDBOX_ORG",
    "STATE_FILE",
    "TRUSTED_ROOT",
    "TRUST_CONFIG",
    "Sandbox",
    "SandboxCA",
    "SandboxError",
    "SandboxKeys",
    "SandboxLog",
    "serve",
]
