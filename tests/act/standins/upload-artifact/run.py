"""actions/upload-artifact v4, locally.

Path rules as the real action's: each line of `path` is a file, a folder (all files below it) or a glob
(`*`, `?`, `[...]`, `**`); `!` lines exclude. Files are stored relative to the root: the one search path
(the part of a pattern before its first wildcard) when there is one, its folder when it is a file, else the
search paths' common ancestor. Hidden files and folders are left out unless include-hidden-files. A name
already uploaded in this run is an error unless overwrite; no files is a warning, an error or nothing as
if-no-files-found says."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import sys
from pathlib import Path

WILDCARDS = "*?["


def fail(text: str) -> None:
    print(f"::error::upload-artifact stand-in: {text}")
    sys.exit(1)


def search_path(pattern: str) -> Path:
    cut = min((i for i, c in enumerate(pattern) if c in WILDCARDS), default=-1)
    return Path(pattern if cut < 0 else pattern[:cut].rpartition("/")[0] or "/")


def expand(pattern: str) -> set[Path]:
    matches = (
        glob.glob(pattern, recursive=True, include_hidden=True)
        if any(c in pattern for c in WILDCARDS)
        else ([pattern] if os.path.lexists(pattern) else [])
    )
    files: set[Path] = set()
    for match in map(Path, matches):
        if match.is_dir():
            files.update(p for p in match.rglob("*") if p.is_file())
        elif match.is_file():
            files.add(match)
    return {p.absolute() for p in files}


def main() -> None:
    name = os.environ["INPUT_NAME"]
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        fail(f"invalid artifact name {name!r}")
    lines = [line.strip() for line in os.environ["INPUT_PATH"].splitlines() if line.strip()]
    includes = [str(Path(os.path.expanduser(line)).absolute()) for line in lines if not line.startswith("!")]
    excludes = [str(Path(os.path.expanduser(line[1:])).absolute()) for line in lines if line.startswith("!")]
    files = set().union(*map(expand, includes)) - set().union(set(), *map(expand, excludes))
    roots = [search_path(p) for p in includes]
    if len(roots) == 1:
        root = roots[0] if roots[0].is_dir() else roots[0].parent
    else:
        root = Path(os.path.commonpath(roots))
    if os.environ["INPUT_INCLUDE_HIDDEN_FILES"] != "true":
        files = {f for f in files if not any(part.startswith(".") for part in f.relative_to(root).parts)}
    if not files:
        mode = os.environ["INPUT_IF_NO_FILES_FOUND"]
        if mode == "error":
            fail(
                f"no files were found with the provided path: {' '.join(lines)}. No artifacts will be uploaded."
            )
        if mode == "warn":
            print(f"::warning::No files were found with the provided path: {' '.join(lines)}.")
        elif mode != "ignore":
            fail(f"if-no-files-found must be warn, error or ignore, not {mode!r}")
        return
    run_folder = Path(os.environ["MCP_HARDEN_ACT_ARTIFACTS"]) / os.environ["GITHUB_RUN_ID"]
    target = run_folder / name
    if target.exists():
        if os.environ["INPUT_OVERWRITE"] != "true":
            fail(f"an artifact with this name already exists in this run: {name}")
        shutil.rmtree(target)
    staging = run_folder / f".{name}.upload"
    shutil.rmtree(staging, ignore_errors=True)
    digest = hashlib.sha256()
    for path in sorted(files):
        relative = path.relative_to(root)
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, staging / relative)
        digest.update(f"{relative}\0".encode() + path.read_bytes() + b"\0")
    staging.rename(target)
    ids = sorted(p for p in run_folder.iterdir() if not p.name.startswith("."))
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"artifact-id={ids.index(target) + 1}\nartifact-digest={digest.hexdigest()}\n")
    print(f"uploaded {len(files)} files from {root} as {name}")


if __name__ == "__main__":
    main()
