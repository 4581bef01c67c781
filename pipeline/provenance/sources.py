"""Where provenance comes from: the SBOM's distribution files, PyPI's integrity API, or a local cache folder.

Online: `GET {index}/integrity/{project}/{version}/{filename}/provenance` (PEP 740's integrity API; 404 means
the file has no attestation) and, for a component whose SBOM entry carries a sha256 but no file name,
`GET {index}/pypi/{project}/{version}/json` to find which file has that digest. Offline: a folder laid out as
`{project}/{version}/{filename}.provenance`, `{filename}.none` (PyPI said: no provenance) and `files.json`
(sha256 -> file name), which `fetch` fills while the network allows. Every answer is size-capped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from pipeline.errors import CheckError, ConfigError, one_line
from pipeline.fileio import read_bounded, write_atomic

INDEX_URL_ENV = "MCP_HARDEN_INDEX_URL"
INTEGRITY_ACCEPT = "application/vnd.pypi.integrity.v1+json"
MAX_PROVENANCE = 1 << 20  # one provenance object is ~10 kB
MAX_PROJECT_JSON = 16 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")


@dataclass(frozen=True)
class DistFile:
    """One distribution file of a component: its name (None until known) and sha256."""

    filename: str | None
    sha256: str


@dataclass(frozen=True)
class Component:
    name: str  # canonical project name
    version: str
    purl: str
    files: tuple[DistFile, ...]


def _safe(part: str, what: str) -> str:
    """A path segment from an SBOM or a server: never `..`, a slash or anything odd (it names cache files)."""
    if not _SAFE.fullmatch(part) or part in (".", ".."):
        raise ConfigError(f"unsafe {what} {part!r}")
    return part


def components(sbom: Any, *, where: str) -> tuple[list[Component], list[str]]:
    """The PyPI components of a CycloneDX SBOM, and the purls of the others (not PyPI: not checked here)."""
    from packageurl import PackageURL
    from packaging.utils import canonicalize_name

    if not isinstance(sbom, dict) or not isinstance(sbom.get("components", []), list):
        raise ConfigError("not a CycloneDX SBOM (no components list)", where=where)
    found: list[Component] = []
    others: list[str] = []
    for index, item in enumerate(sbom.get("components", [])):
        if not isinstance(item, dict) or not isinstance(item.get("purl"), str):
            others.append(f"components[{index}] (no purl)")
            continue
        try:
            purl = PackageURL.from_string(item["purl"])
        except ValueError:
            raise ConfigError(f"components[{index}]: invalid purl {item['purl']!r}", where=where) from None
        if purl.type != "pypi":
            others.append(item["purl"])
            continue
        if not purl.version:
            raise ConfigError(f"components[{index}]: purl {item['purl']} has no version", where=where)
        name = _safe(str(canonicalize_name(purl.name)), "project name")
        version = _safe(purl.version, "version")
        files = _files(item, purl.qualifiers or {})
        found.append(Component(name, version, item["purl"], tuple(files)))
    return found, others


def _sha256_of(hashes: Any) -> str | None:
    for entry in hashes if isinstance(hashes, list) else []:
        if isinstance(entry, dict) and str(entry.get("alg", "")).upper() in ("SHA-256", "SHA256"):
            content = str(entry.get("content", "")).lower()
            if _SHA256.fullmatch(content):
                return content
    return None


def _files(item: dict[str, Any], qualifiers: Any) -> list[DistFile]:
    """Distribution files: `distribution` external references (URL + hash), else the component's own
    sha256 with the purl's `file_name` qualifier (or no name yet)."""
    out: list[DistFile] = []
    for ref in item.get("externalReferences", []) or []:
        if not isinstance(ref, dict) or ref.get("type") != "distribution":
            continue
        digest = _sha256_of(ref.get("hashes"))
        name = unquote(urlsplit(str(ref.get("url", ""))).path.rsplit("/", 1)[-1])
        if digest and name:
            out.append(DistFile(_safe(name, "file name"), digest))
    if out:
        return out
    own = _sha256_of(item.get("hashes"))
    if own is None:
        return []
    file_name = qualifiers.get("file_name") if isinstance(qualifiers, dict) else None
    return [DistFile(_safe(str(file_name), "file name") if file_name else None, own)]


# --- online ---------------------------------------------------------------------------------------------


class Index:
    """PyPI's JSON and integrity APIs at `base` (https://pypi.org, a mirror, or a loopback test server)."""

    def __init__(self, base: str, *, timeout: float) -> None:
        import httpx2

        scheme = urlsplit(base).scheme
        if scheme not in ("https", "http"):
            raise ConfigError(f"index URL must be http(s): {base!r}", where="provenance.index_url")
        self.base = base.rstrip("/")
        self._client = httpx2.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, *, accept: str, limit: int) -> bytes | None:
        """The body of a 200, None for a 404; anything else cannot be judged (CheckError, exit 3)."""
        import httpx2

        url = f"{self.base}{path}"
        try:
            with self._client.stream("GET", url, headers={"Accept": accept}) as response:
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise CheckError(f"the index answered HTTP {response.status_code}", where=url)
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise CheckError(f"the answer is larger than {limit} bytes", where=url)
                return bytes(body)
        except httpx2.HTTPError as exc:
            raise CheckError(f"could not reach the index: {one_line(exc)}", where=url) from None

    def provenance(self, component: Component, filename: str) -> bytes | None:
        path = "/integrity/{}/{}/{}/provenance".format(
            *(quote(p, safe="") for p in (component.name, component.version, filename))
        )
        return self._get(path, accept=INTEGRITY_ACCEPT, limit=MAX_PROVENANCE)

    def files(self, component: Component) -> dict[str, str]:
        """sha256 -> file name of a release's files (PyPI's JSON API)."""
        path = "/pypi/{}/{}/json".format(*(quote(p, safe="") for p in (component.name, component.version)))
        body = self._get(path, accept="application/json", limit=MAX_PROJECT_JSON)
        if body is None:
            raise CheckError(
                f"{component.name} {component.version} is not on the index", where=self.base + path
            )
        try:
            urls = json.loads(body)["urls"]
            return {
                str(u["digests"]["sha256"]).lower(): _safe(str(u["filename"]), "file name")
                for u in urls
                if isinstance(u, dict)
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckError(f"unreadable release JSON: {one_line(exc)}", where=self.base + path) from None


# --- offline cache --------------------------------------------------------------------------------------


class Cache:
    """A folder of provenance files: `{project}/{version}/{filename}.provenance` or `.none`, `files.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, component: Component) -> Path:
        return self.root / component.name / component.version

    def provenance(self, component: Component, filename: str) -> tuple[bool, bytes | None]:
        """(known, body): known False when the cache never asked PyPI about this file."""
        folder = self._folder(component)
        path = folder / f"{filename}.provenance"
        if path.is_file():
            return True, read_bounded(path, what="cached provenance", limit=MAX_PROVENANCE)
        return (folder / f"{filename}.none").is_file(), None

    def files(self, component: Component) -> dict[str, str] | None:
        path = self._folder(component) / "files.json"
        if not path.is_file():
            return None
        try:
            data = json.loads(read_bounded(path, what="cached file list", limit=MAX_PROJECT_JSON))
            return {str(k).lower(): _safe(str(v), "file name") for k, v in dict(data).items()}
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"cached file list is damaged: {exc}", where=str(path)) from None

    def store(self, component: Component, filename: str, body: bytes | None) -> None:
        folder = self._folder(component)
        if body is None:
            (folder / f"{filename}.provenance").unlink(missing_ok=True)
            write_atomic(folder / f"{filename}.none", f"no provenance on {dt.date.today().isoformat()}\n")
        else:
            (folder / f"{filename}.none").unlink(missing_ok=True)
            write_atomic(folder / f"{filename}.provenance", body)

    def store_files(self, component: Component, files: dict[str, str]) -> None:
        write_atomic(
            self._folder(component) / "files.json", json.dumps(files, indent=1, sort_keys=True) + "\n"
        )


def index_url(configured: str, explicit: str | None) -> str:
    return explicit or os.environ.get(INDEX_URL_ENV) or configured
