"""What mcp-harden takes from other projects' private APIs (`pipeline/_compat.py`), pinned: a release of
pip-audit, cyclonedx-py or sigstore that moves one of these fails here, by name."""

from __future__ import annotations

import inspect
import json

import pytest
from packaging.version import Version

from pipeline._compat import (
    SIGSTORE_SHIPPED,
    cyclonedx_helpers,
    pip_audit_api,
    regex_parser,
    sigstore_shipped,
)


def test_pip_audit_services() -> None:
    api = pip_audit_api()
    dep = api.ResolvedDependency(name="jinja2", version=Version("2.4.1"))
    assert dep.canonical_name == "jinja2" and dep.version == Version("2.4.1")
    assert issubclass(api.ServiceError, Exception)
    assert api.OsvService.DEFAULT_OSV_URL.startswith("https://")
    for service in (api.OsvService, api.PyPIService):
        assert callable(service.query)
        assert "timeout" in inspect.signature(service.__init__).parameters
    assert "osv_url" in inspect.signature(api.OsvService.__init__).parameters
    assert hasattr(api.OsvService(timeout=1), "session")  # the session mcp-harden wraps to keep raw records


def test_cyclonedx_helpers() -> None:
    helpers = cyclonedx_helpers()
    for name in ("licenses_fixup", "metadata2extrefs", "metadata2licenses", "make_bom"):
        assert callable(getattr(helpers, name)), name
    assert list(inspect.signature(helpers.metadata2licenses).parameters)[:2] == ["metadata", "lfac"]


@pytest.mark.parametrize("instance", sorted(SIGSTORE_SHIPPED))
def test_sigstore_ships_the_trust_roots(instance: str) -> None:
    for name in ("root.json", "trusted_root.json"):
        path = sigstore_shipped(instance, name)
        assert path.is_file(), path
        json.loads(path.read_text(encoding="utf-8"))


def test_regex_parser_opcodes() -> None:
    parser, ops = regex_parser()
    parsed = list(parser.parse(r"a(b|c)[de].*\Z"))
    kinds = [op for op, _ in parsed]
    assert kinds[0] is ops.LITERAL and kinds[1] is ops.SUBPATTERN and kinds[2] is ops.IN
    assert kinds[3] is ops.MAX_REPEAT and kinds[4] is ops.AT
    assert parsed[1][1][-1][0][0] is ops.BRANCH or parsed[1][1][-1][0][0] is ops.IN


def test_pip_api_learns_the_same_pip_version_without_a_subprocess() -> None:
    """The pip version pip-api gets from the metadata shim is the one `python -m pip --version` prints."""
    import subprocess
    import sys

    code = (
        "import sys; from pipeline._compat import pip_audit_api; pip_audit_api(); import pip_api; "
        "assert not hasattr(sys.modules['pip_api._version'], '__file__'), 'shim not used'; "
        "print(pip_api.PIP_VERSION)"
    )
    shimmed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    printed = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert shimmed.stdout.strip() == printed


def test_pip_audit_interface_alone_is_the_interface_its_services_use() -> None:
    """The interface module loaded without its package's `__init__` (no HTTP services imported), then the
    package imported as the online audit does: one module, the same classes, the services built on them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pipeline._compat import pip_audit_interface, pip_audit_api\n"
        "alone = pip_audit_interface()\n"
        "assert 'requests' not in sys.modules and 'pip_audit._service.osv' not in sys.modules, 'HTTP imported'\n"
        "api = pip_audit_api()\n"
        "import pip_audit._service as package\n"
        "assert package.VulnerabilityService is alone.VulnerabilityService\n"
        "assert package.ResolvedDependency is alone.ResolvedDependency is api.ResolvedDependency\n"
        "assert package.ServiceError is alone.ServiceError is api.ServiceError\n"
        "assert issubclass(api.OsvService, alone.VulnerabilityService)\n"
        "assert alone.VulnerabilityResult.create(['GHSA-x', 'PYSEC-1'], 'd', [], None).id == 'PYSEC-1'\n"
        "assert callable(alone.VulnerabilityService._parse_rfc3339)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr
