"""Shared helpers for the manifest tests: the CLI in-process, real servers on loopback, test servers."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_SERVER, ROOT, CliResult, run_cli

PY = sys.executable
SERVERS = Path(__file__).resolve().parent / "servers"
RUGPULL = str(SERVERS / "rugpull.py")
HOSTILE = str(SERVERS / "hostile.py")
EXAMPLE_SRC = str(EXAMPLE_SERVER / "src")
# The example server over stdio, as a user would run it from a checkout.
EXAMPLE_CMD = ["--env", f"PYTHONPATH={EXAMPLE_SRC}", "--", PY, "-m", "example_server"]
EVERYTHING_BIN = ROOT / ".tools" / "npm" / "node_modules" / ".bin" / "mcp-server-everything"


def cli(*args: str) -> CliResult:
    """`mcp-harden ARGS` in this process (the servers it starts are still real processes)."""
    return run_cli(*args)


def report(result: CliResult) -> dict[str, Any]:
    """The JSON report a `--format json` run printed."""
    data = json.loads(result.out)
    assert data["exit_code"] == result.code
    return data


def stage(result: CliResult) -> dict[str, Any]:
    (only,) = report(result)["stages"]
    return only


def incomplete(result: CliResult) -> str:
    """A run that could not check: exit 3, nothing on stderr (no traceback), and the reason, one line that
    says where, in the JSON report (`--format json`)."""
    assert result.code == 3, result.out + result.err
    assert result.err == "", result.err
    error = stage(result)["error"]
    assert error and "\n" not in error and "Traceback" not in error
    return error


def kinds(result: CliResult) -> list[str]:
    return [f["properties"]["kind"] for f in stage(result)["findings"]]


@pytest.fixture(autouse=True)
def _no_policy_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty folder: no ./mcp-harden.yaml from the checkout changes the defaults."""
    monkeypatch.chdir(tmp_path)


@contextmanager
def serve_app(app: Any, **tls: str) -> Iterator[int]:
    """Serve an ASGI app with uvicorn on an ephemeral 127.0.0.1 port, in a thread; yields the port.
    `tls`: uvicorn's ssl_certfile / ssl_keyfile."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on", **tls)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def example_url() -> Iterator[str]:
    """The example server over Streamable HTTP, in-process."""
    sys.path.insert(0, EXAMPLE_SRC)
    try:
        from example_server.server import server

        with serve_app(server.streamable_http_app()) as port:
            yield f"http://127.0.0.1:{port}/mcp"
    finally:
        sys.path.remove(EXAMPLE_SRC)


@contextmanager
def raw_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A plain TCP server on 127.0.0.1 that gives each connection to `handle` (in its own thread)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=_guarded, args=(handle, conn), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for conn in connections:
            conn.close()


def _guarded(handle: Callable[[socket.socket], None], conn: socket.socket) -> None:
    with suppress(OSError):
        handle(conn)
