"""Benchmark `nox` on a user's project (a plain script, not a test): the first run and a second one on the
unchanged project, with the environments reused. Prints seconds and the ratio measured in this one run.

    python benchmarks/bench_release.py            # target: the second run in at most 15 s

The project is the tests' second one (hatchling, a dependency the example lacks), with `templates/noxfile.py`
copied into it and mcp-harden pinned to a wheel built from this checkout, as the README says. The audit reads
the shared offline OSV database; signing uses the local sandbox. What a second run skips: installing
mcp-harden (the pin did not change), the build (the sources' digest and the built files' sha256 match), and
the server's environment (kept under the lock's digest, its installed set checked again).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 15.0


def _nox(project: Path, env: dict[str, str], options: list[str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "--", *options],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Result:")]
    return time.perf_counter() - start, proc.returncode, (lines[-1] if lines else proc.stdout[-2000:])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print where it is")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / ".ci"))
    import provision  # type: ignore[import-not-found]

    from tests.release.conftest import OSV_DB, make_wheel, write_project

    wheelhouse = provision.wheelhouse()
    work = Path(tempfile.mkdtemp(prefix="bench-release-"))
    try:
        local = work / "local-wheels"
        local.mkdir()
        make_wheel(
            local,
            "unitconv",
            "0.3.0",
            {"unitconv/__init__.py": "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32\n"},
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "-w",
                str(work / "mcp-harden"),
                str(ROOT),
            ],
            check=True,
        )
        (pinned,) = (work / "mcp-harden").glob("mcp_harden-*.whl")
        project = write_project(work / "project")
        shutil.copy(ROOT / "templates" / "noxfile.py", project / "noxfile.py")
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        env.update(
            MCP_HARDEN_SPEC=str(pinned),
            PIP_FIND_LINKS=f"{wheelhouse} {local}",
            GITHUB_REF="refs/tags/v0.2.0",
        )
        options = ["--offline-db", str(OSV_DB), "--sandbox-dir", str(work / "sandbox")]
        first, code1, verdict1 = _nox(project, env, options)
        second, code2, verdict2 = _nox(project, env, options)
        print(f"first nox run (creates the environments, builds): {first:6.1f} s  exit {code1}  {verdict1}")
        print(f"second nox run (unchanged project, reused)      : {second:6.1f} s  exit {code2}  {verdict2}")
        print(
            f"ratio first/second: {first / second:.1f}x; target second <= {TARGET_SECONDS:.0f} s: "
            f"{'met' if second <= TARGET_SECONDS else 'NOT met'}"
        )
        return 0 if code1 == code2 == 0 and second <= TARGET_SECONDS else 1
    finally:
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
