"""The deploy templates, run as the scripts they are (no Docker engine here): the Dockerfile's RUN step and the
Kubernetes init container's command install exactly the SBOM's set into a fresh venv, offline, after verify;
each tamper is refused before anything is installed, with its own message."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.release.conftest import copy_release, make_wheel
from tests.release.test_release import sbom_set

DEPLOY = ROOT / "templates" / "deploy"
REPOSITORY = "example/weather-notes-mcp"


def _env(sandbox: Path, **values: str) -> dict[str, str]:
    """Offline, and no machine pip configuration: only the release's wheelhouse can be installed from."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PIP_") and key not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_INDEX="1",
        MCP_HARDEN=f"{sys.executable} -m pipeline",
        PYTHONPATH=str(ROOT),
        PYTHON=sys.executable,
        TRUSTED_ROOT=str(sandbox / "trusted_root.json"),
    )
    env.update(values)
    return env


def _installed(venv: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, re; print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name'])"
        ".lower(): d.version for d in m.distributions()}))"
    )
    import json

    out = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", code], capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def _dockerfile_steps() -> tuple[dict[str, str], str]:
    """The verify stage's ENV values and the RUN instruction that installs, joined across continuations."""
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    stage = text.split("FROM ")[1]  # the first stage: verify
    env: dict[str, str] = {}
    runs = []
    for line in stage.splitlines():
        if line.startswith("ENV "):
            env.update(dict(item.split("=", 1) for item in line[4:].split()))
        if line.startswith("RUN ") and "install.sh" in line:
            runs.append(line[4:])
    assert len(runs) == 1
    return env, runs[0]


def _run_dockerfile(release: Path, sandbox: Path, target: Path) -> subprocess.CompletedProcess[str]:
    env, run = _dockerfile_steps()
    assert env == {"RELEASE": "/release", "TARGET": "/app"}
    command = run.replace("/deploy/", f"{DEPLOY}/")
    build_args = {"REPOSITORY": REPOSITORY, "REF": "refs/tags/v*"}  # docker build --build-arg
    return subprocess.run(
        ["sh", "-c", command],
        env=_env(sandbox, RELEASE=str(release), TARGET=str(target), **build_args),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _run_init_container(release: Path, sandbox: Path, app: Path) -> subprocess.CompletedProcess[str]:
    pod = yaml.safe_load((DEPLOY / "k8s-init-container.yaml").read_text())
    (container,) = [c for c in pod["spec"]["initContainers"] if c["name"] == "verify-and-install"]
    mounts = {"/work": str(release), "/app": str(app), "/trust": str(sandbox), "/deploy/": f"{DEPLOY}/"}

    def local(value: str) -> str:
        for inside, outside in mounts.items():
            if value.startswith(inside):
                return outside + value[len(inside) :]
        return value

    env = {item["name"]: local(item["value"]) for item in container["env"]}
    assert env["REPOSITORY"] == "example/mcp-server"  # the template's placeholder, adapted as a user would
    env["REPOSITORY"] = REPOSITORY
    command = [local(part) for part in container["command"]]
    return subprocess.run(
        command, env=_env(sandbox, **env), capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.slow
def test_dockerfile_installs_exactly_the_sbom_set_offline(released, tmp_path: Path) -> None:
    _, out, sandbox = released
    release = copy_release(out, tmp_path)
    target = tmp_path / "app"
    proc = _run_dockerfile(release, sandbox, target)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _installed(target) == sbom_set(out / "sbom.cdx.json")
    assert (target / "bin" / "weather-notes-mcp").is_file()  # the runtime stage's command


@pytest.mark.slow
def test_init_container_installs_exactly_the_sbom_set_offline(released, tmp_path: Path) -> None:
    _, out, sandbox = released
    release = copy_release(out, tmp_path)
    app = tmp_path / "app"
    app.mkdir()
    proc = _run_init_container(release, sandbox, app)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _installed(app / "venv") == sbom_set(out / "sbom.cdx.json")
    assert "installed exactly the" in proc.stderr


def _wheel_of(folder: Path, prefix: str) -> Path:
    (path,) = folder.glob(f"{prefix}-*.whl")
    return path


def _extra_wheel(release: Path) -> str:
    make_wheel(release / "wheelhouse", "evil_helper", "1.0", {"evil_helper/__init__.py": "print('owned')\n"})
    return r"wheelhouse/evil_helper-1\.0-py3-none-any\.whl is not in the signed lock \(an unlisted distribution\)"


def _swapped_wheel(release: Path) -> str:
    wheel = _wheel_of(release / "dist", "weather_notes_mcp")
    wheel.unlink()
    make_wheel(
        wheel.parent, "weather_notes_mcp", "0.2.0", {"weather_notes_mcp/__init__.py": "print('owned')\n"}
    )
    return r"MH-VERIFY-DIGEST  weather_notes_mcp-0\.2\.0-py3-none-any\.whl: sha256 is [0-9a-f]{64}, the release record says"


def _edited_lock(release: Path) -> str:
    lock = release / "requirements.lock.txt"
    lock.write_text(lock.read_text().replace("unitconv==0.3.0", "unitconv==0.3.1"))
    return r"MH-VERIFY-DIGEST  requirements\.lock\.txt: sha256 is [0-9a-f]{64}, the release record says"


def _hash_mismatch(release: Path) -> str:
    wheel = _wheel_of(release / "wheelhouse", "unitconv")
    wheel.unlink()
    make_wheel(wheel.parent, "unitconv", "0.3.0", {"unitconv/__init__.py": "import os\n"})
    return r"unitconv-0\.3\.0-py3-none-any\.whl has sha256 [0-9a-f]{64}; the signed lock pins unitconv==0\.3\.0 to"


def _no_wheelhouse(release: Path) -> str:
    shutil.rmtree(release / "wheelhouse")
    return r"install\.sh: refused: .* has no requirements\.lock\.txt and wheelhouse/"


@pytest.mark.parametrize(
    "tamper",
    [_extra_wheel, _swapped_wheel, _edited_lock, _hash_mismatch, _no_wheelhouse],
    ids=lambda f: f.__name__.strip("_"),
)
@pytest.mark.slow
def test_a_tampered_release_is_refused_before_anything_is_installed(released, tmp_path: Path, tamper) -> None:
    _, out, sandbox = released
    release = copy_release(out, tmp_path)
    expected = tamper(release)
    app = tmp_path / "app"
    app.mkdir()
    proc = _run_init_container(release, sandbox, app)
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr  # verify's report on stdout, the scripts' refusals on stderr
    assert re.search(expected, log), log
    assert "Traceback" not in log
    assert not (app / "venv").exists()  # refused before a venv was even made
