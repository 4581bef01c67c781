"""Capture what an MCP server shows a model, through the official `mcp` client.

One function per transport target, both ending in the same plain dict (wire field names, camelCase, as
`model_dump(by_alias=True, exclude_none=True, mode="json")` gives them). Everything runs under one deadline;
a server that hangs, crashes, floods or answers garbage ends in a `CheckError` (exit 3) naming what happened.
"""

from __future__ import annotations

import logging
import os
import signal
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import CheckError, UsageError, one_line
from pipeline.manifest.transport import ChildState, bounded_stdio

# What a launched server inherits from us: enough to run, no credentials (CI secrets live in the environment).
INHERITED_ENV = (
    "HOME",
    "LOGNAME",
    "PATH",
    "SHELL",
    "TERM",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "NODE_PATH",
    "SYSTEMROOT",
)
MAX_PAGES = 1000  # per list: a paginator that never ends cannot keep us forever
MAX_ENTRIES = 20000  # per list
MAX_HTTP_BYTES = 64 << 20  # everything an HTTP server may send during one capture


@dataclass
class StdioTarget:
    command: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] | None = None  # added over the inherited environment
    cwd: str | None = None
    name: str | None = None  # the server's key in a client configuration

    def describe(self) -> str:
        return " ".join([self.command, *self.args])


@dataclass
class HttpTarget:
    url: str
    token: str | None = None
    ca_file: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None

    def describe(self) -> str:
        return self.url


Target = StdioTarget | HttpTarget


def minimal_environment() -> dict[str, str]:
    return {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}


class _SdkLog(logging.Handler):
    """Keeps the SDK's log lines (tracebacks included) off the user's terminal. Before the capture is
    complete, an error the client logs about the server's answers, or a tool it drops, ends the capture
    with that reason: the record must be what the server sent, whole."""

    def __init__(self, state: ChildState) -> None:
        super().__init__(logging.WARNING)
        self.state = state
        self.complete = False

    def emit(self, record: logging.LogRecord) -> None:
        if self.complete or not record.name.startswith("mcp.client"):
            return
        message = " ".join(record.getMessage().split())
        if record.levelno >= logging.ERROR:
            exc = record.exc_info[1] if record.exc_info else None
            self.state.fail(f"{message}: {_exception_line(exc)}" if exc is not None else message)
        elif message.startswith("dropping tool"):
            self.state.fail(f"the mcp client is {message}; the record cannot pin what it drops")


def _exception_line(exc: BaseException) -> str:
    """One short line; a pydantic error gives its first problem and the start of the offending input."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__name__ == "ValidationError":
        try:
            first = errors()[0]
            raw = first.get("input")
            got = f" (got {_short_input(raw)})" if isinstance(raw, (bytes, str)) else ""
            return f"{first['msg']}{got}"
        except (TypeError, KeyError, IndexError):
            pass
    return one_line(exc, with_type=False, limit=200)


def _short_input(raw: bytes | str, limit: int = 60) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def capture(target: Target, *, timeout: float) -> dict[str, Any]:
    """Connect, list everything (to the last page), disconnect. Returns the raw server description."""
    import anyio

    if not timeout > 0:
        raise UsageError(f"the timeout must be a positive number of seconds (got {timeout:g})")
    if isinstance(target, HttpTarget) and target.ca_file:
        _ssl_context(target.ca_file)  # a CA file we cannot use is the caller's error (exit 2), checked first
    try:
        return anyio.run(_capture, target, timeout)
    except CheckError:
        raise
    except UsageError:
        raise
    except BaseException as exc:  # the SDK raises many kinds; each becomes one line
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise CheckError(_describe_exception(exc), where=target.describe()) from None


def _describe_exception(exc: BaseException) -> str:
    while getattr(exc, "exceptions", None):  # an exception group: its first member says what happened
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    return f"capture failed: {one_line(exc, limit=320)}"


async def _capture(target: Target, timeout: float) -> dict[str, Any]:
    import anyio

    state = ChildState()
    outcome: dict[str, Any] = {}
    failure: BaseException | None = None
    sdk_logger = logging.getLogger("mcp")
    handler = _SdkLog(state)
    propagate = sdk_logger.propagate
    sdk_logger.addHandler(handler)
    sdk_logger.propagate = False
    terminated: list[int] = []
    try:
        with anyio.CancelScope() as scope:
            state.on_error = scope.cancel
            scope.deadline = anyio.current_time() + timeout
            async with anyio.create_task_group() as watchers:
                if threading.current_thread() is threading.main_thread():
                    watchers.start_soon(_on_termination, scope, terminated)
                try:
                    outcome = await _session(target, state, handler)
                except Exception as exc:
                    failure = exc
                watchers.cancel_scope.cancel()
    finally:
        sdk_logger.removeHandler(handler)
        sdk_logger.propagate = propagate
    if terminated:  # the server's process group is gone (bounded_stdio's exit); now stop, as for Ctrl-C
        raise Terminated(terminated[0])
    where = target.describe()
    while getattr(failure, "exceptions", None):  # an exception group: its first member says what happened
        failure = failure.exceptions[0]  # type: ignore[union-attr]
    if state.error is not None:
        raise CheckError(_with_stderr(state.error, state), where=where)
    if scope.cancelled_caught:
        raise CheckError(_with_stderr(f"no complete answer within {timeout:g} s", state), where=where)
    if isinstance(failure, CheckError):
        raise CheckError(failure.message, where=where)
    if failure is not None:
        if isinstance(target, StdioTarget) and (state.eof or state.returncode is not None):
            code = f" (exit code {state.returncode})" if state.returncode is not None else ""
            raise CheckError(
                _with_stderr(f"server closed its output before answering{code}", state), where=where
            )
        raise CheckError(_describe_exception(failure), where=where)
    return outcome


class Terminated(KeyboardInterrupt):
    """The run was told to stop (SIGTERM, SIGHUP, SIGINT) and has cleaned up; the exit code is 128 + signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


async def _on_termination(scope: Any, terminated: list[int]) -> None:
    """SIGTERM, SIGHUP and SIGINT (Ctrl-C) cancel the session, so the stdio server's process group is killed
    on the way out, instead of the default action leaving it running. SIGINT too: a KeyboardInterrupt raised
    at an arbitrary point of the event loop could lose the callback a cleanup waits for, and hang."""
    import anyio

    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP, signal.SIGINT) as signals:
        async for signum in signals:
            terminated.append(signum)
            scope.cancel()
            return


def _with_stderr(message: str, state: ChildState) -> str:
    tail = state.stderr_tail()
    return f"{message}; its stderr ends: {tail}" if tail else message


async def _session(target: Target, state: ChildState, log: _SdkLog) -> dict[str, Any]:
    from contextlib import AsyncExitStack

    from mcp.client import Client

    async with AsyncExitStack() as stack:
        if isinstance(target, StdioTarget):
            env = minimal_environment() | (target.env or {})
            transport = bounded_stdio(target.command, target.args, env=env, cwd=target.cwd, state=state)
        else:
            transport = await _http_transport(stack, target, state)
        client = await stack.enter_async_context(Client(transport, cache=None, mode="auto"))
        result = await _list_everything(client)
        log.complete = True  # what the SDK logs while closing is no longer about the answers
        return result
    raise AssertionError("unreachable")  # pragma: no cover


CA_FILE_MAX_BYTES = 8 << 20


def _ssl_context(ca_file: str) -> ssl.SSLContext:
    from pipeline.fileio import read_text_bounded

    pem = read_text_bounded(ca_file, what="CA file", limit=CA_FILE_MAX_BYTES)  # not a FIFO, not /dev/zero
    try:
        return ssl.create_default_context(cadata=pem)
    except (OSError, ssl.SSLError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read the CA file: {reason}", where=ca_file) from None


async def _http_transport(stack: Any, target: HttpTarget, state: ChildState) -> Any:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = dict(target.headers)
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"
    verify: ssl.SSLContext | bool = _ssl_context(target.ca_file) if target.ca_file else True
    client = httpx2.AsyncClient(
        headers=headers,
        verify=verify,
        timeout=httpx2.Timeout(30.0),
        follow_redirects=False,
        transport=_capped_transport(httpx2.AsyncHTTPTransport(verify=verify), state),
    )
    await stack.enter_async_context(client)
    return streamable_http_client(target.url, http_client=client, max_sse_event_size=16 << 20)


def _capped_classes() -> tuple[type, type]:
    import httpx2

    class CappedStream(httpx2.AsyncByteStream):
        def __init__(self, inner: Any, state: ChildState, counter: list[int]) -> None:
            self.inner, self.state, self.counter = inner, state, counter

        async def __aiter__(self) -> Any:
            async for chunk in self.inner:
                self.counter[0] += len(chunk)
                if self.counter[0] > MAX_HTTP_BYTES:
                    self.state.fail(f"server sent more than {MAX_HTTP_BYTES >> 20} MiB")
                    raise httpx2.ReadError("response too large")
                yield chunk

        async def aclose(self) -> None:
            await self.inner.aclose()

    class CappedTransport(httpx2.AsyncBaseTransport):
        def __init__(self, inner: Any, state: ChildState) -> None:
            self.inner, self.state, self.counter = inner, state, [0]

        async def handle_async_request(self, request: Any) -> Any:
            response = await self.inner.handle_async_request(request)
            return httpx2.Response(
                status_code=response.status_code,
                headers=response.headers,
                stream=CappedStream(response.stream, self.state, self.counter),
                extensions=response.extensions,
                request=request,
            )

        async def aclose(self) -> None:
            await self.inner.aclose()

    return CappedStream, CappedTransport


def _capped_transport(inner: Any, state: ChildState) -> Any:
    return _capped_classes()[1](inner, state)


def _wire(model: Any) -> dict[str, Any]:
    wire: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    return wire


async def _all_pages(fetch: Callable[[str | None], Awaitable[Any]], attr: str, what: str) -> list[dict]:
    entries: list[dict] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        page = await fetch(cursor)
        entries += [_wire(item) for item in getattr(page, attr)]
        if len(entries) > MAX_ENTRIES:
            raise CheckError(f"server lists more than {MAX_ENTRIES} {what}")
        cursor = page.next_cursor
        if cursor is None:
            return entries
        if cursor in seen:
            raise CheckError(f"server repeats the pagination cursor {cursor!r} in {what}/list")
        seen.add(cursor)
    raise CheckError(f"{what}/list did not end within {MAX_PAGES} pages")


async def _list_everything(client: Any) -> dict[str, Any]:
    caps = client.server_capabilities
    info = client.server_info
    server: dict[str, Any] = {"protocolVersion": client.protocol_version}
    if info is not None:
        server.update(_wire(info))
    server["capabilities"] = _wire(caps)
    if client.instructions is not None:
        server["instructions"] = client.instructions
    result: dict[str, Any] = {
        "server": server,
        "tools": [],
        "prompts": [],
        "resources": [],
        "resourceTemplates": [],
    }
    if caps.tools is not None:
        result["tools"] = await _all_pages(lambda c: client.list_tools(cursor=c), "tools", "tools")
    if caps.prompts is not None:
        result["prompts"] = await _all_pages(lambda c: client.list_prompts(cursor=c), "prompts", "prompts")
    if caps.resources is not None:
        result["resources"] = await _all_pages(
            lambda c: client.list_resources(cursor=c), "resources", "resources"
        )
        result["resourceTemplates"] = await _all_pages(
            lambda c: client.list_resource_templates(cursor=c), "resource_templates", "resources/templates"
        )
    return result
