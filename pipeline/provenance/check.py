"""The `provenance` stage: PEP 740 provenance of every PyPI component of an SBOM, against a lock of publishers.

    check_sbom(Path("sbom.cdx.json"), ProvenanceOptions(cache=Path("provenance-cache"), ...)) -> StageResult

Per component the report says: attested (by which repository and workflow), not attested, mismatch (an
attestation that fails, or a publisher other than the pinned one), or could not check (the index did not
answer, the cache does not know the file, the SBOM has no digest): exit 3, never a pass.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import CheckError, ConfigError, HardenError
from pipeline.findings import Finding, Location, Severity, StageResult
from pipeline.provenance.identity import Publisher
from pipeline.provenance.lock import Lock
from pipeline.provenance.pep740 import AttestationError, Distribution, verify_provenance
from pipeline.provenance.sources import Cache, Component, DistFile, Index, components
from pipeline.rules import Rule, declare

STAGE = "provenance"
PEP740 = "https://peps.python.org/pep-0740/"

MISMATCH = declare(
    "MH-PROV-MISMATCH",
    name="provenance-mismatch",
    stage=STAGE,
    severity=Severity.CRITICAL,
    summary="A component's PEP 740 attestation does not verify for the file the SBOM names.",
    standard=PEP740,
    fix="Do not install this file: it is not what its publisher attested.",
)
PUBLISHER_CHANGED = declare(
    "MH-PROV-PUBLISHER-CHANGED",
    name="publisher-changed",
    stage=STAGE,
    severity=Severity.HIGH,
    summary="A package was published by another trusted publisher than the one pinned in the provenance lock.",
    standard=PEP740,
    fix="Confirm the project moved its release workflow, then re-pin with --update in a reviewed change.",
)
ATTESTATION_DROPPED = declare(
    "MH-PROV-ATTESTATION-DROPPED",
    name="attestation-dropped",
    stage=STAGE,
    severity=Severity.HIGH,
    summary="A package pinned to a trusted publisher now has a file without any attestation.",
    standard=PEP740,
    fix="Find out why this release was published without trusted publishing; --update drops the pin once reviewed.",
)
NOT_ATTESTED = declare(
    "MH-PROV-NOT-ATTESTED",
    name="not-attested",
    stage=STAGE,
    severity=Severity.HIGH,
    summary="A package the policy requires to be attested has no PEP 740 provenance.",
    standard=PEP740,
    fix="Use a release with PEP 740 attestations, or drop the package from provenance.require.",
)
UNPINNED = declare(
    "MH-PROV-UNPINNED",
    name="publisher-unpinned",
    stage=STAGE,
    severity=Severity.MEDIUM,
    summary="An attested package has no pin in the provenance lock yet.",
    fix="Review the publisher and pin it with --update.",
)
RULES = [MISMATCH, PUBLISHER_CHANGED, ATTESTATION_DROPPED, NOT_ATTESTED, UNPINNED]


@dataclass
class ProvenanceOptions:
    lock: Path
    online: bool = False
    cache: Path | None = None
    update_cache: bool = False  # fetch online and write what PyPI said into the cache
    update_lock: bool = False
    index_url: str = "https://pypi.org"
    timeout: float = 30.0
    require: Sequence[str] = ()  # canonical names, or "*"
    trusted_root: str | None = None


@dataclass
class _Outcome:
    """What one component came to."""

    component: Component
    status: str = "attested"  # attested | not-attested | mismatch | could-not-check
    publishers: list[Publisher] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    unattested_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "component": f"{self.component.name}=={self.component.version}",
            "status": self.status,
        }
        if self.publishers:
            data["publisher"] = [p.to_dict() for p in self.publishers]
        if self.details:
            data["detail"] = self.details
        return data


class _Source:
    """Online (with an optional cache to fill) or offline (the cache only)."""

    def __init__(self, options: ProvenanceOptions) -> None:
        online = options.online or options.update_cache
        if options.update_cache and options.cache is None:
            raise ConfigError("--update-cache needs a cache folder (--cache or provenance.cache)")
        if not online and options.cache is None:
            raise ConfigError(
                "nowhere to read provenance from: pass --online, or name a cache folder (--cache or "
                "provenance.cache) filled by `mcp-harden provenance SBOM --update-cache`"
            )
        if not online and options.cache is not None and not options.cache.is_dir():
            raise ConfigError("provenance cache folder not found", where=str(options.cache))
        self.index = Index(options.index_url, timeout=options.timeout) if online else None
        self.cache = Cache(options.cache) if options.cache is not None else None
        self.write_cache = options.update_cache

    def files(self, component: Component) -> dict[str, str]:
        if self.index is not None:
            files = self.index.files(component)
            if self.write_cache and self.cache is not None:
                self.cache.store_files(component, files)
            return files
        assert self.cache is not None
        cached = self.cache.files(component)
        if cached is None:
            raise CheckError(
                f"the cache does not know the files of {component.name} {component.version}: "
                "run with --update-cache while online",
                where=str(self.cache.root),
            )
        return cached

    def provenance(self, component: Component, filename: str) -> bytes | None:
        if self.index is not None:
            body = self.index.provenance(component, filename)
            if self.write_cache and self.cache is not None:
                self.cache.store(component, filename, body)
            return body
        assert self.cache is not None
        known, body = self.cache.provenance(component, filename)
        if not known:
            raise CheckError(
                f"the cache has no answer for {filename}: run with --update-cache while online",
                where=str(self.cache.root),
            )
        return body

    def close(self) -> None:
        if self.index is not None:
            self.index.close()


def _check_component(component: Component, source: _Source, verifier: Any) -> _Outcome:
    outcome = _Outcome(component)
    if not component.files:
        outcome.status = "could-not-check"
        outcome.details.append("the SBOM gives no sha256 for it")
        return outcome
    files: list[DistFile] = list(component.files)
    if any(f.filename is None for f in files):
        known = source.files(component)
        named: list[DistFile] = []
        for f in files:
            if f.filename is not None:
                named.append(f)
            elif f.sha256 in known:
                named.append(DistFile(known[f.sha256], f.sha256))
            else:
                outcome.status = "mismatch"
                outcome.details.append(
                    f"no file of {component.name} {component.version} on the index has the SBOM's sha256 "
                    f"{f.sha256}: the installed file is not one the index serves"
                )
        files = named
    for f in files:
        assert f.filename is not None
        body = source.provenance(component, f.filename)
        if body is None:
            outcome.unattested_files.append(f.filename)
            continue
        try:
            result = verify_provenance(body, Distribution(f.filename, f.sha256), None, verifier)
        except AttestationError as exc:
            outcome.status = "mismatch"
            outcome.details.append(f"{f.filename}: {exc}")
            continue
        if result.failures:
            outcome.status = "mismatch"
            outcome.details += [f"{f.filename}: {failure}" for failure in result.failures]
        for publisher in result.publishers:
            if publisher not in outcome.publishers:
                outcome.publishers.append(publisher)
    if outcome.status == "attested" and len(outcome.publishers) > 1:
        outcome.status = "mismatch"
        outcome.details.append(
            "its files come from different publishers: " + ", ".join(map(str, outcome.publishers))
        )
    if outcome.status == "attested" and outcome.unattested_files:
        outcome.status = "not-attested"
        if outcome.publishers:  # some files attested, others not: as suspicious as a missing one
            outcome.details.append(f"files without provenance: {', '.join(outcome.unattested_files)}")
    return outcome


def _finding(rule: Rule, title: str, where: str, *, evidence: str = "") -> Finding:
    return rule.finding(title, location=Location(logical=f"package {where}"), evidence=evidence)


def _required(name: str, require: Sequence[str]) -> bool:
    from packaging.utils import canonicalize_name

    return "*" in require or name in {str(canonicalize_name(r)) for r in require}


def check_sbom(sbom_path: Path, options: ProvenanceOptions) -> StageResult:
    from sigstore.verify import Verifier

    from pipeline.fileio import read_bounded
    from pipeline.verify import load_trusted_root

    raw = read_bounded(sbom_path, what="SBOM")
    try:
        sbom = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"SBOM is not JSON: {exc}", where=str(sbom_path)) from None
    found, others = components(sbom, where=str(sbom_path))
    lock = Lock.load(options.lock)
    root = load_trusted_root(options.trusted_root, instance="production", offline=True)
    verifier = Verifier(trusted_root=root.root)
    result = StageResult(stage=STAGE, rules=list(RULES))
    source = _Source(options)
    outcomes: list[_Outcome] = []
    try:
        for component in found:
            try:
                outcomes.append(_check_component(component, source, verifier))
            except HardenError as exc:
                if not isinstance(exc, CheckError):
                    raise
                outcomes.append(_Outcome(component, "could-not-check", details=[str(exc)]))
    finally:
        source.close()
    changed = _judge(outcomes, lock, options, result)
    first_use = not lock.exists
    if changed or first_use:
        lock.save()
        result.outputs.append(str(lock.path))
        result.notes.append(
            f"{'wrote' if first_use else 'updated'} the provenance lock {lock.path}: review it like code"
        )
    unchecked = [o for o in outcomes if o.status == "could-not-check"]
    if unchecked:
        result.error = f"{len(unchecked)} component(s) could not be checked: " + "; ".join(
            f"{o.component.name}=={o.component.version} ({o.details[0]})" for o in unchecked[:5]
        )
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    result.summary.update(
        {
            "sbom": str(sbom_path),
            "attested": [
                f"{o.component.name}=={o.component.version} by {', '.join(map(str, o.publishers))}"
                for o in outcomes
                if o.status == "attested"
            ],
            "not_attested": [
                f"{o.component.name}=={o.component.version}" for o in outcomes if o.status == "not-attested"
            ],
            "counts": counts,
            "components": [o.to_dict() for o in outcomes],
            "trusted_root": root.description,
            "source": "online " + options.index_url if source.index is not None else f"cache {options.cache}",
        }
    )
    if others:
        result.notes.append(f"{len(others)} component(s) are not PyPI packages and were not checked")
    return result


def _judge(outcomes: list[_Outcome], lock: Lock, options: ProvenanceOptions, result: StageResult) -> bool:
    """Findings from the outcomes and the lock; returns whether the lock changed."""
    changed = False
    seen: dict[str, Publisher] = {}
    for o in outcomes:
        name, label = o.component.name, f"{o.component.name}=={o.component.version}"
        pinned = lock.publishers.get(name)
        if o.status == "mismatch":
            result.add(
                _finding(
                    MISMATCH,
                    f"{label}: provenance does not verify",
                    label,
                    evidence="; ".join(o.details),
                )
            )
            continue
        if o.status == "could-not-check":
            continue
        if o.status == "not-attested":
            if pinned is not None and not options.update_lock:
                result.add(
                    _finding(
                        ATTESTATION_DROPPED,
                        f"{label}: no provenance, but the lock pins it to {pinned}",
                        label,
                        evidence=", ".join(o.unattested_files),
                    )
                )
            elif pinned is not None:
                del lock.publishers[name]
                changed = True
                result.notes.append(f"unpinned {name} (was {pinned}): it is no longer attested")
            if _required(name, options.require):
                result.add(
                    _finding(
                        NOT_ATTESTED,
                        f"{label}: not attested, and the policy requires provenance for it",
                        label,
                        evidence=", ".join(o.unattested_files),
                    )
                )
            continue
        if len(o.publishers) != 1:  # "attested" always has exactly one; fail closed all the same
            result.add(_finding(MISMATCH, f"{label}: no single proven publisher", label))
            continue
        (publisher,) = o.publishers
        if seen.get(name, publisher) != publisher:
            result.add(_finding(MISMATCH, f"{name}: two publishers in one SBOM", label))
        seen[name] = publisher
        if pinned is None:
            if options.update_lock or not lock.exists:
                lock.publishers[name] = publisher
                changed = True
            else:
                result.add(
                    _finding(
                        UNPINNED,
                        f"{label}: attested by {publisher}, not pinned in {lock.path.name}",
                        label,
                    )
                )
        elif pinned != publisher:
            if options.update_lock:
                lock.publishers[name] = publisher
                changed = True
                result.notes.append(f"re-pinned {name}: {pinned} -> {publisher}")
            else:
                result.add(
                    _finding(
                        PUBLISHER_CHANGED,
                        f"{label}: published by {publisher}, the lock pins {pinned}",
                        label,
                    )
                )
    return changed
