"""Every use of another project's private API, in one place, each behind a small function.

pip-audit's services (`pip_audit._service`), cyclonedx-py's metadata helpers (`cyclonedx_py._internal`) and
the trust roots shipped inside sigstore (`sigstore/_store`) are not public interfaces: a new release may move
them. `tests/test_compat.py` pins what mcp-harden relies on, so such a move fails one test with a clear name
instead of a stage at run time. Imports happen inside the functions: `--help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

PIP_AUDIT_INTERFACE = "pip_audit._service.interface"


class PipAuditInterface(NamedTuple):
    """pip-audit's service interface: the types a `VulnerabilityService` takes and gives."""

    ResolvedDependency: Any
    VulnerabilityResult: Any
    VulnerabilityService: Any
    ServiceError: type[Exception]


def pip_audit_interface() -> PipAuditInterface:
    """The interface module alone, without the HTTP services its package imports.

    `pip_audit/_service/__init__.py` imports every service, and with them requests, urllib3, CacheControl and
    pip-api (about 0.3 s, most of an offline audit). `interface.py` needs only the standard library and
    packaging. It is loaded here under its own name and kept in `sys.modules`, so a later
    `import pip_audit._service` (the online services) finds it there: the classes are the same objects."""
    module = sys.modules.get(PIP_AUDIT_INTERFACE)
    if module is None:
        module = _load_submodule_alone(PIP_AUDIT_INTERFACE)
    return PipAuditInterface(
        module.ResolvedDependency,
        module.VulnerabilityResult,
        module.VulnerabilityService,
        module.ServiceError,
    )


def _load_submodule_alone(name: str) -> ModuleType:
    """Module `name` (a file inside an installed package) executed without its package's `__init__`."""
    import importlib.util

    top, _, rest = name.partition(".")
    root = importlib.util.find_spec(top)
    if root is None or not root.submodule_search_locations:
        raise ImportError(f"{top} is not installed")
    path = Path(next(iter(root.submodule_search_locations)), *rest.split(".")).with_suffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{name} not found at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


class PipAuditApi(NamedTuple):
    ResolvedDependency: Any
    ServiceError: type[Exception]
    OsvService: Any
    PyPIService: Any


def _quiet_pip_api() -> None:
    """pip-audit imports pip-api, which runs `python -m pip --version` in a subprocess at import time only to
    learn pip's version (a quarter of a second, more on a loaded machine). That pip is the one installed beside
    this interpreter, so its version is in the environment's metadata: answer from there. Left alone when
    pip-api is told to use another interpreter (PIPAPI_PYTHON_LOCATION) or pip is not installed."""
    import importlib.metadata
    import os
    import sys
    import types

    if "pip_api" in sys.modules or os.environ.get("PIPAPI_PYTHON_LOCATION"):
        return
    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return
    module = types.ModuleType("pip_api._version")
    module.version = lambda: version  # type: ignore[attr-defined]
    sys.modules["pip_api._version"] = module


def pip_audit_api() -> PipAuditApi:
    _quiet_pip_api()
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


def regex_parser() -> tuple[Any, Any]:
    """Python's own regular-expression parser and its opcodes (`re._parser`, `re._constants`; before 3.11
    `sre_parse`, `sre_constants`): the identity guard reads a pattern's literal prefixes with them."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_constants as _constants
        import sre_parse as _parser
    return _parser, _constants
