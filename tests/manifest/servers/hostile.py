"""A stdio "server" that misbehaves on purpose: `hostile.py MODE`. No MCP SDK: it writes raw bytes.

Modes: hang (reads, never answers), crash (half an answer, then exits 3), flood (endless blank lines),
malformed (a line that is not JSON-RPC), huge (one endless line), silent-exit (exits at once with a
message on stderr), orphan (hangs, and leaves a child process behind that must be killed with it),
cursor-loop (a valid server whose tools/list repeats its cursor), endless-pages (a new cursor and 5000
more tools on every page).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def first_request() -> bytes:
    """Wait for the client's initialize request (so the failure is mid-session, not at start-up)."""
    return sys.stdin.buffer.readline()


def paginating_server(endless: bool) -> None:
    """Just enough MCP (legacy handshake) to reach tools/list, whose pagination never ends."""
    out = sys.stdout.buffer
    page = 0
    for line in sys.stdin.buffer:
        request = json.loads(line)
        if "id" not in request:
            continue  # a notification
        method, answer = request["method"], None
        if method == "initialize":
            answer = {
                "protocolVersion": request["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "paginator", "version": "1"},
            }
        elif method == "tools/list":
            page += 1
            count = 5000 if endless else 1
            tools = [{"name": f"t{page}_{i}", "inputSchema": {"type": "object"}} for i in range(count)]
            answer = {"tools": tools, "nextCursor": f"page-{page}" if endless else "again"}
        if answer is None:
            reply = {"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "no"}}
        else:
            reply = {"jsonrpc": "2.0", "id": request["id"], "result": answer}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()


def main() -> None:
    mode = sys.argv[1]
    out = sys.stdout.buffer
    if mode in ("cursor-loop", "endless-pages"):
        paginating_server(endless=mode == "endless-pages")
        return
    if mode == "silent-exit":
        sys.stderr.write("fatal: config file /etc/nope.toml not found\n")
        sys.exit(7)
    if mode == "orphan":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        with open(sys.argv[2], "w") as pidfile:
            pidfile.write(str(child.pid))
    first_request()
    if mode in ("hang", "orphan"):
        time.sleep(3600)
    elif mode == "crash":
        out.write(b'{"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": ')
        out.flush()
        sys.stderr.write("panic: out of cheese\n")
        os._exit(3)
    elif mode == "flood":
        chunk = b"\n" * (1 << 20)
        while True:
            out.write(chunk)
    elif mode == "malformed":
        out.write(b"this is not json-rpc\n")
        out.flush()
        time.sleep(3600)
    elif mode == "huge":
        out.write(b'{"jsonrpc": "2.0", "id": 1, "result": {"pad": "')
        chunk = b"x" * (1 << 20)
        while True:
            out.write(chunk)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
