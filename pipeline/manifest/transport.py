"""A bounded stdio transport for the official `mcp` client.

The SDK's own stdio transport buffers a line without limit and passes stderr through. A server under review
is untrusted: here every read is capped (one line, all of stdout, the stderr we keep), a malformed line ends
the session at once with a message that says so, and the whole process group is killed on the way out.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import CheckError

_NEWLINES = re.compile(rb"\n+")  # a run of newlines is one separator: blank lines cost nothing
MAX_LINE = 16 << 20  # one JSON-RPC message
MAX_STDOUT = 64 << 20  # everything a server may write during one capture
STDERR_KEEP = 64 << 10  # stderr kept for the error message; the rest is read and dropped
# Requests from the server to the client (ping, roots/list, sampling/createMessage): a capture asks for
# nothing the server needs to ask back about, and the SDK spawns a task per request, so a flood of them
# is work and memory without end. Past this many the capture ends, with a message that says so.
MAX_SERVER_REQUESTS = 64
# Notifications carry nothing a record keeps (log lines, progress); past this many they are dropped
# unread rather than handed to the SDK, which would spawn a task for each.
MAX_NOTIFICATIONS = 1000


# asyncio's thread child watcher (Python 3.11) says this when it reaps a server after the capture's event loop
# has closed, which a loaded machine can bring about after the kill below. The child is dead and reaped by
# then: the warning carries nothing for the user and would break the one-line error on stderr.
LATE_REAP_WARNING = "Loop %r that handles pid %r is closed"


def _not_late_reap(record: logging.LogRecord) -> bool:
    return record.msg != LATE_REAP_WARNING


def quiet_late_reaping() -> None:
    """Drop asyncio's late-reaping warning (only that one); safe to call more than once."""
    asyncio_logger = logging.getLogger("asyncio")
    if _not_late_reap not in asyncio_logger.filters:
        asyncio_logger.addFilter(_not_late_reap)


@dataclass
class ChildState:
    """What the transport saw; read after the client fails, to say why in one line."""

    error: str | None = None
    stderr: bytearray = field(default_factory=bytearray)
    stderr_dropped: int = 0
    returncode: int | None = None
    eof: bool = False
    server_requests: int = 0
    notifications_dropped: int = 0
    notifications: int = 0
    on_error: Callable[[], None] | None = None

    def fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
        if self.on_error is not None:
            self.on_error()

    def stderr_tail(self, limit: int = 160) -> str:
        lines = [ln.strip() for ln in self.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        if not lines:
            return ""
        tail = " ".join(lines[-1].split())
        return tail if len(tail) <= limit else tail[: limit - 1] + "…"


def _excerpt(raw: bytes, limit: int = 60) -> str:
    text = raw[:limit].decode("utf-8", "replace")
    return repr(text) + ("…" if len(raw) > limit else "")


@asynccontextmanager
async def bounded_stdio(
    command: str,
    args: list[str],
    *,
    env: dict[str, str] | None,
    cwd: str | None,
    state: ChildState,
) -> AsyncIterator[Any]:
    """Spawn the server in its own process group and yield (read_stream, write_stream) for the SDK."""
    import anyio

    quiet_late_reaping()
    import mcp_types as types
    from mcp.shared.message import SessionMessage

    try:
        process = await anyio.open_process(
            [command, *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise CheckError(f"cannot start the server: {exc.strerror or exc}") from None

    read_writer, read_stream = anyio.create_memory_object_stream[Any](0)
    write_stream, write_reader = anyio.create_memory_object_stream[Any](0)

    async def stdout_reader() -> None:
        assert process.stdout is not None
        buffer = bytearray()
        total = 0
        async with read_writer:
            try:
                async for chunk in process.stdout:
                    total += len(chunk)
                    if total > MAX_STDOUT:
                        state.fail(f"server wrote more than {MAX_STDOUT >> 20} MiB on stdout")
                        return
                    buffer += chunk
                    if b"\n" not in chunk:
                        lines: list[bytes] = []
                    else:
                        # One split per chunk: a flood of short or blank lines costs no more than one line.
                        *parts, rest = _NEWLINES.split(bytes(buffer))
                        buffer = bytearray(rest)
                        lines = [part for part in parts if part]
                    for line in lines:
                        if not line.strip():
                            continue
                        if len(line) > MAX_LINE:
                            break  # reported below, as for a line still unfinished
                        try:
                            message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                        except ValueError:
                            state.fail(f"server sent malformed JSON-RPC on stdout: {_excerpt(line)}")
                            return
                        if isinstance(message, types.JSONRPCRequest):
                            state.server_requests += 1
                            if state.server_requests > MAX_SERVER_REQUESTS:
                                state.fail(
                                    f"server sent more than {MAX_SERVER_REQUESTS} requests to the client "
                                    f"(the last: {message.method[:60]!r})"
                                )
                                return
                        elif isinstance(message, types.JSONRPCNotification):
                            state.notifications += 1
                            if state.notifications > MAX_NOTIFICATIONS:
                                state.notifications_dropped += 1
                                continue
                        await read_writer.send(SessionMessage(message))
                    if len(buffer) > MAX_LINE or any(len(line) > MAX_LINE for line in lines):
                        state.fail(f"server sent a line longer than {MAX_LINE >> 20} MiB on stdout")
                        return
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
                return
            state.eof = True

    async def stderr_reader() -> None:
        assert process.stderr is not None
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            async for chunk in process.stderr:
                room = STDERR_KEEP - len(state.stderr)
                if room > 0:
                    state.stderr += chunk[:room]
                state.stderr_dropped += max(0, len(chunk) - max(room, 0))

    async def stdin_writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for session_message in write_reader:
                    data = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send((data + "\n").encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_writer.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdout_reader)
        tg.start_soon(stderr_reader)
        tg.start_soon(stdin_writer)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(process, state)
            tg.cancel_scope.cancel()


async def _stop(process: Any, state: ChildState) -> None:
    """Close stdin, give the server a moment, then kill its whole process group."""
    import anyio

    with suppress(Exception):
        await process.stdin.aclose()
    with anyio.move_on_after(0.5):
        await process.wait()
    # SIGKILL cannot be refused, so waiting for it is bounded; the longer wait there keeps the process from
    # being reaped after the event loop has closed (asyncio then warns on stderr) on a loaded machine.
    for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with anyio.move_on_after(wait):
            await process.wait()
        if process.returncode is not None and sig == signal.SIGTERM:
            # The leader is gone; children left in its group still get the hard kill.
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            break
    state.returncode = process.returncode
    # Closes the pipes too: a pipe left open (a reader paused on a full buffer) would outlive the event loop.
    with anyio.move_on_after(1.0), suppress(Exception):
        await process.aclose()
