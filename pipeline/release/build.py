"""The build stage: `python -m build` (an sdist, then the wheel built from it) of any PEP 517 project.

A second run on unchanged sources reuses the previous build: the stamp keeps the sources' digest and each
built file's sha256, and both are checked again before anything is reused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.errors import CheckError, UsageError
from pipeline.fileio import sha256_file, write_atomic
from pipeline.findings import StageResult

# Folders that are never part of a project's sources (tools' caches, environments, build output).
SKIP_DIRS = {
    ".git",
    ".hg",
    ".nox",
    ".tox",
    ".venv",
    "venv",
    "build",
    "dist",
    "__pycache__",
    ".mcp-harden",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}
MAX_SOURCE_FILES = 20000
MAX_SOURCE_BYTES = 512 << 20


def source_digest(project: Path, exclude: Path) -> str | None:
    """A digest of every source file's path and content; None when the tree is too large to be worth it."""
    digest = hashlib.sha256()
    count = size = 0
    exclude = exclude.resolve()
    for folder, dirs, files in os.walk(project):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS and not d.endswith(".egg-info") and (here / d).resolve() != exclude
        )
        for name in sorted(files):
            path = here / name
            if path.is_symlink():
                digest.update(f"link {path.relative_to(project).as_posix()} {os.readlink(path)}\n".encode())
                continue
            if not path.is_file():
                continue
            count += 1
            size += path.stat().st_size
            if count > MAX_SOURCE_FILES or size > MAX_SOURCE_BYTES:
                return None
            digest.update(f"file {path.relative_to(project).as_posix()} {sha256_file(path)}\n".encode())
    return digest.hexdigest()


def built_files(dist: Path) -> tuple[list[Path], list[Path]]:
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    return wheels, sdists


def run_build(
    project: Path, out: Path, work: Path, *, timeout: float = 900.0, fresh: bool = False
) -> StageResult:
    result = StageResult(stage="build")
    if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
        raise UsageError("not a Python project (no pyproject.toml or setup.py)", where=str(project))
    dist = out / "dist"
    stamp_path = work / "build.json"
    digest = source_digest(project, out)
    if digest is not None and not fresh and _reusable(stamp_path, digest, dist):
        wheels, sdists = built_files(dist)
        result.notes.append("the sources are unchanged since the last build: its files were reused")
        return _done(result, wheels, sdists, digest)
    if importlib.util.find_spec("build") is None:
        raise CheckError("the build stage needs the `build` package in mcp-harden's environment")
    shutil.rmtree(dist, ignore_errors=True)
    stamp_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "build", "--outdir", str(dist), str(project)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise CheckError(f"the build did not finish within {timeout:.0f} s", where=str(project)) from None
    if proc.returncode != 0:
        lines = [x for x in (proc.stderr + proc.stdout).splitlines() if x.strip()]
        raise CheckError(f"python -m build failed: {lines[-1] if lines else 'no output'}", where=str(project))
    wheels, sdists = built_files(dist)
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckError(
            f"expected one wheel and one sdist, the build wrote {len(wheels)} and {len(sdists)}",
            where=str(dist),
        )
    if digest is not None:
        work.mkdir(parents=True, exist_ok=True)
        files = {p.name: sha256_file(p) for p in (*wheels, *sdists)}
        write_atomic(stamp_path, json.dumps({"source": digest, "files": files}, indent=2) + "\n")
    return _done(result, wheels, sdists, digest)


def _reusable(stamp_path: Path, digest: str, dist: Path) -> bool:
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        if stamp.get("source") != digest or not dist.is_dir():
            return False
        present = {p.name for p in (*dist.glob("*.whl"), *dist.glob("*.tar.gz"))}
        files = dict(stamp["files"])
        return present == set(files) and all(sha256_file(dist / n) == h for n, h in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _done(result: StageResult, wheels: list[Path], sdists: list[Path], digest: str | None) -> StageResult:
    result.summary = {
        "wheel": wheels[0].name,
        "sdist": sdists[0].name,
        "sources": f"sha256:{digest}" if digest else "not digested (tree too large)",
    }
    result.outputs += [str(wheels[0]), str(sdists[0])]
    return result
