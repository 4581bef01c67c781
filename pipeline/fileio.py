"""Small file helpers shared by every stage: bounded reads of input files (a device, a FIFO or a huge file
is refused, not read forever), atomic writes (a failed run never clobbers what the user had) and streaming
digests (memory does not grow with the file)."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

from pipeline.errors import ConfigError

CHUNK = 1 << 20  # 1 MiB reads: as fast as hashlib gets, with flat memory
# Caps for files read whole into memory. Policy, records, bundles, trusted roots, reports, client
# configurations are all far smaller; an SBOM or a pip report of thousands of packages stays under this.
MAX_TEXT_BYTES = 64 << 20


def read_bounded(path: str | os.PathLike[str], *, what: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file, read once, at most `limit` of them (counted while reading, since
    `st_size` can lie: /proc files, a file that grows). A FIFO or device is refused without blocking
    (`O_NONBLOCK` on open, then `fstat` on the descriptor). Errors are `ConfigError` (exit 2) naming the
    file and saying what it was meant to be (`what`: "policy file", "release record", ...)."""
    where = os.fspath(path)
    try:
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", where=where) from None
    except IsADirectoryError:
        raise ConfigError(f"{what} is a folder, not a file", where=where) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", where=where) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{what} is a folder, not a file", where=where)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{what} is not a regular file (a device, FIFO or socket)", where=where)
        if info.st_size > limit:
            raise ConfigError(
                f"{what} is too large ({info.st_size} bytes; the limit is {limit})", where=where
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                chunk = os.read(fd, min(CHUNK, limit + 1 - total))
            except OSError as exc:
                raise ConfigError(f"cannot read {what}: {exc.strerror or exc}", where=where) from None
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise ConfigError(f"{what} is too large (over {limit} bytes)", where=where)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_text_bounded(path: str | os.PathLike[str], *, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """`read_bounded`, decoded as UTF-8 (a decoding error is a `ConfigError` naming the file)."""
    raw = read_bounded(path, what=what, limit=limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} is not UTF-8 text (byte {exc.start})", where=os.fspath(path)) from None


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, mode: int = 0o666) -> None:
    """Write to a temporary file beside `path`, then rename over it.

    The file is created with `mode` less the umask, as `open()` would: outputs (records, bundles, SBOMs)
    are readable where the user's umask says so, e.g. by a deploy container's other user. Private keys
    pass `mode=0o600`, which holds from creation on (there is no moment where the key is readable)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, flags, mode)
            break
        except FileExistsError:  # a name taken by chance (or planted): draw another
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def append_text(path: str | os.PathLike[str], text: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        if not text.endswith("\n"):
            handle.write("\n")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, streamed through one reused buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            n = handle.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()
