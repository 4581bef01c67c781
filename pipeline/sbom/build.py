"""Build the CycloneDX 1.6 SBOM with cyclonedx-python-lib, filling what cyclonedx-py leaves empty.

Components, licenses and external references come from cyclonedx-bom's own helpers over each package's
core metadata; on top of them: the sha256 pip resolved, a supplier, marker-aware dependency edges, the
SBOM's authors, lifecycle and tool identity. With SOURCE_DATE_EPOCH set, output is byte-reproducible.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import uuid
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipeline import __version__
from pipeline.errors import UsageError
from pipeline.fileio import sha256_file
from pipeline.sbom.resolve import Resolution, ResolvedPackage

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component
    from cyclonedx.model.contact import OrganizationalEntity

    from pipeline.config import Policy

DIST_SUFFIXES = (".whl", ".tar.gz", ".zip", ".mcpb")


def _timestamp() -> dt.datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc)
    return dt.datetime.now(tz=dt.timezone.utc).replace(microsecond=0)


def _people(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, email) pairs from Maintainer/Author and their e-mail fields, maintainers first."""
    found: list[tuple[str, str]] = []
    for key in ("maintainer", "author"):
        for name in re.split(r",| and ", meta.get(key) or ""):
            if name.strip() and "@" not in name:
                found.append((name.strip(), ""))
        for name, email in getaddresses([meta.get(f"{key}_email") or ""]):
            if name or email:
                found.append((name.strip(), email.strip()))
    return found


def _home(meta: dict[str, Any]) -> str | None:
    for entry in meta.get("project_url") or []:
        label, _, url = entry.partition(",")
        if label.strip().lower().replace("-", "").replace(" ", "") in {
            "homepage",
            "home",
            "source",
            "repository",
        }:
            return str(url).strip()
    if meta.get("home_page"):
        return str(meta["home_page"])
    for entry in meta.get("project_url") or []:
        return entry.partition(",")[2].strip() or None
    return None


def supplier_for(meta: dict[str, Any], fallback: str | None = None) -> OrganizationalEntity | None:
    """The entity that supplies a package: its maintainers or authors as declared, else the owner of its
    source repository (github.com/OWNER/...), else `fallback`."""
    from cyclonedx.model import XsUri
    from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity

    people = _people(meta)
    home = _home(meta)
    urls = []
    if home:
        try:
            urls = [XsUri(home)]
        except Exception:  # an unusable URL in metadata is left out, not fatal
            urls = []
    names = [n for n, _ in people if n]
    if not names:
        emails = [e for _, e in people if e]
        if emails:
            names = [emails[0].split("@", 1)[1]]
    if not names and home:
        parsed = urlparse(home)
        parts = [p for p in parsed.path.split("/") if p]
        if parsed.netloc in {"github.com", "gitlab.com", "codeberg.org", "bitbucket.org"} and parts:
            names = [parts[0]]
    if not names and fallback:
        names = [fallback]
    if not names:
        return None
    contacts = [OrganizationalContact(name=n or None, email=e or None) for n, e in people[:3] if e]
    return OrganizationalEntity(name=", ".join(dict.fromkeys(names)), urls=urls, contacts=contacts)


def _component(pkg: ResolvedPackage, component_type: Any) -> Component:
    from cyclonedx.contrib.license.factories import LicenseFactory
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.component import Component
    from packageurl import PackageURL

    from pipeline._compat import cyclonedx_helpers

    licenses_fixup, metadata2extrefs, metadata2licenses, _ = cyclonedx_helpers()

    name = canonicalize_name(pkg.name)
    purl = PackageURL(type="pypi", name=name, version=pkg.version)
    message = pkg.as_message()
    component = Component(
        type=component_type,
        bom_ref=purl.to_string(),
        name=pkg.name,
        version=pkg.version,
        purl=purl,
        description=pkg.metadata.get("summary") or None,
        external_references=metadata2extrefs(message),
        supplier=supplier_for(pkg.metadata),
    )
    component.licenses.update(metadata2licenses(message, LicenseFactory(), gather_texts=False))
    licenses_fixup(component)
    if pkg.sha256:
        component.hashes.add(HashType(alg=HashAlgorithm.SHA_256, content=pkg.sha256))
    return component


def _edges(resolution: Resolution) -> dict[str, list[str]]:
    """Dependency edges by canonical name, with environment markers and requested extras evaluated as
    pip evaluated them (the report's own environment)."""
    by_name: dict[str, ResolvedPackage] = {canonicalize_name(p.name): p for p in resolution.packages}
    extras: dict[str, set[str]] = {n: set(p.requested_extras) for n, p in by_name.items()}
    env = dict(resolution.environment)
    requirements: dict[str, list[Requirement]] = {}
    for name, pkg in by_name.items():
        reqs = []
        for text in pkg.metadata.get("requires_dist") or []:
            try:
                reqs.append(Requirement(text))
            except InvalidRequirement:
                continue
        requirements[name] = reqs
    edges: dict[str, list[str]] = {}
    changed = True
    while changed:  # extras requested by one package can switch on requirements of another
        changed = False
        for name, reqs in requirements.items():
            targets = []
            for req in reqs:
                target = canonicalize_name(req.name)
                if target not in by_name or target == name:
                    continue
                if req.marker is not None:
                    try:
                        active = any(req.marker.evaluate({**env, "extra": e}) for e in (extras[name] or {""}))
                    except (InvalidMarker, KeyError, ValueError):
                        active = True  # an unreadable marker keeps the edge: never hide a dependency
                    if not active:
                        continue
                targets.append(target)
                if not set(req.extras) <= extras[target]:
                    extras[target] |= set(req.extras)
                    changed = True
            edges[name] = sorted(set(targets))
    return edges


def _reachable(root: str, edges: dict[str, list[str]]) -> set[str]:
    seen, todo = {root}, [root]
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def dist_files(dist: Path | None, project: str) -> list[Path]:
    """The built distributions of `project` in `dist` (wheel first)."""
    if dist is None:
        return []
    prefix = canonicalize_name(project).replace("-", "_")
    found = [
        p
        for p in sorted(dist.iterdir())
        if p.is_file()
        and p.name.endswith(DIST_SUFFIXES)
        and canonicalize_name(p.name.split("-")[0]).replace("-", "_") == prefix
    ]
    return sorted(found, key=lambda p: (not p.name.endswith(".whl"), p.name))


# The property that marks a subject named with --root NAME==VERSION (not a resolved package, so no
# package metadata of its own: its supplier comes from project.supplier, its hashes from --dist).
DECLARED_ROOT = ("mcp-harden:root", "declared")
ROOT_HINT = "name the SBOM's subject with --root NAME==VERSION (e.g. --root my-server==1.0.0)"


def parse_root(text: str) -> tuple[str, str | None]:
    """`NAME` or `NAME==VERSION` as given to --root; ValueError when it is neither."""
    name, sep, version = text.partition("==")
    name, version = name.strip(), version.strip()
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", name):
        raise ValueError(f"--root {text!r}: not a package name; {ROOT_HINT}")
    if not sep:
        return name, None
    try:
        return name, str(Version(version))
    except InvalidVersion:
        raise ValueError(f"--root {text!r}: {version!r} is not a version; {ROOT_HINT}") from None


def build_bom(
    resolution: Resolution, policy: Policy, *, root: str | None = None, dists: list[Path] | None = None
) -> Bom:
    """The SBOM of the resolved set. Its subject (metadata.component) is `root` (NAME or NAME==VERSION) when
    given, else the one direct requirement. NAME==VERSION outside the resolved set is an application of
    its own (a purl pkg:pypi/NAME@VERSION, so it can be audited) holding the direct requirements."""
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity
    from cyclonedx.model.lifecycle import LifecyclePhase, PredefinedLifecycle
    from packageurl import PackageURL

    from pipeline._compat import cyclonedx_helpers

    make_bom = cyclonedx_helpers().make_bom

    by_name: dict[str, ResolvedPackage] = {canonicalize_name(p.name): p for p in resolution.packages}
    direct = [n for n, p in by_name.items() if p.is_direct]
    root_name, root_version = parse_root(root) if root is not None else (None, None)
    if root_name is not None and canonicalize_name(root_name) in by_name:
        root_key: str = canonicalize_name(root_name)
        resolved = by_name[root_key].version
        if root_version is not None and Version(resolved) != Version(root_version):
            raise UsageError(f"--root {root}: the resolved set has {root_name}=={resolved}")
    elif root_name is not None and root_version is None:
        raise UsageError(f"--root {root_name} is not in the resolved set; {ROOT_HINT}")
    elif root_name is not None:
        root_key = ""  # an application of its own, holding the direct requirements
    elif len(direct) == 1:
        root_key = direct[0]
    else:
        raise UsageError(f"{len(direct)} direct requirements and no single subject; {ROOT_HINT}")
    edges = _edges(resolution)
    if root_key:
        keep = _reachable(root_key, edges)
    else:
        keep = set(by_name)
        edges[""] = sorted(direct or by_name)

    bom: Bom = make_bom()
    bom.metadata.timestamp = _timestamp()
    project = policy.project
    if root_key:
        root_component = _component(by_name[root_key], ComponentType.APPLICATION)
    else:
        assert root_name is not None and root_version is not None
        purl = PackageURL(type="pypi", name=canonicalize_name(root_name), version=root_version)
        root_component = Component(
            type=ComponentType.APPLICATION,
            name=root_name,
            version=root_version,
            purl=purl,
            bom_ref=purl.to_string(),
            properties=[Property(name=DECLARED_ROOT[0], value=DECLARED_ROOT[1])],
        )
    if project.supplier:
        urls = [XsUri(project.supplier_url)] if project.supplier_url else []
        root_component.supplier = OrganizationalEntity(name=project.supplier, urls=urls)
        bom.metadata.supplier = OrganizationalEntity(name=project.supplier, urls=urls)
    elif root_component.supplier is not None:
        bom.metadata.supplier = root_component.supplier
    for path in dists or []:
        digest = sha256_file(path)
        if path.name.endswith(".whl") and not root_component.hashes:
            root_component.hashes.clear()
            root_component.hashes.add(HashType(alg=HashAlgorithm.SHA_256, content=digest))
        root_component.external_references.add(
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION,
                url=XsUri(path.name),
                comment="built distribution",
                hashes=[HashType(alg=HashAlgorithm.SHA_256, content=digest)],
            )
        )
    if project.authors:
        authors = [getaddresses([a])[0] if "<" in a else (a, "") for a in project.authors]
    else:
        authors = _people(by_name[root_key].metadata) if root_key else []
    for name, email in authors:
        bom.metadata.authors.add(OrganizationalContact(name=name or None, email=email or None))
    bom.metadata.component = root_component
    bom.metadata.lifecycles.add(PredefinedLifecycle(LifecyclePhase(policy.sbom.lifecycle)))
    bom.metadata.tools.components.add(
        Component(
            type=ComponentType.APPLICATION,
            name="mcp-harden",
            version=__version__,
            description="Supply-chain and deployment hardening for MCP servers",
        )
    )

    components = {root_key: root_component}
    for key in sorted(keep - {root_key}):
        components[key] = _component(by_name[key], ComponentType.LIBRARY)
        bom.components.add(components[key])
    for key, component in components.items():
        bom.register_dependency(component, [components[t] for t in edges.get(key, []) if t in components])
    if os.environ.get("SOURCE_DATE_EPOCH"):
        seed = f"{root_component.bom_ref.value}|{bom.metadata.timestamp.isoformat()}|" + "|".join(
            sorted(components)
        )
        bom.serial_number = uuid.uuid5(uuid.NAMESPACE_URL, hashlib.sha256(seed.encode()).hexdigest())
    return bom


def serialize(bom: Bom) -> str:
    from cyclonedx.output.json import JsonV1Dot6

    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"
