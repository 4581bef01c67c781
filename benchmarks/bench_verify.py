"""Benchmark `mcp-harden verify` (a plain script, not a test): prints medians and ratios measured in one run.

    python benchmarks/bench_verify.py                       # 100 artifacts, 64 MiB hash check, --help start-up
    python benchmarks/bench_verify.py --count 20 --size-mib 1024   # the 1 GiB hashing/memory check

1. one `mcp-harden verify` call over N sandbox-signed artifacts vs N calls of
   `python -m sigstore verify identity --offline` on the same bundles (target: >= 10x faster in total);
2. hashing a large artifact: `sha256_file` throughput vs `openssl dgst -sha256` (target: >= 0.9x; the issue's
   `sha256sum` is shown too, but here it is six times slower than OpenSSL, so OpenSSL is the bar), and the peak RSS of a
   whole `mcp-harden verify` of that file (target: < 100 MiB);
3. `mcp-harden verify --help` start-up (target: < 0.3 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENV = {
    "GITHUB_REPOSITORY": "bench/server",
    "GITHUB_REF": "refs/tags/v1.0.0",
    "GITHUB_SHA": "c" * 40,
    "GITHUB_WORKFLOW_REF": "bench/server/.github/workflows/release.yml@refs/tags/v1.0.0",
    "GITHUB_EVENT_NAME": "release",
}
IDENTITY = "https://github.com/bench/server/.github/workflows/release.yml@refs/tags/v1.0.0"


def _run(cmd: list[str]) -> tuple[float, int, int]:
    """Wall time, exit code and peak RSS (KiB) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, os.waitstatus_to_exitcode(status), usage.ru_maxrss


def bench_many(work: Path, sandbox: Path, count: int) -> None:
    from pipeline.sign import sign_files

    files = []
    for i in range(count):
        path = work / f"artifact-{i:03d}.bin"
        path.write_bytes(os.urandom(4096))
        files.append(path)
    sign_files(files, instance="sandbox", sandbox_dir=sandbox, env=ENV)
    root = sandbox / "trusted_root.json"
    ours, code, _ = _run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "verify",
            *map(str, files),
            "--trusted-root",
            str(root),
            "--repository",
            "bench/server",
            "--ref",
            "refs/tags/v*",
        ]
    )
    assert code == 0, f"mcp-harden verify failed ({code})"
    theirs = 0.0
    per_call = []
    for path in files:
        took, code, _ = _run(
            [
                sys.executable,
                "-m",
                "sigstore",
                "--trust-config",
                str(sandbox / "trust_config.json"),
                "verify",
                "identity",
                "--offline",
                "--bundle",
                f"{path}.sigstore.json",
                "--cert-identity",
                IDENTITY,
                "--cert-oidc-issuer",
                "https://sandbox.mcp-harden.invalid",
                str(path),
            ]
        )
        assert code == 0, f"sigstore verify failed ({code})"
        theirs += took
        per_call.append(took)
    print(
        f"[many]   {count} artifacts: mcp-harden verify (1 call) {ours:.2f} s; "
        f"python -m sigstore verify identity ({count} calls) {theirs:.2f} s "
        f"(median {statistics.median(per_call):.3f} s/call); ratio {theirs / ours:.1f}x (target >= 10x)"
    )


def bench_hash(work: Path, sandbox: Path, size_mib: int) -> None:
    from pipeline.fileio import sha256_file
    from pipeline.sign import sign_files

    big = work / "big.bin"
    block = os.urandom(1 << 20)
    with big.open("wb") as handle:
        for _ in range(size_mib):
            handle.write(block)
    ours, openssl, coreutils = [], [], []
    for _ in range(3):
        start = time.perf_counter()
        sha256_file(big)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(["openssl", "dgst", "-sha256", str(big)], check=True, capture_output=True)
        openssl.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(["sha256sum", str(big)], check=True, capture_output=True)
        coreutils.append(time.perf_counter() - start)
    o, t, c = statistics.median(ours), statistics.median(openssl), statistics.median(coreutils)
    print(
        f"[hash]   {size_mib} MiB: sha256_file {size_mib / o:.0f} MiB/s, openssl dgst {size_mib / t:.0f} MiB/s, "
        f"sha256sum {size_mib / c:.0f} MiB/s; throughput ratio vs openssl {t / o:.2f}x (target >= 0.9x), "
        f"vs sha256sum {c / o:.2f}x (target >= 0.8x)"
    )
    sign_files([big], instance="sandbox", sandbox_dir=sandbox, env=ENV)
    took, code, rss = _run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "verify",
            str(big),
            "--trusted-root",
            str(sandbox / "trusted_root.json"),
            "--repository",
            "bench/server",
        ]
    )
    assert code == 0, f"verify of the big file failed ({code})"
    print(
        f"[memory] mcp-harden verify of {size_mib} MiB: {took:.2f} s, peak RSS {rss / 1024:.0f} MiB (target < 100 MiB)"
    )
    big.unlink()


def bench_help(runs: int = 7) -> None:
    times = [_run([sys.executable, "-m", "pipeline", "verify", "--help"])[0] for _ in range(runs)]
    print(
        f"[start]  mcp-harden verify --help: median {statistics.median(times):.3f} s over {runs} runs (target < 0.3 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=100, help="artifacts for the many-artifacts comparison")
    parser.add_argument(
        "--size-mib", type=int, default=64, help="size of the large artifact (1024 = 1 GiB; 0 skips)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        work = Path(tmp)
        sandbox = work / "sandbox"
        bench_help()
        if args.count:
            bench_many(work, sandbox, args.count)
        if args.size_mib:
            bench_hash(work, sandbox, args.size_mib)


if __name__ == "__main__":
    main()
