"""The root of trust for verification: a pinned trusted_root.json (read once, bounded), the copy shipped
inside sigstore (offline), or the instance's TUF repository (online)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline._compat import SIGSTORE_SHIPPED, sigstore_shipped
from pipeline.errors import CheckError, ConfigError, UsageError, one_line
from pipeline.fileio import read_bounded

# A TUF mirror of the instance's repository (an internal proxy, or a loopback server in tests).
TUF_URL_ENV = "MCP_HARDEN_TUF_URL"
# A trusted root is a few kilobytes; anything near this is not one.
TRUSTED_ROOT_LIMIT = 4 << 20


@dataclass
class TrustedRootInfo:
    root: Any  # sigstore.models.TrustedRoot
    description: str
    sandbox: bool


def online_trust_config(instance: str) -> Any:
    """The instance's Sigstore client configuration, refreshed through TUF: from its public repository, or
    from the mirror in $MCP_HARDEN_TUF_URL, bootstrapped from the TUF root shipped with sigstore."""
    from sigstore.models import ClientTrustConfig

    mirror = os.environ.get(TUF_URL_ENV)
    if mirror:
        root = sigstore_shipped(instance, "root.json")
        return ClientTrustConfig.from_tuf(mirror, offline=False, bootstrap_root=root)
    return ClientTrustConfig.production() if instance == "production" else ClientTrustConfig.staging()


def _is_sandbox_root(data: Any) -> bool:
    from pipeline.sign.sandbox import SANDBOX_ORG

    try:
        return any(ca["subject"]["organization"] == SANDBOX_ORG for ca in data["certificateAuthorities"])
    except (KeyError, TypeError):
        return False


def _parse_root(raw: bytes, where: str) -> tuple[Any, Any]:
    """The sigstore TrustedRoot and the plain JSON, both from the same bytes."""
    from sigstore.models import TrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    try:
        data = json.loads(raw)
        return TrustedRoot(trustroot_v1.TrustedRoot.from_json(raw)), data
    except RecursionError:
        raise ConfigError("not a Sigstore trusted root: JSON nested too deeply", where=where) from None
    except Exception as exc:
        raise ConfigError(
            f"not a Sigstore trusted root: {one_line(exc, with_type=False)}", where=where
        ) from None


def load_trusted_root(
    trusted_root: str | os.PathLike[str] | None,
    *,
    instance: str = "production",
    offline: bool = True,
    sandbox_dir: str | os.PathLike[str] = ".mcp-harden/sandbox",
) -> TrustedRootInfo:
    """The root of trust: a pinned file, the copy shipped inside sigstore (offline), or TUF (online)."""
    if trusted_root is None and instance == "sandbox":
        trusted_root = Path(sandbox_dir) / "trusted_root.json"
        if not Path(trusted_root).is_file():
            raise ConfigError(
                "no sandbox trusted root here: sign with --instance sandbox first, or pass --trusted-root",
                where=str(trusted_root),
            )
    if trusted_root is not None:
        path = Path(trusted_root)
        raw = read_bounded(path, what="trusted root file", limit=TRUSTED_ROOT_LIMIT)
        root, data = _parse_root(raw, str(path))
        sandbox = _is_sandbox_root(data)
        return TrustedRootInfo(root, f"{path}{' (sandbox)' if sandbox else ''}", sandbox)
    if instance not in SIGSTORE_SHIPPED:
        raise UsageError(f"unknown instance {instance!r}")
    if offline:
        path = sigstore_shipped(instance, "trusted_root.json")
        try:
            root, _ = _parse_root(
                read_bounded(path, what="trusted root", limit=TRUSTED_ROOT_LIMIT), str(path)
            )
            return TrustedRootInfo(root, f"{instance} (shipped with sigstore)", False)
        except ConfigError as exc:
            raise CheckError(
                f"cannot load the {instance} trusted root shipped with sigstore: {exc.message}",
                where=str(path),
            ) from None
    try:
        config = online_trust_config(instance)
        return TrustedRootInfo(config.trusted_root, f"{instance} (refreshed via TUF)", False)
    except Exception as exc:
        raise CheckError(
            f"could not refresh the {instance} trusted root via TUF: {one_line(exc, with_type=False)}",
            where="TUF",
        ) from None


def is_sandbox_root_file(path: str | os.PathLike[str]) -> bool:
    """Whether a trusted-root file is an mcp-harden sandbox's (False when it cannot be read: loading it for
    verification then reports why)."""
    try:
        return _is_sandbox_root(
            json.loads(read_bounded(path, what="trusted root file", limit=TRUSTED_ROOT_LIMIT))
        )
    except (ConfigError, ValueError, RecursionError):
        return False
