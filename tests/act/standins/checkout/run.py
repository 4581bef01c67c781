"""actions/checkout, locally: the repository comes from MCP_HARDEN_ACT_REPOS, the ref must exist there, the
target is GITHUB_WORKSPACE/path (which must stay inside the workspace), emptied first (the real `clean`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def fail(text: str) -> None:
    print(f"::error::checkout stand-in: {text}")
    sys.exit(1)


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def main() -> None:
    repos = dict(item.split("=", 1) for item in os.environ.get("MCP_HARDEN_ACT_REPOS", "").split())
    repository = os.environ["INPUT_REPOSITORY"]
    if repository not in repos:
        fail(f"no local copy of {repository} (MCP_HARDEN_ACT_REPOS names {', '.join(repos) or 'none'})")
    workspace = Path(os.environ["GITHUB_WORKSPACE"]).resolve()
    target = (workspace / os.environ["INPUT_PATH"]).resolve()
    if target != workspace and workspace not in target.parents:
        fail(f"path {os.environ['INPUT_PATH']!r} is outside the workspace")
    ref = os.environ["INPUT_REF"] or (
        os.environ["GITHUB_SHA"] if repository == os.environ["GITHUB_REPOSITORY"] else "HEAD"
    )
    if target.exists():
        for child in target.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    target.mkdir(parents=True, exist_ok=True)
    git("clone", "-q", "--no-checkout", repos[repository], str(target))
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=target)
    git("checkout", "-q", "--detach", commit, cwd=target)
    git("remote", "set-url", "origin", f"https://github.com/{repository}", cwd=target)
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"ref={ref}\ncommit={commit}\n")
    print(f"checked out {repository}@{commit} into {target}")


if __name__ == "__main__":
    main()
