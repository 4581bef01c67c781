"""Every use of another project's private API, in one place, each behind a small function.

pip-audit's services (`pip_audit._service`), cyclonedx-py's metadata helpers (`cyclonedx_py._internal`) and
the trust roots shipped inside sigstore (`sigstore/_store`) are not public interfaces: a new release may move
them. `tests/test_compat.py` pins what mcp-harden relies on, so such a move fails one test with a clear name
instead of a stage at run time. Imports happen inside the functions: `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple


class PipAuditApi(NamedTuple):
    ResolvedDependency: Any
    ServiceError: type[Exception]
    OsvService: Any
    PyPIService: Any


def pip_audit_api() -> PipAuditApi:
    from pip_audit._service.interface import ResolvedDependency, ServiceError
    from pip_audit._service.osv import OsvService
    from pip_audit._service.pypi import PyPIService

    return PipAuditApi(ResolvedDependency, ServiceError, OsvService, PyPIService)


class CycloneDxHelpers(NamedTuple):
    licenses_fixup: Any
    metadata2extrefs: Any
    metadata2licenses: Any
    make_bom: Any


def cyclonedx_helpers() -> CycloneDxHelpers:
    from cyclonedx_py._internal.utils.cdx import licenses_fixup, make_bom
    from cyclonedx_py._internal.utils.packaging import metadata2extrefs, metadata2licenses

    return CycloneDxHelpers(licenses_fixup, metadata2extrefs, metadata2licenses, make_bom)


# The folder under sigstore/_store of each instance whose trust material sigstore ships.
SIGSTORE_SHIPPED = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}


def sigstore_shipped(instance: str, name: str) -> Path:
    """A file sigstore ships for an instance: `root.json` (the TUF root) or `trusted_root.json`."""
    import sigstore

    return Path(sigstore.__file__).parent / "_store" / SIGSTORE_SHIPPED[instance] / name
