"""In-toto statements mcp-harden signs as DSSE: SLSA provenance v1, PyPI's publish attestation, the SBOM, the
tool manifest.

Provenance is written per file, one subject each (PEP 740 accepts nothing else, and it is what
`actions/attest-build-provenance` writes for one `subject-path`): beside every signed file
`<file>.provenance.sigstore.json` (a Sigstore bundle v0.3, for `gh attestation verify --bundle`), and beside a
wheel or sdist also the PEP 740 attestation objects `twine upload --attestations` attaches:
`<file>.slsa.attestation` (the same signature) and `<file>.publish.attestation`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
CYCLONEDX_BOM = "https://cyclonedx.org/bom"
TOOL_MANIFEST = "https://mcp-harden.dev/tool-manifest/v1"
PYPI_PUBLISH = "https://docs.pypi.org/attestations/publish/v1"
GITHUB_BUILD_TYPE = "https://actions.github.io/buildtypes/workflow/v1"
LOCAL_BUILD_TYPE = "https://mcp-harden.dev/buildtypes/local/v1"

# kind (as policies name it) -> predicate type
KINDS = {
    "slsa-provenance": SLSA_PROVENANCE,
    "sbom": CYCLONEDX_BOM,
    "tool-manifest": TOOL_MANIFEST,
    "pypi-publish": PYPI_PUBLISH,
}
KIND_OF = {v: k for k, v in KINDS.items()}
# The attestations `sign` writes in the record's folder (all subjects in one statement).
SHARED_KINDS = ("sbom", "tool-manifest")
PROVENANCE_SUFFIX = ".provenance.sigstore.json"
# kind -> suffix of the PEP 740 attestation object written beside a wheel or sdist (twine's `<dist>.*.attestation`)
PEP740_SUFFIXES = {"slsa-provenance": ".slsa.attestation", "pypi-publish": ".publish.attestation"}

_GITHUB_VARS = (
    "GITHUB_REPOSITORY",
    "GITHUB_REF",
    "GITHUB_SHA",
    "GITHUB_WORKFLOW_REF",
    "GITHUB_RUN_ID",
    "GITHUB_EVENT_NAME",
    "GITHUB_SERVER_URL",
)


def is_pypi_distribution(name: str) -> bool:
    """A file name PyPI takes as a distribution (and PEP 740 as a subject): a wheel or an sdist."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if name.endswith(".whl"):
            parse_wheel_filename(name)
            return True
        if name.endswith(".tar.gz"):
            parse_sdist_filename(name)
            return True
    except (InvalidWheelFilename, InvalidSdistFilename):
        return False
    return False


def provenance_outputs(path: Path) -> dict[str, Path]:
    """What `sign --provenance` writes beside one file: the bundle, and for a PyPI distribution the PEP 740
    attestation objects (keys: "bundle", then the kinds of PEP740_SUFFIXES)."""
    out = {"bundle": path.with_name(path.name + PROVENANCE_SUFFIX)}
    if is_pypi_distribution(path.name):
        out.update({kind: path.with_name(path.name + suffix) for kind, suffix in PEP740_SUFFIXES.items()})
    return out


def read_json(path: Path, what: str) -> Any:
    from pipeline import jsonsafe

    return jsonsafe.load_file(path, what=what)


def sbom_dependencies(sbom: Any) -> list[dict[str, Any]]:
    """Resolved dependencies from a CycloneDX SBOM: purl and sha256 of every component that has them."""
    out: list[dict[str, Any]] = []
    for component in sbom.get("components", []) if isinstance(sbom, dict) else []:
        purl = component.get("purl") if isinstance(component, dict) else None
        if not purl:
            continue
        entry: dict[str, Any] = {"uri": purl, "name": component.get("name")}
        digests = {
            h["alg"].lower().replace("-", ""): h["content"]
            for h in component.get("hashes", [])
            if isinstance(h, dict) and h.get("alg") and h.get("content")
        }
        if digests:
            entry["digest"] = digests
        out.append(entry)
    return out


def provenance_predicate(
    claims: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    dependencies: Sequence[dict[str, Any]] = (),
) -> tuple[dict[str, Any], list[str]]:
    """SLSA provenance v1 for a build; the second value names the GITHUB_* facts that were missing."""
    env = os.environ if env is None else env
    missing = [name for name in _GITHUB_VARS if not env.get(name)]
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    repository = str(claims.get("repository", "local/unknown"))
    ref = str(claims.get("ref", ""))
    sha = str(claims.get("sha", ""))
    workflow_ref = str(claims.get("workflow_ref", ""))
    path = workflow_ref.split("@", 1)[0].removeprefix(repository + "/")
    in_ci = env.get("GITHUB_ACTIONS") == "true"
    resolved = [{"uri": f"git+{server}/{repository}@{ref}", "digest": {"gitCommit": sha}}, *dependencies]
    predicate = {
        "buildDefinition": {
            "buildType": GITHUB_BUILD_TYPE if in_ci else LOCAL_BUILD_TYPE,
            "externalParameters": {
                "workflow": {"ref": ref, "repository": f"{server}/{repository}", "path": path}
            },
            "internalParameters": {
                "github": {
                    "event_name": claims.get("event_name"),
                    "repository_id": claims.get("repository_id"),
                    "repository_owner_id": claims.get("repository_owner_id"),
                    "runner_environment": claims.get("runner_environment"),
                }
            },
            "resolvedDependencies": resolved,
        },
        "runDetails": {
            "builder": {
                "id": f"{server}/{claims.get('job_workflow_ref', workflow_ref)}"
                if in_ci
                else "https://mcp-harden.dev/local-builder"
            },
            "metadata": {
                "invocationId": f"{server}/{repository}/actions/runs/{claims.get('run_id', '0')}"
                f"/attempts/{claims.get('run_attempt', '1')}"
            },
        },
    }
    return predicate, missing


def statement(
    subjects: Sequence[tuple[str, str]], predicate_type: str, predicate: dict[str, Any] | None
) -> Any:
    """A sigstore `dsse.Statement` over (name, sha256) subjects (`predicate` None: PyPI's publish attestation,
    whose predicate is null)."""
    from sigstore.dsse import StatementBuilder, Subject

    builder = (
        StatementBuilder()
        .subjects([Subject(name=name, digest={"sha256": digest}) for name, digest in subjects])  # type: ignore[arg-type]  # pydantic coerces the mapping
        .predicate_type(predicate_type)
    )
    if predicate is not None:
        builder = builder.predicate(predicate)
    return builder.build()
