"""The policy file, `mcp-harden.yaml`: loaded with `pipeline.yamlsafe` (bounded), validated against the dataclasses below.

Every key has a default, so a repository without a policy file still works. An unknown key, a wrong type or
a bad date is a `ConfigError` (exit 2) whose one line names the file, the line and the dotted key.
The dataclasses are the schema: a field's type hint is what the validator checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from pipeline.errors import ConfigError
from pipeline.findings import Severity

DEFAULT_POLICY_FILE = "mcp-harden.yaml"


def _seconds(key: str, value: float) -> None:
    """Every timeout in the policy passes the same check as the command line's (`pipeline.bounds`)."""
    from pipeline.bounds import check_seconds

    try:
        check_seconds(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


# --- sections -----------------------------------------------------------------------------------------


@dataclass
class ProjectSection:
    """Who makes the server: fills the SBOM's supplier and authors (NTIA minimum elements)."""

    name: str | None = None
    supplier: str | None = None
    supplier_url: str | None = None
    authors: list[str] = field(default_factory=list)


SBOM_ELEMENTS = ("name", "version", "purl", "supplier", "hashes", "licenses", "dependencies")


@dataclass
class SbomSection:
    # Elements that must be present on 100% of components, else a finding at `fail_on`.
    require_complete: list[
        Literal["name", "version", "purl", "supplier", "hashes", "licenses", "dependencies"]
    ] = field(default_factory=lambda: ["name", "version", "purl", "hashes", "licenses", "dependencies"])
    lifecycle: Literal["design", "pre-build", "build", "post-build", "operations", "discovery"] = "build"


@dataclass
class Ignore:
    """An accepted vulnerability: it needs a reason, and may expire (then it counts again, as a finding)."""

    id: str
    reason: str
    expires: dt.date | None = None
    package: str | None = None  # limit the ignore to one package
    analysis: Literal["not_affected", "will_not_fix", "false_positive", "workaround_available"] = (
        "not_affected"
    )

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("an ignore needs a non-empty 'reason'")


@dataclass
class AuditSection:
    # osv: the OSV API (online); pypi: PyPI's JSON API (online); offline: a local OSV database only.
    service: Literal["osv", "pypi", "offline"] = "osv"
    offline_db: str | None = None
    osv_url: str | None = None
    # How a vulnerability without any severity counts. Most PyPI advisories carry none, so the default
    # treats them as critical: unknown must never lower protection.
    unknown_severity: Severity = Severity.CRITICAL
    timeout: float = 30.0
    ignore: list[Ignore] = field(default_factory=list)
    # An offline database older than this (days since its newest record's `modified`) is "could not check".
    max_db_age_days: int = 7

    def __post_init__(self) -> None:
        if self.max_db_age_days < 0:
            raise ValueError("max_db_age_days must be 0 or more")
        _seconds("timeout", self.timeout)


@dataclass
class SignSection:
    instance: Literal["production", "staging", "sandbox"] = "production"
    sandbox_dir: str = ".mcp-harden/sandbox"


@dataclass
class Signer:
    """One allowed signer. `identity` is exact, `identity_pattern` a regex anchored at both ends."""

    issuer: str | None = None
    identity: str | None = None
    identity_pattern: str | None = None
    repository: str | None = None
    workflow: str | None = None
    ref: str | None = None  # glob, e.g. refs/tags/v*
    trigger: str | None = None
    sha: str | None = None

    def __post_init__(self) -> None:
        if self.identity_pattern is not None:
            try:
                re.compile(self.identity_pattern)
            except re.error as exc:
                raise ValueError(f"identity_pattern is not a valid regular expression: {exc}") from None


@dataclass
class VerifySection:
    signers: list[Signer] = field(default_factory=list)
    trusted_root: str | None = None
    instance: Literal["production", "staging", "sandbox"] = "production"
    offline: bool = True
    require_signed: bool = True
    require_attestations: list[Literal["slsa-provenance", "sbom", "tool-manifest"]] = field(
        default_factory=list
    )
    # What proves an artifact's origin: its signature, a GitHub provenance attestation, or both.
    proof: Literal["signature", "attestation", "both"] = "signature"


@dataclass
class EndpointSection:
    urls: list[str] = field(default_factory=list)
    profile: Literal["intermediate", "modern"] = "intermediate"
    ca_file: str | None = None
    timeout: float = 10.0
    expiry_warning_days: int = 30
    hsts_min_age: int = 15768000  # six months; Mozilla asks for two years (63072000)
    resolve: list[str] = field(default_factory=list)
    total_timeout: float | None = None  # per endpoint, all checks; default max(30, 6 x timeout)
    allow_hosts: list[str] = field(default_factory=list)  # metadata hosts to fetch besides the endpoint's

    def __post_init__(self) -> None:
        _seconds("timeout", self.timeout)
        if self.total_timeout is not None:
            _seconds("total_timeout", self.total_timeout)


@dataclass
class ManifestSection:
    # Kinds of drift the gate tolerates, e.g. ["tool-added"]. Default: none, any drift fails.
    allow_changes: list[str] = field(default_factory=list)
    timeout: float = 30.0
    # How `mcp-harden release` starts the built server (`python` is the server's own venv), e.g.
    # [python, -m, example_server]. Default: the wheel's one console script.
    command: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _seconds("timeout", self.timeout)


@dataclass
class Suppression:
    """Silence findings of a rule (an id or a glob) in place. `where` (a glob) matches a file, URL, tool,
    package or field; the reason is shown; after `expires` it no longer applies and is reported."""

    rule: str
    reason: str
    where: str | None = None
    expires: dt.date | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("a suppression needs a non-empty 'reason'")


@dataclass
class ScanSection:
    suppress: list[Suppression] = field(default_factory=list)


@dataclass
class ProvenanceSection:
    """PEP 740 provenance of the SBOM's PyPI components (`mcp-harden provenance`)."""

    # Where the integrity API lives (PyPI, or a mirror that serves the same routes).
    index_url: str = "https://pypi.org"
    online: bool = False
    cache: str | None = None  # folder of provenance files, filled by `provenance --update-cache`
    lock: str = "provenance.lock.json"  # expected publisher per package, reviewed like code
    # Packages that must be attested (canonical names), or ["*"] for every PyPI component.
    require: list[str] = field(default_factory=list)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        _seconds("timeout", self.timeout)


@dataclass
class Policy:
    version: int = 1
    fail_on: Severity = Severity.HIGH
    project: ProjectSection = field(default_factory=ProjectSection)
    sbom: SbomSection = field(default_factory=SbomSection)
    audit: AuditSection = field(default_factory=AuditSection)
    sign: SignSection = field(default_factory=SignSection)
    verify: VerifySection = field(default_factory=VerifySection)
    endpoint: EndpointSection = field(default_factory=EndpointSection)
    manifest: ManifestSection = field(default_factory=ManifestSection)
    scan: ScanSection = field(default_factory=ScanSection)
    provenance: ProvenanceSection = field(default_factory=ProvenanceSection)
    # Suppressions for every stage (see pipeline.rules.suppress); scan.suppress is the older spelling.
    suppress: list[Suppression] = field(default_factory=list)
    # Not from the file: where it was read, for messages and relative paths.
    source: str | None = field(default=None, metadata={"internal": True})

    def __post_init__(self) -> None:
        if self.version != 1:
            raise ValueError(f"unsupported policy version {self.version} (this mcp-harden reads version 1)")

    def resolve_path(self, value: str) -> Path:
        """A path in the policy is relative to the policy file's folder."""
        path = Path(value).expanduser()
        if path.is_absolute() or self.source is None:
            return path
        return Path(self.source).parent / path


# --- loading ------------------------------------------------------------------------------------------


POLICY_MAX_BYTES = 1 << 20  # a policy is a few KiB


def load_policy(path: str | Path | None = None, *, required: bool = False) -> Policy:
    """Read the policy file. With no path, `mcp-harden.yaml` in the current folder if present, else defaults."""
    from pipeline.fileio import read_text_bounded

    if path is None:
        candidate = Path(DEFAULT_POLICY_FILE)
        if not candidate.exists():
            return Policy()
        path = candidate
    text = read_text_bounded(path, what="policy file", limit=POLICY_MAX_BYTES)
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str = DEFAULT_POLICY_FILE) -> Policy:
    from pipeline import yamlsafe

    node, loader = yamlsafe.compose(text, source=source, dates=False)  # bounded; dates stay text
    lines = _key_lines(node)
    data = yamlsafe.construct(node, loader, source=source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"the policy must be a mapping of keys, not {_kind(data)}", where=source)
    policy = cast(Policy, _build(Policy, data, (), lines, source))
    policy.source = source
    return policy


def _key_lines(node: Any, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map each dotted path in the YAML document to the line it starts on (1-based)."""
    import yaml

    if out is None:
        out = {}
    if node is None:
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value)
            out[key_path] = key_node.start_mark.line + 1
            _key_lines(value_node, key_path, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _key_lines(item, (*path, index), out)
    return out


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _fail(message: str, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], source: str) -> ConfigError:
    line = None
    probe: tuple[Any, ...] | None = path
    while line is None and probe is not None:
        line = lines.get(probe)
        probe = probe[:-1] if probe else None
    where = f"{source}:{line}" if line else source
    return ConfigError(f"{_dotted(path)}: {message}", where=where)


def _kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


def _build(cls: type, data: Any, path: tuple, lines: dict[tuple, int], source: str) -> Any:
    if not isinstance(data, dict):
        raise _fail(f"expected a mapping, got {_kind(data)}", path, lines, source)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise _fail(f"unknown key '{key}' (known keys: {known})", (*path, key), lines, source)
        kwargs[key] = _convert(hints[key], value, (*path, key), lines, source)
    for name, spec in fields.items():
        no_default = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        if no_default and name not in kwargs:
            raise _fail(f"missing required key '{name}'", path, lines, source)
    try:
        return cls(**kwargs)
    except ValueError as exc:
        raise _fail(str(exc), path, lines, source) from None


def _convert(hint: Any, value: Any, path: tuple, lines: dict[tuple, int], source: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner, value, path, lines, source)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(str(a) for a in args)
            raise _fail(f"'{value}' is not one of: {choices}", path, lines, source)
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _fail(f"expected a list, got {_kind(value)}", path, lines, source)
        return [_convert(args[0], item, (*path, i), lines, source) for i, item in enumerate(value)]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, {} if value is None else value, path, lines, source)  # a section left empty
    if isinstance(hint, type) and issubclass(hint, Severity):
        try:
            return Severity(str(value).lower())
        except ValueError:
            choices = ", ".join(s.value for s in Severity)
            raise _fail(f"'{value}' is not a severity ({choices})", path, lines, source) from None
    if hint is dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise _fail(f"'{value}' is not a date (write YYYY-MM-DD)", path, lines, source) from None
    if hint is bool:
        if not isinstance(value, bool):
            raise _fail(f"expected true or false, got {_kind(value)}", path, lines, source)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"expected a whole number, got {_kind(value)}", path, lines, source)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(f"expected a number, got {_kind(value)}", path, lines, source)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise _fail(f"expected a string, got {_kind(value)}", path, lines, source)
        return value
    raise TypeError(f"policy schema uses an unsupported type {hint!r}")  # a bug in this file, not the user's


STARTER = """\
# mcp-harden policy. Every key is optional: the values shown are the defaults unless marked "example".
version: 1

# Findings at or above this severity fail the run (exit 1): info, low, medium, high, critical.
fail_on: high

# Accepted findings, for every stage: a rule id or glob (see `mcp-harden explain --list`), optionally where
# (a glob over the file, URL, tool, server, field or package), a reason (required) and an expiry. They stay
# in the report with their reason; an expired or unused entry is itself reported.
suppress: []
# - rule: MH-TLS-CIPHER-CBC           # example
#   where: "https://legacy.example.com/*"
#   reason: "old load balancer, replacement tracked in OPS-123"
#   expires: 2027-03-31

project:
  # Who supplies the server: fills the SBOM's metadata.supplier and authors (NTIA minimum elements).
  # supplier: Example Corp            # example
  # supplier_url: https://example.com # example
  # authors: ["Jane Doe <jane@example.com>"]   # example

sbom:
  # Elements every component must carry, else a finding: name, version, purl, supplier, hashes,
  # licenses, dependencies.
  require_complete: [name, version, purl, hashes, licenses, dependencies]
  lifecycle: build

audit:
  # osv (online OSV API), pypi (PyPI JSON API), or offline (a local OSV database only).
  service: osv
  # A directory or zip of OSV records (JSON or YAML). When set, it is used instead of the network.
  # offline_db: vulndb/osv-pypi.zip   # example
  # An offline database whose newest record (its `modified` date) is older than this many days makes the
  # audit "could not check" (exit 3): refresh it with `mcp-harden vulndb update --offline-db PATH`.
  max_db_age_days: 7
  # A vulnerability without any severity counts as this (most PyPI advisories carry none).
  unknown_severity: critical
  timeout: 30
  ignore: []
  # - id: GHSA-xxxx-xxxx-xxxx        # example: the id or any alias (CVE, PYSEC)
  #   reason: "the vulnerable function is never called; see issue 42"
  #   expires: 2027-01-31             # after this date the vulnerability counts again
  #   analysis: not_affected          # or will_not_fix, false_positive, workaround_available

sign:
  # production (GitHub Actions OIDC), staging, or sandbox (a local instance: testing only).
  instance: production
  sandbox_dir: .mcp-harden/sandbox    # the sandbox's keys and trusted_root.json

verify:
  # Who may sign. A policy that would accept anyone is an error. Example for GitHub Actions:
  signers: []
  # - issuer: https://token.actions.githubusercontent.com
  #   repository: example/mcp-server
  #   workflow: .github/workflows/release.yml
  #   ref: refs/tags/v*
  # trusted_root: trusted_root.json   # example: pin the root (production's ships with sigstore)
  offline: true
  require_signed: true
  require_attestations: []            # slsa-provenance, sbom, tool-manifest
  proof: signature                    # or attestation (GitHub artifact attestations), or both

endpoint:
  urls: []                            # e.g. ["https://mcp.example.com/mcp"]
  profile: intermediate               # or modern (Mozilla Server Side TLS 6.0)
  timeout: 10
  expiry_warning_days: 30
  hsts_min_age: 15768000
  resolve: []                         # e.g. ["mcp.example.com:443:10.0.0.5"] (HOST:PORT:ADDRESS)
  # total_timeout: 60                 # example: per endpoint (default: max(30, 6 x timeout))
  allow_hosts: []                     # other hosts whose auth metadata may be fetched, e.g. [auth.example.com]

manifest:
  allow_changes: []                   # kinds of drift to tolerate, e.g. [tool-added]
  timeout: 30
  command: []                         # how `release` starts the server, e.g. [python, -m, my_server]

provenance:
  # PEP 740 attestations of the SBOM's PyPI components (mcp-harden provenance).
  index_url: https://pypi.org
  online: false
  # cache: provenance-cache/         # example: filled by `mcp-harden provenance SBOM --update-cache`
  lock: provenance.lock.json          # expected publisher per package: written on first use, reviewed
  require: []                         # packages that must be attested, e.g. [mcp, httpx], or ["*"]
  timeout: 30

scan:
  suppress: []
  # - rule: MH-TOOL-CONCEAL           # example
  #   where: send_report
  #   reason: "reviewed: the text is a UI hint, not an instruction"
"""
