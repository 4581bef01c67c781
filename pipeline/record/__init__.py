"""The release record: one JSON document listing every artifact with its digest and bundle, every
attestation, and who signed. Paths are relative to the record's folder.

One writer (`ReleaseRecord.to_bytes`, used by `sign`) and one parser (`parse_record`, used by `verify`).
The parser takes bytes, never a path: `verify` reads the record once, checks the signature over exactly those
bytes, and only then hands the same bytes here. Nothing decides "is this a record?" from unsigned bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

RECORD_TYPE = "https://mcp-harden.dev/release-record/v1"
# How an attestation file is encoded: a Sigstore bundle (JSON, the default), or a PEP 740 attestation object
# (what PyPI serves and `twine upload --attestations` sends: the same DSSE signature, other field names).
SIGSTORE_BUNDLE = "sigstore-bundle"
PEP740 = "pep740"
FORMATS = (SIGSTORE_BUNDLE, PEP740)
_SHA256 = re.compile(r"[0-9a-f]{64}")

__all__ = [
    "FORMATS",
    "PEP740",
    "RECORD_TYPE",
    "SIGSTORE_BUNDLE",
    "RecordArtifact",
    "RecordAttestation",
    "RecordError",
    "ReleaseRecord",
    "parse_record",
]


class RecordError(ValueError):
    """The bytes are not a usable release record; the message is one line saying why."""


@dataclass(frozen=True)
class RecordArtifact:
    name: str
    path: str
    sha256: str
    bundle: str


@dataclass(frozen=True)
class RecordAttestation:
    kind: str
    predicate_type: str
    bundle: str
    subjects: tuple[tuple[str, str], ...] = ()  # (name, sha256)
    source: str | None = None  # the file whose content is the predicate (the SBOM, the tool manifest)
    format: str = SIGSTORE_BUNDLE


@dataclass
class ReleaseRecord:
    instance: str
    signer: dict[str, Any]
    artifacts: list[RecordArtifact]
    attestations: list[RecordAttestation]
    created: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "_type": RECORD_TYPE,
            "created": self.created,
            "instance": self.instance,
            "sandbox": self.instance == "sandbox",
            "signer": self.signer,
            "artifacts": [
                {"name": a.name, "path": a.path, "sha256": a.sha256, "bundle": a.bundle}
                for a in self.artifacts
            ],
            "attestations": [
                {
                    "kind": a.kind,
                    "predicateType": a.predicate_type,
                    "bundle": a.bundle,
                    "subjects": [{"name": n, "sha256": d} for n, d in a.subjects],
                    **({"source": a.source} if a.source else {}),
                    **({"format": a.format} if a.format != SIGSTORE_BUNDLE else {}),
                }
                for a in self.attestations
            ],
            "notes": self.notes,
        }

    def to_bytes(self) -> bytes:
        """The record as written to disk and signed (the parser accepts exactly what this writes)."""
        if not self.artifacts:
            raise RecordError("a release record lists at least one artifact")
        return (json.dumps(self.to_dict(), indent=2) + "\n").encode("utf-8")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise RecordError(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def _text(obj: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    value = obj.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not value:
        raise RecordError(f"{where}.{key} must be a non-empty string")
    return value


def _relative(path: str, where: str) -> str:
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).drive or path.startswith("\\"):
        raise RecordError(
            f"{where} names an absolute path ({path}): paths are relative to the record's folder"
        )
    if "\x00" in path or "\\" in path:
        raise RecordError(f"{where} is not a plain relative POSIX path ({path!r})")
    return path


def _digest(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value.lower()):
        raise RecordError(f"{where} must be 64 hex digits (sha256)")
    return value.lower()


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{where} must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise RecordError(f"{where} must be a list")
    return value


def _artifact(value: Any, where: str) -> RecordArtifact:
    obj = _object(value, where)
    name = _text(obj, "name", where)
    path = _relative(_text(obj, "path", where), f"{where}.path")
    if PurePosixPath(path).name != name:
        raise RecordError(f"{where}.name {name!r} is not the file name of its path {path!r}")
    return RecordArtifact(
        name=name,
        path=path,
        sha256=_digest(obj.get("sha256"), f"{where}.sha256"),
        bundle=_relative(_text(obj, "bundle", where), f"{where}.bundle"),
    )


def _attestation(value: Any, where: str) -> RecordAttestation:
    obj = _object(value, where)
    subjects: list[tuple[str, str]] = []
    for j, item in enumerate(_list(obj.get("subjects", []), f"{where}.subjects")):
        sub = _object(item, f"{where}.subjects[{j}]")
        subjects.append(
            (
                _text(sub, "name", f"{where}.subjects[{j}]"),
                _digest(sub.get("sha256"), f"{where}.subjects[{j}]"),
            )
        )
    source = _text(obj, "source", where, optional=True)
    form = _text(obj, "format", where, optional=True) or SIGSTORE_BUNDLE
    if form not in FORMATS:
        raise RecordError(f"{where}.format is {form!r}, not one of {', '.join(FORMATS)}")
    return RecordAttestation(
        kind=_text(obj, "kind", where),
        predicate_type=_text(obj, "predicateType", where),
        bundle=_relative(_text(obj, "bundle", where), f"{where}.bundle"),
        subjects=tuple(subjects),
        source=_relative(source, f"{where}.source") if source else None,
        format=form,
    )


def parse_record(data: bytes) -> ReleaseRecord:
    """The release record in `data` (bytes whose signature the caller has verified). Raises `RecordError`."""
    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise RecordError(f"not UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise RecordError("JSON nested too deeply") from None
    except RecordError:
        raise
    except ValueError as exc:
        raise RecordError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("_type") != RECORD_TYPE:
        found = doc.get("_type") if isinstance(doc, dict) else type(doc).__name__
        raise RecordError(f"its _type is {found!r}, not {RECORD_TYPE}")
    artifacts = [
        _artifact(a, f"artifacts[{i}]") for i, a in enumerate(_list(doc.get("artifacts"), "artifacts"))
    ]
    if not artifacts:
        raise RecordError("it lists no artifact (a release record lists at least one)")
    attestations = [
        _attestation(a, f"attestations[{i}]")
        for i, a in enumerate(_list(doc.get("attestations", []), "attestations"))
    ]
    instance = doc.get("instance", "")
    created = doc.get("created", "")
    notes = _list(doc.get("notes", []), "notes")
    if (
        not isinstance(instance, str)
        or not isinstance(created, str)
        or not all(isinstance(n, str) for n in notes)
    ):
        raise RecordError("instance, created and notes must be strings")
    return ReleaseRecord(
        instance=instance,
        signer=_object(doc.get("signer", {}), "signer"),
        artifacts=artifacts,
        attestations=attestations,
        created=created,
        notes=list(notes),
    )
