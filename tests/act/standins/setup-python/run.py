"""actions/setup-python, locally: the highest host interpreter (python3.N on PATH, base interpreters only)
whose version matches `X.Y`, `X.Y.Z` or `X.x`, as a fresh venv in RUNNER_TEMP put first on PATH, with a pip
unpacked into it (as virtualenv does: quicker than running ensurepip). GitHub's hosted Pythons come with a
current pip (their build upgrades the one ensurepip bundles), so the act world names one in
MCP_HARDEN_ACT_PIP_WHEEL; without it, the interpreter's own bundled pip."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

PROBE = "import sys; print(sys._base_executable); print('.'.join(map(str, sys.version_info[:3])))"
BUNDLED_PIP = "import ensurepip, pathlib; print(next(pathlib.Path(ensurepip.__file__).parent.glob('_bundled/pip-*.whl')))"
SITE = "import sysconfig; print(sysconfig.get_paths()['purelib'])"


def fail(text: str) -> None:
    print(f"::error::setup-python stand-in: {text}")
    sys.exit(1)


def matches(spec: str, version: str) -> bool:
    wanted, have = spec.split("."), version.split(".")
    return len(wanted) <= 3 and all(w in ("x", h) for w, h in zip(wanted, have, strict=False))


def candidates(spec: str) -> dict[str, str]:
    """Host interpreters by version. A `python3.N` whose N the spec rules out is not started: on a machine
    with pyenv every name is a shim, and each start runs its shell scripts first (about 0.1 s)."""
    minor = spec.split(".")[1] if spec.count(".") >= 1 and spec.split(".")[1].isdigit() else None
    found: dict[str, str] = {}
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        for path in sorted(Path(folder).glob("python3*")) if Path(folder).is_dir() else []:
            named = re.fullmatch(r"python3(?:\.(\d+))?", path.name)
            if not named or not os.access(path, os.X_OK):
                continue
            if minor is not None and named.group(1) not in (None, minor):
                continue
            done = subprocess.run([str(path), "-c", PROBE], capture_output=True, text=True, check=False)
            if done.returncode == 0:
                base, version = done.stdout.split()
                found.setdefault(version, base)
    return found


def main() -> None:
    spec = os.environ["INPUT_PYTHON_VERSION"].strip()
    if not re.fullmatch(r"\d+(\.(\d+|x))?(\.\d+)?", spec):
        fail(f"python-version {spec!r} is not X.Y, X.Y.Z or X.x")
    found = candidates(spec)
    fitting = sorted((v for v in found if matches(spec, v)), key=lambda v: tuple(map(int, v.split("."))))
    if not fitting:
        fail(f"no host Python satisfies {spec!r} (found {', '.join(sorted(found)) or 'none'})")
    version = fitting[-1]
    venv = Path(os.environ["RUNNER_TEMP"]) / "setup-python" / version
    subprocess.run([found[version], "-m", "venv", "--clear", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = (
        os.environ.get("MCP_HARDEN_ACT_PIP_WHEEL")
        or subprocess.run(
            [python, "-c", BUNDLED_PIP], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    site = subprocess.run([python, "-c", SITE], capture_output=True, text=True, check=True).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    with open(os.environ["GITHUB_PATH"], "a", encoding="utf-8") as path_file:
        path_file.write(f"{venv / 'bin'}\n")
    with open(os.environ["GITHUB_ENV"], "a", encoding="utf-8") as env_file:
        env_file.write(f"pythonLocation={venv}\n")
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
        out.write(f"python-version={version}\npython-path={venv / 'bin' / 'python'}\n")
    print(f"Python {version} ({found[version]}) at {venv}")


if __name__ == "__main__":
    main()
