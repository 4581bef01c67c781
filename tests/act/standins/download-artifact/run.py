"""actions/download-artifact v4, locally: a named artifact's files go straight into `path` (relative to the
workspace; `~` expanded), every artifact into path/<name> when no name is given; a missing artifact fails."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def fail(text: str) -> None:
    print(f"::error::download-artifact stand-in: {text}")
    sys.exit(1)


def main() -> None:
    run_id = os.environ["INPUT_RUN_ID"] if os.environ["INPUT_GITHUB_TOKEN"] else os.environ["GITHUB_RUN_ID"]
    run_folder = Path(os.environ["MCP_HARDEN_ACT_ARTIFACTS"]) / run_id
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    target = workspace / os.path.expanduser(os.environ["INPUT_PATH"] or ".")
    name = os.environ["INPUT_NAME"]
    available = (
        sorted(p.name for p in run_folder.iterdir() if not p.name.startswith("."))
        if run_folder.is_dir()
        else []
    )
    if name and name not in available:
        fail(f"Unable to download artifact(s): Artifact not found for name: {name} (run {run_id})")
    if not name and not available:
        fail(f"no artifacts in run {run_id}")
    merge = os.environ["INPUT_MERGE_MULTIPLE"] == "true"
    for artifact in [name] if name else available:
        where = target if name or merge else target / artifact
        shutil.copytree(run_folder / artifact, where, dirs_exist_ok=True)
        print(f"downloaded {artifact} (run {run_id}) into {where}")
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"download-path={target.resolve()}\n")


if __name__ == "__main__":
    main()
