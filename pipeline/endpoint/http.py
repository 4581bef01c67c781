"""One bounded HTTP/1.1 client over `socket`/`ssl`: the only way this stage talks HTTP.

Every request has a total deadline (connect, TLS, send and every read count against it) and a cap on header
and body bytes. Redirects are followed only when asked, with a hop cap and loop detection.
`--resolve host:port:address` is honoured: the socket goes to the address, SNI and `Host` stay the URL's.
A hostile server (silent, slow drip, garbage, endless body) ends in a `CheckError`, never a hang.

Connections: by default each request has its own, with `Connection: close`. A client made with `keep_alive`
(the orchestrator's, one per endpoint) keeps a connection after a response whose end it saw exactly (a
`Content-Length` or a last chunk, no `Connection: close`, nothing more arrived) and sends the next request to
the same scheme, address, port and name over it; `close()` ends them. A request with a `Host` of its own still
gets a new one, and a check that judges what a server does per connection calls `close()` around its probes. A
kept connection that gives no answer (the server closed it meanwhile, or sent bytes that are not a response)
is retried once on a new one, where the server's answer is judged as it would have been without keep-alive.
"""

from __future__ import annotations

import contextlib
import functools
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from pipeline.endpoint.contexts import Contexts
from pipeline.errors import CheckError

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200
MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = "mcp-harden-check-endpoint"


class TlsVerifyError(CheckError):
    """The server's certificate did not verify (the TLS checks say why)."""


class _Stale(Exception):
    """A kept connection gave no answer to the request (the server had closed it, or what came was not a
    response): send it again on a new connection, where the server's answer is judged as it always was."""


# Where a kept connection may be used again: scheme, address, port, the name in SNI and `Host`, verified.
_Key = tuple[str, str, int, str, bool]


@dataclass(frozen=True)
class Target:
    """A parsed http(s) URL: where to connect, what to name in SNI/Host, and the request target."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, at least "/"

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.default_port else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.authority}"


@functools.lru_cache(maxsize=4096)  # every probe of an endpoint parses the same few URLs; a Target is frozen
def parse_url(url: str) -> Target:
    """Split an http(s) URL; anything else is a usage problem of the caller's (raised as `ValueError`)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    if not parts.hostname:
        raise ValueError(f"no host in URL: {url}")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"bad port in URL: {url}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, scheme=scheme, host=parts.hostname.lower(), port=port, path=path)


@dataclass
class Response:
    """What came back. `body` is complete unless `streamed` (headers only were read, by request)."""

    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    streamed: bool = False
    redirects: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def text(self, limit: int = 200) -> str:
        """The body as one short line, for evidence."""
        flat = " ".join(self.body[: limit * 4].decode("utf-8", "replace").split())
        return flat if len(flat) <= limit else flat[: limit - 1] + "…"

    def describe(self) -> str:
        """`401 Unauthorized` plus the headers that matter, for evidence."""
        text = f"{self.status} {self.reason}".strip()
        for name in ("www-authenticate", "location", "mcp-session-id", "content-type"):
            value = self.header(name)
            if value:
                text += f"; {name}: {value[:200]}"
        return text


@dataclass
class HttpClient:
    """Request settings shared by one endpoint's probes."""

    resolve: dict[tuple[str, int], str] = field(default_factory=dict)
    ca_file: str | None = None
    verify: bool = True
    timeout: float = 10.0  # per request, total
    connect_timeout: float = 5.0
    deadline: float | None = None  # absolute `time.monotonic()` limit for everything
    max_header_bytes: int = MAX_HEADER_BYTES
    max_body_bytes: int = MAX_BODY_BYTES
    requests_sent: int = 0
    connections_opened: int = 0
    contexts: Contexts | None = None  # the run's shared contexts (trusting `ca_file`); None: its own
    keep_alive: bool = False  # reuse a connection for the next request to the same place; `close()` ends them
    _context: ssl.SSLContext | None = field(default=None, repr=False)
    _idle: dict[_Key, socket.socket] = field(default_factory=dict, repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            if self.verify:
                self._context = (self.contexts or Contexts(self.ca_file)).http()
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                ctx.set_alpn_protocols(["http/1.1"])
                self._context = ctx
        return self._context

    def close(self) -> None:
        """End the kept connections (the client can still be used: it opens new ones)."""
        idle, self._idle = self._idle, {}
        for sock in idle.values():
            with contextlib.suppress(OSError):
                sock.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        follow_redirects: int = 0,
        stream: bool = False,
        host_header: str | None = None,
        until: Callable[[bytes], bool] | None = None,
    ) -> Response:
        """Send one request (and up to `follow_redirects` more for 3xx). `stream`: read headers only.
        `host_header` overrides `Host` (to probe Host validation). `until`: for an event stream, stop reading
        once it says the body so far holds the answer (a server may keep the stream open after it).
        Raises `CheckError` with the URL."""
        seen = [url]
        hops: list[str] = []
        current = url
        while True:
            resp = self._once(method, current, headers or {}, body, stream, host_header, until)
            location = resp.header("location")
            if not (300 <= resp.status < 400 and location and follow_redirects > 0):
                resp.redirects = hops
                return resp
            nxt = urljoin(current, location.strip())
            if nxt in seen:
                raise CheckError(
                    f"redirect loop: {' -> '.join([*seen, nxt])[:300]}",
                    where=url,
                )
            if len(hops) >= follow_redirects:
                raise CheckError(f"more than {follow_redirects} redirects (last: {nxt[:200]})", where=url)
            seen.append(nxt)
            hops.append(nxt)
            current = nxt
            if resp.status in (301, 302, 303) and method == "POST":
                method, body = "GET", None

    # --- one exchange -----------------------------------------------------------------------------

    def _remaining(self, start: float) -> float:
        limit = start + self.timeout
        if self.deadline is not None:
            limit = min(limit, self.deadline)
        return limit - time.monotonic()

    def _once(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        stream: bool,
        host_header: str | None,
        until: Callable[[bytes], bool] | None,
    ) -> Response:
        try:
            target = parse_url(url)
        except ValueError as exc:
            raise CheckError(str(exc), where=url) from None
        start = time.monotonic()
        if self._remaining(start) <= 0:
            raise CheckError("time limit for this endpoint reached before the request", where=url)
        address = self.resolve.get((target.host, target.port), target.host)
        self.requests_sent += 1
        key: _Key = (target.scheme, address, target.port, target.host, self.verify)
        keep = self.keep_alive and host_header is None
        sock = self._idle.pop(key, None) if keep else None
        if sock is not None and not _still_idle(sock):
            _close(sock)
            sock = None
        lines = [f"{method} {target.path} HTTP/1.1", f"Host: {host_header or target.authority}"]
        given = {k.lower() for k in headers}
        if "user-agent" not in given:
            lines.append(f"User-Agent: {USER_AGENT}")
        if "accept" not in given:
            lines.append("Accept: */*")
        for name, value in headers.items():
            lines.append(f"{name}: {value}")
        if body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        if not keep:
            lines.append("Connection: close")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        try:
            if sock is not None:
                try:
                    resp, reader = self._exchange(sock, payload, start, url, method, stream, until, kept=True)
                except _Stale:
                    _close(sock)
                    sock = None
            if sock is None:
                sock = self._connect(address, target, start)
                resp, reader = self._exchange(sock, payload, start, url, method, stream, until, kept=False)
            if keep and reader.reusable:
                self._idle[key] = sock
                sock = None
            return resp
        except CheckError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise TlsVerifyError(f"TLS certificate not accepted: {exc.verify_message}", where=url) from None
        except ssl.SSLError as exc:
            raise CheckError(f"TLS failed: {exc.reason or exc}", where=url) from None
        except TimeoutError:
            raise CheckError(f"no answer within {self.timeout:g} s (timed out)", where=url) from None
        except ConnectionRefusedError:
            raise CheckError(f"connection refused ({address}:{target.port})", where=url) from None
        except socket.gaierror as exc:
            raise CheckError(f"cannot resolve {address}: {exc.strerror}", where=url) from None
        except OSError as exc:
            raise CheckError(f"connection failed: {exc.strerror or exc}", where=url) from None
        finally:
            if sock is not None:
                _close(sock)

    def _exchange(
        self,
        sock: socket.socket,
        payload: bytes,
        start: float,
        url: str,
        method: str,
        stream: bool,
        until: Callable[[bytes], bool] | None,
        *,
        kept: bool,
    ) -> tuple[Response, _Reader]:
        """Send one request on `sock` and read its response. `kept`: the connection served a request before,
        so a close, a reset or a TLS failure before any byte of the answer is `_Stale` (the caller sends
        again on a new connection)."""
        sock.settimeout(max(0.001, self._remaining(start)))
        _quickack(sock)
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            if kept:
                raise _Stale from None
            raise
        reader = _Reader(sock, self, start, url, kept=kept)
        return reader.response(url, method, stream, until), reader

    def _connect(self, address: str, target: Target, start: float) -> socket.socket:
        timeout = min(self.connect_timeout, self._remaining(start))
        if timeout <= 0:
            raise TimeoutError
        raw = socket.create_connection((address, target.port), timeout=timeout)
        self.connections_opened += 1
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if target.scheme != "https":
            return raw
        raw.settimeout(max(0.001, self._remaining(start)))
        try:
            return self.ssl_context().wrap_socket(raw, server_hostname=target.host)
        except BaseException:
            raw.close()
            raise


class _Reader:
    """Reads one response off a socket within the request's deadline and byte caps. `reusable` afterwards:
    the response ended exactly where its framing said, nothing came after it, and the server keeps the
    connection (HTTP/1.1 without `Connection: close`)."""

    def __init__(
        self, sock: socket.socket, client: HttpClient, start: float, url: str, *, kept: bool = False
    ) -> None:
        self.sock = sock
        self.client = client
        self.start = start
        self.url = url
        self.kept = kept
        self.buf = b""
        self.eof = False
        self.received = False
        self.complete = False  # the body's end was seen, with no byte after it
        self.reusable = False

    def _fill(self) -> bool:
        """Read more bytes; False at end of stream."""
        if self.eof:
            return False
        remaining = self.client._remaining(self.start)
        if remaining <= 0:
            raise CheckError(f"response not complete within {self.client.timeout:g} s", where=self.url)
        self.sock.settimeout(remaining)
        _quickack(self.sock)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise CheckError(
                f"response not complete within {self.client.timeout:g} s (timed out)", where=self.url
            ) from None
        except ssl.SSLError as exc:
            if "EOF" in str(exc) or "UNEXPECTED_EOF" in str(exc):
                chunk = b""
            elif self.kept and not self.received:
                raise _Stale from None
            else:
                raise
        except ConnectionResetError:
            if self.kept and not self.received:
                raise _Stale from None
            raise
        if not chunk:
            if self.kept and not self.received:
                raise _Stale
            self.eof = True
            return False
        self.received = True
        self.buf += chunk
        return True

    def _more_now(self) -> None:
        """Whatever has already arrived, without waiting (to see a last chunk sent just after the answer)."""
        self.sock.settimeout(0.0)
        with contextlib.suppress(OSError):  # BlockingIOError, ssl.SSLWantReadError: nothing more yet
            self.buf += self.sock.recv(4096)

    def response(
        self, url: str, method: str, stream: bool, until: Callable[[bytes], bool] | None = None
    ) -> Response:
        limit = self.client.max_header_bytes
        while b"\r\n\r\n" not in self.buf and b"\n\n" not in self.buf:
            if len(self.buf) >= 5 and not self.buf.startswith(b"HTTP/"):
                if self.kept:  # left over from before, not an answer to this request: ask on a new one
                    raise _Stale
                raise CheckError(f"not an HTTP/1.x response: {self.buf[:40]!r}", where=url)
            if len(self.buf) > limit:
                raise CheckError(f"response headers exceed {limit} bytes", where=url)
            if not self._fill():
                if not self.buf:
                    raise CheckError("the server closed the connection without answering", where=url)
                raise CheckError("the server closed the connection inside the response headers", where=url)
        crlf = self.buf.find(b"\r\n\r\n")
        lf = self.buf.find(b"\n\n")
        if crlf != -1 and (lf == -1 or crlf < lf):
            head, self.buf = self.buf[:crlf], self.buf[crlf + 4 :]
        else:
            head, self.buf = self.buf[:lf], self.buf[lf + 2 :]
        if len(head) > limit:
            raise CheckError(f"response headers exceed {limit} bytes", where=url)
        try:
            status, reason, headers = _parse_head(head, url)
        except CheckError:
            if self.kept:
                raise _Stale from None
            raise
        resp = Response(url=url, status=status, reason=reason, headers=headers)
        persistent = head.startswith(b"HTTP/1.1 ") and not any(
            token.strip().lower() == "close"
            for value in resp.header_all("connection")
            for token in value.split(",")
        )
        if stream or method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            resp.streamed = stream
            resp.elapsed = time.monotonic() - self.start
            self.reusable = persistent and not stream and status >= 200 and not self.buf
            return resp
        if not (resp.header("content-type") or "").lower().startswith("text/event-stream"):
            until = None
        resp.body = self._body(resp, until)
        resp.elapsed = time.monotonic() - self.start
        self.reusable = persistent and self.complete
        return resp

    def _body(self, resp: Response, until: Callable[[bytes], bool] | None) -> bytes:
        cap = self.client.max_body_bytes
        encoding = (resp.header("transfer-encoding") or "").lower()
        if "chunked" in encoding:
            return self._chunked(cap, until)
        length_text = resp.header("content-length")
        if length_text is not None:
            try:
                length = int(length_text.strip())
            except ValueError:
                raise CheckError(f"bad Content-Length {length_text[:40]!r}", where=self.url) from None
            if length < 0:
                raise CheckError(f"bad Content-Length {length_text[:40]!r}", where=self.url)
            if length > cap:
                raise CheckError(
                    f"response body of {length} bytes exceeds the {cap}-byte cap", where=self.url
                )
            while len(self.buf) < length:
                if not self._fill():
                    raise CheckError("the server closed the connection inside the body", where=self.url)
            self.complete = len(self.buf) == length
            return self.buf[:length]
        while not (until and until(self.buf)) and self._fill():  # until close, or the answer is in
            if len(self.buf) > cap:
                raise CheckError(f"response body exceeds the {cap}-byte cap", where=self.url)
        return self.buf

    def _chunked(self, cap: int, until: Callable[[bytes], bool] | None) -> bytes:
        out = bytearray()
        while True:
            while b"\r\n" not in self.buf:
                if len(self.buf) > 4096:
                    raise CheckError("malformed chunked body (chunk size line too long)", where=self.url)
                if not self._fill():
                    raise CheckError("the server closed the connection inside a chunked body", where=self.url)
            line, self.buf = self.buf.split(b"\r\n", 1)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise CheckError(f"malformed chunk size {line[:40]!r}", where=self.url) from None
            if size == 0:
                self.complete = self.buf == b"\r\n"  # trailers (or bytes after the body): not kept
                return bytes(out)  # trailers are ignored
            if len(out) + size > cap:
                raise CheckError(f"response body exceeds the {cap}-byte cap", where=self.url)
            while len(self.buf) < size + 2:
                if not self._fill():
                    raise CheckError("the server closed the connection inside a chunked body", where=self.url)
            out += self.buf[:size]
            self.buf = self.buf[size + 2 :]
            if until and until(bytes(out)):
                if len(self.buf) < 5:
                    self._more_now()
                self.complete = self.buf == b"0\r\n\r\n"  # the stream ended right after the answer
                return bytes(out)


def tcp_accepts(address: str, port: int, timeout: float) -> bool:
    """Whether something accepts TCP connections at address:port (connect only, nothing sent)."""
    try:
        with socket.create_connection((address, port), timeout=max(0.05, timeout)):
            return True
    except OSError:
        return False


def _still_idle(sock: socket.socket) -> bool:
    """A kept connection can take the next request: nothing arrived on it since its last response (a close,
    a reset or stray bytes all make it readable) and no TLS data waits in its buffer."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return False
    try:
        if hasattr(select, "poll"):  # no limit on the descriptor's number, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _quickack(sock: socket.socket) -> None:
    """Acknowledge at once (Linux): a server writing headers and body separately under Nagle otherwise
    waits ~40 ms for our delayed ACK on every response."""
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)


def _parse_head(head: bytes, url: str) -> tuple[int, str, list[tuple[str, str]]]:
    text = head.decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    status_line = lines[0]
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise CheckError(f"not an HTTP/1.x response: {status_line[:60]!r}", where=url)
    status = int(parts[1])
    reason = parts[2].strip() if len(parts) > 2 else ""
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:  # obsolete line folding
            key, value = headers[-1]
            headers[-1] = (key, value + " " + line.strip())
            continue
        if ":" not in line:
            raise CheckError(f"malformed response header {line[:60]!r}", where=url)
        key, value = line.split(":", 1)
        headers.append((key.strip(), value.strip()))
        if len(headers) > MAX_HEADERS:
            raise CheckError(f"more than {MAX_HEADERS} response headers", where=url)
    return status, reason, headers
