"""Shared test helpers. Tests reach loopback only; vectors from ../shared are optional extras."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "vectors"
EXAMPLE_SERVER = ROOT / "templates" / "example-server"

# The exit code run_cli gives a run that ended in an uncaught exception: a traceback a user would have seen.
# No command exits with it, so any test that checks the code fails; the traceback is in `err`.
UNCAUGHT = 99


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def _child_env(env: dict[str, str] | None) -> dict[str, str]:
    """The environment `mcp-harden` runs with: this one, `env` on top, this checkout on PYTHONPATH (for
    the processes it starts, e.g. `python -m pipeline ...`)."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH")]))
    return full_env


def run_cli_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> CliResult:
    """Run `python -m pipeline ARGS` in a subprocess, as a user would: for the tests whose point is the
    process (its exit status, signals, what it prints to a real stderr, a hang killed from outside)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=_child_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


class _Timeout(BaseException):
    """Raised in the main thread when an in-process run is past its timeout (SIGALRM)."""


def _alarm(signum: int, frame: Any) -> NoReturn:
    raise _Timeout


@contextmanager
def _captured_fd(fd: int) -> Iterator[io.BufferedRandom]:
    """File descriptor `fd` pointed at a temporary file for the block (the processes `mcp-harden` starts
    write there too, as they would to a subprocess's pipe); restored afterwards."""
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(fd)
        try:
            os.dup2(sink.fileno(), fd)
            yield sink
        finally:
            os.dup2(saved, fd)
            os.close(saved)


@contextmanager
def _process_state(cwd: Path | None, env: dict[str, str]) -> Iterator[None]:
    """What a process has of its own, set for one in-process run and put back afterwards, whatever the run
    changed: environment, working directory, umask, signal handlers and the interval timer, logging
    configuration, warnings filters, sys.path, the socket default timeout, the recursion limit."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    saved_signals = {
        s: signal.getsignal(s) for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)
    }
    saved_path = list(sys.path)
    saved_timeout = socket.getdefaulttimeout()
    saved_recursion = sys.getrecursionlimit()
    root = logging.getLogger()
    loggers = [
        root,
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    saved_logging = {id(lg): (lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers}
    saved_disable = logging.root.manager.disable
    try:
        os.environ.clear()
        os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        with warnings.catch_warnings():
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        os.umask(saved_umask)
        for sig, handler in saved_signals.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)
        sys.path[:] = saved_path
        socket.setdefaulttimeout(saved_timeout)
        sys.setrecursionlimit(saved_recursion)
        for logger, handlers, level, propagate, disabled in saved_logging.values():
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
        logging.disable(saved_disable)
        for made in logging.Logger.manager.loggerDict.values():  # loggers the run created
            if isinstance(made, logging.Logger) and id(made) not in saved_logging:
                made.handlers[:] = [h for h in made.handlers if not isinstance(h, logging.StreamHandler)]


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> CliResult:
    """`mcp-harden ARGS` as a user would run it, but in this process: `pipeline.cli.main(ARGS)` with
    stdout and stderr captured (at the file-descriptor level too, so what the processes it starts print is
    in them, as with a subprocess), stdin empty, `env` added to the environment, `cwd` as the working
    directory, and everything a process has of its own put back afterwards (see `_process_state`).

    As from a process: `SystemExit` is its code; an uncaught exception is a traceback on stderr, with code
    UNCAUGHT (99), so `assert_one_line_error` and every code check fail on it. A run past `timeout` raises
    `subprocess.TimeoutExpired`, as `subprocess.run` would (SIGALRM; in the main thread only)."""
    from pipeline.cli import main

    code: int
    tail = ""
    in_main = threading.current_thread() is threading.main_thread()
    with (
        _process_state(cwd, _child_env(env)),
        _captured_fd(1) as out_sink,
        _captured_fd(2) as err_sink,
    ):
        out = io.TextIOWrapper(os.fdopen(os.dup(1), "wb"), encoding="utf-8", write_through=True)
        err = io.TextIOWrapper(
            os.fdopen(os.dup(2), "wb"), encoding="utf-8", errors="backslashreplace", write_through=True
        )
        saved_streams = sys.stdin, sys.stdout, sys.stderr
        stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (closed below)
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        if in_main:
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        timed_out = False
        try:
            code = int(main(list(args)))
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:  # as the interpreter does with `sys.exit("message")`
                print(exc.code, file=err)
                code = 1
        except _Timeout:
            timed_out = True
            code = UNCAUGHT
        except Exception:  # a user would see this traceback: a failing result
            tail = traceback.format_exc()
            code = UNCAUGHT
        finally:
            if in_main:
                signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            stdin.close()
            out.close()
            err.close()
        out_sink.seek(0)
        err_sink.seek(0)
        result = CliResult(code, out_sink.read().decode("utf-8"), err_sink.read().decode("utf-8") + tail)
    if timed_out:
        raise subprocess.TimeoutExpired(["mcp-harden", *args], timeout, result.out, result.err)
    return result


def assert_one_line_error(result: CliResult) -> str:
    """Bad input ends in exactly one line on stderr, never a traceback."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert "Traceback" not in result.err, result.err
    assert len(lines) == 1, result.err
    return lines[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On pytest-xdist workers (`nox -s tests`), the files that hold a `slow` test come first, each file's
    tests in their order: the longest work starts first and the run does not end waiting on one of them.
    Every worker sorts the same way, so they collect the same list; a plain run keeps the usual order."""
    if not hasattr(config, "workerinput"):
        return
    slow_files = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_files)


@pytest.fixture(scope="session")
def osv_pypa() -> Path:
    path = SHARED / "osv-pypa" / "vulns"
    if not path.is_dir():
        pytest.skip("../shared/vectors/osv-pypa is absent: the real-advisory extras need it")
    return path


def serve_bytes(body: bytes, status: int = 200, path: str = "/PyPI/all.zip") -> tuple[Any, str]:
    """An HTTP server on 127.0.0.1 answering every GET with `status` and `body`; (server, URL of `path`).
    The caller shuts it down."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}{path}"


def provisioning() -> Any:
    """`.ci/provision.py`, which gathers what the tests run for real (each part made on first use)."""
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import provision  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    return provision


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """The wheels `.ci/provision.py` gathered for offline resolutions (built on first use)."""
    return Path(provisioning().wheelhouse())


@pytest.fixture(scope="session")
def act_wheelhouse() -> Path:
    """Every wheel of the workflows' hash lock, which they install from under act."""
    return Path(provisioning().act_wheelhouse())
