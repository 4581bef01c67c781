"""The sandbox's HTTP server on 127.0.0.1 (Fulcio, Rekor and OIDC endpoints), in a thread or as the
background process of `mcp-harden sandbox start`."""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from pipeline.errors import CheckError
from pipeline.fileio import write_atomic
from pipeline.sign.sandbox.ca import SandboxCA
from pipeline.sign.sandbox.keys import SANDBOX_ISSUER, STATE_FILE, TRUST_CONFIG, SandboxError, SandboxKeys
from pipeline.sign.sandbox.log import SandboxLog


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path in ("/", "/healthz"):
            self._send(200, {"sandbox": True, "issuer": SANDBOX_ISSUER})
        else:
            self._send(404, {"code": 404, "message": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 16 << 20:
            self._send(413, {"code": 413, "message": "request too large"})
            return
        body = self.rfile.read(length)
        try:
            request = json.loads(body)
            if self.path == "/api/v2/signingCert":
                auth = self.headers.get("Authorization", "")
                if not auth.startswith("Bearer "):
                    raise SandboxError("missing bearer token")
                csr = base64.b64decode(request["certificateSigningRequest"])
                chain = self.server.ca.issue(auth[7:], csr)
                pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain]
                self._send(200, {"signedCertificateEmbeddedSct": {"chain": {"certificates": pems}}})
            elif self.path == "/api/v1/log/entries":
                self._send(201, self.server.log.add(request))
            else:
                self._send(404, {"code": 404, "message": "not found"})
        except (SandboxError, ValueError, KeyError, TypeError) as exc:
            self._send(400, {"code": 400, "message": str(exc)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    ca: SandboxCA
    log: SandboxLog


class Sandbox:
    """A running sandbox: `with Sandbox(folder) as sb: sb.trust_config_json, sb.mint_token(claims)`."""

    def __init__(self, folder: str | os.PathLike[str], *, port: int = 0) -> None:
        self.keys = SandboxKeys.load_or_create(Path(folder))
        self.folder = self.keys.folder
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("sandbox not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Sandbox:
        try:
            server = _Server(("127.0.0.1", self._port), _Handler)
        except OSError as exc:
            raise CheckError(f"cannot start the sandbox on 127.0.0.1:{self._port}: {exc.strerror}") from None
        server.ca = SandboxCA(self.keys)
        server.log = SandboxLog(self.keys)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="mcp-harden-sandbox", daemon=True)
        self._thread.start()
        write_atomic(self.folder / TRUST_CONFIG, json.dumps(self.trust_config(), indent=2) + "\n")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def trust_config(self) -> dict[str, Any]:
        return self.keys.trust_config(self.url)

    def mint_token(self, claims: dict[str, Any]) -> str:
        return self.keys.mint_token(claims)

    def serve_forever(self) -> None:
        """Block until interrupted (used by `mcp-harden sandbox start`)."""
        if self._thread is not None:
            self._thread.join()


# --- a background server for `mcp-harden sandbox start` --------------------------------------------


def serve(folder: Path, port: int) -> None:
    """Run the sandbox until SIGTERM, recording its pid and URL in the folder's server.json."""
    import signal

    sandbox = Sandbox(folder, port=port).start()
    state = folder / STATE_FILE
    write_atomic(state, json.dumps({"pid": os.getpid(), "url": sandbox.url}) + "\n")

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        sandbox.serve_forever()
    finally:
        sandbox.stop()
        state.unlink(missing_ok=True)
