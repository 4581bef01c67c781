from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.commands import CommandSpec

if TYPE_CHECKING:
    from pipeline.config import Policy
    from pipeline.progress import Progress

from pipeline.bounds import port, seconds

NAME = "vulndb"
SUMMARY = "Manage the local OSV database for offline audits: status, update (from osv.dev), serve."
EXAMPLES = """\
  mcp-harden vulndb status --offline-db vulndb/osv-pypi.zip   # records, newest record, age
  mcp-harden vulndb update --offline-db vulndb/osv-pypi.zip   # download osv.dev's PyPI dump (network)
  mcp-harden vulndb serve --offline-db vulndb/ --port 8765    # an OSV API on 127.0.0.1 for pip-audit --osv-url
"""
REPORTS = False

MAX_DOWNLOAD_BYTES = 1 << 30  # osv.dev's PyPI dump is tens of MiB
DOWNLOAD_DEADLINE_FACTOR = 10  # --timeout bounds each read; the whole download gets ten times that
OSV_PYPI_DUMP = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from pipeline.commands import add_hidden_alias

    parser.add_argument("action", choices=("status", "update", "serve"))
    db = parser.add_argument(
        "--offline-db",
        type=Path,
        metavar="PATH",
        help="folder or zip of OSV records, as `audit --offline-db` (default: policy audit.offline_db)",
    )
    add_hidden_alias(parser, "--db", db)  # the old name
    parser.add_argument(
        "--policy", metavar="FILE", help="policy file (default: ./mcp-harden.yaml when present)"
    )
    source = parser.add_argument(
        "--source-url", metavar="URL", default=OSV_PYPI_DUMP, help="where update downloads from"
    )
    add_hidden_alias(parser, "--url", source)  # the old name; elsewhere --url is a server's endpoint
    parser.add_argument(
        "--timeout", type=seconds, default=60.0, help="seconds each read of the download may take"
    )
    parser.add_argument("--port", type=port, default=8765, help="port on 127.0.0.1 for serve")
    max_age = parser.add_argument(
        "--max-db-age-days",
        type=int,
        default=None,
        metavar="DAYS",
        help="status exits 1 when the newest record is older than this (default: audit.max_db_age_days)",
    )
    add_hidden_alias(parser, "--max-age-days", max_age)  # the old name
    parser.add_argument(
        "--progress",
        action="store_true",
        help="update: show where it is on stderr even off a terminal (on a terminal it always does)",
    )


def run(args: argparse.Namespace, policy: Policy) -> int:
    import sys

    from pipeline.audit.osvdb import OsvDatabase
    from pipeline.errors import UsageError

    path = args.offline_db or (
        policy.resolve_path(policy.audit.offline_db) if policy.audit.offline_db else None
    )
    if path is None:
        raise UsageError("name the database with --offline-db PATH or audit.offline_db in the policy")
    if args.action == "update":
        from pipeline.progress import Progress, wanted

        return _update(path, args.source_url, args.timeout, Progress(3, enabled=wanted(args.progress)))
    db = OsvDatabase.open(path)
    if args.action == "serve":
        from pipeline.audit.server import LocalOsvServer

        server = LocalOsvServer(db, port=args.port)
        print(f"OSV API for {db.records} records at {server.url} (Ctrl-C stops)", file=sys.stderr)
        server.httpd.serve_forever()
        return 0
    from pipeline.audit import check_db_age
    from pipeline.errors import CheckError

    age = db.age_days()
    max_age = policy.audit.max_db_age_days if args.max_db_age_days is None else args.max_db_age_days
    print(
        f"{path}: {db.records} records for {db.packages} packages; newest record modified "
        f"{db.newest_modified or 'unknown'}" + (f" ({age} days ago)" if age is not None else "")
    )
    try:
        check_db_age(db, max_age)  # the audit's own rule: stale, undated or future-dated fails
    except CheckError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _update(path: Path, url: str, timeout: float, progress: Progress) -> int:
    """Download to a side file, check every entry, then replace the database and index it (the per-package
    cache the audit reads), saying where it is on a terminal: download, check, index."""
    import sys
    import time
    import zipfile

    import requests

    from pipeline.audit.osvdb import OsvDatabase
    from pipeline.errors import CheckError, HardenError, UsageError

    if path.exists() and path.is_dir():
        raise UsageError("update writes a zip; give a .zip path", where=str(path))
    tmp = path.with_name(path.name + ".download")
    progress.begin("download")
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            response.raise_for_status()
            path.parent.mkdir(parents=True, exist_ok=True)
            deadline = time.monotonic() + DOWNLOAD_DEADLINE_FACTOR * timeout
            size = 0
            length = response.headers.get("Content-Length", "")
            of = f" of {int(length) / (1 << 20):.1f}" if length.isdigit() else ""
            progress.step(f"from {url}")
            with open(tmp, "wb") as handle:
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
                    progress.tick(f"{size / (1 << 20):.1f}{of} MiB")
                    if size > MAX_DOWNLOAD_BYTES or time.monotonic() > deadline:
                        raise CheckError(
                            f"the download is larger than {MAX_DOWNLOAD_BYTES >> 20} MiB or slower than "
                            f"{DOWNLOAD_DEADLINE_FACTOR * timeout:g} s (the existing database is kept)",
                            where=url,
                        )
                    handle.write(chunk)
        progress.end(f"{size / (1 << 20):.1f} MiB")
        progress.begin("check")
        _check_download(tmp, url, progress)
        progress.end("every entry reads back with its CRC")
    except CheckError:
        tmp.unlink(missing_ok=True)
        raise
    except requests.RequestException as exc:
        tmp.unlink(missing_ok=True)
        raise CheckError(
            f"could not download the OSV database (the existing one, if any, is kept): {type(exc).__name__}",
            where=url,
        ) from None
    except zipfile.BadZipFile:
        tmp.unlink(missing_ok=True)
        raise CheckError("the download is not a zip (the existing database is kept)", where=url) from None
    tmp.replace(path)
    progress.begin("index")
    progress.step(f"indexing {path} by package")
    try:
        db = OsvDatabase.open(path)
    except HardenError as exc:
        raise CheckError(f"the downloaded database is in place but does not load: {exc}") from None
    progress.end(f"{db.records} records for {db.packages} packages")
    print(f"updated {path} from {url}: {db.records} records for {db.packages} packages", file=sys.stderr)
    return 0


def _check_download(zip_path: Path, url: str, progress: Progress) -> None:
    """Every entry's CRC, as `testzip` would check it, but each entry read at most to the database's
    per-entry cap: a zip bomb from the network costs its cap, not its claimed size."""
    import zipfile

    from pipeline.audit.osvdb import MAX_ENTRIES, MAX_ENTRY_BYTES
    from pipeline.errors import CheckError

    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise CheckError(
                f"the download has more than {MAX_ENTRIES} entries (the existing database is kept)", where=url
            )
        for number, info in enumerate(infos, 1):
            progress.tick(f"{number} of {len(infos)} entries")
            read = 0
            with zf.open(info) as entry:
                while chunk := entry.read(1 << 20):
                    read += len(chunk)
                    if read > MAX_ENTRY_BYTES:
                        raise CheckError(
                            f"entry {info.filename} is larger than {MAX_ENTRY_BYTES >> 20} MiB decompressed "
                            "(the existing database is kept)",
                            where=url,
                        )


SPEC = CommandSpec(name=NAME, summary=SUMMARY, examples=EXAMPLES, reports=REPORTS)
