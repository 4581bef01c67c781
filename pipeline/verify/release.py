"""Verify a release record and everything it lists.

The record is read once. Its signature is checked over the sha256 of exactly those bytes, and only then are
the same bytes parsed (`pipeline.record.parse_record`): a file that is validly signed but is not a record
(the SBOM signed in the same run, say) is a finding, never "a plain file that verified". Each artifact is read
once too; the digest of that read is compared with the record, checked against the artifact's own bundle
and matched (by name AND digest) against the attestations' subjects.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import Signer
from pipeline.errors import ConfigError
from pipeline.fileio import MAX_TEXT_BYTES, read_bounded, sha256_file
from pipeline.findings import Location, StageResult
from pipeline.record import PEP740, RecordError, ReleaseRecord, parse_record
from pipeline.verify.checker import (
    DIGEST,
    MISSING_ARTIFACT,
    MISSING_BUNDLE,
    RECORD,
    UNLISTED,
    Artifact,
    Checker,
    find_bundle,
)
from pipeline.verify.trust import load_trusted_root

STAGE = "verify"
RECORD_LIMIT = 16 << 20
# What a deploy step may install from a release folder: wheels, sdists, MCP bundles.
DISTRIBUTION_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".mcpb", ".egg")
_FOLDER_LIMIT = 10_000  # entries looked at per folder for unlisted distributions


def _key(path: Path) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _read_artifact(
    checker: Checker, path: Path, name: str, *, keep: bool
) -> tuple[Artifact, bytes | None] | None:
    """One read of an artifact: its digest (streamed), or its bytes and digest when they are needed again
    (an attestation's predicate source). None, with a finding, when it cannot be read."""
    try:
        if keep:
            raw = read_bounded(path, what="artifact", limit=MAX_TEXT_BYTES)
            return Artifact(path, name, hashlib.sha256(raw).hexdigest()), raw
        return Artifact(path, name, sha256_file(path, what="artifact")), None
    except (FileNotFoundError, ConfigError) as exc:
        if isinstance(exc, FileNotFoundError) or "not found" in exc.message:
            checker.fail(MISSING_ARTIFACT, f"{name}: listed in the release record but missing", path)
        else:
            checker.fail(
                DIGEST, f"{name}: cannot be read as listed in the release record: {exc.message}", path
            )
    except OSError as exc:
        checker.fail(
            DIGEST, f"{name}: cannot be read as listed in the release record: {exc.strerror or exc}", path
        )
    return None


def _unlisted(checker: Checker, record_path: Path, record: ReleaseRecord) -> None:
    """A distribution beside the listed ones (or beside the record) that the record does not list would be
    installed by `pip install dist/*.whl` without ever being verified: refuse the folder."""
    base = record_path.parent
    listed = {_key(base / a.path) for a in record.artifacts}
    folders = {_key(record_path.parent): record_path.parent}
    folders.update({_key((base / a.path).parent): (base / a.path).parent for a in record.artifacts})
    for folder in folders.values():
        try:
            with os.scandir(folder) as entries:
                names = sorted(entry.name for entry in itertools.islice(entries, _FOLDER_LIMIT + 1))
        except OSError:
            continue  # a folder that cannot be listed holds no listed artifact either (they were findings)
        if len(names) > _FOLDER_LIMIT:
            checker.fail(
                UNLISTED,
                f"{folder}: more than {_FOLDER_LIMIT} entries in a release folder; cannot check it for "
                "distributions the release record does not list",
                folder,
            )
            continue
        for name in names:
            path = folder / name
            if name.lower().endswith(DISTRIBUTION_SUFFIXES) and _key(path) not in listed:
                checker.fail(
                    UNLISTED,
                    f"{path}: a distribution in the release folder that the release record does not list "
                    "(it was not verified and must not be deployed)",
                    path,
                    fix="remove it from the release folder, or sign a release that lists it",
                )


def verify_record(
    record_path: Path,
    *,
    signers: Sequence[Signer],
    trusted_root: str | os.PathLike[str] | None = None,
    instance: str = "production",
    offline: bool = True,
    require_signed: bool = True,
    require_attestations: Sequence[str] = (),
    sandbox_dir: str | os.PathLike[str] = ".mcp-harden/sandbox",
) -> StageResult:
    """Verify a release record: its own signature, every artifact in it, every attestation it lists, and
    that no unlisted distribution sits beside the listed ones."""
    from pipeline.verify.policy import check_signers

    check_signers(signers, where="policy")
    record_path = Path(record_path)
    raw = read_bounded(record_path, what="release record", limit=RECORD_LIMIT)
    root = load_trusted_root(trusted_root, instance=instance, offline=offline, sandbox_dir=sandbox_dir)
    checker = Checker(root, signers, StageResult(stage=STAGE))
    checker.result.summary["record"] = str(record_path)
    bundle = find_bundle(record_path)
    record: ReleaseRecord | None = None
    if bundle is None:
        checker.fail(
            MISSING_BUNDLE,
            f"the release record {record_path.name} is not signed (no bundle beside it)",
            record_path,
        )
    elif checker.check_signature(record_path, bundle, hashlib.sha256(raw).hexdigest()):
        try:
            record = parse_record(raw)
        except RecordError as exc:
            checker.fail(
                RECORD,
                f"{record_path.name} is signed but is not a usable release record: {exc}",
                record_path,
                fix="pass the release.json that `mcp-harden sign --record` wrote; to verify a plain signed file, "
                "name it with --bundle",
            )
    if record is None:
        # Fail closed: an unsigned, altered, foreign or malformed record cannot say which files to check.
        checker.result.notes.append("the release record's contents were not used: it did not verify")
        return checker.finish(0)

    base = record_path.parent
    sources = {_key(base / a.source) for a in record.attestations if a.source}
    listed = {_key(base / a.path) for a in record.artifacts}
    read: list[Artifact] = []
    kept: dict[str, bytes] = {}
    for item in record.artifacts:
        path = base / item.path
        got = _read_artifact(checker, path, item.name, keep=_key(path) in sources)
        if got is None:
            continue
        artifact, raw_bytes = got
        read.append(artifact)
        if raw_bytes is not None:
            kept[_key(path)] = raw_bytes
        if artifact.sha256 != item.sha256:
            checker.fail(
                DIGEST,
                f"{item.name}: sha256 is {artifact.sha256}, the release record says {item.sha256}",
                path,
            )
        bundle_path = base / item.bundle
        if not bundle_path.exists():
            if require_signed:
                checker.fail(MISSING_BUNDLE, f"{item.name}: bundle {item.bundle} is missing", path)
            continue
        checker.check_signature(path, bundle_path, artifact.sha256)

    for att in record.attestations:
        source: tuple[Path, bytes] | None = None
        if att.source:
            where = base / att.source
            raw_source = kept.get(_key(where))
            if raw_source is None and _key(where) not in listed:  # not a listed artifact: read it once here
                got = _read_artifact(checker, where, where.name, keep=True)
                raw_source = got[1] if got is not None else None
            if raw_source is None:
                continue
            source = (where, raw_source)
        checker.check_attestation(
            base / att.bundle,
            read,
            expect_type=att.predicate_type,
            expect_subjects=att.subjects or None,
            source=source,
            pep740=att.format == PEP740,
        )
    # What an attestation is *about*: every artifact except the files whose content is a predicate.
    required = [a for a in read if _key(a.path) not in sources]
    checker.require(require_attestations, required, record_path)
    _unlisted(checker, record_path, record)
    _mcpb_blocks(checker, read)
    if record.instance == "sandbox":
        checker.result.notes.append("the release record says it was signed by the SANDBOX instance")
    result = checker.finish(len(record.artifacts))
    from pipeline.provenance.server_json import MCPB_SIGNATURE

    result.rules.append(MCPB_SIGNATURE)
    return result


def _mcpb_blocks(checker: Checker, read: Sequence[Artifact]) -> None:
    """An `mcpb sign` block in a listed bundle is reported for information (severity info): the Sigstore
    signature and attestation over its digest are the proof; the block never is."""
    from pipeline.provenance.server_json import MCPB_SIGNATURE, mcpb_signature_block

    for artifact in read:
        try:
            signed = artifact.name.endswith(".mcpb") and mcpb_signature_block(artifact.path)
        except OSError:
            continue  # the artifact's own read already said what is wrong with it
        if signed:
            checker.result.add(
                MCPB_SIGNATURE.finding(
                    f"{artifact.name} carries an MCPB_SIG_V1 block (not checked: never taken as proof; its "
                    "Sigstore signature is)",
                    location=Location(path=str(artifact.path)),
                )
            )
