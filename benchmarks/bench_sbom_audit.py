"""SBOM and audit stages against the raw tools, side by side in one run (ratios of medians).

    python benchmarks/bench_sbom_audit.py [--runs 3] [--osv-db PATH]

SBOM: `mcp-harden sbom --pip-report` (validation included) vs `cyclonedx-py environment` (validation on) on
the same environment: the example server installed in a fresh venv from the local wheelhouse. Goal ≤ 0.2×.
Audit: `mcp-harden audit --offline-db` (database load included; pip-audit's OSV service answering from the
database in process) vs plain `pip-audit -r -s osv --osv-url` against an OSV server on 127.0.0.1 serving the
same database, on the example's pins and on a large lock (300 packages). Goal ≤ 0.33× (3× faster).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / ".tools" / "wheelhouse"


def timed(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
        )
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}): {proc.stderr[-400:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--osv-db", type=Path, default=ROOT.parent / "shared/vectors/osv-pypa/vulns")
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

    mh = [sys.executable, "-m", "pipeline"]
    ours = timed([*mh, "sbom", "--pip-report", str(report), "-o", str(work / "a.json")], args.runs)
    theirs = timed(
        [sys.executable, "-m", "cyclonedx_py", "environment", "-o", str(work / "b.json"), py], args.runs
    )
    print(
        f"sbom  ({packages} packages): mcp-harden {ours:.2f} s, cyclonedx-py environment {theirs:.2f} s, "
        f"ratio {ours / theirs:.3f} (goal <= 0.2)"
    )

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
    port = 18765
    server = subprocess.Popen(
        [*mh, "vulndb", "serve", "--offline-db", str(args.osv_db), "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        server.stderr.readline()  # "OSV API ... at URL": the server is up
        url = f"http://127.0.0.1:{port}/v1/query"
        aged = work / "policy.yaml"  # the shared snapshot is from 2024: accept its age, the load is timed
        aged.write_text("audit:\n  max_db_age_days: 100000\n")
        for label, req, count in (("example", example, len(pins)), ("large lock", large, len(names))):
            audit = [*mh, "audit", "-r", str(req), "--offline-db", str(args.osv_db), "--policy", str(aged)]
            ours = timed(audit, args.runs)
            theirs = timed(
                [
                    "pip-audit",
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
            )
            print(
                f"audit, {label} ({count} pins): mcp-harden (offline, in process) {ours:.2f} s, "
                f"pip-audit --osv-url {theirs:.2f} s, ratio {ours / theirs:.2f} (goal <= 0.33)"
            )
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
