"""An OSV-compatible API on 127.0.0.1 answering from a local database.

pip-audit's own OSV service talks to it (`osv_url`), so air-gapped audits run the same pip-audit code path
as online ones. `mcp-harden vulndb serve` exposes it for plain `pip-audit --osv-url` too.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.audit.osvdb import OsvDatabase, answer_query

MAX_BODY = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    db: OsvDatabase

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"message": "request too large"})
            return
        try:
            query = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"message": "invalid JSON"})
            return
        if self.path.rstrip("/") == "/v1/query":
            self._send(200, answer_query(self.db, query))
        elif self.path.rstrip("/") == "/v1/querybatch":
            results = [answer_query(self.db, q) for q in query.get("queries", [])]
            self._send(
                200,
                {
                    "results": [
                        {
                            "vulns": [
                                {"id": v["id"], "modified": v.get("modified")} for v in r.get("vulns", [])
                            ]
                        }
                        for r in results
                    ]
                },
            )
        else:
            self._send(404, {"message": "not found"})


class LocalOsvServer:
    """A loopback OSV API in a background thread: `with LocalOsvServer(db) as url: ...`."""

    def __init__(self, db: OsvDatabase, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"db": db})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1/query"

    def __enter__(self) -> str:
        self.thread.start()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
