"""The release record: one JSON file listing every artifact and digest, every bundle and attestation, and who
signed. Paths in it are relative to the record's folder. Deploy-time verification reads this file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

RECORD_TYPE = "https://mcp-harden.dev/release-record/v1"


@dataclass
class RecordArtifact:
    name: str
    path: str
    sha256: str
    bundle: str


@dataclass
class RecordAttestation:
    kind: str
    predicate_type: str
    bundle: str
    subjects: list[dict[str, str]] = field(default_factory=list)
    source: str | None = None  # the file whose content is the predicate (the SBOM, the tool manifest)


@dataclass
class ReleaseRecord:
    instance: str
    signer: dict[str, Any]
    artifacts: list[RecordArtifact]
    attestations: list[RecordAttestation]
    created: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "_type": RECORD_TYPE,
            "created": self.created,
            "instance": self.instance,
            "sandbox": self.instance == "sandbox",
            "signer": self.signer,
            "artifacts": [a.__dict__ for a in self.artifacts],
            "attestations": [
                {
                    "kind": a.kind,
                    "predicateType": a.predicate_type,
                    "bundle": a.bundle,
                    "subjects": a.subjects,
                    **({"source": a.source} if a.source else {}),
                }
                for a in self.attestations
            ],
            "notes": self.notes,
        }
        return json.dumps(data, indent=2) + "\n"


def looks_like_record(path: Path) -> bool:
    """True when the file is a release record (decided by its content, not its name)."""
    try:
        if path.stat().st_size > 16 << 20:
            return False
        with path.open("rb") as handle:
            head = handle.read(4096)
        if RECORD_TYPE.encode() not in head:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("_type") == RECORD_TYPE


def load_record(path: Path) -> ReleaseRecord:
    where = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("release record not found", where=where) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"release record unreadable: {exc}", where=where) from None
    try:
        if data.get("_type") != RECORD_TYPE:
            raise ValueError(f"_type is not {RECORD_TYPE}")
        artifacts = [
            RecordArtifact(
                name=str(a["name"]), path=str(a["path"]), sha256=str(a["sha256"]), bundle=str(a["bundle"])
            )
            for a in data["artifacts"]
        ]
        attestations = [
            RecordAttestation(
                kind=str(a["kind"]),
                predicate_type=str(a["predicateType"]),
                bundle=str(a["bundle"]),
                subjects=list(a.get("subjects", [])),
                source=str(a["source"]) if a.get("source") else None,
            )
            for a in data.get("attestations", [])
        ]
        return ReleaseRecord(
            instance=str(data.get("instance", "")),
            signer=dict(data.get("signer", {})),
            artifacts=artifacts,
            attestations=attestations,
            created=str(data.get("created", "")),
            notes=list(data.get("notes", [])),
        )
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"release record is malformed: {exc}", where=where) from None
