"""upload-sarif's checks, locally: every file is JSON with a `runs` list; the upload is a copy kept in
MCP_HARDEN_ACT_ARTIFACTS/<run id>/.code-scanning/<category>/ for the test to read."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path


def fail(text: str) -> None:
    print(f"::error::upload-sarif stand-in: {text}")
    sys.exit(1)


def main() -> None:
    given = Path(os.environ["GITHUB_WORKSPACE"]) / os.environ["INPUT_SARIF_FILE"]
    files = sorted(given.glob("**/*.sarif")) if given.is_dir() else [given]
    if not files or not all(f.is_file() for f in files):
        fail(f"Path does not exist: {given}" if not given.exists() else f"no .sarif files in {given}")
    digest = hashlib.sha256()
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fail(f"{path} is not JSON: {exc}")
        if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
            fail(f"{path} is not SARIF: no runs list")
        digest.update(path.read_bytes())
    category = os.environ["INPUT_CATEGORY"] or "default"
    kept = (
        Path(os.environ["MCP_HARDEN_ACT_ARTIFACTS"])
        / os.environ["GITHUB_RUN_ID"]
        / ".code-scanning"
        / category
    )
    kept.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, kept / path.name)
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"sarif-id={digest.hexdigest()[:32]}\n")
    print(f"checked {len(files)} SARIF file(s) for category {category}")


if __name__ == "__main__":
    main()
