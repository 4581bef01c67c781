"""SBOM and audit stages against the raw tools, side by side in one run (ratios of medians; the two
commands of each pair run in turns, so a shared machine's load falls on both alike). The audit lines also
give CPU time (pip-audit's counting the OSV server it queries), which load disturbs far less than wall time.

    python benchmarks/bench_sbom_audit.py [--runs 3] [--osv-db PATH] [--only audit]

SBOM: `mcp-harden sbom --pip-report` (validation included) vs `cyclonedx-py environment` (validation on) on
the same environment: the example server installed in a fresh venv from the local wheelhouse. Goal ≤ 0.2×.
Audit: `mcp-harden audit --offline-db` (database load included; an in-process pip-audit VulnerabilityService
over the database's verified per-package index) vs plain `pip-audit -r -s osv --osv-url` against an OSV server on 127.0.0.1 serving the
same database, on the example's pins and on a large lock (300 packages). Goal ≤ 0.33× (3× faster).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / ".tools" / "wheelhouse"
# pip-audit beside this interpreter (the venv's), whatever PATH says
PIP_AUDIT = shutil.which("pip-audit", path=str(Path(sys.executable).parent)) or "pip-audit"


def _cpu_of(pid: int | None) -> float:
    """User+system CPU seconds a running process has used so far (Linux /proc; 0 elsewhere)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _once(cmd: list[str], helper: int | None = None) -> tuple[float, float]:
    """Wall seconds of one run, and the CPU seconds it cost (its own, and a helper process's meanwhile)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    helper_before = _cpu_of(helper)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {proc.stderr[-400:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return took, cpu + _cpu_of(helper) - helper_before


def paired(
    ours: list[str], theirs: list[str], runs: int, helper: int | None = None
) -> tuple[float, float, float, float]:
    """Medians of the two commands run in turns (one warm-up each first), so that both meet the same load
    on a shared machine rather than one all of a quiet minute and the other all of a busy one: wall time
    of ours and theirs, then CPU time (theirs counting `helper`, the OSV server it queries), which a
    loaded machine disturbs far less."""
    _once(ours), _once(theirs, helper)
    runs_ours, runs_theirs = [], []
    for _ in range(runs):
        runs_ours.append(_once(ours))
        runs_theirs.append(_once(theirs, helper))
    return (
        statistics.median(w for w, _ in runs_ours),
        statistics.median(w for w, _ in runs_theirs),
        statistics.median(c for _, c in runs_ours),
        statistics.median(c for _, c in runs_theirs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each command; medians are compared")
    parser.add_argument(
        "--osv-db",
        type=Path,
        default=ROOT.parent / "shared/vectors/osv-pypa/vulns",
        help="OSV records folder",
    )
    parser.add_argument("--only", choices=("sbom", "audit"), help="run one of the two comparisons")
    parser.add_argument("--large", type=int, default=300, help="packages in the large lock (default 300)")
    args = parser.parse_args()
    if not WHEELHOUSE.is_dir():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "-w",
                str(WHEELHOUSE),
                str(ROOT / "templates/example-server"),
            ],
            check=True,
        )
    work = Path(tempfile.mkdtemp(prefix="mh-bench-"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    wheel = next(WHEELHOUSE.glob("example_notes_mcp-*.whl"))
    report = work / "report.json"
    subprocess.run(
        [
            py,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(WHEELHOUSE),
            "--report",
            str(report),
            str(wheel),
        ],
        check=True,
    )
    packages = len(json.loads(report.read_text())["install"])

    # Bytecode as an installed wheel has it (pip compiles on install; pip-audit's is compiled): from a source
    # checkout under PYTHONDONTWRITEBYTECODE every run would otherwise recompile mcp-harden (~50 ms).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "pipeline")], check=True)
    mh = [sys.executable, "-m", "pipeline"]
    if args.only != "audit":
        bench_sbom(mh, py, report, work, packages, args.runs)
    if args.only != "sbom":
        bench_audit(mh, report, work, args)
    shutil.rmtree(work, ignore_errors=True)  # the venv and the locks made for the run


def bench_sbom(mh: list[str], py: str, report: Path, work: Path, packages: int, runs: int) -> None:
    ours, theirs, _, _ = paired(
        [*mh, "sbom", "--pip-report", str(report), "-o", str(work / "a.json")],
        [sys.executable, "-m", "cyclonedx_py", "environment", "-o", str(work / "b.json"), py],
        runs,
    )
    print(
        f"sbom  ({packages} packages): mcp-harden {ours:.2f} s, cyclonedx-py environment {theirs:.2f} s, "
        f"ratio {ours / theirs:.3f} (goal <= 0.2)"
    )


def bench_audit(mh: list[str], report: Path, work: Path, args: argparse.Namespace) -> None:
    if not args.osv_db.exists():
        print(f"audit: skipped, no OSV database at {args.osv_db}")
        return
    pins = json.loads(report.read_text())["install"]
    example = work / "req.txt"
    example.write_text("".join(f"{p['metadata']['name']}=={p['metadata']['version']}\n" for p in pins))
    # A large lock: the first packages the database knows, each at an early version (most are affected).
    names = sorted({p.name for p in args.osv_db.iterdir() if p.is_dir()})[: args.large]
    large = work / "large.txt"
    large.write_text("".join(f"{name}==0.1\n" for name in names))
    server = subprocess.Popen(
        [*mh, "vulndb", "serve", "--offline-db", str(args.osv_db), "--port", "0"],  # any free port
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        line = server.stderr.readline()  # "OSV API for N records at URL (Ctrl-C stops)": the server is up
        url = next((word for word in line.split() if word.startswith("http://127.0.0.1:")), "")
        if not url:
            raise SystemExit(f"vulndb serve did not start: {line.strip()}")
        aged = work / "policy.yaml"  # the shared snapshot is from 2024: accept its age, the load is timed
        aged.write_text("audit:\n  max_db_age_days: 100000\n")
        for label, req, count in (("example", example, len(pins)), ("large lock", large, len(names))):
            audit = [*mh, "audit", "-r", str(req), "--offline-db", str(args.osv_db), "--policy", str(aged)]
            ours, theirs, ours_cpu, theirs_cpu = paired(
                audit,
                [
                    PIP_AUDIT,
                    "-r",
                    str(req),
                    "--no-deps",
                    "--disable-pip",
                    "--vulnerability-service",
                    "osv",  # without it pip-audit asks PyPI, whatever --osv-url says
                    "--osv-url",
                    url,
                    "--cache-dir",
                    str(work / "cache"),
                ],
                args.runs,
                server.pid,
            )
            print(
                f"audit, {label} ({count} pins): mcp-harden (offline, in process) {ours:.2f} s, "
                f"pip-audit --osv-url {theirs:.2f} s, ratio {ours / theirs:.2f} (goal <= 0.33); CPU "
                f"{ours_cpu:.2f} s vs {theirs_cpu:.2f} s (its OSV server included), ratio {ours_cpu / theirs_cpu:.2f}"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
