"""Runs many `mcp-harden` command lines in one process, for tests that measure time and memory.

    python -m tests.bounds_runner CASES.json  ->  JSON on stdout: {"results": [...], "peak_rss_mib": N}

Each case is {"argv": [...], "cwd": "..."}; each result is {"code", "out", "err", "seconds", "peak_mib" (the process's peak so far)}. A case that runs
past `limit` seconds is stopped by SIGALRM and reported with code "timeout". The peak RSS is the whole
process's (VmHWM), so it bounds every case's peak (plus what the imports cost).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import time
from typing import Any


def peak_rss_mib() -> float:
    """This process image's peak RSS: VmHWM, which starts afresh at exec. (`ru_maxrss` does not: on Linux
    it keeps the RSS the process had when it was forked, that is pytest's, hundreds of MiB late in a run.)"""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


class _Timeout(BaseException):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def run(cases: list[dict[str, Any]], limit: float) -> dict[str, Any]:
    from pipeline.cli import main

    signal.signal(signal.SIGALRM, _alarm)
    results = []
    home = os.getcwd()
    for case in cases:
        err, out = io.StringIO(), io.StringIO()
        os.chdir(case.get("cwd") or home)
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                code: Any = main(case["argv"])
        except _Timeout:
            code = "timeout"
        except SystemExit as exc:  # argparse
            code = exc.code
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            os.chdir(home)
        elapsed = time.monotonic() - started
        peak = peak_rss_mib()
        results.append(
            {
                "code": code,
                "out": out.getvalue()[-4000:],
                "err": err.getvalue(),
                "seconds": elapsed,
                "peak_mib": peak,
            }
        )
    return {"results": results, "peak_rss_mib": peak_rss_mib()}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    json.dump(run(spec["cases"], spec.get("limit", 10.0)), sys.stdout)
