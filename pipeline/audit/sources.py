"""Where the dependencies to audit come from, behind one small interface: a CycloneDX SBOM (the release's
exact resolved set, joined back to its components by bom-ref for VEX) or a requirements file pinned with ==."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pipeline.errors import CheckError, ConfigError
from pipeline.fileio import read_text_bounded
from pipeline.findings import Location


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str
    purl: str
    bom_ref: str | None
    location: Location


class DependencySource(Protocol):
    """A set of pinned Python packages to audit. `document` is the SBOM, when the source is one."""

    document: dict[str, Any] | None

    @property
    def where(self) -> str: ...

    def collect(self) -> list[Dependency]: ...


@dataclass
class _FileSource:
    path: Path
    document: dict[str, Any] | None = field(default=None, init=False)

    @property
    def where(self) -> str:
        return str(self.path)


@dataclass
class SbomSource(_FileSource):
    def collect(self) -> list[Dependency]:
        from pipeline import jsonsafe

        document = jsonsafe.load_file(self.path, what="SBOM")  # bounded read; strict, depth-capped JSON
        if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
            raise ConfigError("not a CycloneDX JSON SBOM (bomFormat is not CycloneDX)", where=self.where)
        self.document = document
        return _from_components(document, self.path)


def _from_components(document: dict[str, Any], path: Path) -> list[Dependency]:
    from packageurl import PackageURL

    root = (document.get("metadata") or {}).get("component")
    deps, unauditable = [], []
    for component in ([root] if root else []) + list(document.get("components") or []):
        if not isinstance(component, dict):
            unauditable.append("a component that is not an object")
            continue
        purl_text = component.get("purl")
        label = f"{component.get('name')}=={component.get('version')}"
        if not purl_text:
            unauditable.append(f"{label} (no purl)")
            continue
        try:
            purl = PackageURL.from_string(str(purl_text))
        except ValueError:
            unauditable.append(f"{label} (bad purl {purl_text})")
            continue
        if purl.type != "pypi":
            continue  # not a Python package: out of pip-audit's reach, said in the summary
        if not purl.version:
            unauditable.append(f"{label} (no version)")
            continue
        deps.append(
            Dependency(
                purl.name,
                purl.version,
                str(purl_text),
                component.get("bom-ref"),
                Location(path=str(path), logical=f"package {purl.name}=={purl.version}"),
            )
        )
    if unauditable:
        raise CheckError(f"components that cannot be audited: {', '.join(unauditable)}", where=str(path))
    return deps


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*===?\s*([^\s;\\#]+)")


@dataclass
class RequirementsSource(_FileSource):
    def collect(self) -> list[Dependency]:
        lines = read_text_bounded(self.path, what="requirements file").splitlines()
        deps, loose = [], []
        for number, line in enumerate(lines, 1):
            text = line.split(" #", 1)[0].strip()
            if not text or text.startswith(("#", "-", "--")) or line.startswith((" ", "\t")):
                continue  # comments, options, and hash continuation lines
            match = _PIN.match(text)
            if not match:
                loose.append(f"line {number}: {text}")
                continue
            name, version = match.group(1), match.group(3)
            deps.append(
                Dependency(
                    name,
                    version,
                    f"pkg:pypi/{name.lower()}@{version}",
                    None,
                    Location(path=str(self.path), line=number, logical=f"package {name}=={version}"),
                )
            )
        if loose:
            raise CheckError(
                "requirements not pinned with == cannot be audited exactly (lock them, e.g. pip-compile, "
                f"or audit the SBOM): {'; '.join(loose[:5])}",
                where=str(self.path),
            )
        return deps
