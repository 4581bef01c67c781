"""License metadata read from the wheel itself, for reports made by a pip that drops PEP 639 fields.

pip before 25.0 builds the report's `metadata` from a fixed list of core-metadata fields that predates
PEP 639, so `License-Expression` and `License-File` never reach it: most packages built since 2025 then
look unlicensed. The wheel's own `*.dist-info/METADATA` has them. It is read only from the archive pip
resolved, and only when the archive's sha256 is the one the report (and so the SBOM) records: the
licenses describe the bytes the SBOM names, not whatever file now sits at that URL.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from packaging.version import InvalidVersion, Version

# The first pip whose installation report carries License-Expression and License-File (pypa/pip#13134).
PIP_PEP639 = Version("25.0")
MAX_WHEEL_BYTES = 1 << 30  # hashing a larger local wheel is refused (bounded time)
MAX_METADATA_BYTES = 4 << 20  # a METADATA file larger than this is not read
LICENSE_FIELDS = (
    ("License-Expression", False),
    ("License-File", True),
    ("License", False),
    ("Classifier", True),
)


def pip_drops_pep639(pip_version: object) -> bool:
    """True when the report's pip is known to leave PEP 639 fields out (or says no version at all)."""
    try:
        return Version(str(pip_version)) < PIP_PEP639
    except InvalidVersion:
        return True


def _metadata_version(meta: dict[str, Any]) -> Version:
    try:
        return Version(str(meta.get("metadata_version") or "1.0"))
    except InvalidVersion:
        return Version("1.0")


def lacks_pep639(meta: dict[str, Any], *, pip_drops: bool) -> bool:
    """Whether the report may have lost this package's license fields: its metadata is 2.4 or later (PEP 639
    fields can exist), the report has no License-Expression, and either its pip drops them or it shows no
    license at all."""
    if _metadata_version(meta) < Version("2.4") or meta.get("license_expression"):
        return False
    has_any = bool(meta.get("license")) or any(
        str(c).startswith("License ::") for c in meta.get("classifier") or []
    )
    return pip_drops or not has_any


def local_archive(url: str) -> Path | None:
    """The local file a `file://` URL names, else None (remote archives are not fetched here)."""
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(unquote(parsed.path)))


def wheel_license_fields(path: Path, sha256: str) -> dict[str, Any] | None:
    """The license fields of the wheel at `path`, in the report's JSON shape, if its sha256 is `sha256`.

    One open file serves both the digest and the zip read, so a swap of the path between the two is not
    seen. None when the file is not a regular wheel, is too large, does not match, or holds no METADATA."""
    if not path.name.endswith(".whl"):
        return None
    try:
        # O_NONBLOCK: a FIFO named by a report's URL is refused by fstat below, never waited on.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_WHEEL_BYTES:
                return None
            digest = hashlib.sha256()
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
            if digest.hexdigest() != sha256.lower():
                return None
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                members = [
                    i
                    for i in archive.infolist()
                    if i.filename.count("/") == 1 and i.filename.endswith(".dist-info/METADATA")
                ]
                if len(members) != 1 or members[0].file_size > MAX_METADATA_BYTES:
                    return None
                with archive.open(members[0]) as member:
                    raw = member.read(MAX_METADATA_BYTES + 1)
    except (OSError, zipfile.BadZipFile, ValueError):
        return None
    if len(raw) > MAX_METADATA_BYTES:
        return None
    message = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    fields: dict[str, Any] = {}
    for header, multiple in LICENSE_FIELDS:
        values = [str(v).strip() for v in message.get_all(header) or [] if str(v).strip()]
        if values:
            fields[header.lower().replace("-", "_")] = values if multiple else values[0]
    return fields


def fill_license_fields(meta: dict[str, Any], url: str, sha256: str | None) -> bool:
    """Add to `meta` the license fields its wheel has and the report lacks. True when any was added."""
    path = local_archive(url)
    if path is None or not sha256:
        return False
    found = wheel_license_fields(path, sha256)
    if not found:
        return False
    added = False
    for key, value in found.items():
        if not meta.get(key):
            meta[key] = value
            added = True
    return added
