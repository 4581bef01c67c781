"""GitHub Actions facts: from `GITHUB_*` variables in CI, else from the local git checkout (sandbox tokens)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from typing import Any

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def _repository_from_remote(url: str | None) -> str | None:
    if not url:
        return None
    match = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?/?$", url)
    if match:
        return match.group(1)
    match = re.search(r"([^/:]+/[^/:]+?)(?:\.git)?/?$", url)
    return match.group(1) if match else None


def in_github_actions(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("GITHUB_ACTIONS") == "true"


def github_claims(env: Mapping[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Claims shaped like a GitHub Actions OIDC token, and the names of facts that had to be guessed."""
    env = os.environ if env is None else env
    guessed: list[str] = []

    def get(name: str, fallback: Any, what: str) -> Any:
        value = env.get(name)
        if value:
            return value
        guessed.append(what)
        return fallback() if callable(fallback) else fallback

    repository = get(
        "GITHUB_REPOSITORY",
        lambda: _repository_from_remote(_git("remote", "get-url", "origin")) or "local/unknown",
        "repository",
    )
    ref = get(
        "GITHUB_REF",
        lambda: (
            f"refs/heads/{b}"
            if (b := _git("rev-parse", "--abbrev-ref", "HEAD")) and b != "HEAD"
            else "refs/heads/main"
        ),
        "ref",
    )
    sha = get("GITHUB_SHA", lambda: _git("rev-parse", "HEAD") or "0" * 40, "commit")
    workflow_ref = get("GITHUB_WORKFLOW_REF", f"{repository}/.github/workflows/release.yml@{ref}", "workflow")
    claims: dict[str, Any] = {
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "ref": ref,
        "sha": sha,
        "workflow": get("GITHUB_WORKFLOW", "release", "workflow name"),
        "workflow_ref": workflow_ref,
        "job_workflow_ref": env.get("GITHUB_JOB_WORKFLOW_REF") or workflow_ref,
        "workflow_sha": sha,
        "job_workflow_sha": sha,
        "event_name": get("GITHUB_EVENT_NAME", "push", "trigger"),
        "run_id": get("GITHUB_RUN_ID", "0", "run id"),
        "run_attempt": env.get("GITHUB_RUN_ATTEMPT") or "1",
        "runner_environment": "github-hosted" if in_github_actions(env) else "self-hosted",
        "repository_id": env.get("GITHUB_REPOSITORY_ID") or "0",
        "repository_owner_id": env.get("GITHUB_REPOSITORY_OWNER_ID") or "0",
        "repository_visibility": "private",
    }
    claims["sub"] = f"repo:{repository}:ref:{ref}"
    return claims, guessed
