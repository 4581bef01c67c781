"""Benchmark `mcp-harden check-endpoint` (a plain script, not a test): prints medians and ratios of one run.

    python benchmarks/bench_endpoint.py                  # one endpoint, 30 endpoints, testssl.sh if installed
    python benchmarks/bench_endpoint.py --count 10 --no-testssl
    python benchmarks/bench_endpoint.py --count 30 --fleet 300 --no-testssl   # the fleet ratio and memory

1. one complete check (TLS + MCP HTTP in both eras, 2026-07-28 and 2025-11-25, every token kind) of one
   loopback endpoint: the official `mcp` SDK server (dual-era) under uvicorn with trustme TLS (target: <= 2 s),
   median of several `mcp-harden check-endpoint` calls;
2. N endpoints (N SDK deployments) in one call (target: 30 in <= 10 s), with the checker's peak memory;
3. with --fleet M (e.g. 300): M endpoints in one call, its time against N's (target: <= 10x the time of 30)
   and peak memory (target: < 200 MiB); --fleet-runs K repeats that pair K times and prints every run (on a
   shared machine one run says little);
4. `testssl.sh` on the same endpoint, when installed, as the ratio of its time to ours (it checks TLS only).
The servers run in separate processes so they do not share the checker's interpreter.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def serve(count: int, folder: Path) -> None:
    """Child mode: start `count` SDK deployments, print their URLs as JSON, run until stdin closes.

    All of them run in one event loop: a thread per uvicorn server (two per deployment) made the stand-in
    fleet its own bottleneck, since each idle server wakes ten times a second and every wake-up is a GIL
    hand-off among hundreds of threads (300 idle deployments took 0.42 of the 2 cores, 30 took 0.07)."""
    from tests.endpoint.mcp_servers import Pki, serve_many, start_mcp

    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    deployments = [start_mcp(pki, start=False) for _ in range(count)]
    served = serve_many([pair for d in deployments for pair in d.unstarted], pki)
    print(json.dumps([d.url for d in deployments]), flush=True)
    sys.stdin.read()
    served.stop()


def _start_servers(count: int, procs: int, folder: Path) -> tuple[list[subprocess.Popen], list[str]]:
    children, urls = [], []
    shares = [count // procs + (1 if i < count % procs else 0) for i in range(procs)]
    for share in filter(None, shares):
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(share), "--folder", str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        children.append(child)
    listed = []
    for child in children:
        assert child.stdout is not None
        listed.append(json.loads(child.stdout.readline()))
    # One process's endpoints after the other's would make the checker, which starts endpoints in the order
    # given, load one stand-in process at a time: that process's single event loop, not the checker, then
    # bounds a fleet (1.4 of the 2 cores busy for 300, against 1.8 interleaved). A real fleet's endpoints are
    # separate machines, so the URLs alternate between the processes.
    for row in itertools.zip_longest(*listed):
        urls += [url for url in row if url is not None]
    return children, urls


def _cpu_of(children: list[subprocess.Popen]) -> float:
    """CPU seconds the server processes have used so far (Linux /proc; NaN elsewhere)."""
    total = 0.0
    try:
        for child in children:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")
    return total


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:  # never leave a server running
            child.kill()
            child.wait(10)


# Runs the CLI as `python -m pipeline` would, then reports the process's peak resident memory on stderr.
_MEASURED = (
    "import resource, runpy, sys\n"
    "sys.argv = ['mcp-harden', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('pipeline', run_name='__main__')\n"
    "finally:\n"
    "    use = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    sys.stderr.write(f'\\npeak-rss-kib {use.ru_maxrss}\\ncpu-seconds {use.ru_utime + use.ru_stime}\\n')\n"
    "    sys.stderr.write(f'cpu-user {use.ru_utime}\\ncpu-sys {use.ru_stime}\\n')\n"
)
LAST_PEAK_MIB = [0.0]
LAST_CPU = [0.0]  # the checker's own CPU seconds: on a shared machine, its share of the work
LAST_SYS = [0.0]  # of which in the kernel (sockets, loopback TCP)


def _check(urls: list[str], ca: Path, extra: list[str]) -> tuple[float, int, dict]:
    from tests.endpoint.mcp_servers import TOKENS

    cmd = [
        sys.executable,
        "-c",
        _MEASURED,
        "check-endpoint",
        *urls,
        "--ca-file",
        str(ca),
        "--format",
        "json",
    ]
    cmd += ["--token", TOKENS["alice"], "--foreign-token", TOKENS["foreign"], "--second-token", TOKENS["bob"]]
    cmd += ["--low-scope-token", TOKENS["low"], "--expired-token", TOKENS["expired"]]
    start = time.perf_counter()
    proc = subprocess.run(cmd + extra, capture_output=True, text=True, cwd=ROOT, check=False)
    took = time.perf_counter() - start
    peaks = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("peak-rss-kib ")]
    LAST_PEAK_MIB[0] = int(peaks[-1]) / 1024 if peaks else float("nan")
    cpu = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("cpu-seconds ")]
    LAST_CPU[0] = float(cpu[-1]) if cpu else float("nan")
    kernel = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("cpu-sys ")]
    LAST_SYS[0] = float(kernel[-1]) if kernel else float("nan")
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = {"error": proc.stderr.strip()}
    return took, proc.returncode, report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=30, help="endpoints for the many-endpoint run")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the one-endpoint check")
    parser.add_argument("--no-testssl", action="store_true")
    parser.add_argument("--fleet", type=int, default=0, help="also check this many endpoints in one call")
    parser.add_argument(
        "--fleet-runs", type=int, default=1, help="repeat the fleet pair (count, then fleet) this many times"
    )
    parser.add_argument("--server-procs", type=int, default=2, help="processes serving the test endpoints")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.folder)
        return

    import importlib.util

    from tests.endpoint.mcp_servers import make_pki

    extra = [] if importlib.util.find_spec("pipeline.endpoint.tls") else ["--no-tls"]
    if extra:
        print("note: pipeline.endpoint.tls is absent: HTTP checks only (--no-tls)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pki = make_pki(folder)

        children, urls = _start_servers(1, 1, folder)
        try:
            times = []
            for _ in range(args.repeat):
                took, code, report = _check(urls, pki.ca_file, extra)
                times.append(took)
            stage = report.get("stages", [{}])[0]
            ours = statistics.median(times)
            print(
                f"[one]    full check of one endpoint: median {ours:.2f} s over {args.repeat} calls "
                f"(min {min(times):.2f}, max {max(times):.2f}); exit {code}; "
                f"{stage.get('summary', {}).get('requests', '?')} HTTP requests; "
                f"in-stage {stage.get('summary', {}).get('seconds', '?')} s (target <= 2 s); "
                f"eras {stage.get('summary', {}).get('eras', '?')}; peak memory {LAST_PEAK_MIB[0]:.0f} MiB"
            )
            testssl = shutil.which("testssl") or shutil.which("testssl.sh")
            if testssl and not args.no_testssl:
                host_port = urls[0].split("/")[2]
                env = {**os.environ, "ADDITIONAL_CA_FILES": str(pki.ca_file)}
                start = time.perf_counter()
                subprocess.run(
                    [testssl, "--quiet", "--color", "0", "--warnings", "batch", "--add-ca", str(pki.ca_file),
                     host_port],
                    capture_output=True, env=env, check=False, timeout=900,
                )  # fmt: skip
                theirs = time.perf_counter() - start
                print(
                    f"[testssl] testssl.sh on the same endpoint: {theirs:.1f} s; ratio {theirs / ours:.0f}x "
                    "(testssl.sh checks TLS only; mcp-harden TLS + MCP HTTP)"
                )
            elif not args.no_testssl:
                print(
                    "[testssl] testssl.sh is not installed (apt-get install testssl.sh): ratio not measured"
                )
        finally:
            _stop(children)

        children, urls = _start_servers(args.count, 2, folder)
        try:
            took, code, report = _check(urls, pki.ca_file, extra)
            stages = report.get("stages", [])
            errors = [s["stage"] for s in stages if s.get("status") == "error"]
            eras = {s.get("summary", {}).get("eras") for s in stages}
            print(
                f"[many]   {len(urls)} endpoints in one call: {took:.2f} s, exit {code}, "
                f"{len(errors)} could not be checked, eras {sorted(map(str, eras))}, "
                f"peak memory {LAST_PEAK_MIB[0]:.0f} MiB (target <= 10 s for 30)"
            )
        finally:
            _stop(children)
        if args.fleet:
            # The test servers share the checker's cores: give every endpoint time enough that none is cut off,
            # and time the 30 the same way, so the ratio is the checker's and not a deadline's.
            fleet_extra = [*extra, "--timeout", "60", "--total-timeout", "900"]
            ratios = []
            for run in range(1, args.fleet_runs + 1):
                ratios.append(_fleet_run(args, folder, pki.ca_file, fleet_extra, run))
            if args.fleet_runs > 1:
                print(f"[fleet]  every run's ratio: {', '.join(f'{r:.1f}x' for r in ratios)} (target <= 10x)")


def _fleet_run(args: argparse.Namespace, folder: Path, ca: Path, fleet_extra: list[str], run: int) -> float:
    """One pair: `args.count` endpoints, then `args.fleet`, each in one call on servers started for it."""
    children, urls = _start_servers(args.count, args.server_procs, folder)
    try:
        served = _cpu_of(children)
        base, _, _ = _check(urls, ca, fleet_extra)
        base_cpu, base_sys = LAST_CPU[0], LAST_SYS[0]
        base_servers = _cpu_of(children) - served
    finally:
        _stop(children)
    children, urls = _start_servers(args.fleet, args.server_procs, folder)
    try:
        served = _cpu_of(children)
        took, code, report = _check(urls, ca, fleet_extra)
        servers_cpu = _cpu_of(children) - served
        stages = report.get("stages", [])
        errors = [s["stage"] for s in stages if s.get("status") == "error"]
        print(
            f"[fleet]  run {run}: {len(urls)} endpoints in one call: {took:.2f} s, {took / base:.1f}x the time "
            f"of {args.count} ({base:.2f} s; target <= 10x for 300 vs 30), exit {code}, {len(errors)} could not "
            f"be checked, peak memory {LAST_PEAK_MIB[0]:.0f} MiB (target < 200 MiB); the checker's own CPU "
            f"{LAST_CPU[0]:.1f} s vs {base_cpu:.1f} s ({LAST_CPU[0] / base_cpu:.1f}x; in the kernel "
            f"{LAST_SYS[0]:.1f} s vs {base_sys:.1f} s); checker and stand-in servers together "
            f"{LAST_CPU[0] + servers_cpu:.1f} s vs {base_cpu + base_servers:.1f} s "
            f"({(LAST_CPU[0] + servers_cpu) / (base_cpu + base_servers):.1f}x, the work itself, which "
            "a busy machine does not skew); load average "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (others' work on the machine skews it)",
            flush=True,
        )
        for stage in [s for s in stages if s.get("status") == "error"][:3]:
            print(f"         could not check {stage['stage']}: {str(stage.get('error'))[:160]}")
    finally:
        _stop(children)
    return took / base


if __name__ == "__main__":
    main()
