"""The environment the tool manifest is captured in: a venv of its own, holding exactly the lock's set (the
built wheel and the SBOM's components), never mcp-harden's environment. It is kept in the release's work
area under the lock's digest, so an unchanged lock reuses it, and its installed set is checked each time."""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name

from pipeline.errors import CheckError, ConfigError
from pipeline.release.lock import Pin

COMPLETE = ".mcp-harden-complete"
_LIST = (
    "import importlib.metadata as m, json; "
    "print(json.dumps(sorted([d.metadata['Name'], d.version] for d in m.distributions())))"
)


def bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


def venv_python(venv: Path) -> Path:
    return bin_dir(venv) / ("python.exe" if os.name == "nt" else "python")


def installed_set(venv: Path, timeout: float = 60.0) -> dict[str, str]:
    """Canonical name to version of every distribution in the venv, read by the venv's own interpreter."""
    proc = subprocess.run(
        [str(venv_python(venv)), "-I", "-c", _LIST],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise CheckError("cannot list what the server's environment holds", where=str(venv))
    return {canonicalize_name(name): version for name, version in json.loads(proc.stdout)}


def compare(installed: dict[str, str], pins: list[Pin]) -> list[str]:
    """What differs between an installed set and the lock, one phrase each; empty when they are equal."""
    wanted = {p.name: p.version for p in pins}
    problems = [
        f"{n}=={v} is installed but not locked" for n, v in sorted(installed.items()) if n not in wanted
    ]
    for name, version in sorted(wanted.items()):
        if name not in installed:
            problems.append(f"{name}=={version} is locked but not installed")
        elif installed[name] != version:
            problems.append(f"{name} is {installed[name]}, the lock says {version}")
    return problems


def prepare(
    lock: Path,
    pins: list[Pin],
    *,
    root_wheel: Path,
    wheelhouse: Path | None,
    work: Path,
    timeout: float = 900.0,
    fresh: bool = False,
) -> tuple[Path, bool]:
    """The venv for this lock, made (or reused) in `work`. Returns it and whether it was reused."""
    key = hashlib.sha256(lock.read_bytes()).hexdigest()
    work = work.resolve()  # the server starts in another folder: its command must not be relative
    venv = work / f"server-{key[:16]}"
    marker = venv / COMPLETE
    if not fresh and marker.is_file() and marker.read_text(encoding="utf-8").strip() == key:
        problems = compare(installed_set(venv), pins)
        if not problems:
            return venv, True
    for old in work.glob("server-*"):  # one environment at a time: an old lock's is not kept
        shutil.rmtree(old, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "cannot create a venv", timeout)
    from pipeline.release.lock import install_requirements

    requirements = work / "install.txt"
    requirements.write_text(install_requirements(pins, root_wheel), encoding="utf-8")
    sources = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse is not None else []
    command = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(venv_python(venv)),
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--require-hashes",
        "--only-binary",
        ":all:",
        *sources,
        "-r",
        str(requirements),
    ]
    _run(command, "cannot install the locked set into the server's environment", timeout)
    problems = compare(installed_set(venv), pins)
    if problems:
        raise CheckError("the server's environment is not the locked set: " + "; ".join(problems[:5]))
    marker.write_text(key + "\n", encoding="utf-8")
    return venv, False


def _run(command: list[str], what: str, timeout: float) -> None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise CheckError(f"{what}: no result within {timeout:.0f} s") from None
    if proc.returncode != 0:
        lines = [x.strip() for x in (proc.stderr + proc.stdout).splitlines() if x.strip()]
        raise CheckError(f"{what}: {lines[-1] if lines else 'no output'}")


def console_scripts(wheel: Path) -> list[str]:
    """The console scripts a wheel declares (its `entry_points.txt`)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [
                n
                for n in archive.namelist()
                if n.count("/") == 1 and n.endswith(".dist-info/entry_points.txt")
            ]
            if not names:
                return []
            text = archive.read(names[0])[: 1 << 20].decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile) as exc:
        raise CheckError(f"cannot read the built wheel: {exc}", where=str(wheel)) from None
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    try:
        parser.read_string(text)
    except configparser.Error:
        raise CheckError("the wheel's entry_points.txt is malformed", where=str(wheel)) from None
    return sorted(parser["console_scripts"]) if parser.has_section("console_scripts") else []


def server_command(configured: list[str], wheel: Path, venv: Path, policy_file: str | None) -> list[str]:
    """The command that starts the server inside `venv`: the policy's `manifest.command` (`python` means the
    venv's interpreter, a bare name one of its scripts), else the wheel's one console script."""
    where = policy_file or "mcp-harden.yaml"
    if configured:
        first, *rest = configured
        if first in ("python", "python3"):
            return [str(venv_python(venv)), *rest]
        script = bin_dir(venv) / first
        if os.sep not in first and script.is_file():
            return [str(script), *rest]
        return [first, *rest]
    scripts = console_scripts(wheel)
    if len(scripts) == 1:
        return [str(bin_dir(venv) / scripts[0])]
    if scripts:
        raise ConfigError(
            f"the wheel has several console scripts ({', '.join(scripts)}): say which starts the MCP server "
            "with manifest.command, e.g. [python, -m, your_server]",
            where=where,
        )
    raise ConfigError(
        "how to start the MCP server is not known: set manifest.command, e.g. [python, -m, your_server], "
        "or declare a console script in [project.scripts]",
        where=where,
    )
