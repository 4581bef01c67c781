"""Read who signed from a Fulcio certificate: the SAN and the 1.3.6.1.4.1.57264.1.x extensions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

_OID = "1.3.6.1.4.1.57264.1."
_GITHUB = "https://github.com/"


@dataclass(frozen=True)
class SignerFacts:
    """What a signing certificate says about its signer. Missing facts are None."""

    identity: str | None = None
    issuer: str | None = None
    repository: str | None = None
    workflow: str | None = None  # the signing workflow's path inside its repository
    ref: str | None = None
    trigger: str | None = None
    sha: str | None = None
    build_signer_uri: str | None = None
    runner_environment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _raw(cert: Certificate, suffix: str) -> str | None:
    from cryptography.x509 import ExtensionNotFound, ObjectIdentifier

    try:
        value = cert.extensions.get_extension_for_oid(ObjectIdentifier(_OID + suffix)).value
    except ExtensionNotFound:
        return None
    raw = getattr(value, "value", None)  # an UnrecognizedExtension carries its bytes
    try:
        return raw.decode() if isinstance(raw, bytes) else None
    except UnicodeDecodeError:
        return None


def _der(cert: Certificate, suffix: str) -> str | None:
    from cryptography.hazmat import asn1
    from cryptography.x509 import ExtensionNotFound, ObjectIdentifier

    try:
        value = cert.extensions.get_extension_for_oid(ObjectIdentifier(_OID + suffix)).value
    except ExtensionNotFound:
        return None
    try:
        return asn1.decode_der(str, value.value)  # type: ignore[attr-defined]
    except Exception:
        return None


def san_values(cert: Certificate) -> list[str]:
    """Every identity the SAN carries: URIs, emails, and Sigstore's otherName (username)."""
    from cryptography.hazmat import asn1
    from cryptography.x509 import (
        ExtensionNotFound,
        ObjectIdentifier,
        OtherName,
        RFC822Name,
        SubjectAlternativeName,
        UniformResourceIdentifier,
    )

    try:
        san = cert.extensions.get_extension_for_class(SubjectAlternativeName).value
    except ExtensionNotFound:
        return []
    values: list[str] = [*san.get_values_for_type(UniformResourceIdentifier)]
    values += san.get_values_for_type(RFC822Name)
    for other in san.get_values_for_type(OtherName):
        if other.type_id == ObjectIdentifier(_OID + "7"):
            try:
                values.append(asn1.decode_der(str, other.value))
            except Exception:
                continue
    return values


def _workflow_in(uri: str | None) -> tuple[str, str] | None:
    """(OWNER/REPO, path) of `https://github.com/OWNER/REPO/PATH@REF`."""
    if not uri or not uri.startswith(_GITHUB) or "@" not in uri:
        return None
    parts = uri[len(_GITHUB) :].split("@", 1)[0].split("/", 2)
    return (f"{parts[0]}/{parts[1]}", parts[2]) if len(parts) == 3 else None


def signer_facts(cert: Certificate) -> SignerFacts:
    sans = san_values(cert)
    identity = sans[0] if sans else None
    repository = _raw(cert, "5")
    if repository is None and (uri := _der(cert, "12")) and uri.startswith(_GITHUB):
        repository = uri[len(_GITHUB) :]
    build_signer = _der(cert, "9") or (identity if identity and identity.startswith(_GITHUB) else None)
    # The workflow a policy pins is the one that ran in the source repository: the Build Config URI (the
    # caller, when a reusable workflow signed), else the signer's own URI when it lives in that repository.
    # A path inside another repository (the reusable workflow's) is never read as the source's workflow.
    workflow = None
    for uri in (_der(cert, "18"), build_signer):
        where = _workflow_in(uri)
        if where is not None and repository is not None and where[0].lower() == repository.lower():
            workflow = where[1]
            break
    return SignerFacts(
        identity=identity,
        issuer=_raw(cert, "1") or _der(cert, "8"),
        repository=repository,
        workflow=workflow,
        ref=_raw(cert, "6") or _der(cert, "14"),
        trigger=_raw(cert, "2") or _der(cert, "20"),
        sha=_raw(cert, "3") or _der(cert, "13"),
        build_signer_uri=build_signer,
        runner_environment=_der(cert, "11"),
    )
