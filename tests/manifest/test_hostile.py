"""Hostile servers: every one ends in bounded time with exit 3 and one line that says what and where.

The stdio cases run the real CLI in a subprocess, so anything printed at interpreter exit (an "Exception
ignored" traceback from a pipe left open) is seen too.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, run_cli_process
from tests.manifest.conftest import HOSTILE, PY, RUGPULL, cli, incomplete, raw_server, stage

HANG = 1.5  # --timeout for servers that never answer
CAPPED = 20.0  # --timeout for servers stopped by a size cap: they must end long before it
# Interpreter start-up, the server's start-up, and the kill of its process group (at most ~2.5 s).
MARGIN = 4.0


def capture(*target: str, tmp_path: Path, timeout: float) -> tuple[CliResult, float]:
    out = tmp_path / "never.json"
    started = time.monotonic()
    result = run_cli_process(
        "manifest", "capture", "-o", str(out), "--timeout", f"{timeout:g}", "--format", "json", *target, timeout=60
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert not out.exists(), "a failed capture must not write a record"
    return result, elapsed


@pytest.mark.parametrize(
    ("mode", "timeout", "message"),
    [
        ("hang", HANG, f"no complete answer within {HANG:g} s"),
        (
            "crash",
            CAPPED,
            "server closed its output before answering (exit code 3); its stderr ends: panic: out of cheese",
        ),
        (
            "silent-exit",
            CAPPED,
            "(exit code 7); its stderr ends: fatal: config file /etc/nope.toml not found",
        ),
        ("flood", CAPPED, "server wrote more than 64 MiB on stdout"),
        ("malformed", CAPPED, "server sent malformed JSON-RPC on stdout: 'this is not json-rpc'"),
        ("huge", CAPPED, "server sent a line longer than 16 MiB on stdout"),
        ("cursor-loop", CAPPED, "server repeats the pagination cursor 'again' in tools/list"),
        ("endless-pages", CAPPED, "server lists more than 20000 tools"),
    ],
)
def test_hostile_stdio_server(mode: str, timeout: float, message: str, tmp_path: Path) -> None:
    result, elapsed = capture("--", PY, HOSTILE, mode, tmp_path=tmp_path, timeout=timeout)
    error = incomplete(result)
    assert error.startswith(f"{PY} {HOSTILE} {mode}: "), error
    assert message in error
    limit = HANG if timeout == HANG else 8.0  # the capped ones end on their own, well before the deadline
    assert elapsed < limit + MARGIN, elapsed


def test_whole_process_group_is_killed(tmp_path: Path) -> None:
    """A server that starts a child and hangs: after the timeout, the child is gone as well."""
    pidfile = tmp_path / "child.pid"
    result, elapsed = capture("--", PY, HOSTILE, "orphan", str(pidfile), tmp_path=tmp_path, timeout=3)
    assert "no complete answer within 3 s" in incomplete(result)
    assert elapsed < 3 + MARGIN
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), f"the server's child {pid} outlived the capture"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its reaper is dead
        return " Z " not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:4]
    except OSError:
        return False


def test_environment_is_minimal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets in our environment do not reach a launched server: it exits 9 if it can see one."""
    monkeypatch.setenv("CI_SECRET_TOKEN", "hunter2")
    probe = "import os, sys; sys.exit(9 if 'CI_SECRET_TOKEN' in os.environ else 0)"
    result = cli(
        "manifest", "capture", "-o", str(tmp_path / "never.json"), "--format", "json", "--", PY, "-c", probe
    )
    assert "(exit code 0)" in incomplete(result)


# --- HTTP endpoints that misbehave (raw sockets: no HTTP library on the server side) ---------------------


def _read_request(conn: socket.socket) -> None:
    conn.settimeout(5)
    conn.recv(65536)


def hang(conn: socket.socket) -> None:
    _read_request(conn)
    time.sleep(30)


def not_http(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"\x00\xffGARBAGE, not HTTP at all\r\n\r\n")
    time.sleep(30)


def bad_json(conn: socket.socket) -> None:
    body = b"this is not json"
    while True:  # every request on the connection gets the same answer
        _read_request(conn)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        conn.sendall(head + body)


def flood(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
    line = b": " + b"x" * 65536 + b"\n"
    while True:
        conn.sendall(line)


def server_error(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops")


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (hang, f"no complete answer within {HANG:g} s"),
        (not_http, "RemoteProtocolError"),
        # The SDK reports it through its log or its exception, whichever comes first: both quote the body.
        (bad_json, "this is not json"),
        (flood, "server sent more than 64 MiB"),
        (server_error, "capture failed: MCPError"),
    ],
)
def test_hostile_http_endpoint(
    handler: Callable[[socket.socket], None], message: str, tmp_path: Path
) -> None:
    """In-process: the SDK's own logging (a traceback for bad JSON) must not reach stderr either."""
    out = tmp_path / "never.json"
    with raw_server(handler) as url:
        started = time.monotonic()
        result = cli(
            "manifest", "capture", "--url", url, "--timeout", f"{HANG:g}", "-o", str(out), "--format", "json"
        )
        elapsed = time.monotonic() - started
    error = incomplete(result)
    assert error.startswith(f"{url}: "), error
    assert message in error
    assert elapsed < HANG + MARGIN, elapsed
    assert not out.exists()


def test_nothing_listening(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp"
    result = cli("manifest", "capture", "--url", url, "-o", str(tmp_path / "never.json"), "--format", "json")
    assert incomplete(result).startswith(f"{url}: capture failed: ConnectError")


def test_diff_against_a_hanging_server_is_incomplete_not_clean(tmp_path: Path) -> None:
    record = tmp_path / "pinned.json"
    assert cli("manifest", "capture", "-o", str(record), "--", PY, RUGPULL).code == 0
    started = time.monotonic()
    result = run_cli_process(
        "manifest", "diff", str(record), "--timeout", "1", "--format", "json", "--", PY, HOSTILE, "hang"
    )
    assert time.monotonic() - started < 1 + MARGIN
    assert "no complete answer within 1 s" in incomplete(result)
    assert stage(result)["summary"]["pinned"].startswith("sha256:")
