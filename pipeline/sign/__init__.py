"""Sign release files with Sigstore (keyless), attest provenance/SBOM/tool manifest, write the release record.

    sign_files(paths, instance="sandbox", sandbox_dir=".mcp-harden/sandbox", sbom=..., provenance=True,
               record=Path("release/release.json")) -> StageResult

Bundles go beside each file as `<file>.sigstore.json` (bundle v0.3), and with `provenance` each file's own
SLSA provenance (one subject) beside it too (`pipeline.sign.attest` names the files). The SBOM and tool
manifest attestations (one statement over every artifact) and the record go in the record's folder (else the
first file's folder). Failures to sign raise `CheckError` (exit 3); bad input
raises `UsageError`/`ConfigError` (exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import CheckError, ConfigError, HardenError, UsageError, one_line
from pipeline.fileio import sha256_file, write_atomic
from pipeline.findings import StageResult

if TYPE_CHECKING:
    from pipeline.record import RecordAttestation

INSTANCES = ("production", "staging", "sandbox")
BUNDLE_SUFFIX = ".sigstore.json"
SANDBOX_WARNING = (
    "SANDBOX SIGNATURES: signed by the local mcp-harden sandbox (issuer {issuer}); nobody trusts them outside "
    "this machine and any policy trusting the production root rejects them. Use them for tests only."
)

__all__ = ["BUNDLE_SUFFIX", "INSTANCES", "sign_files"]


@dataclass
class _Session:
    """What one signing run needs: a signing context, an identity token, and (sandbox) the claims it carries."""

    context: Any
    token: Any
    claims: dict[str, Any]


@contextmanager
def _session(
    instance: str, identity_token: str | None, sandbox_dir: Path, env: Mapping[str, str]
) -> Iterator[_Session]:
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityError, IdentityToken
    from sigstore.sign import SigningContext

    if instance == "sandbox":
        from pipeline.sign.github import github_claims
        from pipeline.sign.sandbox import Sandbox

        if identity_token:
            raise UsageError(
                "--identity-token is not used with --instance sandbox (the sandbox mints its own)"
            )
        claims, _guessed = github_claims(env)
        with Sandbox(sandbox_dir) as sandbox:
            config = ClientTrustConfig.from_json(json.dumps(sandbox.trust_config()))
            token = IdentityToken(sandbox.mint_token(claims))
            yield _Session(SigningContext.from_trust_config(config), token, claims)
        return
    raw = identity_token or env.get("SIGSTORE_ID_TOKEN")
    if not raw:
        try:
            from id import IdentityError as AmbientError
            from id import detect_credential

            raw = detect_credential(audience="sigstore")
        except AmbientError as exc:
            raise CheckError(
                f"could not get an ambient OIDC token: {exc}", where="GitHub Actions OIDC"
            ) from None
        except Exception as exc:
            raise CheckError(f"could not get an ambient OIDC token: {one_line(exc)}") from None
    if not raw:
        raise UsageError(
            "no identity token: run in GitHub Actions with `permissions: id-token: write`, pass --identity-token, "
            "set SIGSTORE_ID_TOKEN, or use --instance sandbox for a local test signature"
        )
    try:
        token = IdentityToken(raw)
    except IdentityError as exc:
        raise UsageError(f"identity token rejected: {exc}", where="--identity-token") from None
    try:
        from pipeline.verify import online_trust_config

        context = SigningContext.from_trust_config(online_trust_config(instance))
    except Exception as exc:
        raise CheckError(
            f"could not load the {instance} Sigstore trust configuration: {one_line(exc)}"
        ) from None
    yield _Session(context, token, {})


def _check_inputs(paths: Sequence[Path]) -> list[Path]:
    if not paths:
        raise UsageError("nothing to sign: name at least one file")
    out: list[Path] = []
    for path in paths:
        if not path.is_file():
            raise UsageError("no such file" if not path.exists() else "not a file", where=str(path))
        if path.resolve() not in {p.resolve() for p in out}:
            out.append(path)
    return out


def _refuse_overwriting_inputs(
    files: Sequence[Path], extras: Sequence[Path], out_dir: Path, attested: Sequence[Path]
) -> None:
    """Every file sign would write (the bundle beside each file, the per-file provenance beside each attested
    file, the shared attestation bundles in the record's folder) must not be one of the files it was handed:
    `sign a.txt a.txt.sigstore.json` would replace the second with the first's bundle. Exit 2 before anything
    is signed or written."""
    from pipeline.fileio import same_file
    from pipeline.sign.attest import SHARED_KINDS, provenance_outputs

    inputs = [*files, *extras]
    planned = [(f.with_name(f.name + BUNDLE_SUFFIX), f"the bundle of {f}") for f in files]
    planned += [
        (out_dir / f"{kind}.intoto{BUNDLE_SUFFIX}", f"the {kind} attestation bundle") for kind in SHARED_KINDS
    ]
    planned += [
        (target, f"the provenance of {f}") for f in attested for target in provenance_outputs(f).values()
    ]
    for target, what in planned:
        for source in inputs:
            if target.exists() and same_file(target, source):
                raise UsageError(f"{what} would overwrite this input; sign it separately", where=str(source))


def sign_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    instance: str = "production",
    identity_token: str | None = None,
    sandbox_dir: str | os.PathLike[str] = ".mcp-harden/sandbox",
    sbom: str | os.PathLike[str] | None = None,
    manifest: str | os.PathLike[str] | None = None,
    provenance: bool = False,
    record: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> StageResult:
    """Sign every file, the requested attestations, and the release record. Returns the sign stage's result."""
    from pipeline.record import RecordArtifact, RecordAttestation, ReleaseRecord
    from pipeline.sign.attest import (
        CYCLONEDX_BOM,
        KIND_OF,
        TOOL_MANIFEST,
        provenance_predicate,
        read_json,
        sbom_dependencies,
        statement,
    )
    from pipeline.sign.sandbox import SANDBOX_ISSUER

    if instance not in INSTANCES:
        raise UsageError(f"unknown instance {instance!r} (choose from {', '.join(INSTANCES)})")
    env = os.environ if env is None else env
    files = _check_inputs([Path(p) for p in paths])
    sbom_path = Path(sbom) if sbom else None
    manifest_path = Path(manifest) if manifest else None
    sbom_data = read_json(sbom_path, "SBOM") if sbom_path else None
    manifest_data = read_json(manifest_path, "tool manifest") if manifest_path else None
    if sbom_data is not None and not (
        isinstance(sbom_data, dict) and sbom_data.get("bomFormat") == "CycloneDX"
    ):
        raise ConfigError("not a CycloneDX JSON SBOM (bomFormat is not CycloneDX)", where=str(sbom_path))
    if manifest_data is not None and not isinstance(manifest_data, dict):
        raise ConfigError("the tool manifest must be a JSON object", where=str(manifest_path))
    extras = {p.resolve() for p in (sbom_path, manifest_path) if p is not None}
    subjects_files = [f for f in files if f.resolve() not in extras]
    if (sbom_path or manifest_path or provenance) and not subjects_files:
        raise UsageError("attestations need at least one artifact to be about (a wheel, an sdist, a .mcpb)")
    out_dir = Path(record).parent if record else files[0].parent
    _refuse_overwriting_inputs(
        files,
        [p for p in (sbom_path, manifest_path) if p is not None],
        out_dir,
        subjects_files if provenance else [],
    )
    result = StageResult(stage="sign")
    digests: dict[Path, str] = {}
    try:
        for path in files:
            digests[path] = sha256_file(path)
    except OSError as exc:
        raise CheckError(f"cannot read: {exc.strerror}", where=str(exc.filename)) from None
    subjects = [(p.name, digests[p]) for p in subjects_files]

    statements: list[tuple[str, Any, list[tuple[str, str]], Path | None]] = []
    predicate: dict[str, Any] | None = None
    with _session(instance, identity_token, Path(sandbox_dir), env) as session:
        if provenance:
            dependencies = sbom_dependencies(sbom_data) if sbom_data is not None else []
            predicate, missing = provenance_predicate(
                session.claims or _claims_from_env(env), env=env, dependencies=dependencies
            )
            if missing:
                result.notes.append(
                    "SLSA provenance built outside GitHub Actions: missing "
                    + ", ".join(missing)
                    + " (local defaults used)"
                )
        if sbom_data is not None:
            statements.append((CYCLONEDX_BOM, sbom_data, subjects, sbom_path))
        if manifest_data is not None:
            statements.append(
                (
                    TOOL_MANIFEST,
                    manifest_data,
                    subjects,
                    manifest_path,
                )
            )
        try:
            with session.context.signer(session.token) as signer:
                artifacts: list[RecordArtifact] = []
                signer_cert = None
                from sigstore.hashes import Hashed
                from sigstore_models.common.v1 import HashAlgorithm

                for path in files:
                    hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(digests[path]))
                    bundle = signer.sign_artifact(hashed)
                    signer_cert = bundle.signing_certificate
                    bundle_path = path.with_name(path.name + BUNDLE_SUFFIX)
                    write_atomic(bundle_path, bundle.to_json())
                    result.outputs.append(str(bundle_path))
                    artifacts.append(
                        RecordArtifact(
                            name=path.name,
                            path=_rel(path, out_dir),
                            sha256=digests[path],
                            bundle=_rel(bundle_path, out_dir),
                        )
                    )
                attestations: list[RecordAttestation] = []
                if predicate is not None:
                    for path in subjects_files:
                        attestations += _attest_provenance(
                            signer, path, digests[path], predicate, out_dir, result
                        )
                for predicate_type, content, subs, source in statements:
                    kind = KIND_OF[predicate_type]
                    bundle = signer.sign_dsse(statement(subs, predicate_type, content))
                    bundle_path = out_dir / f"{kind}.intoto{BUNDLE_SUFFIX}"
                    write_atomic(bundle_path, bundle.to_json())
                    result.outputs.append(str(bundle_path))
                    attestations.append(
                        RecordAttestation(
                            kind=kind,
                            predicate_type=predicate_type,
                            bundle=_rel(bundle_path, out_dir),
                            subjects=tuple(subs),
                            source=_rel(source, out_dir) if source else None,
                        )
                    )
                facts: dict[str, Any] = {}
                if signer_cert is not None:
                    from pipeline.verify.certificate import signer_facts

                    facts = signer_facts(signer_cert).to_dict()
                if record:
                    record_path = Path(record)
                    doc = ReleaseRecord(
                        instance=instance,
                        signer=facts,
                        artifacts=artifacts,
                        attestations=attestations,
                        created=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        notes=[SANDBOX_WARNING.format(issuer=SANDBOX_ISSUER)]
                        if instance == "sandbox"
                        else [],
                    )
                    data = doc.to_bytes()
                    record_bundle = signer.sign_artifact(data)
                    write_atomic(record_path, data)
                    write_atomic(
                        record_path.with_name(record_path.name + BUNDLE_SUFFIX), record_bundle.to_json()
                    )
                    result.outputs += [str(record_path), str(record_path) + BUNDLE_SUFFIX]
        except HardenError:
            raise
        except OSError as exc:
            raise CheckError(f"cannot write: {exc.strerror}", where=str(exc.filename)) from None
        except Exception as exc:
            raise CheckError(f"signing failed: {one_line(exc)}", where=f"Sigstore {instance}") from None

    result.summary = {
        "instance": instance,
        "signed": len(files),
        "attestations": sorted({a.kind for a in attestations}),
        "attestation_files": len(attestations),
        "identity": facts.get("identity"),
        "issuer": facts.get("issuer"),
    }
    if record:
        result.summary["record"] = str(record)
    if instance == "sandbox":
        result.notes.insert(0, SANDBOX_WARNING.format(issuer=SANDBOX_ISSUER))
    return result


def _attest_provenance(
    signer: Any, path: Path, sha256: str, predicate: dict[str, Any], out_dir: Path, result: StageResult
) -> list[RecordAttestation]:
    """One file's own provenance (one subject: its name and sha256): the Sigstore bundle beside it and, for a
    wheel or sdist, the PEP 740 attestation objects of it and of PyPI's publish attestation. Returns their
    record entries."""
    from pipeline.provenance.pep740 import from_bundle
    from pipeline.record import PEP740, RecordAttestation
    from pipeline.sign.attest import KINDS, SLSA_PROVENANCE, provenance_outputs, statement

    subject = ((path.name, sha256),)
    targets = provenance_outputs(path)
    bundle = signer.sign_dsse(statement(subject, SLSA_PROVENANCE, predicate)).to_json()
    written: list[tuple[str, Path, str, str | None]] = [("slsa-provenance", targets["bundle"], bundle, None)]
    if "pypi-publish" in targets:
        publish = signer.sign_dsse(statement(subject, KINDS["pypi-publish"], None)).to_json()
        for kind, text in (("slsa-provenance", bundle), ("pypi-publish", publish)):
            written.append((kind, targets[kind], json.dumps(from_bundle(text), indent=2) + "\n", PEP740))
    entries: list[RecordAttestation] = []
    for kind, target, text, form in written:
        write_atomic(target, text)
        result.outputs.append(str(target))
        entries.append(
            RecordAttestation(
                kind=kind,
                predicate_type=KINDS[kind],
                bundle=_rel(target, out_dir),
                subjects=subject,
                **({"format": form} if form else {}),
            )
        )
    return entries


def _claims_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    from pipeline.sign.github import github_claims

    return github_claims(env)[0]


def _rel(path: Path, base: Path) -> str:
    """`path` relative to the record's folder, as named (a symlink is not followed: the record's entry keeps
    the file name the artifact has where it is deployed)."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(base))).as_posix()
