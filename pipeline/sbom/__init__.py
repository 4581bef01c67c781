"""SBOM stage: resolve, build, validate, report completeness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.config import SBOM_ELEMENTS, Policy
from pipeline.errors import CheckError, UsageError
from pipeline.fileio import write_atomic
from pipeline.findings import Location, Severity, StageResult
from pipeline.progress import QUIET, Progress
from pipeline.rules import declare
from pipeline.sbom.build import DECLARED_ROOT

SBOM_INVALID = declare(
    "MH-SBOM-INVALID",
    name="sbom-invalid",
    stage="sbom",
    severity=Severity.HIGH,
    summary="The SBOM does not validate against the CycloneDX 1.6 schema.",
    standard="https://cyclonedx.org/docs/1.6/json/",
    fix="Do not publish it: correct the value the error names (usually damaged input, such as a malformed "
    "digest in a --pip-report file); if the input is sound, report it as an mcp-harden bug.",
)
SBOM_INCOMPLETE = declare(
    "MH-SBOM-INCOMPLETE",
    name="sbom-incomplete",
    stage="sbom",
    severity=Severity.HIGH,
    summary="Components lack an element the policy requires (NTIA minimum elements / CISA fields).",
    standard="https://www.ntia.gov/report/2021/minimum-elements-software-bill-materials-sbom",
    fix="Fill the gap in the package metadata (or project.* in mcp-harden.yaml for the root), or drop the "
    "element from sbom.require_complete.",
)
RULES = [SBOM_INVALID, SBOM_INCOMPLETE]


METADATA_ONLY = ("supplier", "hashes", "licenses")


def completeness(document: dict[str, Any]) -> dict[str, Any]:
    """Share of components (the root included) carrying each element, in percent, and document-level facts."""
    root = document.get("metadata", {}).get("component")
    components = ([root] if root else []) + list(document.get("components", []))
    with_deps = {d.get("ref") for d in document.get("dependencies", [])}
    checks = {
        "name": lambda c: bool(c.get("name")),
        "version": lambda c: bool(c.get("version")),
        "purl": lambda c: bool(c.get("purl")),
        "supplier": lambda c: bool((c.get("supplier") or {}).get("name")),
        "hashes": lambda c: any(h.get("alg") == "SHA-256" for h in c.get("hashes", [])),
        "licenses": lambda c: bool(c.get("licenses")),
        "dependencies": lambda c: c.get("bom-ref") in with_deps,
    }
    declared = bool(root) and any(
        (p.get("name"), p.get("value")) == DECLARED_ROOT for p in root.get("properties") or []
    )
    per_element = {}
    missing: dict[str, list[str]] = {}
    for element in SBOM_ELEMENTS:
        # A declared root (--root NAME==VERSION) has no package metadata: what only metadata or an
        # artifact gives is counted for it only when given (project.supplier, --dist).
        checked = [
            c
            for c in components
            if not (declared and c is root and element in METADATA_ONLY and not checks[element](c))
        ]
        lacking = [f"{c.get('name')}=={c.get('version')}" for c in checked if not checks[element](c)]
        per_element[element] = round(100 * (len(checked) - len(lacking)) / (len(checked) or 1), 1)
        missing[element] = lacking
    meta = document.get("metadata", {})
    return {
        "components": len(components),
        "percent": per_element,
        "missing": missing,
        "document": {
            "timestamp": bool(meta.get("timestamp")),
            "authors": bool(meta.get("authors")),
            "supplier": bool(meta.get("supplier")),
            "tools": bool(meta.get("tools")),
            "lifecycles": bool(meta.get("lifecycles")),
        },
    }


def run_sbom(
    *,
    policy: Policy,
    output: Path,
    project_dir: Path | None = None,
    requirements: Path | None = None,
    pip_report: Path | None = None,
    dist: Path | None = None,
    root: str | None = None,
    timeout: float = 600.0,
    progress: Progress = QUIET,
) -> StageResult:
    from pipeline.sbom.build import ROOT_HINT, build_bom, dist_files, parse_root, serialize
    from pipeline.sbom.resolve import load_pip_report, parse_report, run_pip_report
    from pipeline.sbom.validate import schema_errors

    # Bad usage is exit 2, before any resolution: a requirements file names no application of its own.
    if requirements is not None and root is None:
        raise UsageError(f"--requirements FILE has no name or version of its own: {ROOT_HINT}")
    try:
        root_name = parse_root(root)[0] if root is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = StageResult(stage="sbom", rules=RULES)
    try:

        def collected(count: int, line: str) -> None:
            words = line.split()
            progress.tick(f"{count} packages collected ({Path(words[1]).name if len(words) > 1 else line})")

        if pip_report is not None:
            source = str(pip_report)
            progress.step(f"reading pip's report {pip_report}")
            report = load_pip_report(pip_report)
        elif requirements is not None:
            source = str(requirements)
            progress.step(f"resolving {requirements} with pip")
            report = run_pip_report(["-r", str(requirements)], timeout=timeout, on_package=collected)
        else:
            target = project_dir or Path(".")
            source = str(target / "pyproject.toml") if target.is_dir() else str(target)
            progress.step(f"resolving {target.name or target} with pip")
            report = run_pip_report([str(target)], timeout=timeout, on_package=collected)
        resolution = parse_report(report, source)
        progress.step(f"resolved {len(resolution.packages)} packages; building the SBOM")
        if resolution.licenses_from_wheels:
            result.notes.append(
                f"the pip report (pip {resolution.pip_version or '?'}) lacked the PEP 639 license fields of "
                f"{len(resolution.licenses_from_wheels)} package(s): read from their wheels' METADATA "
                "(sha256 checked against the report)"
            )
        if resolution.licenses_unread:
            result.notes.append(
                f"{len(resolution.licenses_unread)} package(s) may have license fields the pip report "
                f"(pip {resolution.pip_version or '?'}) dropped, and no local wheel with the reported sha256 "
                f"was there to read them from: make the report with pip>=25.0"
            )
        dists: list[Path] = []
        if dist is not None:
            if not dist.is_dir():
                raise CheckError("no such folder of built distributions", where=str(dist))
            direct = [p.name for p in resolution.packages if p.is_direct]
            dists = dist_files(dist, root_name or (direct[0] if len(direct) == 1 else ""))
        try:
            bom = build_bom(resolution, policy, root=root, dists=dists)
        except ValueError as exc:
            raise CheckError(str(exc), where=source) from None
        text = serialize(bom)
    except CheckError as exc:
        result.error = str(exc)
        return result
    document = json.loads(text)
    progress.step(f"checking {len(document.get('components', []))} components against CycloneDX 1.6")
    errors = schema_errors(document)
    for error in errors:
        result.add(
            SBOM_INVALID.finding(
                f"SBOM is not valid CycloneDX 1.6: {error}", location=Location(path=str(output))
            )
        )
    write_atomic(output, text)
    result.outputs.append(str(output))
    facts = completeness(document)
    for element in policy.sbom.require_complete:
        lacking = facts["missing"][element]
        if lacking:
            result.add(
                SBOM_INCOMPLETE.finding(
                    f"{len(lacking)} of {facts['components']} components have no {element}",
                    severity=policy.fail_on,
                    location=Location(path=str(output), logical=f"sbom element {element}"),
                    evidence=", ".join(lacking[:10]) + (" …" if len(lacking) > 10 else ""),
                    fix=f"fill '{element}' in the packages' metadata (or project.* in mcp-harden.yaml for the root), "
                    f"or drop it from sbom.require_complete",
                )
            )
    root_c = document["metadata"]["component"]
    result.summary = {
        "root": f"{root_c['name']}=={root_c['version']}",
        "components": facts["components"],
        "complete": ", ".join(f"{k} {v:g}%" for k, v in facts["percent"].items()),
        "schema": "valid CycloneDX 1.6" if not errors else "INVALID",
        "completeness": facts,
    }
    return result
